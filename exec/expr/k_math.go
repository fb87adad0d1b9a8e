package expr

import (
	"errors"
	"math"
	"strconv"

	"github.com/streamsql/streamsql/sql/types"
)

// mapF64 applies f to every row of a DOUBLE vec (IEEE: no errors).
func mapF64(v *vec, f func(float64) float64) *vec {
	out := &vec{n: v.n, scalar: v.scalar, valid: v.valid, f64: make([]float64, len(v.f64))}
	for i, x := range v.f64 {
		out.f64[i] = f(x)
	}
	return out
}

// mapI64 applies a checked f to every valid row of an int64 vec.
func mapI64(v *vec, f func(int64) (int64, bool)) (*vec, error) {
	out := &vec{n: v.n, scalar: v.scalar, valid: v.valid, i64: make([]int64, len(v.i64))}
	for i, x := range v.i64 {
		r, fine := f(x)
		if !fine && ok(v.valid, i) {
			return nil, errOverflow
		}
		out.i64[i] = r
	}
	return out, nil
}

func mapI32(v *vec, f func(int64) (int64, bool)) (*vec, error) {
	out := &vec{n: v.n, scalar: v.scalar, valid: v.valid, i32: make([]int32, len(v.i32))}
	for i, x := range v.i32 {
		r, fine := f(int64(x))
		if (!fine || r != int64(int32(r))) && ok(v.valid, i) {
			return nil, errOverflow
		}
		out.i32[i] = int32(r)
	}
	return out, nil
}

// mapExact applies f to an INT, BIGINT or DECIMAL vec.
func mapExact(v *vec, t types.Type, f func(int64) (int64, bool)) (*vec, error) {
	if physOf(t) == physI32 {
		return mapI32(v, f)
	}
	return mapI64(v, f)
}

func overflowIn(t types.Type, err error) error {
	if errors.Is(err, errOverflow) {
		return errors.New(t.WithNotNull(false).String() + " overflow")
	}
	return err
}

func (cp *compiler) buildMath(x *Call) (kernel, bool, error) {
	var impl func(c *ctx, a []*vec, n int) (*vec, error)
	var argT types.Type
	if len(x.Args) > 0 {
		argT = x.Args[0].Type()
	}
	t := x.T
	switch x.Fn {
	case "ABS", "SIGN":
		sign := x.Fn == "SIGN"
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			if argT.Kind == types.Double {
				if sign {
					return mapF64(a[0], func(f float64) float64 {
						switch {
						case f > 0:
							return 1
						case f < 0:
							return -1
						}
						return f
					}), nil
				}
				return mapF64(a[0], math.Abs), nil
			}
			one := int64(1)
			if argT.Kind == types.Decimal {
				one = pow10(argT.Scale)
			}
			v, err := mapExact(a[0], argT, func(x int64) (int64, bool) {
				if sign {
					switch {
					case x > 0:
						return one, true
					case x < 0:
						return -one, true
					}
					return 0, true
				}
				if x < 0 {
					return -x, x != math.MinInt64
				}
				return x, true
			})
			return v, overflowIn(t, err)
		}
	case "FLOOR", "CEIL":
		ceil := x.Fn == "CEIL"
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			switch argT.Kind {
			case types.Double:
				if ceil {
					return mapF64(a[0], math.Ceil), nil
				}
				return mapF64(a[0], math.Floor), nil
			case types.Decimal:
				d := pow10(argT.Scale)
				return mapI64(a[0], func(x int64) (int64, bool) {
					q := floorDiv(x, d)
					if ceil && q*d != x {
						q++
					}
					return q, true
				})
			}
			return a[0], nil
		}
	case "ROUND", "TRUNCATE":
		d, _ := strconv.Atoi(x.Aux)
		trunc := x.Fn == "TRUNCATE"
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			v, err := roundVec(a[0], argT, t, d, trunc)
			return v, overflowIn(t, err)
		}
	case "POWER":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			out := &vec{n: n, valid: andValid(n, a...), f64: make([]float64, n)}
			for i := range out.f64 {
				out.f64[i] = math.Pow(a[0].f64[a[0].idx(i)], a[1].f64[a[1].idx(i)])
			}
			return out, nil
		}
	case "LOG":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			if len(a) == 1 {
				return mapF64(a[0], math.Log), nil
			}
			// LOG(base, x), as Flink.
			out := &vec{n: n, valid: andValid(n, a...), f64: make([]float64, n)}
			for i := range out.f64 {
				out.f64[i] = math.Log(a[1].f64[a[1].idx(i)]) / math.Log(a[0].f64[a[0].idx(i)])
			}
			return out, nil
		}
	case "PI", "E":
		v := math.Pi
		if x.Fn == "E" {
			v = math.E
		}
		return &constKernel{v: scalarValue{t: t, val: v}}, true, nil
	default:
		f := unaryDouble(x.Fn)
		if f == nil {
			return nil, false, nil
		}
		impl = func(c *ctx, a []*vec, n int) (*vec, error) { return mapF64(a[0], f), nil }
	}
	k, err := cp.newFunc(x, true, impl)
	return k, true, err
}

func unaryDouble(fn string) func(float64) float64 {
	switch fn {
	case "SQRT":
		return math.Sqrt
	case "LN":
		return math.Log
	case "LOG10":
		return math.Log10
	case "LOG2":
		return math.Log2
	case "EXP":
		return math.Exp
	case "SIN":
		return math.Sin
	case "COS":
		return math.Cos
	case "TAN":
		return math.Tan
	case "ASIN":
		return math.Asin
	case "ACOS":
		return math.Acos
	case "ATAN":
		return math.Atan
	case "DEGREES":
		return func(r float64) float64 { return r * 180 / math.Pi }
	case "RADIANS":
		return func(d float64) float64 { return d * math.Pi / 180 }
	}
	return nil
}

// roundVec is ROUND / TRUNCATE to d digits (HALF_UP, as Flink's BigDecimal
// rounding).
func roundVec(v *vec, from, to types.Type, d int, trunc bool) (*vec, error) {
	switch from.Kind {
	case types.Double:
		return mapF64(v, func(f float64) float64 { return roundDouble(f, d, trunc) }), nil
	case types.Int, types.BigInt, types.Decimal:
		s := 0
		if from.Kind == types.Decimal {
			s = from.Scale
		}
		if d >= s {
			return v, nil
		}
		// Drop digits down to 10^-d, then express at the result scale.
		drop := pow10(min(s-d, 18))
		outScale := to.Scale
		if from.Kind != types.Decimal {
			outScale = 0
		}
		return mapExact(v, from, func(x int64) (int64, bool) {
			var q int64
			if trunc {
				q = x / drop
			} else {
				q = divRound(x, drop)
			}
			// q is at scale d; bring it to outScale (d < 0 multiplies back).
			r, fine := rescale(q, d, outScale)
			if fine && to.Kind == types.Decimal {
				fine = fitsPrecision(r, to.Precision)
			}
			return r, fine
		})
	}
	return v, nil
}

func roundDouble(f float64, d int, trunc bool) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	if d >= 0 && d <= 15 {
		// Round the shortest decimal form, like BigDecimal.valueOf(double).
		if !trunc {
			if v, ok := floatToDecimal(f, 18, d); ok {
				return float64(v) / float64(pow10(d))
			}
		}
		p := math.Pow(10, float64(d))
		if trunc {
			return math.Trunc(f*p) / p
		}
		return math.Round(f*p) / p
	}
	p := math.Pow(10, float64(-d))
	if trunc {
		return math.Trunc(f/p) * p
	}
	return math.Round(f/p) * p
}
