// Package batch defines the unit of data that flows between operators: an
// Arrow record batch plus a row-kind column, and zero-copy helpers to build
// Arrow arrays from Go slices (kernels compute into plain slices and wrap
// them, which is much faster than appending through Arrow builders).
package batch

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/streamsql/streamsql/sql/types"
)

// RowKind is a changelog row kind, as in Flink.
type RowKind uint8

const (
	Insert       RowKind = iota // +I
	UpdateBefore                // -U
	UpdateAfter                 // +U
	Delete                      // -D
)

func (k RowKind) String() string {
	switch k {
	case Insert:
		return "+I"
	case UpdateBefore:
		return "-U"
	case UpdateAfter:
		return "+U"
	case Delete:
		return "-D"
	}
	return fmt.Sprintf("RowKind(%d)", uint8(k))
}

// IsRetract reports whether the kind removes a previously emitted row.
func (k RowKind) IsRetract() bool { return k == UpdateBefore || k == Delete }

// Batch is a columnar chunk of a changelog stream.
type Batch struct {
	// Rec holds the columns. Its schema is the physical form of the logical
	// schema the planner assigned to the edge.
	Rec arrow.Record
	// Kinds holds one row kind per row; nil means every row is +I (the
	// common, append-only case costs nothing).
	Kinds []RowKind
}

// New wraps a record as an insert-only batch.
func New(rec arrow.Record) Batch { return Batch{Rec: rec} }

// Len is the number of rows.
func (b Batch) Len() int {
	if b.Rec == nil {
		return 0
	}
	return int(b.Rec.NumRows())
}

// Kind returns the row kind of row i.
func (b Batch) Kind(i int) RowKind {
	if b.Kinds == nil {
		return Insert
	}
	return b.Kinds[i]
}

// InsertOnly reports whether every row is +I.
func (b Batch) InsertOnly() bool {
	for _, k := range b.Kinds {
		if k != Insert {
			return false
		}
	}
	return true
}

// Column returns column i.
func (b Batch) Column(i int) arrow.Array { return b.Rec.Column(i) }

// Release drops the batch's reference to its record.
func (b Batch) Release() {
	if b.Rec != nil {
		b.Rec.Release()
	}
}

// NewRecord assembles a record from columns under the given logical schema.
func NewRecord(s types.Schema, cols []arrow.Array, rows int) arrow.Record {
	return array.NewRecord(s.Arrow(), cols, int64(rows))
}

// NewRecordArrow assembles a record under an already-built Arrow schema
// (cheaper on hot paths: build the schema once).
func NewRecordArrow(s *arrow.Schema, cols []arrow.Array, rows int) arrow.Record {
	return array.NewRecord(s, cols, int64(rows))
}

// ---------------------------------------------------------------------------
// Zero-copy array construction.

// ValidityFromBools packs a []bool (true = valid) into an Arrow validity
// bitmap; it returns nil and 0 nulls when every value is valid.
func ValidityFromBools(valid []bool) (*memory.Buffer, int) {
	if valid == nil {
		return nil, 0
	}
	nulls := 0
	for _, v := range valid {
		if !v {
			nulls++
		}
	}
	if nulls == 0 {
		return nil, 0
	}
	bits := make([]byte, bitutil.BytesForBits(int64(len(valid))))
	for i, v := range valid {
		if v {
			bitutil.SetBit(bits, i)
		}
	}
	return memory.NewBufferBytes(bits), nulls
}

// Int64Array wraps vals (not copied; the caller must not modify it
// afterwards). valid may be nil (no NULLs).
func Int64Array(vals []int64, valid []bool) *array.Int64 {
	bm, nulls := ValidityFromBools(valid)
	data := array.NewData(arrow.PrimitiveTypes.Int64, len(vals),
		[]*memory.Buffer{bm, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(vals))}, nil, nulls, 0)
	defer data.Release()
	return array.NewInt64Data(data)
}

