package nexmark

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/sql/types"
)

func num(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sortedStrings(rows []row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.String()
	}
	slices.Sort(out)
	return out
}

func TestDeterministicAcrossRunsAndParallelism(t *testing.T) {
	for _, kind := range []string{"person", "auction", "bid"} {
		t.Run(kind, func(t *testing.T) {
			opt := map[string]string{"events.num": "123457"}
			a := readAll(t, newTestSource(t, kind, opt, 0, 1), 0)
			b := readAll(t, newTestSource(t, kind, opt, 0, 1), 0)
			if len(a) == 0 || !slices.Equal(sortedStrings(a), sortedStrings(b)) {
				t.Fatalf("two runs differ (%d vs %d rows)", len(a), len(b))
			}
			for i := range a {
				if a[i].String() != b[i].String() {
					t.Fatalf("row %d differs: %v vs %v", i, a[i], b[i])
				}
			}
			var par []row
			for st := range 3 {
				par = append(par, readAll(t, newTestSource(t, kind, opt, st, 3), 0)...)
			}
			if !slices.Equal(sortedStrings(a), sortedStrings(par)) {
				t.Fatalf("parallelism 3 gives other rows than parallelism 1 (%d vs %d rows)", len(par), len(a))
			}
		})
	}
}

func TestCountsFollowProportions(t *testing.T) {
	// 1234 events: epochs 0..23 whole, then events 1200..1233, of which
	// 1200 is a person, 1201..1203 auctions and 1204..1233 bids.
	want := map[string]int{"person": 25, "auction": 75, "bid": 1134}
	for kind, n := range want {
		got := len(readAll(t, newTestSource(t, kind, map[string]string{"events.num": "1234"}, 0, 1), 0))
		if got != n {
			t.Errorf("%s: %d rows of 1234 events, want %d", kind, got, n)
		}
	}
	// Custom proportions.
	o := map[string]string{"events.num": "1000", "person.proportion": "2", "auction.proportion": "3", "bid.proportion": "5"}
	for kind, n := range map[string]int{"person": 200, "auction": 300, "bid": 500} {
		if got := len(readAll(t, newTestSource(t, kind, o, 0, 1), 0)); got != n {
			t.Errorf("%s with 2:3:5: %d rows, want %d", kind, got, n)
		}
	}
}

// The k-th bid of the stream is event (k/46)*50 + 4 + k%46, and its time
// is the base time plus event/rate.
func TestEventTime(t *testing.T) {
	base := defaultBaseTime
	rows := readAll(t, newTestSource(t, "bid", map[string]string{"events.num": "200000", "first-event.rate": "3000"}, 0, 1), 0)
	dt := fullSchema("bid").Index("dateTime")
	for k, r := range rows {
		n := int64(k/46*50 + 4 + k%46)
		want := (base + n*1000/3000) * 1000 // µs
		if got := num(t, r[dt]); got != want {
			t.Fatalf("bid %d (event %d): time %d, want %d", k, n, got, want)
		}
	}
	// Each subtask's events are in event-time order.
	for st := range 2 {
		rows := readAll(t, newTestSource(t, "auction", map[string]string{"events.num": "100000"}, st, 2), 0)
		adt := fullSchema("auction").Index("dateTime")
		for i := 1; i < len(rows); i++ {
			if num(t, rows[i][adt]) < num(t, rows[i-1][adt]) {
				t.Fatalf("subtask %d: time goes back at row %d", st, i)
			}
		}
	}
	// 'base-time' moves the start.
	r := readAll(t, newTestSource(t, "person", map[string]string{"base-time": "2024-01-02 03:04:05", "events.num": "1"}, 0, 1), 0)
	if got := num(t, r[0][fullSchema("person").Index("dateTime")]); got != 1704164645000000 {
		t.Fatalf("base-time: first person at %d", got)
	}
}

