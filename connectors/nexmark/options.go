package nexmark

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/sql/types"
)

// kind is the event kind a table reads.
type kind uint8

const (
	kindPerson kind = iota
	kindAuction
	kindBid
)

func (k kind) String() string {
	switch k {
	case kindPerson:
		return "person"
	case kindAuction:
		return "auction"
	}
	return "bid"
}

// Field ids per kind, in the reference's column order.
const (
	pID = iota
	pName
	pEmail
	pCreditCard
	pCity
	pState
	pDateTime
	pExtra
)

const (
	aID = iota
	aItemName
	aDescription
	aInitialBid
	aReserve
	aDateTime
	aExpires
	aSeller
	aCategory
	aExtra
)

const (
	bAuction = iota
	bBidder
	bPrice
	bChannel
	bURL
	bDateTime
	bExtra
)

// maxFields is the widest kind (auction).
const maxFields = 10

type fieldDef struct {
	name string
	t    types.Type
}

// kindFields returns the columns of a kind, indexed by field id.
func kindFields(k kind) []fieldDef {
	ts := types.TimestampOf(3)
	switch k {
	case kindPerson:
		return []fieldDef{{"id", types.TypeBigInt}, {"name", types.TypeString}, {"emailAddress", types.TypeString},
			{"creditCard", types.TypeString}, {"city", types.TypeString}, {"state", types.TypeString},
			{"dateTime", ts}, {"extra", types.TypeString}}
	case kindAuction:
		return []fieldDef{{"id", types.TypeBigInt}, {"itemName", types.TypeString}, {"description", types.TypeString},
			{"initialBid", types.TypeBigInt}, {"reserve", types.TypeBigInt}, {"dateTime", ts}, {"expires", ts},
			{"seller", types.TypeBigInt}, {"category", types.TypeBigInt}, {"extra", types.TypeString}}
	}
	return []fieldDef{{"auction", types.TypeBigInt}, {"bidder", types.TypeBigInt}, {"price", types.TypeBigInt},
		{"channel", types.TypeString}, {"url", types.TypeString}, {"dateTime", ts}, {"extra", types.TypeString}}
}

// Defaults, as in the reference's NexmarkConfiguration.
const (
	defaultRate       = 10000
	defaultPersonProp = 1
	defaultAuctionPro = 3
	defaultBidProp    = 46
	defaultHotAuction = 2
	defaultHotSellers = 4
	defaultHotBidders = 4
	defaultPersonSize = 200
	defaultAuctionSz  = 500
	defaultBidSize    = 100
	// numActivePeople and numInFlightAuctions are not table options in
	// the Flink suite; the reference's defaults.
	numActivePeople     = 1000
	numInFlightAuctions = 100
	// maxAvgSize bounds the *.avg-size options so one batch stays far
	// below the 2 GiB an Arrow string column can address.
	maxAvgSize = 1 << 20
	// maxProportion bounds each proportion so epoch arithmetic cannot
	// overflow.
	maxProportion = 1 << 20
)

// defaultBaseTime is the event time of event 0: Beam's Nexmark base time,
// 2015-07-15 00:00:00 (a fixed instant, so runs are reproducible; Flink's
// suite takes the wall clock at planning time instead).
var defaultBaseTime = time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC).UnixMilli()

// config is a validated nexmark table definition.
type config struct {
	kind kind
	// cols maps each declared column to its field id in the kind.
	cols []int
	// total is events.num (events of the whole stream, every kind), or -1
	// when unbounded.
	total     int64
	rate      int64 // events per second of event time (first-event.rate)
	baseMilli int64 // event time of event 0, ms since the epoch

	personProp, auctionProp, bidProp   int64
	hotAuction, hotBidders, hotSellers int64
	personSize, auctionSize, bidSize   int

	// all: Flink's single nexmark table (event_type and one ROW column per
	// kind, flattened into leaf columns "bid.price"); allCols then maps
	// each declared column to its kind and field id (-1: event_type), and
	// kind and cols are unused.
	all     bool
	allCols []allCol
	// only: 'nexmark.event-type', the single table generates the events
	// of this kind alone (-1: every kind).
	only int

	// throttle emits events in real time (max-emit-speed false or
	// rate.limited true); otherwise as fast as the consumer takes them.
	throttle  bool
	keepAlive bool
}

