package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/types"
)

// castKernel converts between logical types. CAST fails the job on a value
// it cannot convert; TRY_CAST yields NULL instead.
type castKernel struct {
	x        kernel
	from, to types.Type
	try      bool
	text     string
}

func (cp *compiler) buildCast(x *Call) (kernel, error) {
	k, err := cp.build(x.Args[0])
	if err != nil {
		return nil, err
	}
	from := x.Args[0].Type()
	if !canCast(from, x.T) {
		return nil, fmt.Errorf("%s: cannot cast %s to %s", x, from, x.T)
	}
	return &castKernel{x: k, from: from, to: x.T, try: x.Try, text: x.String()}, nil
}

func (k *castKernel) eval(c *ctx) (*vec, error) {
	a, err := k.x.eval(c)
	if err != nil {
		return nil, err
	}
	out, bad := castVec(a, k.from, k.to, c.location(), k.try)
	if bad >= 0 {
		return nil, fmt.Errorf("%s: cannot cast %s to %s", k.text, literalText(k.from, a.value(k.from, bad)), k.to.WithNotNull(false))
	}
	return out, nil
}

// castValue converts one physical value (bind-time literal coercion).
func castValue(v any, from, to types.Type, env *EvalEnv) (any, error) {
	if v == nil {
		return nil, nil
	}
	loc := time.UTC
	if env != nil && env.Location != nil {
		loc = env.Location
	}
	out, bad := castVec(scalarVec(from, v, 1), from, to, loc, false)
	if bad >= 0 {
		return nil, fmt.Errorf("cannot cast %s to %s", literalText(from, v), to.WithNotNull(false))
	}
	return out.value(to, 0), nil
}

// castVec converts a; bad is the first row that failed (-1 if none), unless
// try is set, in which case failed rows become NULL.
func castVec(a *vec, from, to types.Type, loc *time.Location, try bool) (*vec, int) {
	n := a.n
	if a.allNull() || from.Kind == types.Null {
		return nullScalar(n), -1
	}
	if v, ok := castFast(a, from, to); ok {
		return v, -1
	}
	m := n
	if a.scalar {
		m = 1
	}
	out := &vec{n: n, scalar: a.scalar}
	var valid []bool
	if a.valid != nil {
		valid = append([]bool(nil), a.valid...)
	}
	fail := func(i int) int {
		if !try {
			return i
		}
		if valid == nil {
			valid = make([]bool, m)
			for j := range valid {
				valid[j] = true
			}
		}
		valid[i] = false
		return -1
	}
	rowOK := func(i int) bool { return valid == nil || valid[i] }
	switch physOf(to) {
	case physI64, physI32:
		get := int64Getter(a, from, to, loc)
		res := make([]int64, m)
		for i := range res {
			if !rowOK(i) {
				continue
			}
			v, ok := get(i)
			if ok && to.Kind == types.Int {
				ok = v == int64(int32(v))
			}
			if ok && to.Kind == types.Decimal {
				ok = fitsPrecision(v, to.Precision)
			}
			if !ok {
				if bad := fail(i); bad >= 0 {
					return nil, bad
				}
				continue
			}
			res[i] = v
		}
		if physOf(to) == physI32 {
			out.i32 = make([]int32, m)
			for i, v := range res {
				out.i32[i] = int32(v)
			}
		} else {
			out.i64 = res
		}
	case physF64:
		out.f64 = make([]float64, m)
		for i := range out.f64 {
			if !rowOK(i) {
				continue
			}
			v, ok := float64At(a, from, i)
			if !ok {
				if bad := fail(i); bad >= 0 {
					return nil, bad
				}
				continue
			}
			out.f64[i] = v
		}
	case physBool:
		out.b = make([]bool, m)
		for i := range out.b {
			if !rowOK(i) {
				continue
			}
			v, ok := boolAt(a, from, i)
			if !ok {
				if bad := fail(i); bad >= 0 {
					return nil, bad
				}
				continue
			}
			out.b[i] = v
		}
	case physStr:
		sb := newStringBuilder(m, 16*m)
		for i := 0; i < m; i++ {
			if !rowOK(i) {
				sb.appendNull()
				continue
			}
			sb.data = appendAsString(sb.data, a, from, i, loc)
			if to.Length > 0 {
				sb.data = truncateRunes(sb.data, int(sb.offs[len(sb.offs)-1]), to.Length)
			}
			sb.finish()
		}
		sv := sb.vec()
		out.offs, out.data = sv.offs, sv.data
	default:
		return nil, 0
	}
	out.valid = valid
	return out, -1
}

