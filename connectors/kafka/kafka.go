// Package kafka implements Flink's 'kafka' and 'upsert-kafka' connectors
// with franz-go: a source that splits a topic's partitions over subtasks
// and checkpoints their offsets, and a sink with none, at-least-once or
// exactly-once (Kafka transactions committed with the checkpoint) delivery.
// README.md in this directory is the user documentation.
package kafka

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/sql/types"
)

// Factory creates 'kafka' (or, with upsert, 'upsert-kafka') sources and
// sinks.
type Factory struct {
	upsert bool
}

// New returns the 'kafka' factory.
func New() *Factory { return &Factory{} }

// NewUpsert returns the 'upsert-kafka' factory.
func NewUpsert() *Factory { return &Factory{upsert: true} }

// Name implements connectors.Factory.
func (f *Factory) Name() string {
	if f.upsert {
		return "upsert-kafka"
	}
	return "kafka"
}

// Validate implements connectors.Factory.
func (f *Factory) Validate(t connectors.Table) error {
	_, err := f.parse(t)
	return err
}

// NewSource implements connectors.Factory.
func (f *Factory) NewSource(t connectors.Table) (connectors.Source, error) {
	c, err := f.parse(t)
	if err != nil {
		return nil, err
	}
	return newSource(c, t), nil
}

// NewSink implements connectors.Factory.
func (f *Factory) NewSink(t connectors.Table) (connectors.Sink, error) {
	c, err := f.parse(t)
	if err != nil {
		return nil, err
	}
	if c.topicPattern != nil {
		return nil, opts.Errorf(t.Name, "topic-pattern", "a sink needs 'topic' (one topic), not 'topic-pattern'")
	}
	if len(c.topics) != 1 {
		return nil, opts.Errorf(t.Name, "topic", "a sink writes one topic, got %d", len(c.topics))
	}
	for _, m := range c.meta {
		if m.key != metaTimestamp {
			return nil, fmt.Errorf("table '%s': metadata column '%s' (FROM '%s') is read-only; declare it VIRTUAL", t.Name, m.column, m.key)
		}
	}
	for _, fm := range []*format.Format{c.key, c.value} {
		if cs, ok := any(fm).(interface{ CheckSink() error }); ok && fm != nil {
			if err := cs.CheckSink(); err != nil {
				return nil, err
			}
		}
	}
	return newSink(c, t), nil
}

// AcceptsUpdates implements connectors.UpdateSinkFactory: upsert-kafka
// writes updates as upserts and deletes as tombstones; a kafka table with
// a changelog value format (debezium-json) encodes every row kind.
func (f *Factory) AcceptsUpdates(t connectors.Table) bool {
	if f.upsert {
		return true
	}
	c, err := f.parse(t)
	return err == nil && isChangelog(c.value)
}

// ProducesUpdates implements connectors.ChangelogSourceFactory: an
// upsert-kafka source emits +I/-U/+U/-D, and so does a kafka source whose
// value format is a changelog format (debezium-json).
func (f *Factory) ProducesUpdates(t connectors.Table) bool {
	if f.upsert {
		return true
	}
	c, err := f.parse(t)
	return err == nil && isChangelog(c.value)
}

// isChangelog reports whether a format emits row kinds (debezium-json).
func isChangelog(f *format.Format) bool {
	cl, ok := any(f).(interface{ Changelog() bool })
	return ok && cl.Changelog()
}

// Metadata keys, as Flink's Kafka connector names them.
const (
	metaTopic         = "topic"
	metaPartition     = "partition"
	metaOffset        = "offset"
	metaTimestamp     = "timestamp"
	metaTimestampType = "timestamp-type"
	metaLeaderEpoch   = "leader-epoch"
)

// Metadata implements connectors.MetadataFactory. 'headers' is missing:
// the engine has no MAP or BYTES type yet.
func (f *Factory) Metadata() []connectors.MetadataKey {
	return []connectors.MetadataKey{
		{Key: metaTopic, Type: types.TypeString},
		{Key: metaPartition, Type: types.TypeInt},
		{Key: metaOffset, Type: types.TypeBigInt},
		{Key: metaTimestamp, Type: types.Type{Kind: types.TimestampLTZ, Precision: 3}, Writable: true},
		{Key: metaTimestampType, Type: types.TypeString},
		{Key: metaLeaderEpoch, Type: types.TypeInt},
	}
}

