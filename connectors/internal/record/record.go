// Package record reads and writes the small binary records connectors
// keep in checkpoints (source positions, pending sink state): a version
// byte, then varints, fixed 8-byte words and length-prefixed byte strings.
// A layout change gets a new version, so old checkpoints are refused
// rather than misread.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrTruncated is the error of a read past the end of a record.
var ErrTruncated = errors.New("truncated")

// AppendBytes appends v with its uvarint length.
func AppendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// AppendString appends s with its uvarint length.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Reader decodes a record; the first error sticks in Err and later reads
// return zero values, so callers check it once at the end (Done).
type Reader struct {
	B   []byte
	Err error
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.Err != nil {
		return 0
	}
	if len(r.B) == 0 {
		r.Err = ErrTruncated
		return 0
	}
	c := r.B[0]
	r.B = r.B[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.Err = ErrTruncated
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Varint reads a signed varint.
func (r *Reader) Varint() int64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Varint(r.B)
	if n <= 0 {
		r.Err = ErrTruncated
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Int reads a uvarint that must fit an int64 (counts, offsets, ids).
func (r *Reader) Int() int64 {
	v := r.Uvarint()
	if v > math.MaxInt64 && r.Err == nil {
		r.Err = fmt.Errorf("value %d out of range", v)
	}
	return int64(v)
}

// Uint64 reads a little-endian 8-byte word.
func (r *Reader) Uint64() uint64 {
	if r.Err != nil {
		return 0
	}
	if len(r.B) < 8 {
		r.Err = ErrTruncated
		return 0
	}
	v := binary.LittleEndian.Uint64(r.B)
	r.B = r.B[8:]
	return v
}

// Bytes reads a length-prefixed byte string, aliasing the record (nil when
// empty or on error).
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.Err != nil {
		return nil
	}
	if n > uint64(len(r.B)) {
		r.Err = ErrTruncated
		return nil
	}
	if n == 0 {
		return nil
	}
	v := r.B[:n:n]
	r.B = r.B[n:]
	return v
}

// String reads a length-prefixed string.
func (r *Reader) String() string { return string(r.Bytes()) }

// Done returns the first error, or one for trailing bytes.
func (r *Reader) Done() error {
	if r.Err == nil && len(r.B) != 0 {
		r.Err = fmt.Errorf("%d trailing bytes", len(r.B))
	}
	return r.Err
}