func TestSeekReplays(t *testing.T) {
	for kind, events := range map[string]string{"person": "4000000", "auction": "2000000", "bid": "400000"} {
		opt := map[string]string{"events.num": events}
		s := newTestSource(t, kind, opt, 1, 2)
		ctx := context.Background()
		for range 3 {
			if _, err := s.Next(ctx); err != nil {
				t.Fatal(err)
			}
		}
		pos, err := s.Position()
		if err != nil {
			t.Fatal(err)
		}
		want := readAll(t, s, 0)
		r := newTestSource(t, kind, opt, 1, 2)
		if err := r.Seek(pos); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, r, 0)
		if len(want) == 0 || !slices.Equal(sortedStrings(want), sortedStrings(got)) {
			t.Fatalf("%s: after Seek %d rows, want the %d rows that followed", kind, len(got), len(want))
		}
		// At the end, the position still restores to the end.
		pos, _ = s.Position()
		e := newTestSource(t, kind, opt, 1, 2)
		if err := e.Seek(pos); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Next(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("%s: seek to the end, then Next: %v", kind, err)
		}
	}
}

func TestSeekRefusesForeignPositions(t *testing.T) {
	s := newTestSource(t, "bid", nil, 0, 2)
	pos, _ := s.Position()
	other := newTestSource(t, "bid", nil, 0, 3)
	if err := other.Seek(pos); err == nil || !strings.Contains(err.Error(), "not supported yet: restoring a nexmark source at a different parallelism") {
		t.Fatalf("different parallelism: %v", err)
	}
	sub := newTestSource(t, "bid", nil, 1, 2)
	if err := sub.Seek(pos); err == nil {
		t.Fatal("a position of subtask 0 restored into subtask 1")
	}
	person := newTestSource(t, "person", nil, 0, 2)
	if err := person.Seek(pos); err == nil || !strings.Contains(err.Error(), "not a person event") {
		t.Fatalf("a bid position in a person table: %v", err)
	}
	if err := s.Seek([]byte{9}); err == nil {
		t.Fatal("garbage position accepted")
	}
}

func TestBoundedEnd(t *testing.T) {
	s := newTestSource(t, "bid", map[string]string{"events.num": "10000"}, 0, 1)
	if !s.Bounded() {
		t.Fatal("a table with events.num is bounded")
	}
	if n := len(readAll(t, s, 0)); n != 9200 {
		t.Fatalf("%d bids of 10000 events", n)
	}
	if _, err := s.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after the end: %v", err)
	}
	if newTestSource(t, "bid", nil, 0, 1).Bounded() {
		t.Fatal("a table without events.num is unbounded")
	}
	ka := newTestSource(t, "bid", map[string]string{"events.num": "100", "keep-alive": "true"}, 0, 1)
	if ka.Bounded() {
		t.Fatal("keep-alive keeps the table open")
	}
	if b, err := ka.Next(context.Background()); err != nil || b.Len() != 92 {
		t.Fatalf("keep-alive first batch: %d rows, %v", b.Len(), err)
	}
	if b, err := ka.Next(context.Background()); err != nil || b.Len() != 0 {
		t.Fatalf("keep-alive after the end: %d rows, %v", b.Len(), err)
	}
}

func TestThrottled(t *testing.T) {
	// 20 events a second: the first batch cannot hold all 1000 events.
	s := newTestSource(t, "bid", map[string]string{"events.num": "1000", "first-event.rate": "20", "max-emit-speed": "false"}, 0, 1)
	b, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() >= 920 {
		t.Fatalf("throttled source emitted %d rows at once", b.Len())
	}
	// Read to the end, throttled, the rows are those of the unthrottled
	// table (at 20000 events/s, 3000 events take about 0.15 s).
	o := map[string]string{"events.num": "3000", "first-event.rate": "20000"}
	fast := readAll(t, newTestSource(t, "auction", o, 1, 2), 0)
	o["max-emit-speed"] = "false"
	slow := readAll(t, newTestSource(t, "auction", o, 1, 2), 0)
	if len(fast) != 90 || !slices.Equal(sortedStrings(fast), sortedStrings(slow)) {
		t.Fatalf("throttled: %d rows, unthrottled %d (or different rows)", len(slow), len(fast))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 3 {
		if _, err := s.Next(ctx); err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled: %v", err)
			}
			return
		}
	}
}

