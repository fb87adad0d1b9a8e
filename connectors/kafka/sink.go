package kafka

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec/batch"
)

// txn is a Kafka transaction of the exactly-once sink: its own producer
// (transactional id prefix-subtask-seq).
type txn struct {
	id       string
	client   *kgo.Client
	pid      int64
	epoch    int16
	seq      int64
	cp       int64 // checkpoint that pre-committed it
	produced bool
}

// sink writes one subtask's rows.
type sink struct {
	cfg    *config
	logger *slog.Logger
	topic  string

	subtask, parallelism int
	numPartitions        int32

	vschema, kschema *arrow.Schema
	venc, kenc       format.Encoder
	tsCol            int // the 'timestamp' metadata column, or -1

	client *kgo.Client // none and at-least-once; admin requests for exactly-once

	// exactly-once
	open    *txn   // the transaction rows are written into now
	pending []*txn // pre-committed, waiting for their checkpoint
	seq     int64  // sequence of the next transactional id

	mu       sync.Mutex
	firstErr error // first failed delivery (callbacks run on franz-go goroutines)
	promise  func(*kgo.Record, error)
	arena    []byte
	recs     []kgo.Record
}

func newSink(c *config, t connectors.Table) *sink {
	logger := t.Env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &sink{cfg: c, logger: logger, topic: c.topics[0], tsCol: -1, vschema: c.valueSchema.Arrow()}
	if c.key != nil {
		s.kschema = c.keySchema.Arrow()
	}
	for _, m := range c.meta {
		if m.key == metaTimestamp {
			s.tsCol = m.index
		}
	}
	s.promise = func(r *kgo.Record, err error) {
		if err != nil {
			s.mu.Lock()
			if s.firstErr == nil {
				s.firstErr = fmt.Errorf("kafka '%s': writing to topic '%s' partition %d: %w", s.cfg.table, r.Topic, r.Partition, err)
			}
			s.mu.Unlock()
		}
	}
	return s
}

func (s *sink) errorf(format string, args ...any) error {
	return fmt.Errorf("kafka '%s': "+format, append([]any{s.cfg.table}, args...)...)
}