// proportion is the length of one epoch: the event kinds repeat with it.
func (c *config) proportion() int64 { return c.personProp + c.auctionProp + c.bidProp }

// span returns the offsets [lo, hi) of the table's kind within an epoch.
func (c *config) span() (lo, hi int64) {
	switch c.kind {
	case kindPerson:
		return 0, c.personProp
	case kindAuction:
		return c.personProp, c.personProp + c.auctionProp
	}
	return c.personProp + c.auctionProp, c.proportion()
}

// parse validates t's options and schema into a config.
func parse(t connectors.Table) (*config, error) {
	c := &config{
		only: -1, total: -1, rate: defaultRate, baseMilli: defaultBaseTime,
		personProp: defaultPersonProp, auctionProp: defaultAuctionPro, bidProp: defaultBidProp,
		hotAuction: defaultHotAuction, hotBidders: defaultHotBidders, hotSellers: defaultHotSellers,
		personSize: defaultPersonSize, auctionSize: defaultAuctionSz, bidSize: defaultBidSize,
	}
	name := t.Name
	tableSet := false
	nextRate := int64(-1)
	maxEmitSpeed, rateLimited := true, false
	for _, key := range opts.SortedKeys(t.Options) {
		v := t.Options[key]
		var err error
		switch key {
		case "nexmark.table":
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "nexmark":
				c.all = true
			case "person":
				c.kind = kindPerson
			case "auction":
				c.kind = kindAuction
			case "bid":
				c.kind = kindBid
			default:
				return nil, opts.Errorf(name, key, "invalid value '%s' (expected person, auction, bid or nexmark)", v)
			}
			tableSet = true
		case eventTypeOption:
			switch strings.TrimSpace(v) {
			case "0", "1", "2":
				c.only = int(v[0] - '0')
			default:
				err = opts.Errorf(name, key, "invalid value '%s' (expected 0 person, 1 auction or 2 bid)", v)
			}
		case "events.num":
			var n int64
			if n, err = opts.Int64(name, key, v); err == nil {
				switch {
				case n < 0:
					err = opts.Errorf(name, key, "must not be negative, got %d", n)
				case n > 0:
					c.total = n
				} // 0 means unbounded, as in Flink.
			}
		case "first-event.rate":
			c.rate, err = positive(name, key, v, 1<<40)
		case "next-event.rate":
			nextRate, err = positive(name, key, v, 1<<40)
		case "rate.shape":
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "square", "sine":
			default:
				err = opts.Errorf(name, key, "invalid value '%s' (expected square or sine)", v)
			}
		case "rate.period":
			var d time.Duration
			if d, err = opts.Duration(name, key, v); err == nil && d < time.Second {
				err = opts.Errorf(name, key, "must be at least 1 s, got '%s'", v)
			}
		case "rate.limited":
			rateLimited, err = opts.Bool(name, key, v)
		case "max-emit-speed":
			maxEmitSpeed, err = opts.Bool(name, key, v)
		case "keep-alive":
			c.keepAlive, err = opts.Bool(name, key, v)
		case "person.proportion":
			c.personProp, err = positive(name, key, v, maxProportion)
		case "auction.proportion":
			c.auctionProp, err = positive(name, key, v, maxProportion)
		case "bid.proportion":
			c.bidProp, err = positive(name, key, v, maxProportion)
		case "bid.hot-ratio.auctions":
			c.hotAuction, err = positive(name, key, v, 1<<30)
		case "bid.hot-ratio.bidders":
			c.hotBidders, err = positive(name, key, v, 1<<30)
		case "auction.hot-ratio.sellers":
			c.hotSellers, err = positive(name, key, v, 1<<30)
		case "person.avg-size":
			c.personSize, err = avgSize(name, key, v)
		case "auction.avg-size":
			c.auctionSize, err = avgSize(name, key, v)
		case "bid.avg-size":
			c.bidSize, err = avgSize(name, key, v)
		case "base-time":
			c.baseMilli, err = baseTime(name, key, v)
		case "stop-at":
			var n int64
			if n, err = opts.Int64(name, key, v); err == nil && n != -1 {
				err = opts.NotSupported(name, key)
			}
		case "extended-bid-mode":
			var b bool
			if b, err = opts.Bool(name, key, v); err == nil && b {
				err = opts.Errorf(name, key, "not supported yet: extended bids")
			}
		default:
			err = opts.Unknown(name, key)
		}
		if err != nil {
			return nil, err
		}
	}
	if nextRate >= 0 && nextRate != c.rate {
		return nil, opts.Errorf(name, "next-event.rate", "not supported yet: a varying rate (next-event.rate %d differs from first-event.rate %d)", nextRate, c.rate)
	}
	c.throttle = !maxEmitSpeed || rateLimited
	if !tableSet {
		// Flink's connector has no such option: it always generates the
		// single table, which is the default here when the schema is its.
		if !flinkSchema(t.Schema) {
			return nil, opts.Errorf(name, "nexmark.table",
				"the table must be Flink's nexmark table (event_type INT, person ROW<...>, auction ROW<...>, bid ROW<...>) or name its kind with 'nexmark.table' = 'person' | 'auction' | 'bid'")
		}
		c.all = true
	}
	if c.only >= 0 && !c.all {
		return nil, opts.Errorf(name, eventTypeOption, "only the single nexmark table (event_type and ROW columns) has event types")
	}
	if c.all {
		if err := c.bindAllColumns(t); err != nil {
			return nil, err
		}
		return c, nil
	}
	if err := c.bindColumns(t); err != nil {
		return nil, err
	}
	return c, nil
}

