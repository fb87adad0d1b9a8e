package expr

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/bitutil"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// vec is the working form of a column inside a program: plain Go slices
// over (or copied from) Arrow buffers. Exactly one value slice is used, by
// the physical type. A scalar vec holds one value standing for every row,
// so constants are never materialised.
//
// Kernels never modify the slices of their inputs.
type vec struct {
	n      int
	scalar bool
	// valid is nil when no value is NULL; otherwise one entry per row (one
	// for a scalar).
	valid []bool
	i32   []int32
	i64   []int64
	f64   []float64
	b     []bool
	// Strings in Arrow layout: row i is data[offs[i]:offs[i+1]].
	offs []int32
	data []byte
	// src is the Arrow array this vec views, for zero-copy output.
	src arrow.Array
}

// null reports whether row i is NULL.
func (v *vec) null(i int) bool {
	if v.valid == nil {
		return false
	}
	if v.scalar {
		return !v.valid[0]
	}
	return !v.valid[i]
}

// allNull reports a NULL scalar.
func (v *vec) allNull() bool { return v.scalar && v.valid != nil && !v.valid[0] }

func (v *vec) idx(i int) int {
	if v.scalar {
		return 0
	}
	return i
}

// str returns row i of a string vec without copying.
func (v *vec) str(i int) string {
	i = v.idx(i)
	lo, hi := v.offs[i], v.offs[i+1]
	if lo == hi {
		return ""
	}
	return unsafe.String(&v.data[lo], int(hi-lo))
}

// bytesAt returns row i of a string vec as bytes (read only).
func (v *vec) bytesAt(i int) []byte {
	i = v.idx(i)
	return v.data[v.offs[i]:v.offs[i+1]]
}

func nullScalar(n int) *vec { return &vec{n: n, scalar: true, valid: []bool{false}} }

// scalarVec makes a scalar vec from a physical Go value (nil = NULL).
func scalarVec(t types.Type, val any, n int) *vec {
	if val == nil {
		return nullScalar(n)
	}
	v := &vec{n: n, scalar: true}
	switch x := val.(type) {
	case int32:
		v.i32 = []int32{x}
	case int64:
		v.i64 = []int64{x}
	case float64:
		v.f64 = []float64{x}
	case bool:
		v.b = []bool{x}
	case string:
		v.offs = []int32{0, int32(len(x))}
		v.data = []byte(x)
	}
	return v
}

// value returns row i as a Go value of the physical type, nil for NULL.
func (v *vec) value(t types.Type, i int) any {
	if v.null(i) {
		return nil
	}
	j := v.idx(i)
	switch physOf(t) {
	case physI32:
		return v.i32[j]
	case physI64:
		return v.i64[j]
	case physF64:
		return v.f64[j]
	case physBool:
		return v.b[j]
	case physStr:
		return string(v.bytesAt(i))
	}
	return nil
}

type phys uint8

const (
	physNull phys = iota
	physBool
	physI32
	physI64
	physF64
	physStr
)

func physOf(t types.Type) phys {
	switch t.Kind {
	case types.Boolean:
		return physBool
	case types.Int, types.Date:
		return physI32
	case types.BigInt, types.Decimal, types.Timestamp, types.TimestampLTZ, types.Interval:
		return physI64
	case types.Double:
		return physF64
	case types.String:
		return physStr
	}
	return physNull
}

// fromArrow views an Arrow array as a vec (no copy except booleans and
// validity, which are unpacked into []bool).
func fromArrow(a arrow.Array) (*vec, error) {
	n := a.Len()
	v := &vec{n: n, src: a}
	if a.NullN() > 0 {
		if a.NullN() == n {
			v.valid = make([]bool, n)
		} else {
			v.valid = make([]bool, n)
			bm := a.NullBitmapBytes()
			off := a.Data().Offset()
			for i := range v.valid {
				v.valid[i] = bitutil.BitIsSet(bm, off+i)
			}
		}
	}
	switch x := a.(type) {
	case *array.Int32:
		v.i32 = x.Int32Values()
	case *array.Int64:
		v.i64 = x.Int64Values()
	case *array.Float64:
		v.f64 = x.Float64Values()
	case *array.Boolean:
		v.b = make([]bool, n)
		for i := range v.b {
			v.b[i] = x.Value(i)
		}
	case *array.String:
		v.offs = x.ValueOffsets()
		if buf := x.Data().Buffers()[2]; buf != nil {
			v.data = buf.Bytes()
		}
	case *array.Null:
		v.valid = make([]bool, n)
		v.src = nil
	default:
		return nil, fmt.Errorf("unsupported input column type %s", a.DataType())
	}
	return v, nil
}

// expand materialises a scalar into n rows (non-hot paths use it so they
// need only one loop).
func (v *vec) expand(t types.Type) *vec {
	if !v.scalar {
		return v
	}
	n := v.n
	out := &vec{n: n}
	if v.valid != nil && !v.valid[0] {
		out.valid = make([]bool, n)
		switch physOf(t) {
		case physI32:
			out.i32 = make([]int32, n)
		case physI64:
			out.i64 = make([]int64, n)
		case physF64:
			out.f64 = make([]float64, n)
		case physBool:
			out.b = make([]bool, n)
		case physStr:
			out.offs = make([]int32, n+1)
		}
		return out
	}
	switch physOf(t) {
	case physI32:
		out.i32 = make([]int32, n)
		for i := range out.i32 {
			out.i32[i] = v.i32[0]
		}
	case physI64:
		out.i64 = make([]int64, n)
		for i := range out.i64 {
			out.i64[i] = v.i64[0]
		}
	case physF64:
		out.f64 = make([]float64, n)
		for i := range out.f64 {
			out.f64[i] = v.f64[0]
		}
	case physBool:
		out.b = make([]bool, n)
		for i := range out.b {
			out.b[i] = v.b[0]
		}
	case physStr:
		s := v.bytesAt(0)
		out.offs = make([]int32, n+1)
		out.data = make([]byte, 0, n*len(s))
		for i := 0; i < n; i++ {
			out.data = append(out.data, s...)
			out.offs[i+1] = int32(len(out.data))
		}
	}
	return out
}

