package nexmark

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Flink's single nexmark table: every event, in event-number order, with
// event_type (0 person, 1 auction, 2 bid) and the fields of its kind's ROW
// column; the other two ROWs' fields are NULL. The planner flattens the ROW
// columns, so the table's columns here are event_type and leaves such as
// "bid.price" (only those the query reads).
//
// Each kind's values come from a per-kind generator, the very one the
// per-kind tables use, run over the batch's range of event numbers (with
// stride 1: it walks every epoch of the range), and are then interleaved
// by event number: int columns are copied run by run (a kind's events are
// one run per epoch), string columns get new offsets over the generator's
// own bytes. So the events are exactly the per-kind tables' events.
//
// Parallel subtasks split the stream by blocks of bidBlockEpochs epochs,
// the bid generator's block, so a batch never spans two bid blocks (whose
// strings are windows of precomputed sequences, see seq.go).

// FlattenedRowColumns implements planner.RowColumnsFactory: the single
// table's ROW columns are read as their leaf columns.
func (*Factory) FlattenedRowColumns() bool { return true }

// FilterEquals implements planner.EqualityFilterFactory: event_type = n
// makes the single table generate kind n only.
func (*Factory) FilterEquals(t connectors.Table, column string, value int64) (map[string]string, bool) {
	if !strings.EqualFold(column, eventTypeCol) || value < 0 || value > 2 {
		return nil, false
	}
	c, err := parse(t)
	if err != nil || !c.all || (c.only >= 0 && c.only != int(value)) {
		return nil, false
	}
	return map[string]string{eventTypeOption: strconv.FormatInt(value, 10)}, true
}

// allSource is one parallel subtask of the single nexmark table.
type allSource struct {
	table  string
	cfg    *config
	f      *Factory
	schema *arrow.Schema

	// gens[k] generates kind k's read fields (nil when none is read);
	// subCol[i] is column i's position in its kind's generator's fields.
	gens   [3]*generator
	subCol []int

	prop    int64
	lo, hi  [3]int64 // each kind's offsets within an epoch
	blockEv int64    // events per block
	maxEv   int64    // events per batch
	end     int64    // first event not generated (events.num, end of time)

	subtask, parallelism int
	opened               bool
	next                 int64 // the next event number of this subtask
	exhausted            bool

	// Throttled emission, as source.
	started    time.Time
	firstMilli int64
	lastEmit   time.Time
	clock      *generator // event times (the generator of any kind)
}

func newAllSource(t connectors.Table, c *config, f *Factory) *allSource {
	s := &allSource{table: t.Name, cfg: c, f: f, schema: t.Schema.Arrow(), prop: c.proportion()}
	for _, k := range []kind{kindPerson, kindAuction, kindBid} {
		sub := *c
		sub.kind = k
		s.lo[k], s.hi[k] = sub.span()
	}
	s.blockEv = c.bidBlockEpochs() * s.prop
	return s
}

// Bounded implements connectors.Source.
func (s *allSource) Bounded() bool { return s.cfg.total >= 0 && !s.cfg.keepAlive }

// Open implements connectors.Source.
func (s *allSource) Open(_ context.Context, subtask, parallelism int) error {
	if parallelism < 1 || subtask < 0 || subtask >= parallelism {
		return fmt.Errorf("nexmark '%s': invalid subtask %d of %d", s.table, subtask, parallelism)
	}
	c := s.cfg
	var fields [3][]int
	s.subCol = make([]int, len(c.allCols))
	for i, ac := range c.allCols {
		if ac.field >= 0 {
			s.subCol[i] = len(fields[ac.kind])
			fields[ac.kind] = append(fields[ac.kind], ac.field)
		}
	}
	s.maxEv = maxBatchRows
	for k := range fields {
		if len(fields[k]) == 0 || (c.only >= 0 && k != c.only) {
			continue // not read, or all NULL under 'nexmark.event-type'
		}
		sub := *c
		sub.all, sub.allCols = false, nil
		sub.kind, sub.cols = kind(k), fields[k]
		s.gens[k] = newGenerator(&sub, 1, s.f)
		s.maxEv = min(s.maxEv, int64(s.gens[k].maxRows))
	}
	clock := *c
	clock.all, clock.allCols, clock.kind, clock.cols = false, nil, kindPerson, nil
	s.clock = newGenerator(&clock, 1, s.f)
	s.end = s.timeEnd()
	if c.total >= 0 {
		s.end = min(s.end, c.total)
	}
	s.subtask, s.parallelism = subtask, parallelism
	s.next = int64(subtask) * s.blockEv
	s.exhausted = false
	s.opened = true
	return nil
}

