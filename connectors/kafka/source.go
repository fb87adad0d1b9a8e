package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec/batch"
)

const (
	maxBatchRows = 4096
	pollWait     = 40 * time.Millisecond
	openTimeout  = 30 * time.Second
)

// partition is one Kafka partition read by this subtask.
type partition struct {
	topic string
	id    int32
	next  int64 // offset of the next record to read (the position)
	end   int64 // bounded: stop before this offset; -1 when unbounded
}

func (p *partition) done() bool { return p.end >= 0 && p.next >= p.end }

type tp struct {
	topic string
	id    int32
}

// recMeta is what metadata columns and before-images need of a record.
type recMeta struct {
	topic     string
	partition int32
	epoch     int32
	offset    int64
	ts        int64 // milliseconds
	tsType    int8
}

// outRow is one row of the batch being built: its row in the value and
// key builders (-1: none) and its kind.
type outRow struct {
	v, k int32
	kind batch.RowKind
	meta recMeta
}

// kindFromValue marks a row whose kind the value format decides.
const kindFromValue batch.RowKind = 255

// stored is the last record of a key (upsert-kafka), re-decoded for the
// -U/-D before-image.
type stored struct {
	key, value []byte
	meta       recMeta
}

// source reads this subtask's partitions.
type source struct {
	cfg    *config
	logger *slog.Logger
	arrow  *arrow.Schema

	client *kgo.Client
	parts  []*partition
	byTP   map[tp]*partition
	opened bool
	added  bool // partitions handed to the client

	subtask, parallelism int

	vb, kb     *format.RowBuilder
	vdec, kdec format.Decoder
	needKey    bool
	rows       []outRow
	idx        []int32
	skipped    int64
	logged     bool

	// state is upsert-kafka's last record per key (Flink's
	// ChangelogNormalize), part of the position.
	state map[string]stored
}

func newSource(c *config, t connectors.Table) *source {
	logger := t.Env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &source{cfg: c, logger: logger, arrow: c.schema.Arrow(), byTP: map[tp]*partition{},
		vb: format.NewRowBuilder(c.valueSchema, t.Env.Location), vdec: c.value.NewDecoder()}
	if c.exceptKey && c.key != nil {
		s.needKey = true
		s.kb = format.NewRowBuilder(c.keySchema, t.Env.Location)
		s.kdec = c.key.NewDecoder()
	}
	if c.upsert {
		s.state = map[string]stored{}
	}
	return s
}

// Bounded implements connectors.Source: with 'scan.bounded.mode' =
// 'latest-offset' the source ends at the offsets it saw when it opened.
func (s *source) Bounded() bool { return s.cfg.bounded }

func (s *source) errorf(format string, args ...any) error {
	return fmt.Errorf("kafka '%s': "+format, append([]any{s.cfg.table}, args...)...)
}

