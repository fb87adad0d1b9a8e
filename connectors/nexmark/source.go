package nexmark

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
)

const (
	// maxWait bounds one sleep so Next returns within the contract's ~50 ms.
	maxWait = 50 * time.Millisecond
	// minBatchGap is the least wall time between two throttled batches, so
	// a slow rate gives a few fuller batches rather than many tiny ones.
	minBatchGap = 10 * time.Millisecond
)

// source is one parallel subtask of a nexmark table.
type source struct {
	table  string
	cfg    *config
	f      *Factory // its shared tables
	gen    *generator
	schema *arrow.Schema

	subtask, parallelism int
	opened               bool
	cur                  cursor
	end                  int64 // events.num, or MaxInt64
	exhausted            bool

	// Throttled emission: event time firstMilli is due at wall time
	// started, later events after the difference of their event times.
	started    time.Time
	firstMilli int64
	lastEmit   time.Time
}

func newSource(t connectors.Table, c *config, f *Factory) *source {
	end := int64(math.MaxInt64)
	if c.total >= 0 {
		end = c.total
	}
	return &source{table: t.Name, cfg: c, f: f, schema: t.Schema.Arrow(), end: end}
}

// Bounded implements connectors.Source: with 'events.num' the table ends,
// unless 'keep-alive' keeps it open (idle) after the last event.
func (s *source) Bounded() bool { return s.cfg.total >= 0 && !s.cfg.keepAlive }

// Open implements connectors.Source.
func (s *source) Open(_ context.Context, subtask, parallelism int) error {
	if parallelism < 1 || subtask < 0 || subtask >= parallelism {
		return fmt.Errorf("nexmark '%s': invalid subtask %d of %d", s.table, subtask, parallelism)
	}
	s.gen = newGenerator(s.cfg, parallelism, s.f)
	s.subtask, s.parallelism = subtask, parallelism
	lo, _ := s.cfg.span()
	s.cur = cursor{epoch: int64(subtask) * s.gen.blockE, off: lo}
	s.opened = true
	return nil
}

// Next implements connectors.Source.
func (s *source) Next(ctx context.Context) (batch.Batch, error) {
	if !s.opened {
		return batch.Batch{}, fmt.Errorf("nexmark '%s': Next before Open", s.table)
	}
	if s.exhausted {
		if s.Bounded() {
			return batch.Batch{}, io.EOF
		}
		// keep-alive, or an unbounded stream past the end of time: idle.
		if err := sleep(ctx, maxWait); err != nil {
			return batch.Batch{}, fmt.Errorf("nexmark '%s': %w", s.table, err)
		}
		return s.empty(), nil
	}
	due, rows := int64(math.MaxInt64), s.gen.maxRows
	if s.cfg.throttle {
		next := s.gen.nextMilli(s.cur)
		if next == math.MaxInt64 || s.cur.epoch*s.gen.prop+s.cur.off >= s.end {
			// Nothing left to wait for.
			s.exhausted = true
			if s.Bounded() {
				return batch.Batch{}, io.EOF
			}
			return s.empty(), nil
		}
		if s.started.IsZero() {
			s.started, s.firstMilli = time.Now(), next
		}
		wait := time.Duration(next-s.dueMilli()) * time.Millisecond
		if gap := minBatchGap - time.Since(s.lastEmit); gap > wait {
			wait = gap
		}
		if wait > 0 {
			if err := sleep(ctx, min(wait, maxWait)); err != nil {
				return batch.Batch{}, fmt.Errorf("nexmark '%s': %w", s.table, err)
			}
		}
		due = s.dueMilli()
		if next > due {
			return s.empty(), nil
		}
		rows = min(rows, s.estimate(next, due))
		s.lastEmit = time.Now()
	}
	cs := s.gen.alloc(rows)
	n, exhausted := s.gen.fill(cs, rows, &s.cur, s.end, due)
	s.exhausted = exhausted
	if n == 0 && exhausted && s.Bounded() {
		return batch.Batch{}, io.EOF
	}
	return s.gen.record(s.schema, cs, n), nil
}

// dueMilli is the latest event time due now under throttling.
func (s *source) dueMilli() int64 {
	return s.firstMilli + time.Since(s.started).Milliseconds()
}

// estimate bounds the rows of this subtask's kind with event times in
// [from, to], so a throttled batch allocates about what it fills.
func (s *source) estimate(from, to int64) int {
	events := float64(to-from+1)*float64(s.cfg.rate)/1000 + float64(s.gen.prop)
	rows := events*float64(s.gen.hi-s.gen.lo)/float64(s.gen.prop)/float64(s.parallelism) + float64(s.gen.hi-s.gen.lo) + 1
	if rows >= float64(s.gen.maxRows) {
		return s.gen.maxRows
	}
	return int(rows)
}

