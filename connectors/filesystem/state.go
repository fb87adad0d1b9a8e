package filesystem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Source positions and sink pending state are small binary records: a
// version byte, then varints and length-prefixed strings. A layout change
// gets a new version so old checkpoints are refused rather than misread.

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// stateReader decodes a state record; the first error sticks and later
// reads return zero values, so callers check err once at the end.
type stateReader struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated")

func (r *stateReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errTruncated
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *stateReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

// int reads a uvarint that must fit an int64 (counts, offsets, ids).
func (r *stateReader) int() int64 {
	v := r.uvarint()
	if v > math.MaxInt64 && r.err == nil {
		r.err = fmt.Errorf("value %d out of range", v)
	}
	return int64(v)
}

func (r *stateReader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errTruncated
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *stateReader) uint64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = errTruncated
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// done returns the first error, or one for trailing bytes.
func (r *stateReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return r.err
}

// fnv64 hashes strings, each terminated by a zero byte (so ["ab"] and
// ["a", "b"] differ).
func fnv64(ss ...string) uint64 {
	h := uint64(14695981039346656037)
	for _, s := range ss {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h *= 1099511628211 // the terminator (xor with 0 is a no-op)
	}
	return h
}