// Open lists the topics' partitions, takes partition g (numbered over the
// sorted topics) when g mod parallelism = subtask, and resolves the
// startup offsets (and, bounded, the end offsets) to numbers.
func (s *source) Open(ctx context.Context, subtask, parallelism int) error {
	if parallelism < 1 || subtask < 0 || subtask >= parallelism {
		return s.errorf("invalid subtask %d of %d", subtask, parallelism)
	}
	s.subtask, s.parallelism = subtask, parallelism
	opts := s.cfg.clientOpts()
	opts = append(opts, kgo.KeepControlRecords(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if s.cfg.readCommitted {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	if s.cfg.fetchMaxBytes > 0 {
		opts = append(opts, kgo.FetchMaxBytes(s.cfg.fetchMaxBytes))
	}
	if s.cfg.partFetchMax > 0 {
		opts = append(opts, kgo.FetchMaxPartitionBytes(s.cfg.partFetchMax))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return s.errorf("%w", err)
	}
	s.client = cl
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	adm := kadm.NewClient(cl)
	topics, err := s.listPartitions(ctx, adm)
	if err != nil {
		return err
	}
	g := 0
	for _, t := range topics {
		for _, p := range t.ps {
			if g%parallelism == subtask {
				part := &partition{topic: t.name, id: p, end: -1}
				s.parts = append(s.parts, part)
				s.byTP[tp{t.name, p}] = part
			}
			g++
		}
	}
	if err := s.resolveStart(ctx, adm); err != nil {
		return err
	}
	if s.cfg.bounded {
		if err := s.resolveEnd(ctx, adm); err != nil {
			return err
		}
	}
	s.opened = true
	return nil
}

type topicParts struct {
	name string
	ps   []int32
}

func (s *source) listPartitions(ctx context.Context, adm *kadm.Client) ([]topicParts, error) {
	var (
		td  kadm.TopicDetails
		err error
	)
	if s.cfg.topicPattern != nil {
		td, err = adm.ListTopics(ctx)
	} else {
		td, err = adm.ListTopics(ctx, s.cfg.topics...)
	}
	if err != nil {
		return nil, s.errorf("cannot list topics at %v: %w", s.cfg.brokers, err)
	}
	var out []topicParts
	for name, d := range td {
		if s.cfg.topicPattern != nil && (d.IsInternal || !s.cfg.topicPattern.MatchString(name)) {
			continue
		}
		if errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			return nil, s.errorf("topic '%s' does not exist", name)
		}
		if d.Err != nil {
			return nil, s.errorf("topic '%s': %w", name, d.Err)
		}
		t := topicParts{name: name}
		for p := range d.Partitions {
			t.ps = append(t.ps, p)
		}
		sort.Slice(t.ps, func(i, j int) bool { return t.ps[i] < t.ps[j] })
		out = append(out, t)
	}
	for _, name := range s.cfg.topics {
		if _, ok := td[name]; !ok {
			return nil, s.errorf("topic '%s' does not exist", name)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func (s *source) topicNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range s.parts {
		if !seen[p.topic] {
			seen[p.topic] = true
			out = append(out, p.topic)
		}
	}
	return out
}

// lookup sets each partition's field from listed offsets.
func (s *source) lookup(l kadm.ListedOffsets, what string, set func(p *partition, off int64)) error {
	for _, p := range s.parts {
		o, ok := l.Lookup(p.topic, p.id)
		if !ok {
			return s.errorf("topic '%s' partition %d: no %s offset listed", p.topic, p.id, what)
		}
		if o.Err != nil {
			return s.errorf("topic '%s' partition %d: listing the %s offset: %w", p.topic, p.id, what, o.Err)
		}
		set(p, o.Offset)
	}
	return nil
}

// listEnd lists the offsets a read_committed (LSO) or read_uncommitted
// (high watermark) reader ends at.
func (s *source) listEnd(ctx context.Context, adm *kadm.Client, topics []string) (kadm.ListedOffsets, error) {
	if s.cfg.readCommitted {
		return adm.ListCommittedOffsets(ctx, topics...)
	}
	return adm.ListEndOffsets(ctx, topics...)
}

func (s *source) resolveStart(ctx context.Context, adm *kadm.Client) error {
	if len(s.parts) == 0 {
		return nil
	}
	topics := s.topicNames()
	start, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return s.errorf("listing start offsets: %w", err)
	}
	if err := s.lookup(start, "start", func(p *partition, off int64) { p.next = off }); err != nil {
		return err
	}
	switch s.cfg.startup {
	case startEarliest:
		return nil
	case startLatest:
		end, err := s.listEnd(ctx, adm, topics)
		if err != nil {
			return s.errorf("listing end offsets: %w", err)
		}
		return s.lookup(end, "end", func(p *partition, off int64) { p.next = off })
	case startTimestamp:
		l, err := adm.ListOffsetsAfterMilli(ctx, s.cfg.startupTS, topics...)
		if err != nil {
			return s.errorf("listing offsets after %d ms: %w", s.cfg.startupTS, err)
		}
		end, err := s.listEnd(ctx, adm, topics)
		if err != nil {
			return s.errorf("listing end offsets: %w", err)
		}
		return s.lookup(l, "timestamp", func(p *partition, off int64) {
			if off < 0 { // no record at or after the timestamp
				o, _ := end.Lookup(p.topic, p.id)
				off = o.Offset
			}
			p.next = max(off, p.next)
		})
	case startSpecific:
		for _, p := range s.parts {
			if off, ok := s.cfg.specific[p.id]; ok {
				p.next = max(off, p.next)
			}
		}
		return nil
	case startGroup:
		committed, err := adm.FetchOffsets(ctx, s.cfg.groupID)
		if errors.Is(err, kerr.GroupIDNotFound) {
			committed, err = nil, nil
		}
		if err != nil {
			return s.errorf("fetching offsets of group '%s': %w", s.cfg.groupID, err)
		}
		var end kadm.ListedOffsets
		for _, p := range s.parts {
			o, ok := committed.Lookup(p.topic, p.id)
			if ok && o.Err == nil && o.At >= 0 {
				p.next = max(o.At, p.next)
				continue
			}
			switch s.cfg.autoReset {
			case "earliest":
			case "latest":
				if end == nil {
					if end, err = s.listEnd(ctx, adm, topics); err != nil {
						return s.errorf("listing end offsets: %w", err)
					}
				}
				e, _ := end.Lookup(p.topic, p.id)
				p.next = e.Offset
			default:
				return s.errorf("group '%s' has no committed offset for topic '%s' partition %d; set 'properties.auto.offset.reset' to earliest or latest",
					s.cfg.groupID, p.topic, p.id)
			}
		}
	}
	return nil
}

func (s *source) resolveEnd(ctx context.Context, adm *kadm.Client) error {
	if len(s.parts) == 0 {
		return nil
	}
	end, err := s.listEnd(ctx, adm, s.topicNames())
	if err != nil {
		return s.errorf("listing end offsets: %w", err)
	}
	return s.lookup(end, "end", func(p *partition, off int64) { p.end = off })
}

// start hands the partitions that are not done to the client, at their
// positions.
func (s *source) start() {
	m := map[string]map[int32]kgo.Offset{}
	for _, p := range s.parts {
		if p.done() {
			continue
		}
		if m[p.topic] == nil {
			m[p.topic] = map[int32]kgo.Offset{}
		}
		m[p.topic][p.id] = kgo.NewOffset().At(p.next)
	}
	if len(m) > 0 {
		s.client.AddConsumePartitions(m)
	}
	s.added = true
}

func (s *source) allDone() bool {
	if !s.cfg.bounded {
		return false
	}
	for _, p := range s.parts {
		if !p.done() {
			return false
		}
	}
	return true
}

// Next implements connectors.Source.
func (s *source) Next(ctx context.Context) (batch.Batch, error) {
	if !s.opened {
		return batch.Batch{}, s.errorf("Next before Open")
	}
	if !s.added {
		s.start()
	}
	if s.allDone() {
		s.logSkipped()
		return batch.Batch{}, io.EOF
	}
	if len(s.parts) == 0 {
		// An unbounded subtask without partitions idles.
		select {
		case <-ctx.Done():
			return batch.Batch{}, s.errorf("%w", ctx.Err())
		case <-time.After(pollWait):
		}
		return s.build(), nil
	}
	pctx, cancel := context.WithTimeout(ctx, pollWait)
	fs := s.client.PollRecords(pctx, maxBatchRows)
	cancel()
	if err := ctx.Err(); err != nil {
		return batch.Batch{}, s.errorf("%w", err)
	}
	for _, fe := range fs.Errors() {
		if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) {
			continue
		}
		if fe.Topic == "" {
			return batch.Batch{}, s.errorf("%w", fe.Err)
		}
		return batch.Batch{}, s.errorf("topic '%s' partition %d: %w", fe.Topic, fe.Partition, fe.Err)
	}
	var ferr error
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		if ferr != nil {
			return
		}
		p := s.byTP[tp{fp.Topic, fp.Partition}]
		if p == nil {
			return
		}
		for _, r := range fp.Records {
			if p.done() || r.Offset < p.next {
				continue
			}
			if p.end >= 0 && r.Offset >= p.end {
				p.next = p.end
				continue
			}
			if err := s.record(p, r); err != nil {
				ferr = err
				return
			}
			p.next = r.Offset + 1
		}
		if p.done() {
			s.client.PauseFetchPartitions(map[string][]int32{p.topic: {p.id}})
		}
	})
	if ferr != nil {
		return batch.Batch{}, ferr
	}
	return s.build(), nil
}