func (s *source) empty() batch.Batch {
	return s.gen.record(s.schema, s.gen.alloc(0), 0)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Close implements connectors.Source.
func (s *source) Close() error { return nil }

// positionVersion is the first byte of every position; a layout change
// gets a new version so old checkpoints are refused rather than misread.
// Version 2: bids' strings come from per-block sequences and subtasks take
// whole blocks of epochs; a version 1 position would resume other values.
const positionVersion = 2

// Position implements connectors.CheckpointedSource. Events are a function
// of their number, so the next event number determines everything after:
//
//	version byte (1)
//	uvarint parallelism, uvarint subtask
//	uvarint events per epoch (the sum of the proportions)
//	uvarint next event number
func (s *source) Position() ([]byte, error) {
	if !s.opened {
		return nil, fmt.Errorf("nexmark '%s': position before Open", s.table)
	}
	return encodePosition(s.parallelism, s.subtask, s.gen.prop, s.cur.epoch*s.gen.prop+s.cur.off), nil
}

// encodePosition lays out a position (see source.Position).
func encodePosition(parallelism, subtask int, prop, next int64) []byte {
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64)
	b = append(b, positionVersion)
	b = binary.AppendUvarint(b, uint64(parallelism))
	b = binary.AppendUvarint(b, uint64(subtask))
	b = binary.AppendUvarint(b, uint64(prop))
	b = binary.AppendUvarint(b, uint64(next))
	return b
}

// seekPosition decodes pos for subtask of parallelism of table, whose
// epochs hold prop events, and returns its next event number.
func seekPosition(table string, pos []byte, parallelism, subtask int, prop int64) (int64, error) {
	p, err := decodePosition(pos)
	if err != nil {
		return 0, fmt.Errorf("nexmark '%s': invalid position: %w", table, err)
	}
	if p[0] != uint64(parallelism) {
		return 0, fmt.Errorf("nexmark '%s': not supported yet: restoring a nexmark source at a different parallelism (checkpoint %d, now %d)",
			table, p[0], parallelism)
	}
	if p[1] != uint64(subtask) {
		return 0, fmt.Errorf("nexmark '%s': position of subtask %d restored into subtask %d", table, p[1], subtask)
	}
	if p[2] != uint64(prop) {
		return 0, fmt.Errorf("nexmark '%s': the checkpoint has %d events per epoch, the table %d (did the proportions change?)", table, p[2], prop)
	}
	// Far beyond any position a source reaches (event times end at year
	// 9999 first); the bound keeps the epoch arithmetic from overflowing.
	if p[3] > 1<<62 {
		return 0, fmt.Errorf("nexmark '%s': position event %d is out of range", table, p[3])
	}
	return int64(p[3]), nil
}

// Seek implements connectors.CheckpointedSource. A throttled source starts
// its real-time schedule afresh from the position (no burst to catch up
// the downtime).
func (s *source) Seek(pos []byte) error {
	if !s.opened {
		return fmt.Errorf("nexmark '%s': seek before Open", s.table)
	}
	n, err := seekPosition(s.table, pos, s.parallelism, s.subtask, s.gen.prop)
	if err != nil {
		return err
	}
	epoch, off := n/s.gen.prop, n%s.gen.prop
	if off < s.gen.lo || off >= s.gen.hi || epoch/s.gen.blockE%int64(s.parallelism) != int64(s.subtask) {
		return fmt.Errorf("nexmark '%s': position event %d is not a %s event of subtask %d (did the table change?)", s.table, n, s.cfg.kind, s.subtask)
	}
	s.cur = cursor{epoch: epoch, off: off}
	s.exhausted = false
	s.started, s.lastEmit = time.Time{}, time.Time{}
	return nil
}

func decodePosition(b []byte) ([4]uint64, error) {
	var p [4]uint64
	if len(b) == 0 {
		return p, errors.New("empty")
	}
	if b[0] == 1 {
		return p, errors.New("a checkpoint of an earlier nexmark generator, whose events differ (version 1); start the job without it")
	}
	if b[0] != positionVersion {
		return p, fmt.Errorf("unknown version %d", b[0])
	}
	b = b[1:]
	for i := range p {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return p, errors.New("truncated")
		}
		p[i], b = v, b[n:]
	}
	if len(b) != 0 {
		return p, fmt.Errorf("%d trailing bytes", len(b))
	}
	return p, nil
}

var _ connectors.CheckpointedSource = (*source)(nil)
