package expr

import (
	"fmt"
	"math"

	"github.com/streamsql/streamsql/sql/types"
)

// arithKernel evaluates + - * / % for one result type. The hot shapes
// (column op column, column op constant) of DOUBLE, BIGINT and INT have
// their own loops; the rest go through checked row functions.
type arithKernel struct {
	op     byte
	l, r   kernel
	lt, rt types.Type
	t      types.Type
	text   string
	// lf, rf rescale DECIMAL operands of + and - to the result scale
	// (1 when already there).
	lf, rf int64
	// row computes one int64 result (decimal, interval and temporal
	// arithmetic, division); ok=false is an overflow.
	row func(x, y int64) (int64, error)
}

func (cp *compiler) buildArith(x *Call) (kernel, error) {
	l, err := cp.build(x.Args[0])
	if err != nil {
		return nil, err
	}
	r, err := cp.build(x.Args[1])
	if err != nil {
		return nil, err
	}
	k := &arithKernel{op: x.Fn[0], l: l, r: r, lt: x.Args[0].Type(), rt: x.Args[1].Type(), t: x.T, text: x.String()}
	if err := k.prepare(); err != nil {
		return nil, err
	}
	return k, nil
}

var errOverflow = fmt.Errorf("overflow")

func (k *arithKernel) prepare() error {
	t := k.t
	switch t.Kind {
	case types.Double:
		return nil
	case types.Int, types.BigInt:
		if k.op == '/' || k.op == '%' {
			k.row = intDivRow(k.op)
		}
		return nil
	case types.Decimal:
		_, s1 := asDecimal(k.lt)
		_, s2 := asDecimal(k.rt)
		// Same-scale + - and exact * are plain checked int64 arithmetic
		// plus a precision check: the BIGINT loops serve.
		addSub := (k.op == '+' || k.op == '-') && s1 <= t.Scale && s2 <= t.Scale
		exactMul := k.op == '*' && s1+s2 == t.Scale
		if addSub {
			k.lf, k.rf = pow10(t.Scale-s1), pow10(t.Scale-s2)
		}
		if !addSub && !exactMul {
			k.row = decimalRow(k.op, k.lt, k.rt, t)
		}
		return nil
	case types.Timestamp, types.TimestampLTZ:
		sign := int64(1)
		if k.op == '-' {
			sign = -1
		}
		k.row = func(x, y int64) (int64, error) {
			d, ok := mul64(y, 1000*sign)
			if !ok {
				return 0, errOverflow
			}
			s, ok := add64(x, d)
			if !ok {
				return 0, errOverflow
			}
			return s, nil
		}
		return nil
	case types.Date:
		sign := int64(1)
		if k.op == '-' {
			sign = -1
		}
		k.row = func(x, y int64) (int64, error) {
			return x + sign*(y/msPerDay), nil
		}
		return nil
	case types.Interval:
		switch k.op {
		case '+', '-', '*':
			k.row = func(x, y int64) (int64, error) {
				var r int64
				var ok bool
				switch k.op {
				case '+':
					r, ok = add64(x, y)
				case '-':
					r, ok = sub64(x, y)
				default:
					r, ok = mul64(x, y)
				}
				if !ok {
					return 0, errOverflow
				}
				return r, nil
			}
		case '/':
			k.row = intDivRow('/')
		}
		return nil
	}
	return fmt.Errorf("%s: not supported yet: arithmetic on %s", k.text, t)
}

var errDivZero = fmt.Errorf("division by zero")

func intDivRow(op byte) func(x, y int64) (int64, error) {
	return func(x, y int64) (int64, error) {
		if y == 0 {
			return 0, errDivZero
		}
		if op == '%' {
			if y == -1 {
				return 0, nil
			}
			return x % y, nil
		}
		if x == math.MinInt64 && y == -1 {
			return 0, errOverflow
		}
		return x / y, nil
	}
}

func (k *arithKernel) fail(err error) error {
	if err == errOverflow {
		return fmt.Errorf("%s: %s overflow", k.text, k.t.WithNotNull(false))
	}
	return fmt.Errorf("%s: %w", k.text, err)
}

