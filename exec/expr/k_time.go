package expr

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/streamsql/streamsql/sql/types"
)

// wallClock returns a function reading row i of a temporal vec as local
// wall-clock micros (LTZ values are shifted into the session zone).
func wallClock(v *vec, t types.Type, loc *time.Location) func(i int) int64 {
	switch t.Kind {
	case types.Date:
		return func(i int) int64 { return int64(v.i32[v.idx(i)]) * usPerDay }
	case types.TimestampLTZ:
		return func(i int) int64 { return ltzToLocal(loc, v.i64[v.idx(i)]) }
	}
	return func(i int) int64 { return v.i64[v.idx(i)] }
}

// extractField computes EXTRACT(unit FROM wall-clock micros).
func extractField(unit string, us int64) int64 {
	f := fieldsOf(us)
	switch unit {
	case "YEAR":
		return f.y
	case "QUARTER":
		return (f.mo-1)/3 + 1
	case "MONTH":
		return f.mo
	case "WEEK":
		return isoWeek(us)
	case "DAY":
		return f.d
	case "DOY":
		return f.doy
	case "DOW":
		return f.isodow%7 + 1 // Sunday = 1 ... Saturday = 7
	case "ISODOW":
		return f.isodow
	case "HOUR":
		return f.h
	case "MINUTE":
		return f.mi
	case "SECOND":
		return f.s
	case "MILLISECOND":
		return f.s*1000 + f.us/1000
	case "MICROSECOND":
		return f.s*1_000_000 + f.us
	case "EPOCH":
		return floorDiv(us, usPerSecond)
	case "DECADE":
		return floorDiv(f.y, 10)
	case "CENTURY":
		if f.y > 0 {
			return (f.y + 99) / 100
		}
		return -((-f.y + 99) / 100)
	case "MILLENNIUM":
		if f.y > 0 {
			return (f.y + 999) / 1000
		}
		return -((-f.y + 999) / 1000)
	}
	return 0
}

// isoWeek is the ISO-8601 week number: the week of the year's Thursday.
func isoWeek(us int64) int64 {
	days := floorDiv(us, usPerDay)
	isodow := floorMod(days+3, 7) + 1
	thursday := days - (isodow - 1) + 3
	y, _, _ := civilFromDays(thursday)
	return (thursday-daysFromCivil(y, 1, 1))/7 + 1
}