type startupMode int

const (
	startEarliest startupMode = iota
	startLatest
	startGroup
	startTimestamp
	startSpecific
)

type delivery int

const (
	deliveryNone delivery = iota
	deliveryAtLeastOnce
	deliveryExactlyOnce
)

type partitioner int

const (
	partDefault partitioner = iota
	partFixed
	partRoundRobin
)

// metaCol is a metadata column: its index in the table schema and key.
type metaCol struct {
	index  int
	column string
	key    string
}

// config is a validated kafka or upsert-kafka table.
type config struct {
	table        string
	connector    string
	upsert       bool
	topics       []string
	topicPattern *regexp.Regexp
	brokers      []string
	groupID      string
	clientID     string

	startup       startupMode
	startupTS     int64
	specific      map[int32]int64
	bounded       bool
	readCommitted bool
	autoReset     string // group-offsets without a committed offset: earliest, latest or none

	schema      types.Schema
	key         *format.Format // nil without key.format
	value       *format.Format
	keySchema   types.Schema
	valueSchema types.Schema
	keyIdx      []int // table columns of the key, in key.fields order
	valueIdx    []int // table columns of the value
	exceptKey   bool
	meta        []metaCol
	pkIdx       []int

	partitioner     partitioner
	delivery        delivery
	txPrefix        string
	txTimeout       time.Duration
	linger          time.Duration
	batchMaxBytes   int32
	compression     []kgo.CompressionCodec
	acks            kgo.Acks
	acksSet         bool
	deliveryTimeout time.Duration
	fetchMaxBytes   int32
	partFetchMax    int32
	requestTimeout  time.Duration
	noIdempotence   bool
}

// honouredProperties lists the 'properties.*' keys passed to franz-go.
var honouredProperties = []string{
	"bootstrap.servers", "group.id", "client.id", "isolation.level", "auto.offset.reset",
	"transaction.timeout.ms", "linger.ms", "batch.size", "compression.type", "acks",
	"delivery.timeout.ms", "fetch.max.bytes", "max.partition.fetch.bytes", "request.timeout.ms",
	"enable.idempotence", "partition.discovery.interval.ms",
}