func TestBidValues(t *testing.T) {
	rows := readAll(t, newTestSource(t, "bid", map[string]string{"events.num": "500000"}, 0, 1), 0)
	s := fullSchema("bid")
	ai, bi, pi, ci, ui, ei := s.Index("auction"), s.Index("bidder"), s.Index("price"), s.Index("channel"), s.Index("url"), s.Index("extra")
	var low, hotChan, hotAuction, hotBidder int
	var extraLen int
	maxA := int64(500000/50*3 + firstAuctionID + idLead)
	for k, r := range rows {
		epoch := int64(k / 46)
		p := num(t, r[pi])
		if p < 100 || p > 100_000_000 {
			t.Fatalf("price %d out of range", p)
		}
		if p < 100_000 {
			low++
		}
		a, b := num(t, r[ai]), num(t, r[bi])
		if a < firstAuctionID || a > maxA || b < firstPersonID {
			t.Fatalf("bid %d: auction %d, bidder %d", k, a, b)
		}
		if a == (epoch*3+2)/100*100+firstAuctionID {
			hotAuction++
		}
		if b == epoch/100*100+1+firstPersonID {
			hotBidder++
		}
		switch r[ci] {
		case "Google", "Facebook", "Baidu", "Apple":
			hotChan++
		default:
			if !strings.HasPrefix(r[ci], "channel-") {
				t.Fatalf("channel %q", r[ci])
			}
		}
		if !strings.HasPrefix(r[ui], "https://www.nexmark.com/") {
			t.Fatalf("url %q", r[ui])
		}
		e := r[ei]
		if len(e) < 54 || len(e) > 82 || strings.Trim(e, "abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("extra %q (%d bytes)", e, len(e))
		}
		extraLen += len(e)
	}
	n := float64(len(rows))
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s: %.3f, want about %.3f", what, got, want)
		}
	}
	near("share of prices below 10^5 (log-uniform)", float64(low)/n, 0.5, 0.01)
	near("share of hot channels", float64(hotChan)/n, 0.5, 0.01)
	near("share of hot auctions (ratio 2)", float64(hotAuction)/n, 0.5, 0.02)
	near("share of hot bidders (ratio 4)", float64(hotBidder)/n, 0.75, 0.02)
	near("mean extra length (100 bytes - 32)", float64(extraLen)/n, 67.5, 0.5)
}