func (cp *compiler) buildTime(x *Call) (kernel, bool, error) {
	var impl func(c *ctx, a []*vec, n int) (*vec, error)
	t := x.T
	var argT types.Type
	if len(x.Args) > 0 {
		argT = x.Args[0].Type()
	}
	switch x.Fn {
	case "EXTRACT", "YEAR", "QUARTER", "MONTH", "WEEK", "DAYOFMONTH", "DAYOFWEEK", "DAYOFYEAR", "HOUR", "MINUTE", "SECOND":
		unit := x.Aux
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			get := wallClock(a[0], argT, c.location())
			out := &vec{n: n, scalar: a[0].scalar, valid: a[0].valid}
			m := n
			if a[0].scalar {
				m = 1
			}
			out.i64 = make([]int64, m)
			for i := range out.i64 {
				if !a[0].null(i) {
					out.i64[i] = extractField(unit, get(i))
				}
			}
			return out, nil
		}
	case "CURRENT_TIMESTAMP", "PROCTIME", "CURRENT_ROW_TIMESTAMP", "LOCALTIMESTAMP", "CURRENT_DATE", "UNIX_TIMESTAMP":
		if x.Fn == "UNIX_TIMESTAMP" && len(x.Args) > 0 {
			return cp.buildParseTime(x)
		}
		fn := x.Fn
		k := &clockKernel{fn: fn, t: t}
		return k, true, nil
	case "TO_TIMESTAMP", "TO_DATE":
		return cp.buildParseTime(x)
	case "TO_TIMESTAMP_LTZ":
		p, _ := strconv.Atoi(x.Aux)
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			v := a[0]
			m := n
			if v.scalar {
				m = 1
			}
			out := &vec{n: n, scalar: v.scalar, valid: v.valid, i64: make([]int64, m)}
			unit := usPerSecond // precision 0: seconds
			if p == 3 {
				unit = 1000
			}
			for i := range out.i64 {
				if v.null(i) {
					continue
				}
				var us int64
				fine := true
				switch argT.Kind {
				case types.Int:
					us, fine = mul64(int64(v.i32[i]), unit)
				case types.BigInt:
					us, fine = mul64(v.i64[i], unit)
				case types.Decimal:
					us, fine = mulDivRound(v.i64[i], unit, pow10(argT.Scale))
				case types.Double:
					f := v.f64[i] * float64(unit)
					fine = !math.IsNaN(f) && math.Abs(f) < 9e18
					us = int64(f)
				}
				if !fine {
					return nil, fmt.Errorf("value out of the TIMESTAMP_LTZ range")
				}
				out.i64[i] = truncateTo(us, 3)
			}
			return out, nil
		}
	case "FROM_UNIXTIME":
		cache := &formatCache{}
		fixed := len(x.Args) == 1
		if fixed {
			cache.get("yyyy-MM-dd HH:mm:ss")
		}
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			loc := c.location()
			var err error
			out := mapRows(n, a, 20*n, func(i int, dst []byte) ([]byte, bool) {
				if !fixed {
					if _, err = cache.get(a[1].str(i)); err != nil {
						return dst, false
					}
				}
				us, fine := mul64(a[0].i64[a[0].idx(i)], usPerSecond)
				if !fine {
					return dst, false
				}
				return cache.format(dst, ltzToLocal(loc, us)), true
			})
			return out, err
		}
	case "DATE_FORMAT":
		cache := &formatCache{}
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			loc := c.location()
			var get func(i int) (int64, bool)
			if argT.Kind == types.String {
				get = func(i int) (int64, bool) {
					us, _, fine := parseTimestamp(a[0].str(i))
					return us, fine
				}
			} else {
				wc := wallClock(a[0], argT, loc)
				get = func(i int) (int64, bool) { return wc(i), true }
			}
			var err error
			out := mapRows(n, a, 20*n, func(i int, dst []byte) ([]byte, bool) {
				if _, e := cache.get(a[1].str(i)); e != nil {
					err = e
					return dst, false
				}
				us, fine := get(i)
				if !fine {
					return dst, false
				}
				return cache.format(dst, us), true
			})
			return out, err
		}
	case "TIMESTAMPADD":
		unit := x.Aux
		tsT := x.Args[1].Type()
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			loc := c.location()
			out := &vec{n: n, valid: andValid(n, a...)}
			res := make([]int64, n)
			for i := range res {
				if !ok(out.valid, i) {
					continue
				}
				amount := a[0].i64[a[0].idx(i)]
				var r int64
				var fine bool
				switch tsT.Kind {
				case types.Date:
					r, fine = addUnit(unit, int64(a[1].i32[a[1].idx(i)])*usPerDay, amount)
					r = floorDiv(r, usPerDay)
				case types.TimestampLTZ:
					v := a[1].i64[a[1].idx(i)]
					if fixedUnit(unit) {
						r, fine = addUnit(unit, v, amount)
					} else {
						r, fine = addUnit(unit, ltzToLocal(loc, v), amount)
						r = localToLTZ(loc, r)
					}
				default:
					r, fine = addUnit(unit, a[1].i64[a[1].idx(i)], amount)
				}
				if !fine {
					return nil, fmt.Errorf("%s overflow", t.WithNotNull(false))
				}
				res[i] = r
			}
			if tsT.Kind == types.Date {
				out.i32 = make([]int32, n)
				for i, r := range res {
					out.i32[i] = int32(r)
				}
			} else {
				out.i64 = res
			}
			return out, nil
		}
	case "TIMESTAMPDIFF":
		unit := x.Aux
		t1, t2 := x.Args[0].Type(), x.Args[1].Type()
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			loc := c.location()
			g1, g2 := wallClock(a[0], t1, loc), wallClock(a[1], t2, loc)
			out := &vec{n: n, valid: andValid(n, a...), i32: make([]int32, n)}
			for i := range out.i32 {
				if !ok(out.valid, i) {
					continue
				}
				d := diffUnit(unit, g1(i), g2(i))
				if d != int64(int32(d)) {
					return nil, fmt.Errorf("INT overflow")
				}
				out.i32[i] = int32(d)
			}
			return out, nil
		}
	default:
		return nil, false, nil
	}
	k, err := cp.newFunc(x, true, impl)
	return k, true, err
}

func fixedUnit(unit string) bool {
	switch unit {
	case "MONTH", "QUARTER", "YEAR", "DECADE", "CENTURY", "MILLENNIUM":
		return false
	}
	return true
}

func unitMicros(unit string) int64 {
	switch unit {
	case "MICROSECOND":
		return 1
	case "MILLISECOND":
		return 1000
	case "SECOND":
		return usPerSecond
	case "MINUTE":
		return usPerMinute
	case "HOUR":
		return usPerHour
	case "DAY":
		return usPerDay
	case "WEEK":
		return 7 * usPerDay
	}
	return 0
}

func unitMonths(unit string) int64 {
	switch unit {
	case "QUARTER":
		return 3
	case "YEAR":
		return 12
	case "DECADE":
		return 120
	case "CENTURY":
		return 1200
	case "MILLENNIUM":
		return 12000
	}
	return 1
}

