package ops

import (
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
)

// The append-only Top-N as an exec.RowSkipper: a row that does not order
// strictly before its partition's N-th row is dropped by processAppend
// without output or state change (with an insert-only input the N-th row
// only improves, so the row could never enter later in the batch either).
// A join chained before it then builds only the rows that may enter
// (Nexmark q9 built every joined auction-bid row, 500-byte strings
// included, to keep one per auction).

// SkipColumns implements exec.RowSkipper: the partition and ORDER BY
// columns, for an in-memory Top-N of an insert-only input without TTL
// (an expired partition starts over, so its rows would not be ignored).
func (r *Rank) SkipColumns() []int {
	if r.store != nil || r.InputUpdating || r.TTL > 0 || r.Limit <= 0 {
		return nil
	}
	if r.skipCols == nil {
		cols := append([]int(nil), r.PartitionKeys...)
		for _, k := range r.OrderKeys {
			cols = append(cols, k.Col)
		}
		r.skipCols = cols
	}
	return r.skipCols
}

// SkipRows implements exec.RowSkipper. It follows processAppend row by
// row: a partition's top N as of each row is its rows before the batch
// and the batch's earlier rows (a batch often holds a partition's whole
// life, so judging by the state before it would skip little). Only the
// ORDER BY values are kept, as tuples (ORDER BY column i at i).
func (r *Rank) SkipRows(cols []arrow.Array, skip []bool) {
	nk, no := len(r.PartitionKeys), len(r.OrderKeys)
	keyCols, ordCols := cols[:nk], cols[nk:]
	st := &r.skipState
	st.reset()
	probe := make([]cell, no)
	for row := range skip {
		r.setKey(keyCols, row)
		tops, seen := st.get(r)
		if !seen {
			tops = nil
			if p := r.part(); p != nil {
				for _, pr := range p.rows[:min(int64(len(p.rows)), r.Limit)] {
					t := st.tuple(no)
					for i, k := range r.OrderKeys {
						t[i] = pr.cells[k.Col]
					}
					tops = append(tops, t)
				}
			}
		}
		for i := range probe {
			probe[i] = readCell(ordCols[i], row)
		}
		n := len(tops)
		if int64(n) >= r.Limit && r.cmpTuple(probe, tops[n-1]) >= 0 {
			skip[row] = true
			if !seen {
				st.put(r, tops)
			}
			continue
		}
		// After every tuple that orders before or equal to it.
		i, _ := slices.BinarySearchFunc(tops, probe, func(x, t []cell) int {
			if c := r.cmpTuple(x, t); c != 0 {
				return c
			}
			return -1
		})
		t := st.tuple(no)
		copy(t, probe)
		tops = slices.Insert(tops, i, t)
		if int64(len(tops)) > r.Limit {
			tops = tops[:r.Limit]
		}
		st.put(r, tops)
	}
}

// cmpTuple orders two ORDER BY tuples as less orders their rows.
func (r *Rank) cmpTuple(a, b []cell) int {
	for i, k := range r.OrderKeys {
		if c := r.cmpOrder(k, a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// rankSkipState is SkipRows' scratch: each partition's top N ORDER BY
// tuples so far in the batch, by the partition's key as Rank keeps it.
type rankSkipState struct {
	ints  map[int64][][]cell
	strs  map[string][][]cell
	null  [][]cell
	nullS bool
	slab  []cell
}

func (s *rankSkipState) reset() {
	if s.ints == nil {
		s.ints, s.strs = map[int64][][]cell{}, map[string][][]cell{}
	}
	clear(s.ints)
	clear(s.strs)
	s.null, s.nullS = nil, false
	s.slab = nil
}

// get returns the current key's tuples, and whether the batch had it.
func (s *rankSkipState) get(r *Rank) ([][]cell, bool) {
	switch {
	case !r.intKeyed:
		t, ok := s.strs[string(r.keyBuf)]
		return t, ok
	case r.curNull:
		return s.null, s.nullS
	}
	t, ok := s.ints[r.curInt]
	return t, ok
}

func (s *rankSkipState) put(r *Rank, t [][]cell) {
	switch {
	case !r.intKeyed:
		s.strs[string(r.keyBuf)] = t
	case r.curNull:
		s.null, s.nullS = t, true
	default:
		s.ints[r.curInt] = t
	}
}

// tuple cuts n cells from the slab (dropped with the batch).
func (s *rankSkipState) tuple(n int) []cell {
	if len(s.slab) < n {
		s.slab = make([]cell, max(1024, n))
	}
	t := s.slab[:n:n]
	s.slab = s.slab[n:]
	return t
}
