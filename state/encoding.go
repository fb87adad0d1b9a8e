package state

import (
	"encoding/binary"
	"math"
)

// Fixed little-endian packing for accumulators: operators lay out their
// accumulators as fixed fields (e.g. count, sum, max at offsets 0, 8, 16)
// and read/update them in place.

// AppendInt64 appends v as 8 little-endian bytes.
func AppendInt64(dst []byte, v int64) []byte { return binary.LittleEndian.AppendUint64(dst, uint64(v)) }

// AppendUint64 appends v as 8 little-endian bytes.
func AppendUint64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }

// AppendFloat64 appends v's IEEE bits as 8 little-endian bytes.
func AppendFloat64(dst []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
}

// PutInt64 writes v at b[off:off+8].
func PutInt64(b []byte, off int, v int64) { binary.LittleEndian.PutUint64(b[off:], uint64(v)) }

// PutUint64 writes v at b[off:off+8].
func PutUint64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

// PutFloat64 writes v at b[off:off+8].
func PutFloat64(b []byte, off int, v float64) {
	binary.LittleEndian.PutUint64(b[off:], math.Float64bits(v))
}

// Int64At reads the int64 at b[off:off+8].
func Int64At(b []byte, off int) int64 { return int64(binary.LittleEndian.Uint64(b[off:])) }

// Uint64At reads the uint64 at b[off:off+8].
func Uint64At(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// Float64At reads the float64 at b[off:off+8].
func Float64At(b []byte, off int) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(b[off:]))
}

// NamespaceInt64 encodes v (e.g. a window end in microseconds) as an
// 8-byte namespace whose byte order is v's numeric order, so iterating
// namespaces visits windows by time and can stop at the watermark.
func NamespaceInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63))
}

// Int64OfNamespace decodes a namespace made by NamespaceInt64.
func Int64OfNamespace(ns []byte) (int64, bool) {
	if len(ns) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(ns) ^ (1 << 63)), true
}
