package ops

import (
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

// SkipRows implements exec.RowSkipper.
func (r *Rank) SkipRows(cols []arrow.Array, skip []bool) {
	nk := len(r.PartitionKeys)
	keyCols := cols[:nk]
	probe := rankRow{cells: make([]cell, r.In.Len())}
	for row := range skip {
		r.setKey(keyCols, row)
		p := r.part()
		if p == nil || int64(len(p.rows)) < r.Limit {
			continue
		}
		for i, k := range r.OrderKeys {
			probe.cells[k.Col] = readCell(cols[nk+i], row)
		}
		skip[row] = r.less(probe, p.rows[len(p.rows)-1]) >= 0
	}
}
