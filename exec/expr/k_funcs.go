package expr

import (
	"fmt"

	"github.com/streamsql/streamsql/sql/types"
)

// funcKernel evaluates the arguments of a function and hands the vecs to
// its batch implementation. Strict functions (most) are NULL when any
// argument is NULL; a NULL constant argument settles the whole batch.
type funcKernel struct {
	args   []kernel
	argT   []types.Type
	t      types.Type
	strict bool
	text   string
	impl   func(c *ctx, a []*vec, n int) (*vec, error)
}

func (k *funcKernel) eval(c *ctx) (*vec, error) {
	vs := make([]*vec, len(k.args))
	for i, ak := range k.args {
		v, err := ak.eval(c)
		if err != nil {
			return nil, err
		}
		if k.strict && v.allNull() {
			return nullScalar(c.n), nil
		}
		vs[i] = v
	}
	out, err := k.impl(c, vs, c.n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.text, err)
	}
	return out, nil
}

func (cp *compiler) newFunc(x *Call, strict bool, impl func(c *ctx, a []*vec, n int) (*vec, error)) (kernel, error) {
	ks, err := cp.buildAll(x.Args)
	if err != nil {
		return nil, err
	}
	argT := make([]types.Type, len(x.Args))
	for i, a := range x.Args {
		argT[i] = a.Type()
	}
	return &funcKernel{args: ks, argT: argT, t: x.T, strict: strict, text: x.String(), impl: impl}, nil
}

func (cp *compiler) buildFunction(x *Call) (kernel, error) {
	switch x.Fn {
	case "COALESCE":
		k := &coalesceKernel{t: x.T}
		for _, a := range x.Args {
			ak, err := cp.build(a)
			if err != nil {
				return nil, err
			}
			k.args = append(k.args, branch{k: ak, lazy: mayFail(a)})
		}
		return k, nil
	case "IF":
		return cp.buildCase(&Call{Fn: "CASE", Args: x.Args, T: x.T})
	case "NULLIF":
		return cp.buildCase(&Call{Fn: "CASE", Args: []Expr{x.Args[2], typedNull(x.T), x.Args[0]}, T: x.T})
	case "GREATEST", "LEAST":
		op := opGT
		if x.Fn == "LEAST" {
			op = opLT
		}
		p := physOf(x.T)
		return cp.newFunc(x, true, func(c *ctx, a []*vec, n int) (*vec, error) {
			asm := newAssembler(n)
			asm.srcs = a
			for i := 0; i < n; i++ {
				best := -1
				for j, v := range a {
					if v.null(i) {
						best = -1
						break
					}
					if best < 0 || compareAt(op, p, v, a[best], i) {
						best = j
					}
				}
				if best >= 0 {
					asm.which[i], asm.row[i] = int32(best), int32(i)
				}
			}
			return asm.build(x.T), nil
		})
	}
	if k, ok, err := cp.buildString(x); ok || err != nil {
		return k, err
	}
	if k, ok, err := cp.buildMath(x); ok || err != nil {
		return k, err
	}
	if k, ok, err := cp.buildTime(x); ok || err != nil {
		return k, err
	}
	return nil, fmt.Errorf("not supported yet: function %s", x.Fn)
}
