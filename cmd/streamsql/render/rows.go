// Package render turns session results into text: Flink's tableau tables,
// a streaming changelog view, CSV and JSON lines. The command line and the
// golden-test runner share it so that `run` and `test` print alike.
package render

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Row is one change of a result, rendered.
type Row struct {
	Op     batch.RowKind
	Values []Value
}

// Rows renders every row of b, whose columns follow schema.
func Rows(b batch.Batch, schema types.Schema, loc *time.Location) []Row {
	n := b.Len()
	out := make([]Row, n)
	for i := range n {
		vals := make([]Value, len(schema.Fields))
		for c, f := range schema.Fields {
			vals[c] = Cell(b.Column(c), i, f.Type, loc)
		}
		out[i] = Row{Op: b.Kind(i), Values: vals}
	}
	return out
}

// Sort orders rows by their rendered values (NULL first), then by op, so
// that a result whose order means nothing prints the same on every run.
func Sort(rows []Row) {
	slices.SortStableFunc(rows, func(a, b Row) int {
		for i := range a.Values {
			x, y := a.Values[i], b.Values[i]
			if x.Null != y.Null {
				if x.Null {
					return -1
				}
				return 1
			}
			if c := compareText(x.Text, y.Text); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Op, b.Op)
	})
}

// compareText compares numerically when both texts are numbers, so that 9
// sorts before 10, and as strings otherwise.
func compareText(a, b string) int {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return cmp.Compare(a, b)
}