// producerOpts are the options of every producer of the sink.
func (s *sink) producerOpts() []kgo.Opt {
	o := s.cfg.clientOpts()
	o = append(o, kgo.DefaultProduceTopic(s.topic))
	switch {
	case s.cfg.upsert || s.cfg.partitioner == partDefault:
	case s.cfg.partitioner == partFixed:
		o = append(o, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	case s.cfg.partitioner == partRoundRobin:
		o = append(o, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	}
	if s.cfg.linger > 0 {
		o = append(o, kgo.ProducerLinger(s.cfg.linger))
	}
	if s.cfg.batchMaxBytes > 0 {
		o = append(o, kgo.ProducerBatchMaxBytes(s.cfg.batchMaxBytes))
	}
	if s.cfg.compression != nil {
		o = append(o, kgo.ProducerBatchCompression(s.cfg.compression...))
	} else {
		// Kafka's default (franz-go's is snappy).
		o = append(o, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	// Kafka's default delivery.timeout.ms (franz-go's is unlimited), so
	// an unreachable broker fails the job instead of stalling it. franz-go
	// counts it from the record timestamp: not by default when a
	// 'timestamp' column sets it.
	if s.cfg.deliveryTimeout > 0 || s.tsCol < 0 {
		o = append(o, kgo.RecordDeliveryTimeout(cmp.Or(s.cfg.deliveryTimeout, 2*time.Minute)))
	}
	if s.cfg.delivery != deliveryExactlyOnce {
		if s.cfg.acksSet {
			o = append(o, kgo.RequiredAcks(s.cfg.acks))
		}
		if s.cfg.noIdempotence || (s.cfg.acksSet && s.cfg.acks != kgo.AllISRAcks()) {
			o = append(o, kgo.DisableIdempotentWrite())
		}
	}
	return o
}

// Open implements connectors.Sink.
func (s *sink) Open(ctx context.Context, subtask, parallelism int) error {
	s.subtask, s.parallelism = subtask, parallelism
	cl, err := kgo.NewClient(s.producerOpts()...)
	if err != nil {
		return s.errorf("%w", err)
	}
	s.client = cl
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	td, err := kadm.NewClient(cl).ListTopics(ctx, s.topic)
	if err != nil {
		return s.errorf("cannot reach the brokers %v: %w", s.cfg.brokers, err)
	}
	d, ok := td[s.topic]
	if !ok || d.Err != nil || len(d.Partitions) == 0 {
		return s.errorf("topic '%s' does not exist", s.topic)
	}
	s.numPartitions = int32(len(d.Partitions))
	if s.venc, err = openEncoder(ctx, s.cfg.value); err != nil {
		return s.errorf("value: %w", err)
	}
	if s.cfg.key != nil {
		if s.kenc, err = openEncoder(ctx, s.cfg.key); err != nil {
			return s.errorf("key: %w", err)
		}
	}
	return nil
}

// openEncoder returns the format's encoder; a format that needs to set
// up first (avro-confluent registers its schema) offers OpenEncoder.
func openEncoder(ctx context.Context, f *format.Format) (format.Encoder, error) {
	if o, ok := any(f).(interface {
		OpenEncoder(context.Context) (format.Encoder, error)
	}); ok {
		return o.OpenEncoder(ctx)
	}
	if e := f.NewEncoder(); e != nil {
		return e, nil
	}
	return nil, fmt.Errorf("format '%s' cannot write", f.Name())
}

// Write implements connectors.Sink.
func (s *sink) Write(ctx context.Context, b batch.Batch) error {
	if err := s.deliveryErr(); err != nil {
		return err
	}
	n := b.Len()
	if n == 0 {
		return nil
	}
	cl := s.client
	if s.cfg.delivery == deliveryExactlyOnce {
		if s.open == nil {
			t, err := s.begin(ctx)
			if err != nil {
				return err
			}
			s.open = t
		}
		cl = s.open.client
		s.open.produced = true
	}
	vb := projectBatch(b, s.vschema, s.cfg.valueIdx)
	defer vb.Release()
	var kb batch.Batch
	if s.kenc != nil {
		kb = projectBatch(b, s.kschema, s.cfg.keyIdx)
		defer kb.Release()
	}
	var ts *array.Int64
	if s.tsCol >= 0 {
		ts, _ = b.Column(s.tsCol).(*array.Int64)
	}
	// Records and their bytes live until franz-go has delivered them: a
	// fresh arena and record slice per batch (earlier ones stay valid).
	s.arena = make([]byte, 0, max(cap(s.arena), 128*n))
	s.recs = make([]kgo.Record, n)
	now := time.Now() // the record timestamp without a 'timestamp' column, once per batch
	for i := 0; i < n; i++ {
		kind := b.Kind(i)
		if kind == batch.UpdateBefore && s.cfg.upsert {
			continue // the +U that follows replaces the row
		}
		r := &s.recs[i]
		r.Topic = s.topic
		if s.kenc != nil {
			start := len(s.arena)
			s.arena = s.kenc.Encode(s.arena, kb, i)
			r.Key = s.arena[start:len(s.arena):len(s.arena)]
		}
		// upsert-kafka writes a delete as a tombstone; a changelog
		// format (debezium-json) encodes every kind.
		if kind != batch.Delete || !s.cfg.upsert {
			start := len(s.arena)
			s.arena = s.venc.Encode(s.arena, vb, i)
			r.Value = s.arena[start:len(s.arena):len(s.arena)]
		}
		r.Timestamp = now
		if ts != nil && ts.IsValid(i) {
			r.Timestamp = time.UnixMicro(ts.Value(i))
		}
		if s.cfg.partitioner == partFixed && !s.cfg.upsert {
			r.Partition = int32(s.subtask) % s.numPartitions
		}
		cl.Produce(ctx, r, s.promise)
	}
	if err := ctx.Err(); err != nil {
		return s.errorf("%w", err)
	}
	return s.deliveryErr()
}

// projectBatch views columns idx of b under schema (no copy).
func projectBatch(b batch.Batch, schema *arrow.Schema, idx []int) batch.Batch {
	cols := make([]arrow.Array, len(idx))
	for i, j := range idx {
		cols[i] = b.Column(j)
	}
	return batch.Batch{Rec: batch.NewRecordArrow(schema, cols, b.Len()), Kinds: b.Kinds}
}

func (s *sink) deliveryErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstErr
}

// flush waits until every record given to cl is acknowledged.
func (s *sink) flush(ctx context.Context, cl *kgo.Client) error {
	if err := cl.Flush(ctx); err != nil {
		return s.errorf("flush: %w", err)
	}
	return s.deliveryErr()
}

// Flush implements connectors.FlushingSink: at-least-once waits at the
// barrier for every record written before it; 'none' does not wait.
func (s *sink) Flush(ctx context.Context) error {
	if s.cfg.delivery == deliveryNone {
		return s.deliveryErr()
	}
	return s.flush(ctx, s.client)
}

// Finish implements connectors.Sink. For exactly-once without
// checkpoints it commits the open transaction; with checkpoints the
// runtime has pre-committed and committed it already.
func (s *sink) Finish(ctx context.Context) error {
	if s.cfg.delivery != deliveryExactlyOnce {
		return s.flush(ctx, s.client)
	}
	if s.open != nil {
		if _, err := s.PreCommit(ctx, 0); err != nil {
			return err
		}
	}
	return s.Commit(ctx, 0)
}

// Close implements connectors.Sink. Open and pre-committed transactions
// stay as they are: Recover commits or aborts them on restart, and the
// transaction timeout aborts them if the job never restarts.
func (s *sink) Close() error {
	if s.open != nil {
		s.open.client.Close()
		s.open = nil
	}
	for _, t := range s.pending {
		t.client.Close()
	}
	s.pending = nil
	if s.client != nil {
		s.client.Close()
		s.client = nil
	}
	return nil
}

// --- exactly-once ---------------------------------------------------------

func (s *sink) txnID(seq int64) string {
	return s.cfg.txPrefix + "-" + strconv.Itoa(s.subtask) + "-" + strconv.FormatInt(seq, 10)
}

// begin starts a transaction with the next transactional id.
func (s *sink) begin(ctx context.Context) (*txn, error) {
	t := &txn{id: s.txnID(s.seq), seq: s.seq}
	o := append(s.producerOpts(), kgo.TransactionalID(t.id), kgo.TransactionTimeout(s.cfg.txTimeout))
	cl, err := kgo.NewClient(o...)
	if err != nil {
		return nil, s.errorf("%w", err)
	}
	if err := cl.BeginTransaction(); err != nil {
		cl.Close()
		return nil, s.errorf("transaction '%s': %w", t.id, err)
	}
	t.client = cl
	s.seq++
	return t, nil
}

// PreCommit implements connectors.TransactionalSink: the open transaction
// is flushed (durable, invisible to read_committed readers) and recorded
// with its producer id and epoch; rows after the barrier go to a new one.
func (s *sink) PreCommit(ctx context.Context, checkpointID int64) ([]byte, error) {
	if s.cfg.delivery != deliveryExactlyOnce {
		if err := s.Flush(ctx); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if t := s.open; t != nil {
		if err := s.flush(ctx, t.client); err != nil {
			return nil, err
		}
		pid, epoch, err := t.client.ProducerID(ctx)
		if err != nil {
			return nil, s.errorf("transaction '%s': %w", t.id, err)
		}
		t.pid, t.epoch, t.cp = pid, epoch, checkpointID
		s.pending = append(s.pending, t)
		s.open = nil
	}
	return s.encodePending(), nil
}

// Commit implements connectors.TransactionalSink: it commits the
// transactions pre-committed for checkpoints up to checkpointID (0: all).
func (s *sink) Commit(ctx context.Context, checkpointID int64) error {
	if s.cfg.delivery != deliveryExactlyOnce {
		return nil
	}
	kept := s.pending[:0]
	var err error
	for _, t := range s.pending {
		if err != nil || (checkpointID != 0 && t.cp > checkpointID) {
			kept = append(kept, t)
			continue
		}
		if e := t.client.EndTransaction(ctx, kgo.TryCommit); e != nil {
			err = s.errorf("committing transaction '%s': %w", t.id, e)
			kept = append(kept, t)
			continue
		}
		t.client.Close()
	}
	clear(s.pending[len(kept):])
	s.pending = kept
	return err
}

// encodePending records the pre-committed transactions and the next
// sequence:
//
//	version byte (1)
//	uvarint next sequence
//	uvarint transactions, each: string transactional id, varint producer id, varint epoch, varint checkpoint
func (s *sink) encodePending() []byte {
	b := []byte{pendingVersion}
	b = binary.AppendUvarint(b, uint64(s.seq))
	b = binary.AppendUvarint(b, uint64(len(s.pending)))
	for _, t := range s.pending {
		b = appendBytes(b, []byte(t.id))
		b = binary.AppendVarint(b, t.pid)
		b = binary.AppendVarint(b, int64(t.epoch))
		b = binary.AppendVarint(b, t.cp)
	}
	return b
}

// Recover implements connectors.TransactionalSink: it commits the
// transactions the checkpoint recorded (a raw EndTxn with their producer
// id and epoch: franz-go cannot resume a transaction), then fences and
// aborts every transaction a failed attempt may have left open, probing
// the transactional ids after the checkpoint's sequence until one was
// never used (initialising a transactional id aborts its open
// transaction).
func (s *sink) Recover(ctx context.Context, pending []byte) error {
	if s.cfg.delivery != deliveryExactlyOnce {
		return nil
	}
	var next uint64
	if pending != nil {
		r := reader{B: pending}
		if v := r.Byte(); r.Err == nil && v != pendingVersion {
			return s.errorf("invalid pending state: unknown version %d", v)
		}
		next = r.Uvarint()
		n := r.Uvarint()
		type rec struct {
			id         []byte
			pid, epoch int64
			checkpoint int64
		}
		var txns []rec
		for i := uint64(0); i < n && r.Err == nil; i++ {
			txns = append(txns, rec{r.Bytes(), r.Varint(), r.Varint(), r.Varint()})
		}
		if err := r.Done(); err != nil {
			return s.errorf("invalid pending state: %w", err)
		}
		for _, t := range txns {
			if err := s.endTxn(ctx, string(t.id), t.pid, int16(t.epoch)); err != nil {
				return err
			}
		}
	}
	for seq := int64(next); ; seq++ {
		if err := ctx.Err(); err != nil {
			return s.errorf("%w", err)
		}
		epoch, err := s.initTxnID(ctx, s.txnID(seq))
		if err != nil {
			return err
		}
		if epoch == 0 { // never used before: no later id was either
			s.seq = seq
			return nil
		}
		s.logger.Info("aborted a lingering transaction", "table", s.cfg.table, "transactional.id", s.txnID(seq))
	}
}

// retriable reports whether a transaction coordinator error is worth
// retrying.
func retriable(err error) bool {
	return errors.Is(err, kerr.ConcurrentTransactions) || errors.Is(err, kerr.CoordinatorLoadInProgress) ||
		errors.Is(err, kerr.NotCoordinator) || errors.Is(err, kerr.CoordinatorNotAvailable)
}

// endTxn commits a pre-committed transaction of an earlier attempt.
func (s *sink) endTxn(ctx context.Context, id string, pid int64, epoch int16) error {
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		req := kmsg.NewPtrEndTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = id, pid, epoch, true
		resp, err := req.RequestWith(ctx, s.client)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		switch {
		case err == nil:
			s.logger.Info("committed a pre-committed transaction", "table", s.cfg.table, "transactional.id", id)
			return nil
		case errors.Is(err, kerr.ProducerFenced), errors.Is(err, kerr.InvalidTxnState), errors.Is(err, kerr.InvalidProducerEpoch):
			// Committed already (its producer moved on), as Flink assumes.
			s.logger.Warn("pre-committed transaction was already finished", "table", s.cfg.table, "transactional.id", id, "error", err)
			return nil
		case errors.Is(err, kerr.InvalidProducerIDMapping), errors.Is(err, kerr.TransactionalIDNotFound):
			return s.errorf("cannot commit transaction '%s' of the checkpoint: %v (did it time out? raise 'properties.transaction.timeout.ms')", id, err)
		case !retriable(err):
			return s.errorf("committing transaction '%s' of the checkpoint: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return s.errorf("committing transaction '%s': %w", id, ctx.Err())
		case <-time.After(backoff):
		}
	}
}

// initTxnID initialises a transactional id (fencing its producers and
// aborting its open transaction) and returns the new epoch.
func (s *sink) initTxnID(ctx context.Context, id string) (int16, error) {
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = &id
		req.TransactionTimeoutMillis = int32(s.cfg.txTimeout / time.Millisecond)
		req.ProducerID, req.ProducerEpoch = -1, -1
		resp, err := req.RequestWith(ctx, s.client)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err == nil {
			return resp.ProducerEpoch, nil
		}
		if !retriable(err) {
			return 0, s.errorf("aborting lingering transactions of '%s': %w", id, err)
		}
		select {
		case <-ctx.Done():
			return 0, s.errorf("aborting lingering transactions of '%s': %w", id, ctx.Err())
		case <-time.After(backoff):
		}
	}
}

var (
	_ connectors.TransactionalSink = (*sink)(nil)
	_ connectors.FlushingSink      = (*sink)(nil)
)