func (k *arithKernel) eval(c *ctx) (*vec, error) {
	a, err := k.l.eval(c)
	if err != nil {
		return nil, err
	}
	b, err := k.r.eval(c)
	if err != nil {
		return nil, err
	}
	n := c.n
	if a.allNull() || b.allNull() {
		return nullScalar(n), nil
	}
	valid := andValid(n, a, b)
	scalar := a.scalar && b.scalar
	if scalar {
		n = 1
		valid = nil
	}
	out := &vec{n: c.n, scalar: scalar, valid: valid}
	switch {
	case k.t.Kind == types.Double:
		out.f64 = k.evalF64(a, b, n)
		return out, nil
	case k.row == nil && k.t.Kind == types.BigInt:
		out.i64, err = k.evalI64(a, b, n, valid)
	case k.row == nil && k.t.Kind == types.Decimal:
		if a, err = k.scaleBy(a, k.lf, valid); err != nil {
			return nil, err
		}
		if b, err = k.scaleBy(b, k.rf, valid); err != nil {
			return nil, err
		}
		if out.i64, err = k.evalI64(a, b, n, valid); err == nil {
			lim := pow10(k.t.Precision)
			for i, v := range out.i64 {
				if (v >= lim || v <= -lim) && ok(valid, i) {
					err = k.fail(errOverflow)
					break
				}
			}
		}
	case k.row == nil && k.t.Kind == types.Int:
		out.i32, err = k.evalI32(a, b, n, valid)
	default:
		err = k.evalRows(a, b, n, valid, out)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (k *arithKernel) evalF64(a, b *vec, n int) []float64 {
	out := make([]float64, n)
	switch {
	case !a.scalar && !b.scalar:
		x, y := a.f64[:n], b.f64[:n]
		switch k.op {
		case '+':
			for i := range out {
				out[i] = x[i] + y[i]
			}
		case '-':
			for i := range out {
				out[i] = x[i] - y[i]
			}
		case '*':
			for i := range out {
				out[i] = x[i] * y[i]
			}
		case '/':
			for i := range out {
				out[i] = x[i] / y[i]
			}
		default:
			for i := range out {
				out[i] = math.Mod(x[i], y[i])
			}
		}
	case !a.scalar && b.scalar:
		x, c := a.f64[:n], b.f64[0]
		switch k.op {
		case '+':
			for i := range out {
				out[i] = x[i] + c
			}
		case '-':
			for i := range out {
				out[i] = x[i] - c
			}
		case '*':
			for i := range out {
				out[i] = x[i] * c
			}
		case '/':
			for i := range out {
				out[i] = x[i] / c
			}
		default:
			for i := range out {
				out[i] = math.Mod(x[i], c)
			}
		}
	default:
		for i := range out {
			x, y := a.f64[a.idx(i)], b.f64[b.idx(i)]
			switch k.op {
			case '+':
				out[i] = x + y
			case '-':
				out[i] = x - y
			case '*':
				out[i] = x * y
			case '/':
				out[i] = x / y
			default:
				out[i] = math.Mod(x, y)
			}
		}
	}
	return out
}

// evalI64 is checked BIGINT + - *. An overflow only counts on a valid row
// (the value under a NULL is arbitrary).
func (k *arithKernel) evalI64(a, b *vec, n int, valid []bool) ([]int64, error) {
	out := make([]int64, n)
	bad := -1
	switch {
	case !a.scalar && !b.scalar:
		x, y := a.i64[:n], b.i64[:n]
		switch k.op {
		case '+':
			for i := range out {
				s := x[i] + y[i]
				if (s^x[i])&(s^y[i]) < 0 && ok(valid, i) {
					bad = i
					break
				}
				out[i] = s
			}
		case '-':
			for i := range out {
				s := x[i] - y[i]
				if (x[i]^y[i])&(s^x[i]) < 0 && ok(valid, i) {
					bad = i
					break
				}
				out[i] = s
			}
		default:
			for i := range out {
				p, fine := mul64(x[i], y[i])
				if !fine && ok(valid, i) {
					bad = i
					break
				}
				out[i] = p
			}
		}
	case a.scalar && !b.scalar && (k.op == '+' || k.op == '*'):
		return k.evalI64(b, a, n, valid)
	case b.scalar:
		x, c := a.i64[:n], b.i64[0]
		switch k.op {
		case '+', '-':
			if k.op == '-' {
				if c == math.MinInt64 {
					return k.evalI64Rows(a, b, n, valid)
				}
				c = -c
			}
			// x + c overflows exactly when x is beyond a bound fixed by c.
			if c >= 0 {
				lim := math.MaxInt64 - c
				for i := range out {
					if x[i] > lim && ok(valid, i) {
						bad = i
						break
					}
					out[i] = x[i] + c
				}
			} else {
				lim := math.MinInt64 - c
				for i := range out {
					if x[i] < lim && ok(valid, i) {
						bad = i
						break
					}
					out[i] = x[i] + c
				}
			}
		default:
			if c == 0 || c == 1 || c == -1 {
				return k.evalI64Rows(a, b, n, valid)
			}
			hi, lo := math.MaxInt64/c, math.MinInt64/c
			if c < 0 {
				hi, lo = lo, hi
			}
			for i := range out {
				if (x[i] > hi || x[i] < lo) && ok(valid, i) {
					bad = i
					break
				}
				out[i] = x[i] * c
			}
		}
	default:
		return k.evalI64Rows(a, b, n, valid)
	}
	if bad >= 0 {
		return nil, k.fail(errOverflow)
	}
	return out, nil
}

// scaleBy multiplies a DECIMAL operand by f (10^k) to line up scales.
func (k *arithKernel) scaleBy(v *vec, f int64, valid []bool) (*vec, error) {
	if f <= 1 {
		return v, nil
	}
	lim := math.MaxInt64 / f
	out := &vec{n: v.n, scalar: v.scalar, valid: v.valid, i64: make([]int64, len(v.i64))}
	for i, x := range v.i64 {
		if (x > lim || x < -lim) && (v.scalar || ok(valid, i)) {
			return nil, k.fail(errOverflow)
		}
		out.i64[i] = x * f
	}
	return out, nil
}

func ok(valid []bool, i int) bool { return valid == nil || valid[i] }

// evalI64Rows is the general checked BIGINT path.
func (k *arithKernel) evalI64Rows(a, b *vec, n int, valid []bool) ([]int64, error) {
	out := make([]int64, n)
	for i := range out {
		x, y := a.i64[a.idx(i)], b.i64[b.idx(i)]
		var r int64
		var fine bool
		switch k.op {
		case '+':
			r, fine = add64(x, y)
		case '-':
			r, fine = sub64(x, y)
		default:
			r, fine = mul64(x, y)
		}
		if !fine && ok(valid, i) {
			return nil, k.fail(errOverflow)
		}
		out[i] = r
	}
	return out, nil
}

// evalI32 computes INT + - * in int64 (where it cannot overflow) and checks
// that the result fits INT.
func (k *arithKernel) evalI32(a, b *vec, n int, valid []bool) ([]int32, error) {
	out := make([]int32, n)
	bad := false
	if !a.scalar && !b.scalar {
		x, y := a.i32[:n], b.i32[:n]
		for i := range out {
			var r int64
			switch k.op {
			case '+':
				r = int64(x[i]) + int64(y[i])
			case '-':
				r = int64(x[i]) - int64(y[i])
			default:
				r = int64(x[i]) * int64(y[i])
			}
			if r != int64(int32(r)) && ok(valid, i) {
				bad = true
				break
			}
			out[i] = int32(r)
		}
	} else {
		for i := range out {
			x, y := int64(a.i32[a.idx(i)]), int64(b.i32[b.idx(i)])
			var r int64
			switch k.op {
			case '+':
				r = x + y
			case '-':
				r = x - y
			default:
				r = x * y
			}
			if r != int64(int32(r)) && ok(valid, i) {
				bad = true
				break
			}
			out[i] = int32(r)
		}
	}
	if bad {
		return nil, k.fail(errOverflow)
	}
	return out, nil
}

// evalRows runs k.row over every valid row, reading operands as int64.
func (k *arithKernel) evalRows(a, b *vec, n int, valid []bool, out *vec) error {
	x := asI64(a, k.lt)
	y := asI64(b, k.rt)
	res := make([]int64, n)
	for i := range res {
		if !ok(valid, i) {
			continue
		}
		r, err := k.row(x[a.idx(i)], y[b.idx(i)])
		if err != nil {
			return k.fail(err)
		}
		res[i] = r
	}
	switch physOf(k.t) {
	case physI32:
		out.i32 = make([]int32, n)
		for i, r := range res {
			if r != int64(int32(r)) && ok(valid, i) {
				return k.fail(errOverflow)
			}
			out.i32[i] = int32(r)
		}
	default:
		out.i64 = res
	}
	return nil
}

// asI64 reads an INT/DATE or int64 vec as int64 values.
func asI64(v *vec, t types.Type) []int64 {
	if physOf(t) != physI32 {
		return v.i64
	}
	out := make([]int64, len(v.i32))
	for i, x := range v.i32 {
		out[i] = int64(x)
	}
	return out
}

// negKernel is unary minus.
type negKernel struct {
	x    kernel
	t    types.Type
	text string
}

func (cp *compiler) buildNeg(x *Call) (kernel, error) {
	k, err := cp.build(x.Args[0])
	if err != nil {
		return nil, err
	}
	return &negKernel{x: k, t: x.T, text: x.String()}, nil
}

func (k *negKernel) eval(c *ctx) (*vec, error) {
	a, err := k.x.eval(c)
	if err != nil {
		return nil, err
	}
	if a.allNull() {
		return nullScalar(c.n), nil
	}
	out := &vec{n: a.n, scalar: a.scalar, valid: a.valid}
	switch physOf(k.t) {
	case physF64:
		out.f64 = make([]float64, len(a.f64))
		for i, x := range a.f64 {
			out.f64[i] = -x
		}
	case physI32:
		out.i32 = make([]int32, len(a.i32))
		for i, x := range a.i32 {
			if x == math.MinInt32 && ok(a.valid, i) {
				return nil, fmt.Errorf("%s: %s overflow", k.text, k.t.WithNotNull(false))
			}
			out.i32[i] = -x
		}
	case physI64:
		out.i64 = make([]int64, len(a.i64))
		for i, x := range a.i64 {
			if x == math.MinInt64 && ok(a.valid, i) {
				return nil, fmt.Errorf("%s: %s overflow", k.text, k.t.WithNotNull(false))
			}
			out.i64[i] = -x
		}
	default:
		return nil, fmt.Errorf("%s: cannot negate %s", k.text, k.t)
	}
	return out, nil
}
