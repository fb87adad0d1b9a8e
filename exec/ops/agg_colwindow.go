package ops

import (
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Columnar window state: an in-memory window aggregation keyed by one
// BIGINT column (or only by its window), whose aggregates are COUNT(*),
// COUNT(x), and SUM/MIN/MAX of BIGINT without FILTER, keeps each window as
// plain slices — keys, an index, and per aggregate a count and a value —
// instead of one group object per key and window. Almost every row of a
// tumbling count over many keys opens a group; making those objects (and
// the GC marking them) was most of the operator's time, and slices hold no
// pointers. Rows with a NULL key, and aggregations that do not qualify,
// take the general path; a snapshot encodes the slots as groups, so the
// checkpoint format is the same.

// colWindow is one window's state.
type colWindow struct {
	start int64
	idx   map[int64]int32
	keys  []int64
	rows  []int64
	n     [][]int64 // per aggregate: values counted
	v     [][]int64 // per aggregate: sum, or the extreme
}

// colWindows is the operator's columnar state (nil when not used).
type colWindows struct {
	byEnd map[int64]*colWindow
	// keyPos is the key's position in GroupAgg.Keys, -1 without a key.
	keyPos int
}

// colEligible decides, at the first batch, whether this aggregation keeps
// columnar windows.
func (a *GroupAgg) colEligible(b batch.Batch) bool {
	if !a.Windowed || a.Session || a.ProcTime || a.store != nil || len(a.Keys) > 3 || a.noColumnar {
		return false
	}
	keyPos := -1
	for i, k := range a.Keys {
		if i == a.WindowStart || i == a.WindowEnd {
			continue
		}
		if _, ok := b.Column(k).(*array.Int64); !ok {
			return false
		}
		keyPos = i
	}
	if len(a.Keys) == 3 && keyPos < 0 {
		return false
	}
	for _, s := range a.Aggs {
		if s.Filter >= 0 {
			return false
		}
		switch s.Kind {
		case AggCountStar, AggCount:
		case AggSum, AggMin, AggMax:
			if _, ok := b.Column(s.Arg).(*array.Int64); !ok || s.ArgType.Kind != types.BigInt {
				return false
			}
			if s.Kind != AggSum && a.InputUpdating {
				return false
			}
		default:
			return false
		}
	}
	a.cw = &colWindows{byEnd: map[int64]*colWindow{}, keyPos: keyPos}
	return true
}

func (a *GroupAgg) newColWindow(start int64) *colWindow {
	hint := a.windowSizeHint
	w := &colWindow{start: start, idx: make(map[int64]int32, hint), keys: make([]int64, 0, hint), rows: make([]int64, 0, hint),
		n: make([][]int64, len(a.Aggs)), v: make([][]int64, len(a.Aggs))}
	for i := range a.Aggs {
		w.n[i] = make([]int64, 0, hint)
		w.v[i] = make([]int64, 0, hint)
	}
	return w
}

// slot returns key k's slot in w, adding it.
func (w *colWindow) slot(k int64) int32 {
	if s, ok := w.idx[k]; ok {
		return s
	}
	s := int32(len(w.keys))
	w.idx[k] = s
	w.keys = append(w.keys, k)
	w.rows = append(w.rows, 0)
	for i := range w.n {
		w.n[i] = append(w.n[i], 0)
		w.v[i] = append(w.v[i], 0)
	}
	return s
}

// foldColumnar folds the rows of b (insert-only, none late) into columnar
// windows and returns the rows it left to the general path (NULL keys).
func (a *GroupAgg) foldColumnar(b batch.Batch) (batch.Batch, error) {
	n := b.Len()
	ends := b.Column(a.Keys[a.WindowEnd]).(*array.Int64).Int64Values()
	starts := b.Column(a.Keys[a.WindowStart]).(*array.Int64).Int64Values()
	var keyCol *array.Int64
	var keys []int64
	if a.cw.keyPos >= 0 {
		keyCol = b.Column(a.Keys[a.cw.keyPos]).(*array.Int64)
		keys = keyCol.Int64Values()
	}
	if cap(a.colSlots) < n {
		a.colSlots = make([]int32, n)
		a.colWins = make([]*colWindow, n)
	}
	slots, wins := a.colSlots[:n], a.colWins[:n]
	var rest []int32
	var cur *colWindow
	curEnd := int64(0)
	for r := 0; r < n; r++ {
		if keyCol != nil && keyCol.IsNull(r) {
			rest = append(rest, int32(r))
			wins[r] = nil
			continue
		}
		if cur == nil || ends[r] != curEnd {
			curEnd = ends[r]
			cur = a.cw.byEnd[curEnd]
			if cur == nil {
				cur = a.newColWindow(starts[r])
				a.cw.byEnd[curEnd] = cur
			}
		}
		var k int64
		if keys != nil {
			k = keys[r]
		}
		s := cur.slot(k)
		cur.rows[s]++
		slots[r], wins[r] = s, cur
	}
	for i := range a.Aggs {
		if err := a.foldColumnarAgg(i, b, slots, wins); err != nil {
			return batch.Batch{}, err
		}
	}
	if len(rest) == 0 {
		return batch.Batch{}, nil
	}
	return batch.TakeBatch(b, rest), nil
}

func (a *GroupAgg) foldColumnarAgg(i int, b batch.Batch, slots []int32, wins []*colWindow) error {
	s := &a.Aggs[i]
	if s.Kind == AggCountStar {
		for r, w := range wins {
			if w != nil {
				w.n[i][slots[r]]++
			}
		}
		return nil
	}
	col := b.Column(s.Arg)
	nulls := col.NullN() > 0
	if s.Kind == AggCount {
		for r, w := range wins {
			if w != nil && (!nulls || col.IsValid(r)) {
				w.n[i][slots[r]]++
			}
		}
		return nil
	}
	v := col.(*array.Int64).Int64Values()
	for r, w := range wins {
		if w == nil || (nulls && col.IsNull(r)) {
			continue
		}
		sl := slots[r]
		w.n[i][sl]++
		switch s.Kind {
		case AggSum:
			sum, ok := addChecked(w.v[i][sl], v[r])
			if !ok {
				return fmt.Errorf("%s: BIGINT overflow", s.Text)
			}
			w.v[i][sl] = sum
		case AggMin:
			if w.n[i][sl] == 1 || v[r] < w.v[i][sl] {
				w.v[i][sl] = v[r]
			}
		case AggMax:
			if w.n[i][sl] == 1 || v[r] > w.v[i][sl] {
				w.v[i][sl] = v[r]
			}
		}
	}
	return nil
}

// colDue adds the ends of the columnar windows the watermark has fired.
func (a *GroupAgg) colDue(due []int64, seen map[int64]bool) []int64 {
	if a.cw == nil {
		return due
	}
	for end := range a.cw.byEnd {
		if a.windowFired(end) && !seen[end] {
			due = append(due, end)
		}
	}
	return due
}

// emitColumnar emits the columnar window ending at end as one batch,
// built straight from its slices (every output column is an int64: the
// window bounds, the BIGINT key and the BIGINT aggregates), and drops it.
func (a *GroupAgg) emitColumnar(end int64, out exec.Collector) error {
	if a.cw == nil {
		return nil
	}
	w := a.cw.byEnd[end]
	if w == nil {
		return nil
	}
	delete(a.cw.byEnd, end)
	m := len(w.keys)
	a.windowSizeHint = min(m, 1<<20)
	if m == 0 {
		return nil
	}
	nk := len(a.Keys)
	cols := make([]arrow.Array, nk+len(a.Aggs))
	fill := func(v int64) []int64 {
		vals := make([]int64, m)
		for i := range vals {
			vals[i] = v
		}
		return vals
	}
	cols[a.WindowStart] = batch.Int64Array(fill(w.start), nil)
	cols[a.WindowEnd] = batch.Int64Array(fill(end), nil)
	if a.cw.keyPos >= 0 {
		cols[a.cw.keyPos] = batch.Int64Array(w.keys, nil)
	}
	for i := range a.Aggs {
		switch a.Aggs[i].Kind {
		case AggCountStar, AggCount:
			cols[nk+i] = batch.Int64Array(w.n[i], nil)
		default:
			var valid []bool
			for s, n := range w.n[i] {
				if n == 0 {
					if valid == nil {
						valid = make([]bool, m)
						for j := range valid {
							valid[j] = true
						}
					}
					valid[s] = false
				}
			}
			cols[nk+i] = batch.Int64Array(w.v[i], valid)
		}
	}
	return out.Collect(batch.New(batch.NewRecordArrow(a.schema, cols, m)))
}

// colGroups calls fn with each columnar slot as a group (snapshots), in
// window order then slot order.
func (a *GroupAgg) colGroups(fn func(g *group)) {
	if a.cw == nil {
		return
	}
	ends := make([]int64, 0, len(a.cw.byEnd))
	for end := range a.cw.byEnd {
		ends = append(ends, end)
	}
	slices.Sort(ends)
	g := &group{prev: make([]cell, len(a.Keys)+len(a.Aggs)), accs: make([]accum, len(a.Aggs)), winKeyed: true, existed: true}
	for _, end := range ends {
		w := a.cw.byEnd[end]
		for s := range w.keys {
			clear(g.prev)
			clear(g.accs)
			g.prev[a.WindowStart] = cell{i: w.start}
			g.prev[a.WindowEnd] = cell{i: end}
			if a.cw.keyPos >= 0 {
				g.prev[a.cw.keyPos] = cell{i: w.keys[s]}
			}
			g.rows = w.rows[s]
			for i := range a.Aggs {
				g.accs[i].n = w.n[i][s]
				switch a.Aggs[i].Kind {
				case AggSum:
					g.accs[i].i = w.v[i][s]
				case AggMin, AggMax:
					g.accs[i].ext = cell{i: w.v[i][s]}
				}
			}
			fn(g)
		}
	}
}

// adoptWindows moves the general path's window groups (restored from a
// checkpoint) into columnar windows, once the aggregation turned columnar.
func (a *GroupAgg) adoptWindows() {
	for end, wg := range a.windows {
		for _, g := range wg.order {
			w := a.cw.byEnd[end]
			if w == nil {
				w = a.newColWindow(g.prev[a.WindowStart].i)
				a.cw.byEnd[end] = w
			}
			var k int64
			if a.cw.keyPos >= 0 {
				k = g.prev[a.cw.keyPos].i
			}
			s := w.slot(k)
			w.rows[s] += g.rows
			for i := range a.Aggs {
				w.n[i][s] = g.accs[i].n
				switch a.Aggs[i].Kind {
				case AggSum:
					w.v[i][s] = g.accs[i].i
				case AggMin, AggMax:
					w.v[i][s] = g.accs[i].ext.i
				}
			}
		}
		delete(a.windows, end)
	}
}
