package ops

import (
	"cmp"
	"encoding/binary"
	"math"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// cell is one SQL value in a comparable Go form: integers of every
// physical kind (INT, BIGINT, DECIMAL, TIMESTAMP, DATE, BOOLEAN) in i,
// DOUBLE in f, STRING in s. Being comparable, it can key Go maps (distinct
// sets, MIN/MAX multisets).
type cell struct {
	i    int64
	f    float64
	s    string
	null bool
}

// readCell reads row r of a column.
func readCell(a arrow.Array, r int) cell {
	if a.IsNull(r) {
		return cell{null: true}
	}
	switch c := a.(type) {
	case *array.Int64:
		return cell{i: c.Value(r)}
	case *array.Int32:
		return cell{i: int64(c.Value(r))}
	case *array.Float64:
		f := c.Value(r)
		if f == 0 {
			f = 0 // -0 and +0 are one value
		}
		return cell{f: f}
	case *array.String:
		return cell{s: c.Value(r)}
	case *array.Boolean:
		if c.Value(r) {
			return cell{i: 1}
		}
		return cell{}
	}
	return cell{null: true}
}

// compareCells orders two non-NULL cells of one type.
func compareCells(a, b cell, k types.Kind) int {
	switch k {
	case types.Double:
		return cmp.Compare(a.f, b.f)
	case types.String:
		return cmp.Compare(a.s, b.s)
	}
	return cmp.Compare(a.i, b.i)
}

// buildColumn turns cells into an array of t's physical type.
func buildColumn(t types.Type, cells []cell) arrow.Array {
	n := len(cells)
	var valid []bool
	for i, c := range cells {
		if c.null {
			if valid == nil {
				valid = make([]bool, n)
				for j := range valid {
					valid[j] = true
				}
			}
			valid[i] = false
		}
	}
	switch t.Kind {
	case types.Boolean:
		v := make([]bool, n)
		for i, c := range cells {
			v[i] = c.i != 0
		}
		return batch.BooleanArray(v, valid)
	case types.Int, types.Date:
		v := make([]int32, n)
		for i, c := range cells {
			v[i] = int32(c.i)
		}
		return batch.Int32Array(v, valid)
	case types.Double:
		v := make([]float64, n)
		for i, c := range cells {
			v[i] = c.f
		}
		return batch.Float64Array(v, valid)
	case types.String:
		v := make([]string, n)
		for i, c := range cells {
			v[i] = c.s
		}
		return batch.StringArray(v, valid)
	case types.Null:
		return batch.NullArray(t, n)
	}
	v := make([]int64, n)
	for i, c := range cells {
		v[i] = c.i
	}
	return batch.Int64Array(v, valid)
}

// appendKey appends a compact binary encoding of row r of cols to dst:
// per column a tag byte (0 NULL, 1 value) and the value (8 bytes for
// numbers, length-prefixed bytes for strings). Equal keys encode equally.
func appendKey(dst []byte, cols []arrow.Array, r int) []byte {
	for _, a := range cols {
		if a.IsNull(r) {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		switch c := a.(type) {
		case *array.Int64:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(c.Value(r)))
		case *array.Int32:
			dst = binary.LittleEndian.AppendUint32(dst, uint32(c.Value(r)))
		case *array.Float64:
			f := c.Value(r)
			if f == 0 {
				f = 0
			}
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
		case *array.String:
			s := c.Value(r)
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		case *array.Boolean:
			if c.Value(r) {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		}
	}
	return dst
}

// cellRows accumulates output rows column by column, reused across batches.
type cellRows [][]cell

func newCellRows(cols int) cellRows { return make(cellRows, cols) }

// reset empties every column, keeping capacity.
func (r cellRows) reset() {
	for c := range r {
		r[c] = r[c][:0]
	}
}

// add appends one row.
func (r cellRows) add(row []cell) {
	for c, v := range row {
		r[c] = append(r[c], v)
	}
}

// batch builds the accumulated rows (n of them) into a batch of schema out;
// kinds may be nil (all +I).
func (r cellRows) batch(arrowSchema *arrow.Schema, out types.Schema, n int, kinds []batch.RowKind) batch.Batch {
	cols := make([]arrow.Array, out.Len())
	for c := range cols {
		cols[c] = buildColumn(out.Fields[c].Type, r[c])
	}
	return batch.Batch{Rec: array.NewRecord(arrowSchema, cols, int64(n)), Kinds: kinds}
}
