package expr

import (
	"github.com/streamsql/streamsql/sql/types"
)

// mayFail reports whether evaluating e can raise a runtime error (overflow,
// division by zero, bad CAST...). Only such branches are evaluated on the
// subset of rows that really need them; safe ones run over the whole batch,
// which is cheaper than gathering inputs.
func mayFail(e Expr) bool {
	fail := false
	walk(e, func(x Expr) {
		c, ok := x.(*Call)
		if !ok || fail {
			return
		}
		switch c.Fn {
		case "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "NOT", "IS NULL", "IS NOT NULL",
			"IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE", "IN", "NOT IN", "LIKE", "NOT LIKE",
			"CASE", "COALESCE", "IF", "NULLIF", "IFNULL", "UPPER", "LOWER", "CONCAT", "CONCAT_WS",
			"CHAR_LENGTH", "CHARACTER_LENGTH", "TRIM", "LTRIM", "RTRIM", "REPLACE", "REGEXP",
			"REGEXP_EXTRACT", "REGEXP_REPLACE", "SPLIT_INDEX", "SUBSTRING", "POSITION", "LOCATE",
			"EXTRACT", "YEAR", "MONTH", "DAYOFMONTH", "HOUR", "MINUTE", "SECOND", "QUARTER",
			"WEEK", "DAYOFWEEK", "DAYOFYEAR", "DATE_FORMAT", "TO_TIMESTAMP", "TO_DATE",
			"SQRT", "LN", "LOG10", "EXP", "POWER", "SIGN":
		case "+", "-", "*", "/", "%", "NEG":
			fail = c.T.Kind != types.Double
		case "CAST":
			// Implicit widenings (INT to BIGINT, any number to DOUBLE) cannot fail.
			from := c.Args[0].Type()
			widen := c.Implicit && from.IsNumeric() && (c.T.Kind == types.Double || (c.T.Kind == types.BigInt && from.Kind == types.Int))
			fail = !c.Try && !widen
		default:
			fail = true
		}
	})
	return fail
}

// logicKernel is AND / OR with SQL three-valued logic. The right side is
// evaluated only on rows the left side does not decide when it may fail
// (WHERE b <> 0 AND a / b > 1).
type logicKernel struct {
	and       bool
	l, r      kernel
	lazyRight bool
}

func (cp *compiler) buildLogic(x *Call) (kernel, error) {
	l, err := cp.build(x.Args[0])
	if err != nil {
		return nil, err
	}
	r, err := cp.build(x.Args[1])
	if err != nil {
		return nil, err
	}
	return &logicKernel{and: x.Fn == "AND", l: l, r: r, lazyRight: mayFail(x.Args[1])}, nil
}

func (k *logicKernel) eval(c *ctx) (*vec, error) {
	a, err := k.l.eval(c)
	if err != nil {
		return nil, err
	}
	// decided: the value that settles the result (FALSE for AND, TRUE for OR).
	decided := !k.and
	if a.scalar && !a.allNull() && a.b[0] == decided {
		return a, nil
	}
	n := c.n
	var b *vec
	var need []int32
	if k.lazyRight {
		for i := 0; i < n; i++ {
			if a.null(i) || a.b[a.idx(i)] != decided {
				need = append(need, int32(i))
			}
		}
		if len(need) < n {
			sub, err := k.r.eval(c.subset(need))
			if err != nil {
				return nil, err
			}
			b = scatterBool(sub, need, n)
		}
	}
	if b == nil {
		if b, err = k.r.eval(c); err != nil {
			return nil, err
		}
	}
	return combineLogic(k.and, a, b, n), nil
}

// scatterBool spreads a subset result back to n rows; rows not in idx
// become NULL (they are decided by the other operand anyway).
func scatterBool(sub *vec, idx []int32, n int) *vec {
	out := &vec{n: n, b: make([]bool, n), valid: make([]bool, n)}
	for j, i := range idx {
		if !sub.null(j) {
			out.valid[i] = true
			out.b[i] = sub.b[sub.idx(j)]
		}
	}
	return out
}

func combineLogic(and bool, a, b *vec, n int) *vec {
	if a.scalar && b.scalar {
		an, bn := a.allNull(), b.allNull()
		var v, null bool
		if and {
			switch {
			case !an && !a.b[0], !bn && !b.b[0]:
				v = false
			case an || bn:
				null = true
			default:
				v = true
			}
		} else {
			switch {
			case !an && a.b[0], !bn && b.b[0]:
				v = true
			case an || bn:
				null = true
			}
		}
		if null {
			return nullScalar(n)
		}
		return &vec{n: n, scalar: true, b: []bool{v}}
	}
	out := &vec{n: n, b: make([]bool, n)}
	if a.valid == nil && b.valid == nil && !a.scalar && !b.scalar {
		x, y := a.b[:n], b.b[:n]
		if and {
			for i := range out.b {
				out.b[i] = x[i] && y[i]
			}
		} else {
			for i := range out.b {
				out.b[i] = x[i] || y[i]
			}
		}
		return out
	}
	out.valid = make([]bool, n)
	for i := 0; i < n; i++ {
		an, bn := a.null(i), b.null(i)
		av := !an && a.b[a.idx(i)]
		bv := !bn && b.b[b.idx(i)]
		if and {
			switch {
			case (!an && !av) || (!bn && !bv):
				out.valid[i] = true
			case an || bn:
			default:
				out.valid[i], out.b[i] = true, true
			}
		} else {
			switch {
			case av || bv:
				out.valid[i], out.b[i] = true, true
			case an || bn:
			default:
				out.valid[i] = true
			}
		}
	}
	return out
}

// unaryBoolKernel is NOT and the IS predicates.
type unaryBoolKernel struct {
	fn string
	x  kernel
	t  types.Type
}

func (cp *compiler) buildUnaryBool(x *Call) (kernel, error) {
	k, err := cp.build(x.Args[0])
	if err != nil {
		return nil, err
	}
	return &unaryBoolKernel{fn: x.Fn, x: k, t: x.Args[0].Type()}, nil
}

func (k *unaryBoolKernel) eval(c *ctx) (*vec, error) {
	a, err := k.x.eval(c)
	if err != nil {
		return nil, err
	}
	n := a.n
	m := n
	if a.scalar {
		m = 1
	}
	out := &vec{n: n, scalar: a.scalar, b: make([]bool, m)}
	switch k.fn {
	case "NOT":
		if a.allNull() {
			return a, nil
		}
		out.valid = a.valid
		for i := range out.b {
			out.b[i] = !a.b[i]
		}
	case "IS NULL", "IS NOT NULL":
		want := k.fn == "IS NULL"
		for i := range out.b {
			out.b[i] = a.null(i) == want
		}
	default:
		// IS [NOT] TRUE|FALSE: never NULL.
		val := k.fn == "IS TRUE" || k.fn == "IS NOT TRUE"
		not := k.fn == "IS NOT TRUE" || k.fn == "IS NOT FALSE"
		for i := range out.b {
			is := !a.null(i) && a.b[i] == val
			out.b[i] = is != not
		}
	}
	return out, nil
}