func meta(r *kgo.Record) recMeta {
	return recMeta{topic: r.Topic, partition: r.Partition, epoch: r.LeaderEpoch, offset: r.Offset,
		ts: r.Timestamp.UnixMilli(), tsType: r.Attrs.TimestampType()}
}

// record turns one Kafka record into rows.
func (s *source) record(p *partition, r *kgo.Record) error {
	if r.Attrs.IsControl() {
		return nil
	}
	if s.state == nil {
		if r.Value == nil {
			return nil // a tombstone means nothing to an append-only table
		}
		return s.decode(r.Key, r.Value, meta(r), kindFromValue, p)
	}
	// upsert-kafka: the last record of each key gives -U and -D their
	// before-image (Flink's ChangelogNormalize).
	k := string(r.Key)
	old, had := s.state[k]
	if r.Value == nil {
		if !had {
			return nil
		}
		if err := s.decode(old.key, old.value, old.meta, batch.Delete, p); err != nil {
			return err
		}
		delete(s.state, k)
		return nil
	}
	if had && len(s.cfg.meta) == 0 && string(old.value) == string(r.Value) {
		return nil // the same row again: no change
	}
	mark := len(s.rows)
	if had {
		if err := s.decode(old.key, old.value, old.meta, batch.UpdateBefore, p); err != nil {
			return err
		}
	}
	kind := batch.Insert
	if had {
		kind = batch.UpdateAfter
	}
	n := len(s.rows)
	if err := s.decode(r.Key, r.Value, meta(r), kind, p); err != nil || len(s.rows) == n {
		s.rows = s.rows[:mark] // skipped: the key keeps its old row
		return err
	}
	s.state[k] = stored{key: append([]byte(nil), r.Key...), value: append([]byte(nil), r.Value...), meta: meta(r)}
	return nil
}