func (f *Factory) parse(t connectors.Table) (*config, error) {
	c := &config{table: t.Name, connector: f.Name(), upsert: f.upsert, schema: t.Schema, readCommitted: true,
		autoReset: "none", txTimeout: 15 * time.Minute, delivery: deliveryAtLeastOnce}
	o := t.Options
	get := func(k string) (string, bool) {
		v, ok := o[k]
		return strings.TrimSpace(v), ok
	}
	// Formats first: their options are recognised by prefix below.
	valueName, hasValue := get("value.format")
	fmtName, hasFormat := get("format")
	keyName, hasKey := get("key.format")
	switch {
	case f.upsert && hasFormat:
		return nil, opts.Errorf(t.Name, "format", "upsert-kafka takes 'key.format' and 'value.format', not 'format'")
	case hasValue && hasFormat:
		return nil, opts.Errorf(t.Name, "format", "give 'format' or 'value.format', not both")
	case hasFormat:
		valueName, hasValue = fmtName, true
	case !hasValue:
		return nil, opts.Errorf(t.Name, "value.format", "required option is missing ('format' or 'value.format', e.g. json or csv)")
	}
	if f.upsert && !hasKey {
		return nil, opts.Errorf(t.Name, "key.format", "required option is missing (upsert-kafka writes the primary key as the record key)")
	}
	valuePrefix := ""
	if !hasFormat {
		valuePrefix = "value."
	}

	var err error
	var keyFields []string
	for _, k := range opts.SortedKeys(o) {
		v, _ := get(k)
		switch {
		case k == "format", k == "value.format", k == "key.format":
		case hasFormat && strings.HasPrefix(k, valueName+"."):
		case !hasFormat && strings.HasPrefix(k, "value."+valueName+"."):
		case hasKey && strings.HasPrefix(k, "key."+keyName+"."):
		case k == "topic":
			for _, s := range strings.Split(v, ";") {
				if s = strings.TrimSpace(s); s != "" {
					c.topics = append(c.topics, s)
				}
			}
			if len(c.topics) == 0 {
				err = opts.Errorf(t.Name, k, "empty topic name")
			}
		case k == "topic-pattern" && !f.upsert:
			if c.topicPattern, err = regexp.Compile("^(?:" + v + ")$"); err != nil {
				err = opts.Errorf(t.Name, k, "invalid regular expression: %v", err)
			}
		case k == "key.fields" && !f.upsert:
			for _, s := range strings.Split(v, ";") {
				keyFields = append(keyFields, strings.TrimSpace(s))
			}
		case k == "key.fields-prefix":
			err = opts.NotSupported(t.Name, k)
		case k == "value.fields-include":
			switch strings.ToUpper(v) {
			case "ALL":
				c.exceptKey = false
			case "EXCEPT_KEY":
				c.exceptKey = true
			default:
				err = opts.Errorf(t.Name, k, "expected ALL or EXCEPT_KEY, got '%s'", v)
			}
		case k == "scan.startup.mode" && !f.upsert:
			switch v {
			case "earliest-offset":
				c.startup = startEarliest
			case "latest-offset":
				c.startup = startLatest
			case "group-offsets":
				c.startup = startGroup
			case "timestamp":
				c.startup = startTimestamp
			case "specific-offsets":
				c.startup = startSpecific
			default:
				err = opts.Errorf(t.Name, k, "expected earliest-offset, latest-offset, group-offsets, timestamp or specific-offsets, got '%s'", v)
			}
		case k == "scan.startup.timestamp-millis" && !f.upsert:
			if c.startupTS, err = opts.Int64(t.Name, k, v); err == nil && c.startupTS < 0 {
				err = opts.Errorf(t.Name, k, "must not be negative")
			}
		case k == "scan.startup.specific-offsets" && !f.upsert:
			c.specific, err = parseSpecificOffsets(t.Name, k, v)
		case k == "scan.bounded.mode":
			switch v {
			case "unbounded":
				c.bounded = false
			case "latest-offset":
				c.bounded = true
			case "group-offsets", "timestamp", "specific-offsets":
				err = opts.Errorf(t.Name, k, "not supported yet: '%s' (latest-offset and unbounded are)", v)
			default:
				err = opts.Errorf(t.Name, k, "expected unbounded or latest-offset, got '%s'", v)
			}
		case k == "scan.topic-partition-discovery.interval", k == "scan.parallelism", k == "sink.parallelism",
			k == "sink.buffer-flush.max-rows", k == "sink.buffer-flush.interval", k == "scan.bounded.timestamp-millis",
			k == "scan.bounded.specific-offsets":
			err = opts.NotSupported(t.Name, k)
		case k == "sink.partitioner" && !f.upsert:
			switch v {
			case "default":
				c.partitioner = partDefault
			case "fixed":
				c.partitioner = partFixed
			case "round-robin":
				c.partitioner = partRoundRobin
			default:
				err = opts.Errorf(t.Name, k, "expected default, fixed or round-robin (custom partitioner classes are not supported), got '%s'", v)
			}
		case k == "sink.delivery-guarantee":
			switch v {
			case "none":
				c.delivery = deliveryNone
			case "at-least-once":
				c.delivery = deliveryAtLeastOnce
			case "exactly-once":
				c.delivery = deliveryExactlyOnce
			default:
				err = opts.Errorf(t.Name, k, "expected none, at-least-once or exactly-once, got '%s'", v)
			}
		case k == "sink.transactional-id-prefix":
			if v == "" {
				err = opts.Errorf(t.Name, k, "must not be empty")
			}
			c.txPrefix = v
		case strings.HasPrefix(k, "properties."):
			err = c.property(t.Name, k, strings.TrimPrefix(k, "properties."), v)
		default:
			err = opts.Unknown(t.Name, k)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(c.topics) > 0 && c.topicPattern != nil {
		return nil, opts.Errorf(t.Name, "topic-pattern", "give 'topic' or 'topic-pattern', not both")
	}
	if len(c.topics) == 0 && c.topicPattern == nil {
		name := "topic"
		if !f.upsert {
			name = "topic' or 'topic-pattern"
		}
		return nil, opts.Errorf(t.Name, "topic", "required option is missing ('%s')", name)
	}
	if len(c.brokers) == 0 {
		return nil, opts.Errorf(t.Name, "properties.bootstrap.servers", "required option is missing")
	}
	if c.startup == startTimestamp {
		if _, ok := o["scan.startup.timestamp-millis"]; !ok {
			return nil, opts.Errorf(t.Name, "scan.startup.timestamp-millis", "required when 'scan.startup.mode' is 'timestamp'")
		}
	} else if _, ok := o["scan.startup.timestamp-millis"]; ok {
		return nil, opts.Errorf(t.Name, "scan.startup.timestamp-millis", "only valid with 'scan.startup.mode' = 'timestamp'")
	}
	if c.startup == startSpecific {
		if c.specific == nil {
			return nil, opts.Errorf(t.Name, "scan.startup.specific-offsets", "required when 'scan.startup.mode' is 'specific-offsets'")
		}
		if len(c.topics) != 1 {
			return nil, opts.Errorf(t.Name, "scan.startup.specific-offsets", "needs exactly one 'topic'")
		}
	} else if c.specific != nil {
		return nil, opts.Errorf(t.Name, "scan.startup.specific-offsets", "only valid with 'scan.startup.mode' = 'specific-offsets'")
	}
	if c.startup == startGroup && c.groupID == "" {
		return nil, opts.Errorf(t.Name, "properties.group.id", "required when 'scan.startup.mode' is 'group-offsets'")
	}
	if c.delivery == deliveryExactlyOnce && c.txPrefix == "" {
		return nil, opts.Errorf(t.Name, "sink.transactional-id-prefix", "required when 'sink.delivery-guarantee' is 'exactly-once'")
	}

	// Metadata columns.
	isMeta := make([]bool, t.Schema.Len())
	for _, m := range t.Metadata {
		i := t.Schema.Index(m.Column)
		if i < 0 {
			return nil, fmt.Errorf("table '%s': metadata column '%s' is not in the schema", t.Name, m.Column)
		}
		found := false
		for _, k := range f.Metadata() {
			if k.Key == m.Key {
				found = true
				if k.Type.Kind != t.Schema.Fields[i].Type.Kind {
					return nil, fmt.Errorf("table '%s': metadata column '%s': '%s' has type %s", t.Name, m.Column, m.Key, k.Type)
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("table '%s': metadata column '%s': connector '%s' has no metadata '%s'", t.Name, m.Column, f.Name(), m.Key)
		}
		isMeta[i] = true
		c.meta = append(c.meta, metaCol{index: i, column: m.Column, key: m.Key})
	}

	// Key fields: key.fields (kafka) or the primary key (upsert-kafka).
	if f.upsert {
		if len(t.PrimaryKey) == 0 {
			return nil, fmt.Errorf("table '%s': upsert-kafka needs a PRIMARY KEY (the record key), e.g. PRIMARY KEY (id) NOT ENFORCED", t.Name)
		}
		keyFields = t.PrimaryKey
	} else if len(keyFields) > 0 && !hasKey {
		return nil, opts.Errorf(t.Name, "key.fields", "needs 'key.format'")
	} else if hasKey && len(keyFields) == 0 {
		return nil, opts.Errorf(t.Name, "key.format", "needs 'key.fields' (the columns written as the record key)")
	}
	if c.exceptKey && len(keyFields) == 0 {
		return nil, opts.Errorf(t.Name, "value.fields-include", "EXCEPT_KEY needs 'key.fields'")
	}
	inKey := make([]bool, t.Schema.Len())
	for _, k := range keyFields {
		i := t.Schema.Index(k)
		if i < 0 {
			return nil, opts.Errorf(t.Name, "key.fields", "'%s' is not a column of the table", k)
		}
		if isMeta[i] {
			return nil, opts.Errorf(t.Name, "key.fields", "'%s' is a METADATA column", k)
		}
		if inKey[i] {
			return nil, opts.Errorf(t.Name, "key.fields", "'%s' is listed twice", k)
		}
		inKey[i] = true
		c.keyIdx = append(c.keyIdx, i)
	}
	if f.upsert {
		c.pkIdx = c.keyIdx
	}
	for i := range t.Schema.Fields {
		if isMeta[i] || (c.exceptKey && inKey[i]) {
			continue
		}
		c.valueIdx = append(c.valueIdx, i)
	}
	if len(c.valueIdx) == 0 {
		return nil, opts.Errorf(t.Name, "value.fields-include", "the value has no columns (every column is a key or metadata column)")
	}
	c.valueSchema = project(t.Schema, c.valueIdx, f.upsert)
	c.keySchema = project(t.Schema, c.keyIdx, false)
	// avro-confluent's default subject is "<topic>-value" / "<topic>-key"
	// (one topic: a sink's, or a source's single topic).
	target := format.Target{}
	if len(c.topics) == 1 {
		target.Topic = c.topics[0]
	}
	if c.value, err = newFormat(t, valuePrefix, valueName, c.valueSchema, target); err != nil {
		return nil, err
	}
	if hasKey {
		target.Key = true
		if c.key, err = newFormat(t, "key.", keyName, c.keySchema, target); err != nil {
			return nil, err
		}
		if isChangelog(c.key) {
			return nil, opts.Errorf(t.Name, "key.format", "a changelog format ('%s') cannot be a key format", keyName)
		}
	}
	if f.upsert && isChangelog(c.value) {
		return nil, opts.Errorf(t.Name, "value.format", "upsert-kafka needs an insert-only value format, not '%s'", valueName)
	}
	return c, nil
}

// clientOpts are the options of every franz-go client of the table.
func (c *config) clientOpts() []kgo.Opt {
	o := []kgo.Opt{kgo.SeedBrokers(c.brokers...)}
	if c.clientID != "" {
		o = append(o, kgo.ClientID(c.clientID))
	}
	if c.requestTimeout > 0 {
		o = append(o, kgo.RequestTimeoutOverhead(c.requestTimeout))
	}
	return o
}

// newFormat validates a format whose options are '<prefix><name>.*'.
func newFormat(t connectors.Table, prefix, name string, schema types.Schema, target format.Target) (*format.Format, error) {
	own := map[string]string{}
	for k, v := range t.Options {
		if rest, ok := strings.CutPrefix(k, prefix); ok && strings.HasPrefix(rest, name+".") {
			own[rest] = v
		}
	}
	f, err := format.NewFor(t.Name, name, own, schema, target)
	var oe *connectors.OptionError
	if errors.As(err, &oe) {
		return nil, &connectors.OptionError{Table: oe.Table, Option: prefix + oe.Option, Msg: oe.Msg}
	}
	return f, err
}

// project is the schema of columns idx; nullable drops NOT NULL (an
// upsert-kafka value decoded for a tombstone's before-image is never
// NULL, but a deleted key's value may be absent from a compacted topic).
func project(s types.Schema, idx []int, nullable bool) types.Schema {
	fs := make([]types.Field, len(idx))
	for i, j := range idx {
		fs[i] = s.Fields[j]
		if nullable {
			fs[i].Type.NotNull = false
		}
	}
	return types.Schema{Fields: fs}
}

// parseSpecificOffsets parses 'partition:0,offset:42;partition:1,offset:300'.
func parseSpecificOffsets(table, key, v string) (map[int32]int64, error) {
	out := map[int32]int64{}
	bad := func() error {
		return opts.Errorf(table, key, "invalid '%s' (expected 'partition:0,offset:42;partition:1,offset:300')", v)
	}
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ps, os, ok := strings.Cut(part, ",")
		pv, ok1 := strings.CutPrefix(strings.TrimSpace(ps), "partition:")
		ov, ok2 := strings.CutPrefix(strings.TrimSpace(os), "offset:")
		if !ok || !ok1 || !ok2 {
			return nil, bad()
		}
		p, err1 := strconv.ParseInt(strings.TrimSpace(pv), 10, 32)
		off, err2 := strconv.ParseInt(strings.TrimSpace(ov), 10, 64)
		if err1 != nil || err2 != nil || p < 0 || off < 0 {
			return nil, bad()
		}
		out[int32(p)] = off
	}
	if len(out) == 0 {
		return nil, bad()
	}
	return out, nil
}

// property applies one 'properties.<name>' option.
func (c *config) property(table, key, name, v string) error {
	msInt := func() (time.Duration, error) {
		n, err := opts.Int64(table, key, v)
		if err == nil && n <= 0 {
			err = opts.Errorf(table, key, "must be positive")
		}
		return time.Duration(n) * time.Millisecond, err
	}
	i32 := func() (int32, error) {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n <= 0 {
			return 0, opts.Errorf(table, key, "invalid positive integer '%s'", v)
		}
		return int32(n), nil
	}
	var err error
	switch name {
	case "bootstrap.servers":
		c.brokers = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.brokers = append(c.brokers, s)
			}
		}
		if len(c.brokers) == 0 {
			return opts.Errorf(table, key, "no broker address")
		}
	case "group.id":
		c.groupID = v
	case "client.id":
		c.clientID = v
	case "isolation.level":
		switch v {
		case "read_committed":
			c.readCommitted = true
		case "read_uncommitted":
			c.readCommitted = false
		default:
			return opts.Errorf(table, key, "expected read_committed or read_uncommitted, got '%s'", v)
		}
	case "auto.offset.reset":
		switch v {
		case "earliest", "latest", "none":
			c.autoReset = v
		default:
			return opts.Errorf(table, key, "expected earliest, latest or none, got '%s'", v)
		}
	case "transaction.timeout.ms":
		c.txTimeout, err = msInt()
	case "linger.ms":
		var n int64
		if n, err = opts.Int64(table, key, v); err == nil && n < 0 {
			err = opts.Errorf(table, key, "must not be negative")
		}
		c.linger = time.Duration(n) * time.Millisecond
	case "batch.size":
		c.batchMaxBytes, err = i32()
	case "compression.type":
		switch v {
		case "none":
			c.compression = []kgo.CompressionCodec{kgo.NoCompression()}
		case "gzip":
			c.compression = []kgo.CompressionCodec{kgo.GzipCompression()}
		case "snappy":
			c.compression = []kgo.CompressionCodec{kgo.SnappyCompression()}
		case "lz4":
			c.compression = []kgo.CompressionCodec{kgo.Lz4Compression()}
		case "zstd":
			c.compression = []kgo.CompressionCodec{kgo.ZstdCompression()}
		default:
			return opts.Errorf(table, key, "expected none, gzip, snappy, lz4 or zstd, got '%s'", v)
		}
	case "acks":
		c.acksSet = true
		switch v {
		case "all", "-1":
			c.acks = kgo.AllISRAcks()
		case "1":
			c.acks = kgo.LeaderAck()
		case "0":
			c.acks = kgo.NoAck()
		default:
			return opts.Errorf(table, key, "expected all, -1, 1 or 0, got '%s'", v)
		}
	case "delivery.timeout.ms":
		c.deliveryTimeout, err = msInt()
	case "fetch.max.bytes":
		c.fetchMaxBytes, err = i32()
	case "max.partition.fetch.bytes":
		c.partFetchMax, err = i32()
	case "request.timeout.ms":
		c.requestTimeout, err = msInt()
	case "enable.idempotence":
		// franz-go is idempotent by default; 'false' turns it off (only
		// for none/at-least-once).
		var b bool
		b, err = opts.Bool(table, key, v)
		c.noIdempotence = !b
	case "partition.discovery.interval.ms":
		return opts.NotSupported(table, key)
	default:
		known := append([]string(nil), honouredProperties...)
		sort.Strings(known)
		return opts.Errorf(table, key, "unknown or unsupported Kafka property '%s' (honoured: %s)", name, strings.Join(known, ", "))
	}
	return err
}
