package expr

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/streamsql/streamsql/sql/types"
)

// Checked int64 and DECIMAL (unscaled int64) arithmetic.

func add64(x, y int64) (int64, bool) {
	s := x + y
	return s, (s^x)&(s^y) >= 0
}

func sub64(x, y int64) (int64, bool) {
	s := x - y
	return s, (x^y)&(s^x) >= 0
}

// mul64 multiplies with an exact overflow test (128-bit signed product).
func mul64(x, y int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	// Correct the unsigned high word to the signed one.
	hi -= uint64(x>>63)&uint64(y) + uint64(y>>63)&uint64(x)
	return int64(lo), int64(hi) == int64(lo)>>63
}

// pow10 returns 10^n for 0 <= n <= 18 (a constant table, no state).
func pow10(n int) int64 {
	return [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
		1e13, 1e14, 1e15, 1e16, 1e17, 1e18}[n]
}

// fitsPrecision reports whether unscaled v has at most p digits.
func fitsPrecision(v int64, p int) bool {
	if p >= 19 {
		return true
	}
	lim := pow10(p)
	return v < lim && v > -lim
}

// rescale changes the scale of v from s to t, rounding HALF_UP when digits
// are dropped.
func rescale(v int64, s, t int) (int64, bool) {
	switch {
	case t == s:
		return v, true
	case t > s:
		if t-s > 18 {
			return 0, v == 0
		}
		return mul64(v, pow10(t-s))
	default:
		if s-t > 18 {
			return 0, true
		}
		return divRound(v, pow10(s-t)), true
	}
}

// divRound divides with HALF_UP rounding (away from zero on .5).
func divRound(v, d int64) int64 {
	q, r := v/d, v%d
	if r < 0 {
		r = -r
	}
	if d < 0 {
		d = -d
	}
	if r >= d-r {
		if (v < 0) != (d < 0) && v != 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

// mulDivRound computes round_half_up(x * m / d) with a 128-bit middle.
func mulDivRound(x, m, d int64) (int64, bool) {
	if d == 0 {
		return 0, false
	}
	neg := (x < 0) != (m < 0) != (d < 0)
	ux, um, ud := abs64(x), abs64(m), abs64(d)
	hi, lo := bits.Mul64(ux, um)
	if hi >= ud {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, ud)
	if r >= ud-r {
		q++
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(q), true
	}
	return int64(q), true
}

func abs64(x int64) uint64 {
	if x < 0 {
		return uint64(-x)
	}
	return uint64(x)
}

// decimalRow returns the row function of a DECIMAL operator whose operands
// have types a and b (DECIMAL or BIGINT) and whose result is t.
func decimalRow(op byte, a, b, t types.Type) func(x, y int64) (int64, error) {
	_, s1 := asDecimal(a)
	_, s2 := asDecimal(b)
	p, s := t.Precision, t.Scale
	check := func(v int64, fine bool) (int64, error) {
		if !fine || !fitsPrecision(v, p) {
			return 0, errOverflow
		}
		return v, nil
	}
	switch op {
	case '+', '-':
		return func(x, y int64) (int64, error) {
			x, ok1 := rescale(x, s1, s)
			y, ok2 := rescale(y, s2, s)
			if !ok1 || !ok2 {
				return 0, errOverflow
			}
			if op == '+' {
				return check(add64(x, y))
			}
			return check(sub64(x, y))
		}
	case '*':
		drop := s1 + s2 - s
		if drop > 18 {
			return func(int64, int64) (int64, error) { return 0, errOverflow }
		}
		return func(x, y int64) (int64, error) {
			if drop == 0 {
				return check(mul64(x, y))
			}
			return check(mulDivRound(x, y, pow10(drop)))
		}
	case '/':
		// x/10^s1 / (y/10^s2) at scale s = x * 10^(s - s1 + s2) / y.
		e := s - s1 + s2
		return func(x, y int64) (int64, error) {
			if y == 0 {
				return 0, errDivZero
			}
			if e >= 0 {
				if e > 18 {
					return 0, errOverflow
				}
				return check(mulDivRound(x, pow10(e), y))
			}
			if -e > 18 {
				return 0, nil // the quotient rounds to zero at this scale
			}
			d, fine := mul64(y, pow10(-e))
			if !fine {
				return 0, nil // |x| < 10^18 <= |d|: rounds to zero
			}
			return check(mulDivRound(x, 1, d))
		}
	default: // %
		return func(x, y int64) (int64, error) {
			x, ok1 := rescale(x, s1, s)
			y, ok2 := rescale(y, s2, s)
			if !ok1 || !ok2 {
				return 0, errOverflow
			}
			if y == 0 {
				return 0, errDivZero
			}
			return x % y, nil
		}
	}
}

// formatDecimal renders unscaled v at scale s ("-1.50").
func formatDecimal(v int64, s int) string {
	return string(appendDecimal(nil, v, s))
}

func appendDecimal(b []byte, v int64, s int) []byte {
	if s == 0 {
		return strconv.AppendInt(b, v, 10)
	}
	if v < 0 {
		b = append(b, '-')
	}
	u := abs64(v)
	digits := strconv.AppendUint(nil, u, 10)
	for len(digits) <= s {
		digits = append([]byte{'0'}, digits...)
	}
	b = append(b, digits[:len(digits)-s]...)
	b = append(b, '.')
	return append(b, digits[len(digits)-s:]...)
}

// parseDecimal reads text as DECIMAL(p, s), rounding HALF_UP.
func parseDecimal(str string, p, s int) (int64, bool) {
	neg := false
	if len(str) > 0 && (str[0] == '-' || str[0] == '+') {
		neg = str[0] == '-'
		str = str[1:]
	}
	if str == "" {
		return 0, false
	}
	var v int64
	scale := -1
	digits := 0
	round := false
	for i := 0; i < len(str); i++ {
		ch := str[i]
		if ch == '.' {
			if scale >= 0 {
				return 0, false
			}
			scale = 0
			continue
		}
		if ch < '0' || ch > '9' {
			if ch == 'e' || ch == 'E' {
				f, err := strconv.ParseFloat(str, 64)
				if err != nil {
					return 0, false
				}
				if neg {
					f = -f
				}
				return floatToDecimal(f, p, s)
			}
			return 0, false
		}
		if scale >= 0 && scale == s {
			// Beyond the target scale: only the first dropped digit matters.
			if !round && digits >= 0 {
				round = ch >= '5'
				digits = -1
			}
			continue
		}
		var fine bool
		if v, fine = mul64(v, 10); !fine {
			return 0, false
		}
		v += int64(ch - '0')
		if scale >= 0 {
			scale++
		}
	}
	if scale < 0 {
		scale = 0
	}
	v, fine := rescale(v, scale, s)
	if !fine {
		return 0, false
	}
	if round {
		v++
	}
	if neg {
		v = -v
	}
	return v, fitsPrecision(v, p)
}

// floatToDecimal rounds f HALF_UP to DECIMAL(p, s).
func floatToDecimal(f float64, p, s int) (int64, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	// Go through the shortest decimal text of f so 0.1 becomes exactly 1 at
	// scale 1, as Java's BigDecimal.valueOf(double) does.
	str := strconv.FormatFloat(f, 'f', -1, 64)
	if len(str) > 40 {
		return 0, false
	}
	return parseDecimal(str, p, s)
}