// decode appends the rows of one record's key and value. A malformed
// record fails with its topic, partition and offset, or is skipped and
// counted with '<format>.ignore-parse-errors'.
func (s *source) decode(key, value []byte, m recMeta, kind batch.RowKind, p *partition) error {
	v0 := s.vb.Len()
	err := s.vdec.Decode(value, s.vb)
	part := "value"
	ignore := s.cfg.value.IgnoreParseErrors()
	nv := s.vb.Len() - v0
	k0 := int32(-1)
	malformed := false // errors of the record itself, not of the format's services
	if err == nil && s.needKey && nv > 0 {
		k0 = int32(s.kb.Len())
		if key == nil {
			err, part, malformed = errors.New("the record has no key"), "key", true
		} else if err = s.kdec.Decode(key, s.kb); err == nil && s.kb.Len() != int(k0)+1 {
			err, malformed = errors.New("the key decoded to no row"), true
		}
		if err != nil {
			part, ignore = "key", s.cfg.key.IgnoreParseErrors()
		}
		// Rows of the value already built stay unreferenced by s.rows
		// and are dropped when the batch is built.
	}
	if err != nil {
		// Only malformed records are skipped: an unreachable schema
		// registry, say, still fails the job.
		var pe *format.ParseError
		if ignore && (malformed || errors.As(err, &pe)) {
			s.skipped++
			return nil
		}
		return s.errorf("topic '%s' partition %d offset %d: %s: %w", p.topic, p.id, m.offset, part, err)
	}
	for i := 0; i < nv; i++ {
		s.rows = append(s.rows, outRow{v: int32(v0 + i), k: k0, kind: kind, meta: m})
	}
	return nil
}