// toArrow converts a vec to an Arrow array of t's physical type. The
// caller owns (and releases) the result.
func (v *vec) toArrow(t types.Type) arrow.Array {
	if v.src != nil {
		v.src.Retain()
		return v.src
	}
	if t.Kind == types.Null {
		return array.NewNull(v.n)
	}
	v = v.expand(t)
	n := v.n
	valid := v.valid
	switch physOf(t) {
	case physI32:
		return batch.Int32Array(v.i32[:n], valid)
	case physI64:
		return batch.Int64Array(v.i64[:n], valid)
	case physF64:
		return batch.Float64Array(v.f64[:n], valid)
	case physBool:
		return batch.BooleanArray(v.b[:n], valid)
	case physStr:
		return stringArray(v.offs[:n+1], v.data, valid)
	}
	return batch.NullArray(t, n)
}

// stringArray wraps offsets and bytes as an Arrow string array, zero-copy.
func stringArray(offs []int32, data []byte, valid []bool) *array.String {
	bm, nulls := batch.ValidityFromBools(valid)
	d := array.NewData(arrow.BinaryTypes.String, len(offs)-1,
		[]*memory.Buffer{bm, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)},
		nil, nulls, 0)
	defer d.Release()
	return array.NewStringData(d)
}

// take gathers rows idx of v into a new vec (a subset evaluation's input).
func (v *vec) take(t types.Type, idx []int32) *vec {
	if v.scalar {
		c := *v
		c.n = len(idx)
		return &c
	}
	out := &vec{n: len(idx)}
	if v.valid != nil {
		out.valid = make([]bool, len(idx))
		for j, i := range idx {
			out.valid[j] = v.valid[i]
		}
	}
	switch physOf(t) {
	case physI32:
		out.i32 = make([]int32, len(idx))
		for j, i := range idx {
			out.i32[j] = v.i32[i]
		}
	case physI64:
		out.i64 = make([]int64, len(idx))
		for j, i := range idx {
			out.i64[j] = v.i64[i]
		}
	case physF64:
		out.f64 = make([]float64, len(idx))
		for j, i := range idx {
			out.f64[j] = v.f64[i]
		}
	case physBool:
		out.b = make([]bool, len(idx))
		for j, i := range idx {
			out.b[j] = v.b[i]
		}
	case physStr:
		out.offs = make([]int32, len(idx)+1)
		size := 0
		for _, i := range idx {
			size += int(v.offs[i+1] - v.offs[i])
		}
		out.data = make([]byte, 0, size)
		for j, i := range idx {
			out.data = append(out.data, v.data[v.offs[i]:v.offs[i+1]]...)
			out.offs[j+1] = int32(len(out.data))
		}
	case physNull:
		out.valid = make([]bool, len(idx))
	}
	return out
}

// andValid combines the validity of strict inputs: nil when all valid.
func andValid(n int, vs ...*vec) []bool {
	var out []bool
	for _, v := range vs {
		if v.valid == nil {
			continue
		}
		if out == nil {
			out = make([]bool, n)
			if v.scalar {
				for i := range out {
					out[i] = v.valid[0]
				}
			} else {
				copy(out, v.valid)
			}
			continue
		}
		if v.scalar {
			if !v.valid[0] {
				clear(out)
			}
			continue
		}
		for i, ok := range v.valid {
			out[i] = out[i] && ok
		}
	}
	return out
}

// stringBuilder accumulates a string vec row by row.
type stringBuilder struct {
	offs  []int32
	data  []byte
	valid []bool
}

func newStringBuilder(n, sizeHint int) *stringBuilder {
	return &stringBuilder{offs: make([]int32, 1, n+1), data: make([]byte, 0, sizeHint)}
}

func (sb *stringBuilder) appendNull() {
	if sb.valid == nil {
		sb.valid = make([]bool, len(sb.offs)-1, cap(sb.offs))
		for i := range sb.valid {
			sb.valid[i] = true
		}
	}
	sb.valid = append(sb.valid, false)
	sb.offs = append(sb.offs, int32(len(sb.data)))
}

// finish ends the current row whose bytes were appended to sb.data.
func (sb *stringBuilder) finish() {
	if sb.valid != nil {
		sb.valid = append(sb.valid, true)
	}
	sb.offs = append(sb.offs, int32(len(sb.data)))
}

func (sb *stringBuilder) appendString(s string) {
	sb.data = append(sb.data, s...)
	sb.finish()
}

func (sb *stringBuilder) vec() *vec {
	return &vec{n: len(sb.offs) - 1, offs: sb.offs, data: sb.data, valid: sb.valid}
}

// unsafeString views b as a string without copying (b must not change
// while the string is used).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
