package expr

import (
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/sql/types"
)

type cmpOp uint8

const (
	opEQ cmpOp = iota
	opNE
	opLT
	opLE
	opGT
	opGE
)

func parseCmp(fn string) cmpOp {
	switch fn {
	case "=":
		return opEQ
	case "<>":
		return opNE
	case "<":
		return opLT
	case "<=":
		return opLE
	case ">":
		return opGT
	}
	return opGE
}

// flip gives the operator with its operands swapped (c < x is x > c).
func (op cmpOp) flip() cmpOp {
	switch op {
	case opLT:
		return opGT
	case opLE:
		return opGE
	case opGT:
		return opLT
	case opGE:
		return opLE
	}
	return op
}

type ordered interface {
	~int | ~int32 | ~int64 | ~float64 | ~string
}

// cmpVS compares x[i] with c into out; the switch is outside the loops so
// each loop is a single compare per row.
func cmpVS[T ordered](op cmpOp, x []T, c T, out []bool) {
	x = x[:len(out)]
	switch op {
	case opEQ:
		for i := range out {
			out[i] = x[i] == c
		}
	case opNE:
		for i := range out {
			out[i] = x[i] != c
		}
	case opLT:
		for i := range out {
			out[i] = x[i] < c
		}
	case opLE:
		for i := range out {
			out[i] = x[i] <= c
		}
	case opGT:
		for i := range out {
			out[i] = x[i] > c
		}
	case opGE:
		for i := range out {
			out[i] = x[i] >= c
		}
	}
}

func cmpVV[T ordered](op cmpOp, x, y []T, out []bool) {
	x, y = x[:len(out)], y[:len(out)]
	switch op {
	case opEQ:
		for i := range out {
			out[i] = x[i] == y[i]
		}
	case opNE:
		for i := range out {
			out[i] = x[i] != y[i]
		}
	case opLT:
		for i := range out {
			out[i] = x[i] < y[i]
		}
	case opLE:
		for i := range out {
			out[i] = x[i] <= y[i]
		}
	case opGT:
		for i := range out {
			out[i] = x[i] > y[i]
		}
	case opGE:
		for i := range out {
			out[i] = x[i] >= y[i]
		}
	}
}

func cmpOne[T ordered](op cmpOp, x, y T) bool {
	switch op {
	case opEQ:
		return x == y
	case opNE:
		return x != y
	case opLT:
		return x < y
	case opLE:
		return x <= y
	case opGT:
		return x > y
	}
	return x >= y
}

// compareKernel is a comparison of two values of one physical type.
type compareKernel struct {
	op   cmpOp
	l, r kernel
	t    types.Type // operand type
}

func (cp *compiler) buildCompare(x *Call) (kernel, error) {
	l, err := cp.build(x.Args[0])
	if err != nil {
		return nil, err
	}
	r, err := cp.build(x.Args[1])
	if err != nil {
		return nil, err
	}
	lt, rt := x.Args[0].Type(), x.Args[1].Type()
	if physOf(lt) != physOf(rt) || (lt.Kind == types.Decimal && lt.Scale != rt.Scale) {
		return nil, fmt.Errorf("%s: cannot compare %s with %s", x, lt, rt)
	}
	return &compareKernel{op: parseCmp(x.Fn), l: l, r: r, t: lt}, nil
}

func (k *compareKernel) eval(c *ctx) (*vec, error) {
	a, err := k.l.eval(c)
	if err != nil {
		return nil, err
	}
	b, err := k.r.eval(c)
	if err != nil {
		return nil, err
	}
	return compareVecs(k.op, physOf(k.t), a, b, c.n), nil
}

func compareVecs(op cmpOp, p phys, a, b *vec, n int) *vec {
	if a.allNull() || b.allNull() {
		return nullScalar(n)
	}
	if a.scalar && !b.scalar {
		a, b, op = b, a, op.flip()
	}
	out := &vec{n: n, valid: andValid(n, a, b)}
	if a.scalar {
		out.scalar, out.valid = true, nil
		out.b = []bool{compareAt(op, p, a, b, 0)}
		return out
	}
	out.b = make([]bool, n)
	switch {
	case p == physI64 && b.scalar:
		cmpVS(op, a.i64, b.i64[0], out.b)
	case p == physI64:
		cmpVV(op, a.i64, b.i64, out.b)
	case p == physF64 && b.scalar:
		cmpVS(op, a.f64, b.f64[0], out.b)
	case p == physF64:
		cmpVV(op, a.f64, b.f64, out.b)
	case p == physI32 && b.scalar:
		cmpVS(op, a.i32, b.i32[0], out.b)
	case p == physI32:
		cmpVV(op, a.i32, b.i32, out.b)
	case p == physStr && b.scalar:
		cmpStrVS(op, a, b.str(0), out.b)
	default:
		for i := range out.b {
			out.b[i] = compareAt(op, p, a, b, i)
		}
	}
	return out
}

// cmpStrVS compares the strings of a with c into out, reading offsets
// directly; = and <> check the length first (LOWER(x) = 'apple').
func cmpStrVS(op cmpOp, a *vec, c string, out []bool) {
	offs := a.offs[:len(out)+1]
	switch op {
	case opEQ, opNE:
		ne := op == opNE
		for i := range out {
			lo, hi := offs[i], offs[i+1]
			out[i] = (int(hi-lo) == len(c) && unsafeString(a.data[lo:hi]) == c) != ne
		}
	default:
		for i := range out {
			out[i] = cmpOne(op, strings.Compare(unsafeString(a.data[offs[i]:offs[i+1]]), c), 0)
		}
	}
}

// compareAt compares row i (general path: strings, booleans, scalars).
func compareAt(op cmpOp, p phys, a, b *vec, i int) bool {
	switch p {
	case physI32:
		return cmpOne(op, a.i32[a.idx(i)], b.i32[b.idx(i)])
	case physI64:
		return cmpOne(op, a.i64[a.idx(i)], b.i64[b.idx(i)])
	case physF64:
		return cmpOne(op, a.f64[a.idx(i)], b.f64[b.idx(i)])
	case physStr:
		return cmpOne(op, strings.Compare(a.str(i), b.str(i)), 0)
	case physBool:
		return cmpOne(op, b2i(a.b[a.idx(i)]), b2i(b.b[b.idx(i)]))
	}
	return false
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