// castFast handles conversions that are a relabel or one tight loop.
func castFast(a *vec, from, to types.Type) (*vec, bool) {
	switch {
	case from.Kind == to.Kind && (from.Kind == types.BigInt || from.Kind == types.Int ||
		from.Kind == types.Double || from.Kind == types.Boolean || from.Kind == types.Date ||
		from.Kind == types.Interval || (from.Kind == types.String && to.Length == 0)):
		return a, true
	case from.Kind == to.Kind && (from.Kind == types.Timestamp || from.Kind == types.TimestampLTZ) && to.Precision >= min(from.Precision, 6):
		return a, true
	case from.Kind == types.Decimal && to.Kind == types.Decimal && from.Scale == to.Scale && to.Precision >= from.Precision:
		return a, true
	case from.Kind == types.Int && to.Kind == types.BigInt:
		out := &vec{n: a.n, scalar: a.scalar, valid: a.valid, i64: make([]int64, len(a.i32))}
		for i, x := range a.i32 {
			out.i64[i] = int64(x)
		}
		return out, true
	case from.Kind == types.Int && to.Kind == types.Double:
		out := &vec{n: a.n, scalar: a.scalar, valid: a.valid, f64: make([]float64, len(a.i32))}
		for i, x := range a.i32 {
			out.f64[i] = float64(x)
		}
		return out, true
	case from.IsInteger() && to.Kind == types.Decimal:
		return intToDecimal(a, from, to)
	case (from.Kind == types.BigInt || from.Kind == types.Decimal) && to.Kind == types.Double:
		out := &vec{n: a.n, scalar: a.scalar, valid: a.valid, f64: make([]float64, len(a.i64))}
		div := 1.0
		if from.Kind == types.Decimal {
			div = float64(pow10(from.Scale))
		}
		for i, x := range a.i64 {
			out.f64[i] = float64(x) / div
		}
		return out, true
	}
	return nil, false
}

// intToDecimal scales integers to DECIMAL(p, s) in one loop; when a value
// does not fit it declines, and the general path reports the row.
func intToDecimal(a *vec, from, to types.Type) (*vec, bool) {
	if to.Scale > 18 || to.Precision > 18 {
		return nil, false
	}
	f := pow10(to.Scale)
	lim := pow10(to.Precision) / f // |x| < lim keeps |x * f| < 10^p
	src := asI64(a, from)
	out := &vec{n: a.n, scalar: a.scalar, valid: a.valid, i64: make([]int64, len(src))}
	for i, x := range src {
		if (x >= lim || x <= -lim) && ok(a.valid, i) {
			return nil, false
		}
		out.i64[i] = x * f
	}
	return out, true
}

// truncateTo drops fractional digits of micros beyond precision p.
func truncateTo(us int64, p int) int64 {
	if p >= 6 {
		return us
	}
	unit := pow10(6 - p)
	return floorDiv(us, unit) * unit
}

// int64Getter reads row i of a as the int64 physical value of to.
func int64Getter(a *vec, from, to types.Type, loc *time.Location) func(i int) (int64, bool) {
	toScale := 0
	if to.Kind == types.Decimal {
		toScale = to.Scale
	}
	switch to.Kind {
	case types.Timestamp, types.TimestampLTZ, types.Date:
		return temporalGetter(a, from, to, loc)
	}
	switch from.Kind {
	case types.Int, types.Date:
		return func(i int) (int64, bool) { return rescale(int64(a.i32[i]), 0, toScale) }
	case types.BigInt, types.Interval:
		return func(i int) (int64, bool) { return rescale(a.i64[i], 0, toScale) }
	case types.Decimal:
		if to.Kind == types.Decimal {
			return func(i int) (int64, bool) { return rescale(a.i64[i], from.Scale, toScale) }
		}
		// Decimal to integer truncates toward zero, as Flink.
		d := pow10(from.Scale)
		return func(i int) (int64, bool) { return a.i64[i] / d, true }
	case types.Double:
		if to.Kind == types.Decimal {
			return func(i int) (int64, bool) { return floatToDecimal(a.f64[i], to.Precision, toScale) }
		}
		return func(i int) (int64, bool) {
			f := math.Trunc(a.f64[i])
			if math.IsNaN(f) || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 {
				return 0, false
			}
			return int64(f), true
		}
	case types.Boolean:
		return func(i int) (int64, bool) { return rescale(int64(b2i(a.b[i])), 0, toScale) }
	case types.String:
		if to.Kind == types.Decimal {
			return func(i int) (int64, bool) {
				return parseDecimal(strings.TrimSpace(a.str(i)), to.Precision, toScale)
			}
		}
		return func(i int) (int64, bool) {
			v, err := strconv.ParseInt(strings.TrimSpace(a.str(i)), 10, 64)
			return v, err == nil
		}
	}
	return func(int) (int64, bool) { return 0, false }
}