func TestPersonAndAuctionValues(t *testing.T) {
	people := readAll(t, newTestSource(t, "person", map[string]string{"events.num": "100000"}, 0, 1), 0)
	ps := fullSchema("person")
	states := map[string]int{}
	for k, r := range people {
		if id := num(t, r[ps.Index("id")]); id != int64(k)+firstPersonID {
			t.Fatalf("person %d has id %d", k, id)
		}
		states[r[ps.Index("state")]]++
		cc := r[ps.Index("creditCard")]
		if len(cc) != 19 || strings.Count(cc, " ") != 3 || strings.Trim(cc, "0123456789 ") != "" {
			t.Fatalf("credit card %q", cc)
		}
		if e := r[ps.Index("emailAddress")]; !strings.Contains(e, "@") || !strings.HasSuffix(e, ".com") {
			t.Fatalf("email %q", e)
		}
		if !strings.Contains(r[ps.Index("name")], " ") || r[ps.Index("city")] == "" {
			t.Fatalf("person %v", r)
		}
	}
	if len(states) != 6 {
		t.Fatalf("states %v", states)
	}
	for _, st := range []string{"AZ", "CA", "ID", "OR", "WA", "WY"} {
		if states[st] < len(people)/6*8/10 {
			t.Errorf("state %s: %d of %d people", st, states[st], len(people))
		}
	}

	auctions := readAll(t, newTestSource(t, "auction", map[string]string{"events.num": "100000"}, 0, 1), 0)
	as := fullSchema("auction")
	cats := map[int64]int{}
	extra := 0
	for k, r := range auctions {
		if id := num(t, r[as.Index("id")]); id != int64(k)+firstAuctionID {
			t.Fatalf("auction %d has id %d", k, id)
		}
		c := num(t, r[as.Index("category")])
		cats[c]++
		ib, res := num(t, r[as.Index("initialBid")]), num(t, r[as.Index("reserve")])
		if ib < 100 || res <= ib {
			t.Fatalf("initialBid %d, reserve %d", ib, res)
		}
		if num(t, r[as.Index("expires")]) <= num(t, r[as.Index("dateTime")]) {
			t.Fatalf("auction %d expires before it starts", k)
		}
		seller := num(t, r[as.Index("seller")])
		if seller < firstPersonID || seller > int64(k/3)+firstPersonID+idLead {
			t.Fatalf("auction %d: seller %d", k, seller)
		}
		extra += len(r[as.Index("extra")])
	}
	for c := int64(10); c <= 14; c++ {
		if cats[c] < len(auctions)/5*8/10 {
			t.Errorf("category %d: %d of %d auctions", c, cats[c], len(auctions))
		}
	}
	if len(cats) != 5 {
		t.Errorf("categories %v", cats)
	}
	// Padding brings an auction to about 500 bytes: the mean of extra is
	// 500 - 48 - the mean lengths of itemName and description.
	if m := float64(extra) / float64(len(auctions)); m < 380 || m > 400 {
		t.Errorf("mean auction extra %.1f bytes", m)
	}
}

func TestProjectionKeepsValues(t *testing.T) {
	full := readAll(t, newTestSource(t, "bid", map[string]string{"events.num": "5000"}, 0, 1), 0)
	tb := testTable("bid", map[string]string{"events.num": "5000"})
	tb.Schema = types.NewSchema(types.Field{Name: "PRICE", Type: types.TypeBigInt}, types.Field{Name: "Auction", Type: types.TypeBigInt})
	sub := readAll(t, openTable(t, tb, 0, 1), 0)
	if len(sub) != len(full) {
		t.Fatalf("%d rows, want %d", len(sub), len(full))
	}
	for i := range sub {
		if sub[i][0] != full[i][2] || sub[i][1] != full[i][0] {
			t.Fatalf("row %d: %v, full row %v", i, sub[i], full[i])
		}
	}
}

