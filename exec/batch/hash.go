package batch

import (
	"math"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/cespare/xxhash/v2"
)

// The hash of a key must be the same in every process and every run: key
// groups, and so the placement of state in checkpoints, derive from it. So
// no seeded hashes (maphash) here.

const nullHash = 0x9e3779b97f4a7c15

func mix64(x uint64) uint64 {
	// The splitmix64 finalizer: cheap and well distributed.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func combine(h, v uint64) uint64 { return mix64(h*31 + v) }

// HashColumns computes one hash per row over the given key columns into out
// (len(out) must equal the row count). An empty cols list hashes every row to
// the same value (a global aggregate: one key).
func HashColumns(cols []arrow.Array, out []uint64) {
	for i := range out {
		out[i] = 0
	}
	for _, c := range cols {
		hashInto(c, out)
	}
}

func hashInto(c arrow.Array, out []uint64) {
	nulls := c.NullN() > 0
	switch a := c.(type) {
	case *array.Int64:
		v := a.Int64Values()
		for i := range out {
			if nulls && a.IsNull(i) {
				out[i] = combine(out[i], nullHash)
				continue
			}
			out[i] = combine(out[i], uint64(v[i]))
		}
	case *array.Int32:
		v := a.Int32Values()
		for i := range out {
			if nulls && a.IsNull(i) {
				out[i] = combine(out[i], nullHash)
				continue
			}
			out[i] = combine(out[i], uint64(int64(v[i])))
		}
	case *array.Float64:
		v := a.Float64Values()
		for i := range out {
			if nulls && a.IsNull(i) {
				out[i] = combine(out[i], nullHash)
				continue
			}
			f := v[i]
			if f == 0 {
				f = 0 // fold -0 into +0: they are equal keys
			}
			if f != f {
				f = math.NaN()
			}
			out[i] = combine(out[i], math.Float64bits(f))
		}
	case *array.Boolean:
		for i := range out {
			if nulls && a.IsNull(i) {
				out[i] = combine(out[i], nullHash)
				continue
			}
			b := uint64(0)
			if a.Value(i) {
				b = 1
			}
			out[i] = combine(out[i], b)
		}
	case *array.String:
		for i := range out {
			if nulls && a.IsNull(i) {
				out[i] = combine(out[i], nullHash)
				continue
			}
			out[i] = combine(out[i], xxhash.Sum64String(a.Value(i)))
		}
	case *array.Null:
		for i := range out {
			out[i] = combine(out[i], nullHash)
		}
	default:
		panic("batch: HashColumns on unsupported array " + c.DataType().String())
	}
}
