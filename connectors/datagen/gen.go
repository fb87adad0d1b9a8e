package datagen

import (
	"math/bits"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Random values are a pure function of (field seed, global row index): a
// splitmix64 hash, so generation needs no shared RNG state, costs a few
// nanoseconds per value, and the same table yields the same rows on every
// run and at every parallelism (only timestamps/dates move with the clock).

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// hashAt is the random word for row r of the field with seed.
func hashAt(seed uint64, r int64) uint64 {
	return mix(seed + uint64(r)*0x9E3779B97F4A7C15)
}

// below maps h uniformly onto [0, n) (n == 0 means the whole 2^64 range).
func below(h, n uint64) uint64 {
	if n == 0 {
		return h
	}
	hi, _ := bits.Mul64(h, n)
	return hi
}

// rows describes which global row indexes a batch covers:
// base, base+step, base+2*step, ...
type rows struct {
	base, step int64
	n          int
}

func (r rows) at(j int) int64 { return r.base + int64(j)*r.step }

// nullMask returns the validity of each row, or nil when the field has no
// NULLs. The null draw uses a second, independent hash of the row.
func nullMask(fs *fieldSpec, rs rows) []bool {
	if fs.nullRate <= 0 {
		return nil
	}
	valid := make([]bool, rs.n)
	if fs.nullRate >= 1 {
		return valid
	}
	thresh := uint64(fs.nullRate * (1 << 63) * 2)
	seed := fs.seed ^ 0xD1B54A32D192ED03
	for j := range valid {
		valid[j] = hashAt(seed, rs.at(j)) >= thresh
	}
	return valid
}

// clockNow is the "now" of each row of a batch (see schedule): the instant
// (for TIMESTAMP_LTZ) and the session-zone wall clock (for TIMESTAMP and
// DATE), in microseconds since the epoch. Empty when the table has no
// clock-relative column.
type clockNow struct {
	// uniform is set when every row has the same instant, at (instants
	// is then nil).
	uniform  bool
	at       int64
	instants []int64
	// locals holds the wall clock per row when the batch spans a zone
	// transition; otherwise it is nil and the wall clock is instant + off.
	locals []int64
	off    int64
}

// floorDay is the day number of a wall clock in µs since the epoch.
func floorDay(local int64) int64 {
	d := local / 86_400e6
	if local%86_400e6 < 0 {
		d-- // floor, for times before 1970
	}
	return d
}

// generate builds the column of fs for rows rs.
func generate(fs *fieldSpec, rs rows, now clockNow) arrow.Array {
	valid := nullMask(fs, rs)
	switch fs.t.Kind {
	case types.Boolean:
		vals := make([]bool, rs.n)
		for j := range vals {
			vals[j] = hashAt(fs.seed, rs.at(j))&1 == 1
		}
		return batch.BooleanArray(vals, valid)
	case types.Int:
		vals := make([]int32, rs.n)
		if fs.kind == kindSequence {
			for j := range vals {
				vals[j] = int32(fs.lo + rs.at(j))
			}
		} else {
			span := uint64(fs.hi-fs.lo) + 1
			for j := range vals {
				vals[j] = int32(fs.lo + int64(below(hashAt(fs.seed, rs.at(j)), span)))
			}
		}
		return batch.Int32Array(vals, valid)
	case types.BigInt, types.Decimal:
		vals := make([]int64, rs.n)
		switch {
		case fs.kind == kindSequence && fs.t.Kind == types.Decimal:
			unit := pow10(fs.t.Scale)
			for j := range vals {
				vals[j] = fs.lo + rs.at(j)*unit
			}
		case fs.kind == kindSequence:
			for j := range vals {
				vals[j] = fs.lo + rs.at(j)
			}
		default:
			span := uint64(fs.hi-fs.lo) + 1
			for j := range vals {
				vals[j] = fs.lo + int64(below(hashAt(fs.seed, rs.at(j)), span))
			}
		}
		return batch.Int64Array(vals, valid)
	case types.Double:
		vals := make([]float64, rs.n)
		if fs.kind == kindSequence {
			for j := range vals {
				vals[j] = float64(fs.lo + rs.at(j))
			}
		} else {
			width := fs.fhi - fs.flo
			for j := range vals {
				u := float64(hashAt(fs.seed, rs.at(j))>>11) * (1.0 / (1 << 53))
				vals[j] = fs.flo + u*width
			}
		}
		return batch.Float64Array(vals, valid)
	case types.Timestamp, types.TimestampLTZ:
		vals := make([]int64, rs.n)
		span := uint64(fs.maxPast.Microseconds()) + 1
		if now.uniform {
			base := now.at
			if fs.t.Kind == types.Timestamp {
				base += now.off
			}
			for j := range vals {
				v := base - int64(below(hashAt(fs.seed, rs.at(j)), span))
				vals[j] = format.TruncateMicros(v, fs.t.Precision)
			}
			return batch.Int64Array(vals, valid)
		}
		base, off := now.instants[:rs.n], int64(0)
		if fs.t.Kind == types.Timestamp {
			if now.locals != nil {
				base = now.locals[:rs.n]
			} else {
				off = now.off
			}
		}
		for j := range vals {
			v := base[j] + off - int64(below(hashAt(fs.seed, rs.at(j)), span))
			vals[j] = format.TruncateMicros(v, fs.t.Precision)
		}
		return batch.Int64Array(vals, valid)
	case types.Date:
		vals := make([]int32, rs.n)
		span := uint64(fs.maxPast.Hours()/24) + 1
		if rs.n == 0 {
			return batch.Int32Array(vals, valid)
		}
		ins, locals, off := now.instants, now.locals, now.off
		if now.uniform || locals == nil && floorDay(ins[0]+off) == floorDay(ins[rs.n-1]+off) {
			// One zone period: the wall clock grows with the row, so the
			// whole batch is on one day.
			today := floorDay(now.at + off)
			if !now.uniform {
				today = floorDay(ins[0] + off)
			}
			for j := range vals {
				vals[j] = int32(today - int64(below(hashAt(fs.seed, rs.at(j)), span)))
			}
			return batch.Int32Array(vals, valid)
		}
		ins = ins[:rs.n]
		for j := range vals {
			local := ins[j] + off
			if locals != nil {
				local = locals[j]
			}
			vals[j] = int32(floorDay(local) - int64(below(hashAt(fs.seed, rs.at(j)), span)))
		}
		return batch.Int32Array(vals, valid)
	case types.String:
		if fs.kind == kindSequence {
			return sequenceStrings(fs, rs, valid)
		}
		return randomStrings(fs, rs, valid)
	}
	// parse refuses every other type, so this is unreachable.
	return batch.NullArray(fs.t, rs.n)
}

const hexDigits = "0123456789abcdef"

// randomStrings builds lowercase hex strings of fixed length (with var-len,
// of a random length in [1, length]), as Flink's datagen does, straight
// into one value buffer.
func randomStrings(fs *fieldSpec, rs rows, valid []bool) arrow.Array {
	offsets := make([]int32, rs.n+1)
	buf := make([]byte, 0, rs.n*fs.length)
	for j := 0; j < rs.n; j++ {
		if valid == nil || valid[j] {
			r := rs.at(j)
			length := fs.length
			if fs.varLen && length > 0 {
				length = 1 + int(below(hashAt(fs.seed^0x5851F42D4C957F2D, r), uint64(length)))
			}
			for k := 0; k < length; k += 16 {
				h := hashAt(fs.seed+uint64(k)*0x632BE59BD9B4E019, r)
				for c := k; c < length && c < k+16; c++ {
					buf = append(buf, hexDigits[h&15])
					h >>= 4
				}
			}
		}
		offsets[j+1] = int32(len(buf))
	}
	return stringArray(offsets, buf, valid)
}

func sequenceStrings(fs *fieldSpec, rs rows, valid []bool) arrow.Array {
	offsets := make([]int32, rs.n+1)
	buf := make([]byte, 0, rs.n*8)
	for j := 0; j < rs.n; j++ {
		if valid == nil || valid[j] {
			buf = strconv.AppendInt(buf, fs.lo+rs.at(j), 10)
		}
		offsets[j+1] = int32(len(buf))
	}
	return stringArray(offsets, buf, valid)
}

func stringArray(offsets []int32, buf []byte, valid []bool) arrow.Array {
	bm, nulls := batch.ValidityFromBools(valid)
	data := array.NewData(arrow.BinaryTypes.String, len(offsets)-1,
		[]*memory.Buffer{bm, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(buf)}, nil, nulls, 0)
	defer data.Release()
	return array.NewStringData(data)
}