// Int32Array wraps vals; see Int64Array.
func Int32Array(vals []int32, valid []bool) *array.Int32 {
	bm, nulls := ValidityFromBools(valid)
	data := array.NewData(arrow.PrimitiveTypes.Int32, len(vals),
		[]*memory.Buffer{bm, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(vals))}, nil, nulls, 0)
	defer data.Release()
	return array.NewInt32Data(data)
}

// Float64Array wraps vals; see Int64Array.
func Float64Array(vals []float64, valid []bool) *array.Float64 {
	bm, nulls := ValidityFromBools(valid)
	data := array.NewData(arrow.PrimitiveTypes.Float64, len(vals),
		[]*memory.Buffer{bm, memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(vals))}, nil, nulls, 0)
	defer data.Release()
	return array.NewFloat64Data(data)
}

// BooleanArray packs vals into a Boolean array.
func BooleanArray(vals []bool, valid []bool) *array.Boolean {
	bm, nulls := ValidityFromBools(valid)
	bits := make([]byte, bitutil.BytesForBits(int64(len(vals))))
	for i, v := range vals {
		if v {
			bitutil.SetBit(bits, i)
		}
	}
	data := array.NewData(arrow.FixedWidthTypes.Boolean, len(vals),
		[]*memory.Buffer{bm, memory.NewBufferBytes(bits)}, nil, nulls, 0)
	defer data.Release()
	return array.NewBooleanData(data)
}

// StringArray builds a String array from Go strings.
func StringArray(vals []string, valid []bool) *array.String {
	total := 0
	for _, s := range vals {
		total += len(s)
	}
	offsets := make([]int32, len(vals)+1)
	buf := make([]byte, 0, total)
	for i, s := range vals {
		if valid == nil || valid[i] {
			buf = append(buf, s...)
		}
		offsets[i+1] = int32(len(buf))
	}
	bm, nulls := ValidityFromBools(valid)
	data := array.NewData(arrow.BinaryTypes.String, len(vals),
		[]*memory.Buffer{bm, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(buf)}, nil, nulls, 0)
	defer data.Release()
	return array.NewStringData(data)
}

// NullArray returns an all-NULL array of the physical type of t.
func NullArray(t types.Type, n int) arrow.Array {
	valid := make([]bool, n) // all false
	switch t.Kind {
	case types.Boolean:
		return BooleanArray(make([]bool, n), valid)
	case types.Int, types.Date:
		return Int32Array(make([]int32, n), valid)
	case types.BigInt, types.Decimal, types.Timestamp, types.TimestampLTZ, types.Interval:
		return Int64Array(make([]int64, n), valid)
	case types.Double:
		return Float64Array(make([]float64, n), valid)
	case types.String:
		return StringArray(make([]string, n), valid)
	case types.Null:
		return array.NewNull(n)
	}
	panic(fmt.Sprintf("batch: NullArray of %v", t))
}

// Take returns a new array with the rows at idx, in order (a compaction of a
// selection vector). It works on the physical types of types.Type.
func Take(a arrow.Array, idx []int32) arrow.Array {
	n := len(idx)
	var valid []bool
	if a.NullN() > 0 {
		valid = make([]bool, n)
		for j, i := range idx {
			valid[j] = a.IsValid(int(i))
		}
	}
	switch arr := a.(type) {
	case *array.Int64:
		src := arr.Int64Values()
		out := make([]int64, n)
		for j, i := range idx {
			out[j] = src[i]
		}
		return Int64Array(out, valid)
	case *array.Int32:
		src := arr.Int32Values()
		out := make([]int32, n)
		for j, i := range idx {
			out[j] = src[i]
		}
		return Int32Array(out, valid)
	case *array.Float64:
		src := arr.Float64Values()
		out := make([]float64, n)
		for j, i := range idx {
			out[j] = src[i]
		}
		return Float64Array(out, valid)
	case *array.Boolean:
		out := make([]bool, n)
		for j, i := range idx {
			out[j] = arr.Value(int(i))
		}
		return BooleanArray(out, valid)
	case *array.String:
		// ValueOffsets are absolute in the value buffer while ValueBytes
		// starts at the first value of this (possibly sliced) array: rebase.
		offs := arr.ValueOffsets()
		data := arr.ValueBytes()
		base := offs[0]
		total := 0
		for _, i := range idx {
			total += int(offs[i+1] - offs[i])
		}
		offsets := make([]int32, n+1)
		buf := make([]byte, 0, total)
		for j, i := range idx {
			buf = append(buf, data[offs[i]-base:offs[i+1]-base]...)
			offsets[j+1] = int32(len(buf))
		}
		bm, nulls := ValidityFromBools(valid)
		d := array.NewData(arrow.BinaryTypes.String, n,
			[]*memory.Buffer{bm, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(buf)}, nil, nulls, 0)
		defer d.Release()
		return array.NewStringData(d)
	case *array.Null:
		return array.NewNull(n)
	}
	panic(fmt.Sprintf("batch: Take on %T", a))
}