// build assembles the rows decoded so far into a batch of the table's
// schema.
func (s *source) build() batch.Batch {
	vb := s.vb.Build()
	defer vb.Release()
	var kb batch.Batch
	if s.needKey {
		kb = s.kb.Build()
		defer kb.Release()
	}
	n := len(s.rows)
	cols := make([]arrow.Array, s.cfg.schema.Len())
	// Value columns: as built when every built row is used, in order.
	identity := vb.Len() == n
	for i := 0; identity && i < n; i++ {
		identity = s.rows[i].v == int32(i)
	}
	s.idx = s.idx[:0]
	if !identity {
		for _, r := range s.rows {
			s.idx = append(s.idx, r.v)
		}
	}
	for j, ti := range s.cfg.valueIdx {
		if identity {
			cols[ti] = vb.Column(j)
			cols[ti].Retain()
		} else {
			cols[ti] = batch.Take(vb.Column(j), s.idx)
		}
	}
	if s.needKey {
		s.idx = s.idx[:0]
		for _, r := range s.rows {
			s.idx = append(s.idx, r.k)
		}
		for j, ti := range s.cfg.keyIdx {
			cols[ti] = batch.Take(kb.Column(j), s.idx)
		}
	}
	for _, m := range s.cfg.meta {
		cols[m.index] = s.metaColumn(m.key)
	}
	var kinds []batch.RowKind
	for i, r := range s.rows {
		k := r.kind
		if k == kindFromValue {
			k = vb.Kind(int(r.v))
		}
		if k != batch.Insert && kinds == nil {
			kinds = make([]batch.RowKind, i, n)
		}
		if kinds != nil {
			kinds = append(kinds, k)
		}
	}
	rec := batch.NewRecordArrow(s.arrow, cols, n)
	for _, c := range cols {
		c.Release()
	}
	s.rows = s.rows[:0]
	return batch.Batch{Rec: rec, Kinds: kinds}
}

func (s *source) metaColumn(key string) arrow.Array {
	n := len(s.rows)
	switch key {
	case metaTopic, metaTimestampType:
		vals := make([]string, n)
		for i, r := range s.rows {
			if key == metaTopic {
				vals[i] = r.meta.topic
			} else {
				vals[i] = timestampType(r.meta.tsType)
			}
		}
		return batch.StringArray(vals, nil)
	case metaPartition, metaLeaderEpoch:
		vals := make([]int32, n)
		var valid []bool
		for i, r := range s.rows {
			if key == metaPartition {
				vals[i] = r.meta.partition
				continue
			}
			vals[i] = r.meta.epoch
			if r.meta.epoch < 0 {
				if valid == nil {
					valid = make([]bool, n)
					for j := range valid {
						valid[j] = true
					}
				}
				valid[i] = false
			}
		}
		return batch.Int32Array(vals, valid)
	case metaOffset:
		vals := make([]int64, n)
		for i, r := range s.rows {
			vals[i] = r.meta.offset
		}
		return batch.Int64Array(vals, nil)
	default: // timestamp: TIMESTAMP_LTZ(3) in microseconds
		vals := make([]int64, n)
		for i, r := range s.rows {
			vals[i] = r.meta.ts * 1000
		}
		return batch.Int64Array(vals, nil)
	}
}

// timestampType names a record's timestamp type as Flink does.
func timestampType(t int8) string {
	switch t {
	case 0:
		return "CreateTime"
	case 1:
		return "LogAppendTime"
	}
	return "NoTimestampType"
}

func (s *source) logSkipped() {
	if s.skipped > 0 && !s.logged {
		s.logger.Warn("skipped malformed records", "table", s.cfg.table, "count", s.skipped)
	}
	s.logged = true
}

// Skipped is the number of malformed records ignored so far.
func (s *source) Skipped() int64 { return s.skipped }

// Close implements connectors.Source.
func (s *source) Close() error {
	s.logSkipped()
	if s.client != nil {
		s.client.Close()
		s.client = nil
	}
	return nil
}

var _ connectors.CheckpointedSource = (*source)(nil)