// allCol is a column of the single table: a field of a kind's ROW, or
// event_type (field -1).
type allCol struct {
	kind  kind
	field int
}

const eventTypeCol = "event_type"

// eventTypeOption makes the single table generate one kind of event only:
// the planner sets it for a query block filtering on event_type = n (as
// Flink's person, auction and bid views do), so that a view of bids does
// not generate and then drop the people and auctions.
const eventTypeOption = "nexmark.event-type"

// flinkSchema reports whether a schema looks like Flink's single nexmark
// table: event_type or a leaf of a person, auction or bid ROW.
func flinkSchema(s types.Schema) bool {
	for _, f := range s.Fields {
		if strings.EqualFold(f.Name, eventTypeCol) {
			return true
		}
		if k, _, ok := strings.Cut(f.Name, "."); ok {
			if _, known := kindOf(k); known {
				return true
			}
		}
	}
	return false
}

func kindOf(name string) (kind, bool) {
	switch strings.ToLower(name) {
	case "person":
		return kindPerson, true
	case "auction":
		return kindAuction, true
	case "bid":
		return kindBid, true
	}
	return 0, false
}

// bindAllColumns checks the declared columns of the single table: event_type
// INT and the leaves "kind.field" of the person, auction and bid ROWs (the
// planner flattens ROW columns and may pass only the leaves a query reads),
// any subset, names case-insensitive, types exactly Flink's.
func (c *config) bindAllColumns(t connectors.Table) error {
	c.allCols = make([]allCol, len(t.Schema.Fields))
	for i, f := range t.Schema.Fields {
		if strings.EqualFold(f.Name, eventTypeCol) {
			if !f.Type.Equal(types.TypeInt) {
				return fmt.Errorf("table '%s': column '%s' is declared %s, but the nexmark event_type is INT", t.Name, f.Name, f.Type.WithNotNull(false))
			}
			c.allCols[i] = allCol{field: -1}
			continue
		}
		row, field, dotted := strings.Cut(f.Name, ".")
		k, ok := kindOf(row)
		if !dotted || !ok {
			return fmt.Errorf("table '%s': column '%s' is not a column of the nexmark table (%s)", t.Name, f.Name, describeAll())
		}
		defs := kindFields(k)
		id := -1
		for j, d := range defs {
			if strings.EqualFold(d.name, field) {
				id = j
				break
			}
		}
		if id < 0 {
			return fmt.Errorf("table '%s': field '%s' is not a field of the nexmark %s ROW (%s)", t.Name, field, k, describe(defs))
		}
		if !f.Type.Equal(defs[id].t) {
			return fmt.Errorf("table '%s': field %s is declared %s, but nexmark %s.%s is %s",
				t.Name, f.Name, f.Type.WithNotNull(false), k, defs[id].name, defs[id].t)
		}
		c.allCols[i] = allCol{kind: k, field: id}
	}
	return nil
}