// TakeBatch compacts every column of b to the rows at idx.
func TakeBatch(b Batch, idx []int32) Batch {
	cols := make([]arrow.Array, b.Rec.NumCols())
	for c := range cols {
		cols[c] = Take(b.Rec.Column(c), idx)
	}
	out := Batch{Rec: array.NewRecord(b.Rec.Schema(), cols, int64(len(idx)))}
	for _, c := range cols {
		c.Release()
	}
	if b.Kinds != nil {
		out.Kinds = make([]RowKind, len(idx))
		for j, i := range idx {
			out.Kinds[j] = b.Kinds[i]
		}
	}
	return out
}

// Slice returns rows [from, to) of b sharing its buffers.
func Slice(b Batch, from, to int) Batch {
	out := Batch{Rec: b.Rec.NewSlice(int64(from), int64(to))}
	if b.Kinds != nil {
		out.Kinds = b.Kinds[from:to]
	}
	return out
}

// Concat appends batches of one schema into one (used to coalesce small
// batches). Returns the only input unchanged when there is one.
func Concat(s *arrow.Schema, bs []Batch) (Batch, error) {
	if len(bs) == 1 {
		return bs[0], nil
	}
	recs := make([]arrow.Record, len(bs))
	hasKinds := false
	total := 0
	for i, b := range bs {
		recs[i] = b.Rec
		total += b.Len()
		if b.Kinds != nil {
			hasKinds = true
		}
	}
	tbl := array.NewTableFromRecords(s, recs)
	defer tbl.Release()
	cols := make([]arrow.Array, s.NumFields())
	for c := range cols {
		arr, err := array.Concatenate(tbl.Column(c).Data().Chunks(), memory.DefaultAllocator)
		if err != nil {
			return Batch{}, fmt.Errorf("concat batches: %w", err)
		}
		cols[c] = arr
	}
	out := Batch{Rec: array.NewRecord(s, cols, int64(total))}
	for _, c := range cols {
		c.Release()
	}
	if hasKinds {
		out.Kinds = make([]RowKind, 0, total)
		for _, b := range bs {
			for i := 0; i < b.Len(); i++ {
				out.Kinds = append(out.Kinds, b.Kind(i))
			}
		}
	}
	return out, nil
}

// Debug renders a batch for tests and error messages (small batches only).
func Debug(b Batch) string {
	var sb strings.Builder
	for i := 0; i < b.Len(); i++ {
		sb.WriteString(b.Kind(i).String())
		sb.WriteString("[")
		for c := 0; c < int(b.Rec.NumCols()); c++ {
			if c > 0 {
				sb.WriteString(", ")
			}
			col := b.Rec.Column(c)
			if col.IsNull(i) {
				sb.WriteString("NULL")
			} else {
				sb.WriteString(col.ValueStr(i))
			}
		}
		sb.WriteString("]\n")
	}
	return sb.String()
}
