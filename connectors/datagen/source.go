package datagen

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

const (
	maxBatchRows = 4096
	// maxWait bounds one sleep so Next returns within the contract's ~50 ms.
	maxWait = 50 * time.Millisecond
)

// source is one parallel subtask of a datagen table.
type source struct {
	table  string
	cfg    *config
	schema *arrow.Schema
	now    func() time.Time
	loc    *time.Location

	// Rows this subtask produces: a bounded table gives each subtask one
	// contiguous range of global row indexes [first, end) (so sequences
	// split without overlap); an unbounded one interleaves indexes
	// subtask, subtask+P, ... forever. count rows of them are done; next
	// is the global index of the next one.
	bounded              bool
	subtask, parallelism int
	first, next, end     int64
	stride               int64
	count                int64
	rate                 float64 // rows per second for this subtask
	started              time.Time
	emitted              int64 // rows since started, for the rate limit
	opened               bool
	clock                schedule
	needClock            bool
	instants, locals     []int64
	arraysPool           []arrow.Array
}

func newSource(t connectors.Table, c *config) *source {
	now := t.Env.Now
	if now == nil {
		now = time.Now
	}
	needClock := false
	for _, f := range c.fields {
		switch f.t.Kind {
		case types.Timestamp, types.TimestampLTZ, types.Date:
			needClock = true
		}
	}
	return &source{table: t.Name, cfg: c, schema: t.Schema.Arrow(), now: now, loc: t.Env.Location,
		bounded: c.total >= 0, needClock: needClock}
}

// Bounded implements connectors.Source.
func (s *source) Bounded() bool { return s.bounded }

// Open implements connectors.Source.
func (s *source) Open(_ context.Context, subtask, parallelism int) error {
	if parallelism < 1 || subtask < 0 || subtask >= parallelism {
		return fmt.Errorf("datagen '%s': invalid subtask %d of %d", s.table, subtask, parallelism)
	}
	p, st := int64(parallelism), int64(subtask)
	if s.bounded {
		// Exact split: subtask i gets [N*i/P, N*(i+1)/P). Computed without
		// overflowing N*i for large N.
		s.first, s.end = share(s.cfg.total, st, p), share(s.cfg.total, st+1, p)
		s.stride = 1
	} else {
		s.first, s.stride = st, p
	}
	s.next, s.count = s.first, 0
	s.subtask, s.parallelism = subtask, parallelism
	// rows-per-second is for the whole table, split like the rows.
	r := max(share(s.cfg.rowsPerSecond, st+1, p)-share(s.cfg.rowsPerSecond, st, p), 1)
	s.rate = float64(r)
	s.clock = newSchedule(s.now().UnixMicro(), r, s.loc)
	s.opened = true
	return nil
}

// share returns floor(n*i/p) without overflow for n, p < 2^62.
func share(n, i, p int64) int64 {
	return (n/p)*i + (n%p)*i/p
}

// Next implements connectors.Source.
func (s *source) Next(ctx context.Context) (batch.Batch, error) {
	if !s.opened {
		return batch.Batch{}, fmt.Errorf("datagen '%s': Next before Open", s.table)
	}
	if s.bounded && s.next >= s.end {
		return batch.Batch{}, io.EOF
	}
	if s.started.IsZero() {
		s.started = time.Now()
	}
	// Emit in chunks of about maxWait's worth of rows (up to a full batch)
	// rather than row by row: a fast consumer would otherwise get one tiny
	// batch per due row.
	target := min(int64(s.rate*maxWait.Seconds()), maxBatchRows)
	if s.bounded {
		target = min(target, s.end-s.next)
	}
	target = max(target, 1)
	allowed := s.allowance()
	if allowed < target {
		// Sleep until the chunk is due, but never beyond maxWait.
		due := s.started.Add(time.Duration(float64(s.emitted+target) / s.rate * float64(time.Second)))
		wait := min(time.Until(due), maxWait)
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return batch.Batch{}, fmt.Errorf("datagen '%s': %w", s.table, ctx.Err())
			case <-t.C:
			}
		}
		if allowed = s.allowance(); allowed <= 0 {
			return s.empty(), nil
		}
	}
	n := min(allowed, maxBatchRows)
	if s.bounded {
		n = min(n, s.end-s.next)
	}
	return s.generate(int(n)), nil
}

// allowance is how many rows the rate limit lets us emit now.
func (s *source) allowance() int64 {
	due := int64(time.Since(s.started).Seconds() * s.rate)
	return due - s.emitted
}

func (s *source) generate(n int) batch.Batch {
	rs := rows{base: s.next, step: s.stride, n: n}
	var now clockNow
	if s.needClock && n > 0 {
		if cap(s.instants) < n {
			s.instants, s.locals = make([]int64, n), make([]int64, n)
		}
		now = s.clock.fill(s.count, s.instants[:n], s.locals[:n])
	}
	cols := s.arraysPool[:0]
	for i := range s.cfg.fields {
		cols = append(cols, generate(&s.cfg.fields[i], rs, now))
	}
	rec := batch.NewRecordArrow(s.schema, cols, n)
	for _, c := range cols {
		c.Release()
	}
	s.arraysPool = cols[:0]
	if s.bounded {
		s.next += int64(n)
	} else {
		s.next += int64(n) * s.stride
	}
	s.count += int64(n)
	s.emitted += int64(n)
	return batch.New(rec)
}

// empty returns a zero-row batch with the table's schema, so callers can
// treat it like any other batch.
func (s *source) empty() batch.Batch {
	return s.generate(0)
}

// Close implements connectors.Source.
func (s *source) Close() error { return nil }

var _ connectors.CheckpointedSource = (*source)(nil)