// addUnit adds amount units to wall-clock micros; months clamp the day
// (Jan 31 + 1 month = Feb 29 in a leap year), as java.time does.
func addUnit(unit string, us, amount int64) (int64, bool) {
	if fixedUnit(unit) {
		d, fine := mul64(amount, unitMicros(unit))
		if !fine {
			return 0, false
		}
		return add64(us, d)
	}
	months, fine := mul64(amount, unitMonths(unit))
	if !fine || months > 1e7 || months < -1e7 {
		return 0, false
	}
	days := floorDiv(us, usPerDay)
	rem := us - days*usPerDay
	y, m, d := civilFromDays(days)
	total := y*12 + (m - 1) + months
	ny, nm := floorDiv(total, 12), floorMod(total, 12)+1
	d = min(d, daysInMonth(ny, nm))
	return daysFromCivil(ny, nm, d)*usPerDay + rem, true
}

// diffUnit counts whole units from a to b (toward zero), as Flink's
// TIMESTAMPDIFF.
func diffUnit(unit string, a, b int64) int64 {
	if fixedUnit(unit) {
		return (b - a) / unitMicros(unit)
	}
	fa, fb := fieldsOf(a), fieldsOf(b)
	months := (fb.y*12 + fb.mo) - (fa.y*12 + fa.mo)
	// A partial month does not count.
	restA := a - daysFromCivil(fa.y, fa.mo, 1)*usPerDay
	restB := b - daysFromCivil(fb.y, fb.mo, 1)*usPerDay
	if months > 0 && restB < restA {
		months--
	} else if months < 0 && restB > restA {
		months++
	}
	return months / unitMonths(unit)
}

// formatCache parses a date format once per distinct pattern, and
// remembers its last output (formatMemo).
type formatCache struct {
	last string
	toks []fmtTok
	err  error
	set  bool
	memo formatMemo
}

func (fc *formatCache) get(p string) ([]fmtTok, error) {
	if fc.set && p == fc.last {
		return fc.toks, fc.err
	}
	fc.last, fc.set = string([]byte(p)), true
	fc.toks, fc.err = parseDateFormat(p)
	fc.memo.reset(fc.toks)
	return fc.toks, fc.err
}

// format appends wall-clock micros us formatted with the pattern of the
// last successful get.
func (fc *formatCache) format(b []byte, us int64) []byte {
	return fc.memo.appendFormatted(b, fc.toks, us)
}

// clockKernel gives the batch's current time (one value per batch).
type clockKernel struct {
	fn string
	t  types.Type
}

func (k *clockKernel) eval(c *ctx) (*vec, error) {
	now := c.clock()
	us := truncateTo(now.UnixMicro(), 3)
	var v any
	switch k.fn {
	case "LOCALTIMESTAMP":
		v = truncateTo(ltzToLocal(c.location(), now.UnixMicro()), 3)
	case "CURRENT_DATE":
		v = int32(floorDiv(ltzToLocal(c.location(), now.UnixMicro()), usPerDay))
	case "UNIX_TIMESTAMP":
		v = now.Unix()
	default:
		v = us
	}
	return scalarVec(k.t, v, c.n), nil
}

// buildParseTime is TO_TIMESTAMP, TO_DATE and UNIX_TIMESTAMP(str[, fmt]):
// text that does not match gives NULL, as Flink.
func (cp *compiler) buildParseTime(x *Call) (kernel, bool, error) {
	fn := x.Fn
	cache := &formatCache{}
	var defaultToks []fmtTok
	if fn == "UNIX_TIMESTAMP" && len(x.Args) == 1 {
		defaultToks, _ = parseDateFormat("yyyy-MM-dd HH:mm:ss")
	}
	k, err := cp.newFunc(x, true, func(c *ctx, a []*vec, n int) (*vec, error) {
		loc := c.location()
		out := &vec{n: n, valid: make([]bool, n)}
		res := make([]int64, n)
		for i := range res {
			if a[0].null(i) || (len(a) == 2 && a[1].null(i)) {
				continue
			}
			s := a[0].str(i)
			var us int64
			var fine bool
			switch {
			case len(a) == 2:
				toks, err := cache.get(a[1].str(i))
				if err != nil {
					return nil, err
				}
				us, fine = parseFormatted(toks, s)
			case defaultToks != nil:
				us, fine = parseFormatted(defaultToks, s)
			case fn == "TO_DATE":
				var d int32
				d, fine = parseDate(s)
				us = int64(d) * usPerDay
			default:
				us, _, fine = parseTimestamp(s)
			}
			if !fine {
				continue
			}
			out.valid[i] = true
			switch fn {
			case "TO_DATE":
				res[i] = floorDiv(us, usPerDay)
			case "UNIX_TIMESTAMP":
				res[i] = floorDiv(localToLTZ(loc, us), usPerSecond)
			default:
				res[i] = truncateTo(us, 3)
			}
		}
		if fn == "TO_DATE" {
			out.i32 = make([]int32, n)
			for i, r := range res {
				out.i32[i] = int32(r)
			}
		} else {
			out.i64 = res
		}
		return out, nil
	})
	return k, true, err
}