func TestValidation(t *testing.T) {
	cases := []struct {
		opts   map[string]string
		option string
		msg    string
	}{
		{map[string]string{"nexmark.table": "bids"}, "nexmark.table", "expected person, auction, bid or nexmark"},
		{map[string]string{"nexmark.table": "bid", "foo": "1"}, "foo", "unknown option"},
		{map[string]string{"nexmark.table": "bid", "events.num": "-1"}, "events.num", "must not be negative"},
		{map[string]string{"nexmark.table": "bid", "events.num": "x"}, "events.num", "invalid integer"},
		{map[string]string{"nexmark.table": "bid", "first-event.rate": "0"}, "first-event.rate", "must be between 1"},
		{map[string]string{"nexmark.table": "bid", "next-event.rate": "5"}, "next-event.rate", "not supported yet: a varying rate"},
		{map[string]string{"nexmark.table": "bid", "rate.shape": "triangle"}, "rate.shape", "square or sine"},
		{map[string]string{"nexmark.table": "bid", "rate.period": "soon"}, "rate.period", "invalid duration"},
		{map[string]string{"nexmark.table": "bid", "max-emit-speed": "yes"}, "max-emit-speed", "invalid boolean"},
		{map[string]string{"nexmark.table": "bid", "person.proportion": "0"}, "person.proportion", "must be between 1"},
		{map[string]string{"nexmark.table": "bid", "bid.hot-ratio.bidders": "-2"}, "bid.hot-ratio.bidders", "must be between 1"},
		{map[string]string{"nexmark.table": "bid", "bid.avg-size": "2gb"}, "bid.avg-size", "at most 1mb"},
		{map[string]string{"nexmark.table": "bid", "auction.avg-size": "big"}, "auction.avg-size", "invalid memory size"},
		{map[string]string{"nexmark.table": "bid", "base-time": "yesterday"}, "base-time", "invalid base time"},
		{map[string]string{"nexmark.table": "bid", "stop-at": "10"}, "stop-at", "not supported yet"},
		{map[string]string{"nexmark.table": "bid", "extended-bid-mode": "true"}, "extended-bid-mode", "not supported yet"},
		{map[string]string{}, "nexmark.table", "the table must be Flink's nexmark table (event_type INT, person ROW<...>, auction ROW<...>, bid ROW<...>) or name its kind with 'nexmark.table' = 'person' | 'auction' | 'bid'"},
	}
	for _, c := range cases {
		err := New().Validate(connectors.Table{Name: "t", Schema: fullSchema("bid"), Options: c.opts})
		var oe *connectors.OptionError
		if !errors.As(err, &oe) || oe.Option != c.option || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: got %v, want option '%s' error containing %q", c.opts, err, c.option, c.msg)
		}
	}
	ok := map[string]string{"nexmark.table": "BID", "events.num": "0", "first-event.rate": "10000000", "next-event.rate": "10000000",
		"rate.shape": "sine", "rate.period": "10 min", "rate.limited": "false", "max-emit-speed": "true", "keep-alive": "false",
		"person.proportion": "1", "auction.proportion": "3", "bid.proportion": "46", "bid.hot-ratio.auctions": "2",
		"bid.hot-ratio.bidders": "4", "auction.hot-ratio.sellers": "4", "person.avg-size": "200b", "auction.avg-size": "500 b",
		"bid.avg-size": "1kb", "base-time": "1436918400000", "stop-at": "-1", "extended-bid-mode": "false"}
	if err := New().Validate(connectors.Table{Name: "t", Schema: fullSchema("bid"), Options: ok}); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
}

