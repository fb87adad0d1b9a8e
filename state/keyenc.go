package state

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// Key encoding: each key column becomes a tag byte (0 = NULL, 1 = value,
// so NULL differs from every value and sorts first) and then:
//
//	INT / DATE                 4 bytes big-endian, sign bit flipped
//	BIGINT / DECIMAL / TIMESTAMP 8 bytes big-endian, sign bit flipped
//	DOUBLE                     8 bytes, IEEE bits made order-preserving
//	                           (-0 folded into +0, one NaN, sorted last)
//	BOOLEAN                    1 byte
//	STRING                     bytes with 0x00 escaped as 0x00 0xFF,
//	                           terminated by 0x00 0x01
//
// so byte order of encoded keys is the SQL order of the key tuples, and
// every encoding is self-delimiting (the key can be decoded back into
// columns when, e.g., a window fires).

const (
	tagNull  = 0x00
	tagValue = 0x01
)

type colKind uint8

const (
	colInt64 colKind = iota + 1
	colInt32
	colFloat64
	colBool
	colString
	colNull
)

func kindOf(t arrow.DataType) (colKind, error) {
	switch t.ID() {
	case arrow.INT64:
		return colInt64, nil
	case arrow.INT32:
		return colInt32, nil
	case arrow.FLOAT64:
		return colFloat64, nil
	case arrow.BOOL:
		return colBool, nil
	case arrow.STRING:
		return colString, nil
	case arrow.NULL:
		return colNull, nil
	}
	return 0, fmt.Errorf("not supported yet: key column of Arrow type %s", t)
}

type encCol struct {
	kind  colKind
	arr   arrow.Array
	nulls bool
	i64   []int64
	i32   []int32
	f64   []float64
	bools *array.Boolean
	strs  *array.String
}

// KeyEncoder encodes rows of key columns into keys. Reuse one per operator
// and Reset it for each batch.
type KeyEncoder struct {
	cols []encCol
}

// NewKeyEncoder prepares an encoder over the key columns of one batch.
func NewKeyEncoder(cols []arrow.Array) (*KeyEncoder, error) {
	e := &KeyEncoder{}
	if err := e.Reset(cols); err != nil {
		return nil, err
	}
	return e, nil
}

// Reset points the encoder at the key columns of the next batch.
func (e *KeyEncoder) Reset(cols []arrow.Array) error {
	e.cols = e.cols[:0]
	for _, a := range cols {
		k, err := kindOf(a.DataType())
		if err != nil {
			return err
		}
		c := encCol{kind: k, arr: a, nulls: a.NullN() > 0}
		switch k {
		case colInt64:
			c.i64 = a.(*array.Int64).Int64Values()
		case colInt32:
			c.i32 = a.(*array.Int32).Int32Values()
		case colFloat64:
			c.f64 = a.(*array.Float64).Float64Values()
		case colBool:
			c.bools = a.(*array.Boolean)
		case colString:
			c.strs = a.(*array.String)
		}
		e.cols = append(e.cols, c)
	}
	return nil
}

// Append appends the key of row i to dst.
func (e *KeyEncoder) Append(dst []byte, i int) []byte {
	for c := range e.cols {
		col := &e.cols[c]
		if col.kind == colNull || (col.nulls && col.arr.IsNull(i)) {
			dst = append(dst, tagNull)
			continue
		}
		dst = append(dst, tagValue)
		switch col.kind {
		case colInt64:
			dst = binary.BigEndian.AppendUint64(dst, uint64(col.i64[i])^(1<<63))
		case colInt32:
			dst = binary.BigEndian.AppendUint32(dst, uint32(col.i32[i])^(1<<31))
		case colFloat64:
			dst = binary.BigEndian.AppendUint64(dst, orderedFloatBits(col.f64[i]))
		case colBool:
			b := byte(0)
			if col.bools.Value(i) {
				b = 1
			}
			dst = append(dst, b)
		case colString:
			dst = appendEscaped(dst, col.strs.Value(i))
		}
	}
	return dst
}

// EncodedKeys holds the keys of a whole batch in one buffer.
type EncodedKeys struct {
	Buf  []byte
	Ends []int // Ends[i] is the end of row i's key in Buf
}

// Key returns row i's key.
func (k *EncodedKeys) Key(i int) []byte {
	start := 0
	if i > 0 {
		start = k.Ends[i-1]
	}
	return k.Buf[start:k.Ends[i]]
}

// EncodeAll encodes rows [0, n) into out, reusing its buffers.
func (e *KeyEncoder) EncodeAll(n int, out *EncodedKeys) {
	out.Buf = out.Buf[:0]
	out.Ends = out.Ends[:0]
	for i := 0; i < n; i++ {
		out.Buf = e.Append(out.Buf, i)
		out.Ends = append(out.Ends, len(out.Buf))
	}
}

func orderedFloatBits(f float64) uint64 {
	if f == 0 {
		f = 0 // -0 and +0 are the same key
	}
	if f != f {
		f = math.NaN()
	}
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		return ^b
	}
	return b | 1<<63
}

func floatOfOrderedBits(b uint64) float64 {
	if b&(1<<63) != 0 {
		return math.Float64frombits(b &^ (1 << 63))
	}
	return math.Float64frombits(^b)
}

func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, 0, 0xFF)
			continue
		}
		dst = append(dst, s[i])
	}
	return append(dst, 0, 0x01)
}