// describeAll renders the single table's schema for error messages.
func describeAll() string {
	parts := []string{"event_type INT"}
	for _, k := range []kind{kindPerson, kindAuction, kindBid} {
		var fs []types.Field
		for _, d := range kindFields(k) {
			fs = append(fs, types.Field{Name: d.name, Type: d.t})
		}
		parts = append(parts, k.String()+" "+types.RowOf(fs...).String())
	}
	return strings.Join(parts, ", ")
}

// bidBlockEpochs is the number of epochs of a bid block (see seq.go): it
// depends on the stream options only, so that bid values do not depend on
// the declared columns, the parallelism or the table (per-kind or single).
func (c *config) bidBlockEpochs() int64 {
	return max(1, min(blockRows/c.bidProp, blockEvents/c.proportion()))
}

// bindColumns checks the declared columns against the kind's: any subset in
// any order, names case-insensitive, types exactly the kind's.
func (c *config) bindColumns(t connectors.Table) error {
	defs := kindFields(c.kind)
	if len(t.Schema.Fields) == 0 {
		return opts.Errorf(t.Name, "nexmark.table", "the table declares no columns (the %s table has %s)", c.kind, describe(defs))
	}
	c.cols = make([]int, len(t.Schema.Fields))
	for i, f := range t.Schema.Fields {
		id := -1
		for j, d := range defs {
			if strings.EqualFold(d.name, f.Name) {
				id = j
				break
			}
		}
		if id < 0 {
			return opts.Errorf(t.Name, "nexmark.table", "column '%s' is not a column of the nexmark %s table (%s)", f.Name, c.kind, describe(defs))
		}
		if !f.Type.Equal(defs[id].t) {
			return opts.Errorf(t.Name, "nexmark.table", "column '%s' is declared %s, but nexmark %s.%s is %s",
				f.Name, f.Type.WithNotNull(false), c.kind, defs[id].name, defs[id].t)
		}
		c.cols[i] = id
	}
	return nil
}

func describe(defs []fieldDef) string {
	parts := make([]string, len(defs))
	for i, d := range defs {
		parts[i] = d.name + " " + d.t.String()
	}
	return strings.Join(parts, ", ")
}

func positive(table, key, v string, limit int64) (int64, error) {
	n, err := opts.Int64(table, key, v)
	if err != nil {
		return 0, err
	}
	if n <= 0 || n > limit {
		return 0, opts.Errorf(table, key, "must be between 1 and %d, got %d", limit, n)
	}
	return n, nil
}

func avgSize(table, key, v string) (int, error) {
	n, err := opts.MemorySize(table, key, v)
	if err != nil {
		return 0, err
	}
	if n > maxAvgSize {
		return 0, opts.Errorf(table, key, "must be at most 1mb, got '%s'", v)
	}
	return int(n), nil
}

// baseTime parses 'base-time': milliseconds since the epoch, or a
// timestamp 'yyyy-MM-dd HH:mm:ss[.SSS]' (UTC, like the zone-less
// TIMESTAMP(3) columns it becomes).
func baseTime(table, key, v string) (int64, error) {
	s := strings.TrimSpace(v)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<50 {
			return 0, opts.Errorf(table, key, "out of range: %d", n)
		}
		return n, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999", "2006-01-02T15:04:05.999", "2006-01-02"} {
		if ts, err := time.Parse(layout, s); err == nil {
			if ts.Year() < 1970 || ts.Year() > 9999 {
				break
			}
			return ts.UnixMilli(), nil
		}
	}
	return 0, opts.Errorf(table, key, "invalid base time '%s' (milliseconds since 1970 or 'yyyy-MM-dd HH:mm:ss')", v)
}