func TestSchemaChecks(t *testing.T) {
	check := func(fields []types.Field, want string) {
		t.Helper()
		err := New().Validate(connectors.Table{Name: "t", Schema: types.NewSchema(fields...), Options: map[string]string{"nexmark.table": "bid"}})
		if want == "" {
			if err != nil {
				t.Errorf("%v: %v", fields, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got %v, want %q", fields, err, want)
		}
	}
	check([]types.Field{{Name: "price", Type: types.TypeBigInt}, {Name: "DATETIME", Type: types.TimestampOf(3).WithNotNull(true)}}, "")
	check([]types.Field{{Name: "seller", Type: types.TypeBigInt}}, "column 'seller' is not a column of the nexmark bid table (auction BIGINT, bidder BIGINT")
	check([]types.Field{{Name: "price", Type: types.TypeInt}}, "column 'price' is declared INT, but nexmark bid.price is BIGINT")
	check([]types.Field{{Name: "dateTime", Type: types.TimestampOf(6)}}, "is declared TIMESTAMP(6), but nexmark bid.dateTime is TIMESTAMP(3)")
	check([]types.Field{{Name: "url", Type: types.Type{Kind: types.String, Length: 10}}}, "is declared VARCHAR(10)")
	if _, err := New().NewSink(testTable("bid", nil)); err == nil {
		t.Fatal("nexmark accepted a sink")
	}
}

func TestWordLists(t *testing.T) {
	tb := New().tables()
	if len(tb.firstNames) != nFirst || len(tb.lastNames) != nLast || len(tb.cities) != nCities || len(tb.states) != nStates {
		t.Fatal("word list sizes and their constants disagree")
	}
	if len(tb.hotNames) != numHotChannels || len(tb.hotURLs) != numHotChannels || len(tb.chanOff) != 2*numChannels+1 {
		t.Fatal("channel tables have the wrong size")
	}
}

// String columns are written without per-value capacity checks, trusting
// strMax: no value may be longer.
func TestStringLengthBounds(t *testing.T) {
	for _, kind := range []string{"person", "auction", "bid"} {
		s := newTestSource(t, kind, map[string]string{"events.num": "300000"}, 0, 1)
		rows := readAll(t, s, 0)
		for _, r := range rows {
			for c, f := range s.cfg.cols {
				if s.gen.isStr[f] && len(r[c]) > s.gen.strMax[f] {
					t.Fatalf("%s column %d: %q is longer than %d", kind, c, r[c], s.gen.strMax[f])
				}
			}
		}
	}
}

func TestLongPaddingAndWideEpochs(t *testing.T) {
	// 20 kB bids: padding longer than the shared letters' slack wraps.
	rows := readAll(t, newTestSource(t, "bid", map[string]string{"events.num": "2000", "bid.avg-size": "20kb"}, 0, 1), 0)
	ei := fullSchema("bid").Index("extra")
	d := 20*1024 - 32
	for _, r := range rows {
		e := r[ei]
		if len(e) < d*8/10-1 || len(e) > d*12/10+1 || strings.Trim(e, "abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("extra of %d bytes", len(e))
		}
	}
	// 5000 people per epoch: one epoch's run fills whole batches.
	o := map[string]string{"events.num": "20008", "person.proportion": "5000", "auction.proportion": "1", "bid.proportion": "1"}
	people := readAll(t, newTestSource(t, "person", o, 0, 1), 0)
	if len(people) != 4*5000 {
		t.Fatalf("%d people", len(people))
	}
	for k, r := range people {
		if num(t, r[0]) != int64(k)+firstPersonID {
			t.Fatalf("person %d: %v", k, r)
		}
	}
}

// Event times end in the year 9999: an unbounded table then idles.
func TestEndOfTime(t *testing.T) {
	s := newTestSource(t, "bid", map[string]string{"base-time": "9999-12-31 23:59:00", "first-event.rate": "1"}, 0, 1)
	total := 0
	for range 3 {
		b, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total += b.Len()
	}
	if total != 46 {
		t.Fatalf("%d bids before the end of time, want the first epoch's 46", total)
	}
}

// Bids' channel, url and extra are windows of precomputed sequences, a
// block's bids taking consecutive entries: whatever the batch boundaries
// (throttling, the end of the stream, a restore mid-block), every bid has
// the same values.
func TestBidValuesIndependentOfBatching(t *testing.T) {
	for _, par := range []int{1, 2} {
		opt := map[string]string{"events.num": "400000"}
		st := par - 1
		full := readAll(t, newTestSource(t, "bid", opt, st, par), 0)
		s := newTestSource(t, "bid", opt, st, par)
		var got []row
		for i := 0; ; i++ {
			rows := 1 + (i*7919)%600 // batch sizes 1 to 600
			cs := s.gen.alloc(rows)
			n, done := s.gen.fill(cs, rows, &s.cur, s.end, math.MaxInt64)
			got = append(got, rowsOf(s.gen.record(s.schema, cs, n))...)
			if done {
				break
			}
		}
		if len(got) != len(full) {
			t.Fatalf("parallelism %d: %d rows in small batches, %d in full ones", par, len(got), len(full))
		}
		for i := range got {
			if got[i].String() != full[i].String() {
				t.Fatalf("parallelism %d, row %d: %v in small batches, %v in full ones", par, i, got[i], full[i])
			}
		}
	}
	// A restore in the middle of a block: subtask 1 of 2 starts with block
	// 1 (epochs 89 to 177 of 46 bids each); event 100*50+10 is the bid of
	// epoch 100 at offset 10, its row (100-89)*46 + 10-4.
	opt := map[string]string{"events.num": "100000"}
	full := readAll(t, newTestSource(t, "bid", opt, 1, 2), 0)
	s := newTestSource(t, "bid", opt, 1, 2)
	pos := []byte{positionVersion, 2, 1, 50}
	pos = binary.AppendUvarint(pos, 100*50+10)
	if err := s.Seek(pos); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, s, 0)
	want := full[(100-89)*46+10-4:]
	if !slices.EqualFunc(got, want, func(a, b row) bool { return a.String() == b.String() }) {
		t.Fatalf("after a seek mid-block: %d rows, want %d (or other values)", len(got), len(want))
	}
	// Few bids among many events: blocks are capped at blockEvents events
	// (13 epochs of 5004 here), and still split the stream exactly (59 whole
	// epochs of 3 bids; the 60th ends before its bids).
	wide := map[string]string{"events.num": "300000", "person.proportion": "5000", "bid.proportion": "3"}
	one := readAll(t, newTestSource(t, "bid", wide, 0, 1), 0)
	var three []row
	for st := range 3 {
		src := newTestSource(t, "bid", wide, st, 3)
		if src.gen.blockE != 13 {
			t.Fatalf("%d epochs per block", src.gen.blockE)
		}
		three = append(three, readAll(t, src, 0)...)
	}
	if len(one) != 59*3 || !slices.Equal(sortedStrings(one), sortedStrings(three)) {
		t.Fatalf("wide epochs: %d rows at parallelism 1, %d at 3 (or other values)", len(one), len(three))
	}
	// A position of the earlier generator (version 1) is refused.
	if err := s.Seek([]byte{1, 2, 1, 50, 0}); err == nil || !strings.Contains(err.Error(), "earlier nexmark generator") {
		t.Fatalf("version 1 position: %v", err)
	}
}

// String columns are ordinary compact Arrow arrays (offsets from 0, the
// data buffer exactly the values), whether copied or windows of shared
// text; the padding of bids is not repeated block after block: nearly all
// of the precomputed paddings occur.
func TestBidStringColumns(t *testing.T) {
	for _, size := range []string{"100b", "2kb"} { // precomputed / copied padding
		s := newTestSource(t, "bid", map[string]string{"events.num": "200000", "bid.avg-size": size}, 0, 1)
		distinct := map[string]bool{}
		rows := 0
		for {
			b, err := s.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			rows += b.Len()
			for c := 0; c < int(b.Rec.NumCols()); c++ {
				a, ok := b.Rec.Column(c).(*array.String)
				if !ok {
					continue
				}
				offs := a.ValueOffsets()
				if !slices.IsSorted(offs) || len(offs) != a.Len()+1 || utf8.Valid(a.ValueBytes()) == false {
					t.Fatalf("%s column %d: invalid string array", size, c)
				}
				if offs[0] != 0 || int(offs[len(offs)-1]) != a.Data().Buffers()[2].Len() {
					t.Fatalf("%s column %d: offsets %d..%d over %d bytes", size, c, offs[0], offs[len(offs)-1], a.Data().Buffers()[2].Len())
				}
				if v := a.ValueBytes(); cap(v) != len(v) {
					t.Fatalf("%s column %d: %d bytes, capacity %d (an append would write past them)", size, c, len(v), cap(v))
				}
				if s.cfg.cols[c] == bExtra {
					for i := range a.Len() {
						distinct[a.Value(i)] = true
					}
				}
			}
		}
		if len(distinct) < min(rows, seqLen)*9/10 {
			t.Errorf("%s: %d distinct paddings among %d bids", size, len(distinct), rows)
		}
	}
}