// temporalGetter converts to TIMESTAMP / TIMESTAMP_LTZ (micros) or DATE
// (days).
func temporalGetter(a *vec, from, to types.Type, loc *time.Location) func(i int) (int64, bool) {
	// First read the source as local wall-clock micros (or an instant for LTZ).
	var local func(i int) (int64, bool)
	instant := false
	switch from.Kind {
	case types.Timestamp:
		local = func(i int) (int64, bool) { return a.i64[i], true }
	case types.TimestampLTZ:
		local = func(i int) (int64, bool) { return a.i64[i], true }
		instant = true
	case types.Date:
		local = func(i int) (int64, bool) { return int64(a.i32[i]) * usPerDay, true }
	case types.String:
		if to.Kind == types.Date {
			local = func(i int) (int64, bool) {
				d, ok := parseDate(a.str(i))
				if !ok {
					us, _, ok2 := parseTimestamp(a.str(i))
					return us, ok2
				}
				return int64(d) * usPerDay, true
			}
		} else {
			local = func(i int) (int64, bool) {
				us, _, ok := parseTimestamp(a.str(i))
				return us, ok
			}
		}
	case types.Int:
		// Epoch seconds, to TIMESTAMP_LTZ only.
		local = func(i int) (int64, bool) { return mul64(int64(a.i32[i]), usPerSecond) }
		instant = true
	case types.BigInt:
		local = func(i int) (int64, bool) { return mul64(a.i64[i], usPerSecond) }
		instant = true
	default:
		return func(int) (int64, bool) { return 0, false }
	}
	return func(i int) (int64, bool) {
		v, ok := local(i)
		if !ok {
			return 0, false
		}
		switch to.Kind {
		case types.TimestampLTZ:
			if !instant {
				v = localToLTZ(loc, v)
			}
			return truncateTo(v, to.Precision), true
		case types.Timestamp:
			if instant {
				v = ltzToLocal(loc, v)
			}
			return truncateTo(v, to.Precision), true
		default: // DATE
			if instant {
				v = ltzToLocal(loc, v)
			}
			d := floorDiv(v, usPerDay)
			return d, d == int64(int32(d))
		}
	}
}

func float64At(a *vec, from types.Type, i int) (float64, bool) {
	switch from.Kind {
	case types.Int:
		return float64(a.i32[i]), true
	case types.BigInt:
		return float64(a.i64[i]), true
	case types.Decimal:
		return float64(a.i64[i]) / float64(pow10(from.Scale)), true
	case types.Double:
		return a.f64[i], true
	case types.Boolean:
		return float64(b2i(a.b[i])), true
	case types.String:
		f, err := strconv.ParseFloat(strings.TrimSpace(a.str(i)), 64)
		return f, err == nil
	}
	return 0, false
}

func boolAt(a *vec, from types.Type, i int) (bool, bool) {
	switch from.Kind {
	case types.Int:
		return a.i32[i] != 0, true
	case types.BigInt, types.Decimal:
		return a.i64[i] != 0, true
	case types.Double:
		return a.f64[i] != 0, true
	case types.Boolean:
		return a.b[i], true
	case types.String:
		switch strings.ToLower(strings.TrimSpace(a.str(i))) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// appendAsString renders row i of a as Flink's CAST(... AS STRING).
func appendAsString(b []byte, a *vec, from types.Type, i int, loc *time.Location) []byte {
	switch from.Kind {
	case types.Int:
		return strconv.AppendInt(b, int64(a.i32[i]), 10)
	case types.BigInt:
		return strconv.AppendInt(b, a.i64[i], 10)
	case types.Decimal:
		return appendDecimal(b, a.i64[i], from.Scale)
	case types.Double:
		return appendJavaDouble(b, a.f64[i])
	case types.Boolean:
		if a.b[i] {
			return append(b, "TRUE"...)
		}
		return append(b, "FALSE"...)
	case types.String:
		return append(b, a.bytesAt(i)...)
	case types.Timestamp:
		return appendTimestamp(b, a.i64[i], from.Precision)
	case types.TimestampLTZ:
		return appendTimestamp(b, ltzToLocal(loc, a.i64[i]), from.Precision)
	case types.Date:
		return appendDate(b, int64(a.i32[i]))
	case types.Interval:
		return append(b, formatIntervalMillis(a.i64[i])...)
	}
	return b
}

// truncateRunes cuts the row starting at start to n characters (VARCHAR(n)).
func truncateRunes(b []byte, start, n int) []byte {
	count := 0
	for j := start; j < len(b); {
		if count == n {
			return b[:j]
		}
		_, size := utf8.DecodeRune(b[j:])
		j += size
		count++
	}
	return b
}

// appendJavaDouble renders f as Java's Double.toString does (1.0, 1.5E10),
// which is what Flink prints.
func appendJavaDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		start := len(b)
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
		if !strings.Contains(string(b[start:]), ".") {
			b = append(b, ".0"...)
		}
		return b
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	b = append(b, mant...)
	b = append(b, 'E')
	return strconv.AppendInt(b, int64(e), 10)
}

func formatDouble(f float64) string { return string(appendJavaDouble(nil, f)) }