// timeEnd is the first event number whose time is past the last epoch
// start the generators allow (see generator.lastStart): the stream ends
// there, for every kind at once.
func (s *allSource) timeEnd() int64 {
	g := s.clock
	past := func(n int64) bool {
		ms, _, ok := g.eventMilli(n)
		return !ok || ms > g.lastStart
	}
	lo, hi := int64(0), int64(1)<<62 // past(hi) holds: beyond year 9999
	for lo < hi {
		mid := lo + (hi-lo)/2
		if past(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// count is the number of kind k events among event numbers [0, n).
func (s *allSource) count(k kind, n int64) int64 {
	e, off := n/s.prop, n%s.prop
	return e*(s.hi[k]-s.lo[k]) + min(max(off-s.lo[k], 0), s.hi[k]-s.lo[k])
}

// cursorAt is the cursor of kind k's first event at or after event n.
func (s *allSource) cursorAt(k kind, n int64) cursor {
	e, off := n/s.prop, n%s.prop
	switch {
	case off < s.lo[k]:
		off = s.lo[k]
	case off >= s.hi[k]:
		e, off = e+1, s.lo[k]
	}
	return cursor{epoch: e, off: off}
}

// Next implements connectors.Source.
func (s *allSource) Next(ctx context.Context) (batch.Batch, error) {
	if !s.opened {
		return batch.Batch{}, fmt.Errorf("nexmark '%s': Next before Open", s.table)
	}
	if !s.exhausted && s.next >= s.end {
		s.exhausted = true
	}
	if s.exhausted {
		if s.Bounded() {
			return batch.Batch{}, io.EOF
		}
		if err := sleep(ctx, maxWait); err != nil {
			return batch.Batch{}, fmt.Errorf("nexmark '%s': %w", s.table, err)
		}
		return s.make(s.next, s.next, nil), nil
	}
	n0 := s.next
	n1 := min((n0/s.blockEv+1)*s.blockEv, n0+s.maxEv, s.end)
	if s.cfg.throttle {
		next, _, _ := s.clock.eventMilli(n0)
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
		due := s.dueMilli()
		if next > due {
			return s.make(n0, n0, nil), nil
		}
		// The events due now: times grow with the event number.
		lo, hi := n0+1, n1
		for lo < hi {
			mid := lo + (hi-lo)/2
			if ms, _, _ := s.clock.eventMilli(mid); ms > due {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		n1 = lo
		s.lastEmit = time.Now()
	}
	// Bids first: their batch may end early where a precomputed sequence
	// wraps (see generator.startBlock); the batch then ends there.
	var made [3]*cols
	for _, k := range []kind{kindBid, kindPerson, kindAuction} {
		g := s.gens[k]
		if g == nil {
			continue
		}
		want := s.count(k, n1) - s.count(k, n0)
		cs := g.alloc(int(want))
		made[k] = cs
		if want == 0 {
			continue
		}
		cur := s.cursorAt(k, n0)
		n, _ := g.fill(cs, int(want), &cur, n1, math.MaxInt64)
		if int64(n) < want {
			n1 = cur.epoch*s.prop + cur.off
		}
	}
	b := s.make(n0, n1, &made)
	s.next = n1
	if n1%s.blockEv == 0 {
		s.next += int64(s.parallelism-1) * s.blockEv
	}
	return b, nil
}

func (s *allSource) dueMilli() int64 {
	return s.firstMilli + time.Since(s.started).Milliseconds()
}

// run is a stretch of one kind's events in a batch: rows [at, at+n) of
// the batch are rows [sub, sub+n) of the kind's generated columns.
type run struct{ at, sub, n int }

// make interleaves the generated kinds into the events [n0, n1).
func (s *allSource) make(n0, n1 int64, made *[3]*cols) batch.Batch {
	m := int(n1 - n0)
	var runs [3][]run
	var subN [3]int
	if only := s.cfg.only; only >= 0 {
		// One kind: its rows are the batch.
		if n := int(s.count(kind(only), n1) - s.count(kind(only), n0)); n > 0 {
			runs[only] = []run{{n: n}}
			subN[only] = n
		}
		m = subN[only]
	}
	for e := n0 / s.prop; s.cfg.only < 0 && m > 0 && e*s.prop < n1; e++ {
		for k := range runs {
			a, b := max(e*s.prop+s.lo[k], n0), min(e*s.prop+s.hi[k], n1)
			if a < b {
				runs[k] = append(runs[k], run{at: int(a - n0), sub: subN[k], n: int(b - a)})
				subN[k] += int(b - a)
			}
		}
	}
	// One validity bitmap per kind, shared by its columns.
	var valid [3]*memory.Buffer
	arrs := make([]arrow.Array, len(s.cfg.allCols))
	for i, ac := range s.cfg.allCols {
		if ac.field < 0 {
			et := make([]int32, m)
			for k := range runs {
				for _, r := range runs[k] {
					for j := r.at; j < r.at+r.n; j++ {
						et[j] = int32(k)
					}
				}
			}
			arrs[i] = batch.Int32Array(et, nil)
			continue
		}
		k := ac.kind
		if valid[k] == nil {
			bm := make([]byte, (m+7)/8)
			for _, r := range runs[k] {
				setBits(bm, r.at, r.n)
			}
			valid[k] = memory.NewBufferBytes(bm)
		}
		nulls := m - subN[k]
		g := s.gens[k]
		var cs *cols
		if made != nil {
			cs = made[k]
		}
		f := ac.field
		if kindFields(k)[f].t.Kind == types.String {
			var subOffs []int32
			var data []byte
			switch {
			case cs == nil:
				subOffs, data = []int32{0}, nil
			case g.seq[f] != nil:
				subOffs, data = window(g.seq[f], cs.seqAt[f], subN[k])
			default:
				w := cs.strs[f]
				subOffs, data = w.offs[:subN[k]+1], w.data[:w.pos:w.pos]
			}
			offs := make([]int32, m+1)
			at := 0
			for _, r := range runs[k] {
				base := subOffs[r.sub]
				for j := at; j <= r.at; j++ {
					offs[j] = base // NULLs before the run: empty
				}
				for j := 1; j <= r.n; j++ {
					offs[r.at+j] = subOffs[r.sub+j]
				}
				at = r.at + r.n
			}
			for j := at + 1; j <= m; j++ {
				offs[j] = offs[at]
			}
			d := array.NewData(arrow.BinaryTypes.String, m, []*memory.Buffer{valid[k],
				memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}, nil, nulls, 0)
			arrs[i] = array.NewStringData(d)
			d.Release()
			continue
		}
		vals := make([]int64, m) // NULL slots stay 0: deterministic for any reader
		if cs != nil {
			sub := cs.ints[f]
			for _, r := range runs[k] {
				copy(vals[r.at:r.at+r.n], sub[r.sub:r.sub+r.n])
			}
		}
		d := array.NewData(arrow.PrimitiveTypes.Int64, m, []*memory.Buffer{valid[k],
			memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(vals))}, nil, nulls, 0)
		arrs[i] = array.NewInt64Data(d)
		d.Release()
	}
	rec := batch.NewRecordArrow(s.schema, arrs, m)
	for _, a := range arrs {
		a.Release()
	}
	return batch.New(rec)
}

// setBits sets bits [at, at+n) of bm.
func setBits(bm []byte, at, n int) {
	for j := at; j < at+n; {
		if j%8 == 0 && at+n-j >= 8 {
			bm[j/8] = 0xFF
			j += 8
			continue
		}
		bm[j/8] |= 1 << (j % 8)
		j++
	}
}

// Close implements connectors.Source.
func (s *allSource) Close() error { return nil }

// Position implements connectors.CheckpointedSource, in source's layout:
// the next event number determines everything after it.
func (s *allSource) Position() ([]byte, error) {
	if !s.opened {
		return nil, fmt.Errorf("nexmark '%s': position before Open", s.table)
	}
	return encodePosition(s.parallelism, s.subtask, s.prop, s.next), nil
}

// Seek implements connectors.CheckpointedSource.
func (s *allSource) Seek(pos []byte) error {
	if !s.opened {
		return fmt.Errorf("nexmark '%s': seek before Open", s.table)
	}
	n, err := seekPosition(s.table, pos, s.parallelism, s.subtask, s.prop)
	if err != nil {
		return err
	}
	if (n/s.blockEv)%int64(s.parallelism) != int64(s.subtask) {
		return fmt.Errorf("nexmark '%s': position event %d is not an event of subtask %d (did the table change?)", s.table, n, s.subtask)
	}
	s.next = n
	s.exhausted = false
	s.started, s.lastEmit = time.Time{}, time.Time{}
	return nil
}

var _ connectors.CheckpointedSource = (*allSource)(nil)
