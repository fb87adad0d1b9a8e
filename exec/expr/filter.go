package expr

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/sql/types"
)

// Predicate is a compiled boolean expression used as a filter. It is not
// safe for concurrent use; compile one per task.
type Predicate struct {
	f   filter
	env *EvalEnv
}

// filter narrows a selection: given the rows in (all rows when all is set)
// it appends to out the ones for which it is TRUE. out may alias in: rows
// are written at or before the position they are read from.
type filter interface {
	sel(c *ctx, in []int32, all bool, out []int32) ([]int32, error)
}

// CompilePredicate prepares a boolean expression as a filter.
func CompilePredicate(e Expr, env *EvalEnv) (*Predicate, error) {
	if k := e.Type().Kind; k != types.Boolean && k != types.Null {
		return nil, fmt.Errorf("filter %s is %s, not BOOLEAN", e, e.Type())
	}
	if env == nil {
		env = &EvalEnv{}
	}
	cp := &compiler{env: env, shared: sharedKeys([]Expr{e})}
	f, err := cp.buildFilter(e)
	if err != nil {
		return nil, err
	}
	return &Predicate{f: f, env: env}, nil
}

// Select appends to sel[:0] the indexes of rows for which the predicate is
// TRUE (NULL and FALSE drop the row) and returns it.
func (p *Predicate) Select(rec arrow.Record, sel []int32) ([]int32, error) {
	n := int(rec.NumRows())
	if cap(sel) < n {
		sel = make([]int32, 0, n)
	}
	c := newCtx(rec, p.env)
	return p.f.sel(c, nil, true, sel[:0])
}

func (cp *compiler) buildFilter(e Expr) (filter, error) {
	if x, ok := e.(*Call); ok && !isConstant(e) {
		switch x.Fn {
		case "AND":
			l, err := cp.buildFilter(x.Args[0])
			if err != nil {
				return nil, err
			}
			r, err := cp.buildFilter(x.Args[1])
			if err != nil {
				return nil, err
			}
			return &andFilter{l: l, r: r}, nil
		case "OR":
			l, err := cp.buildFilter(x.Args[0])
			if err != nil {
				return nil, err
			}
			r, err := cp.buildFilter(x.Args[1])
			if err != nil {
				return nil, err
			}
			return &orFilter{l: l, r: r}, nil
		case "=", "<>", "<", "<=", ">", ">=":
			if f := cp.cmpConstFilter(x); f != nil {
				return f, nil
			}
		case "IS NULL", "IS NOT NULL":
			if col, ok := x.Args[0].(*ColumnRef); ok {
				return &nullFilter{col: col.Index, t: col.T, want: x.Fn == "IS NULL"}, nil
			}
		}
	}
	k, err := cp.build(e)
	if err != nil {
		return nil, err
	}
	return &kernelFilter{k: k, lazy: mayFail(e)}, nil
}

// andFilter narrows the selection successively: the right side only sees
// rows the left side kept.
type andFilter struct{ l, r filter }

func (f *andFilter) sel(c *ctx, in []int32, all bool, out []int32) ([]int32, error) {
	s, err := f.l.sel(c, in, all, out)
	if err != nil {
		return nil, err
	}
	if len(s) == 0 {
		return s, nil
	}
	return f.r.sel(c, s, false, s[:0])
}

// orFilter keeps the rows of the left side and adds the rows the right side
// keeps among the remaining ones.
type orFilter struct{ l, r filter }

func (f *orFilter) sel(c *ctx, in []int32, all bool, out []int32) ([]int32, error) {
	left, err := f.l.sel(c, in, all, make([]int32, 0, selLen(c, in, all)))
	if err != nil {
		return nil, err
	}
	rest := make([]int32, 0, selLen(c, in, all)-len(left))
	j := 0
	each(c, in, all, func(i int32) {
		if j < len(left) && left[j] == i {
			j++
			return
		}
		rest = append(rest, i)
	})
	right, err := f.r.sel(c, rest, false, rest[:0])
	if err != nil {
		return nil, err
	}
	// Merge two sorted lists into out.
	out = out[:0]
	a, b := 0, 0
	for a < len(left) || b < len(right) {
		if b == len(right) || (a < len(left) && left[a] < right[b]) {
			out = append(out, left[a])
			a++
		} else {
			out = append(out, right[b])
			b++
		}
	}
	return out, nil
}

func selLen(c *ctx, in []int32, all bool) int {
	if all {
		return c.n
	}
	return len(in)
}

func each(c *ctx, in []int32, all bool, f func(int32)) {
	if all {
		for i := 0; i < c.n; i++ {
			f(int32(i))
		}
		return
	}
	for _, i := range in {
		f(i)
	}
}

// kernelFilter is the general case: evaluate the expression and keep TRUE
// rows. When the selection is already narrowed and the expression may fail,
// it is evaluated only over the selected rows.
type kernelFilter struct {
	k    kernel
	lazy bool
}

func (f *kernelFilter) sel(c *ctx, in []int32, all bool, out []int32) ([]int32, error) {
	if !all && f.lazy && len(in) < c.n {
		v, err := f.k.eval(c.subset(in))
		if err != nil {
			return nil, err
		}
		out = out[:0]
		for j, i := range in {
			if !v.null(j) && v.b[v.idx(j)] {
				out = append(out, i)
			}
		}
		return out, nil
	}
	v, err := f.k.eval(c)
	if err != nil {
		return nil, err
	}
	out = out[:0]
	if v.scalar {
		if v.allNull() || !v.b[0] {
			return out, nil
		}
		each(c, in, all, func(i int32) { out = append(out, i) })
		return out, nil
	}
	if all {
		if v.valid == nil {
			for i, b := range v.b[:c.n] {
				if b {
					out = append(out, int32(i))
				}
			}
			return out, nil
		}
		for i, b := range v.b[:c.n] {
			if b && v.valid[i] {
				out = append(out, int32(i))
			}
		}
		return out, nil
	}
	for _, i := range in {
		if v.b[i] && (v.valid == nil || v.valid[i]) {
			out = append(out, i)
		}
	}
	return out, nil
}

// nullFilter is col IS [NOT] NULL.
type nullFilter struct {
	col  int
	t    types.Type
	want bool
}

func (f *nullFilter) sel(c *ctx, in []int32, all bool, out []int32) ([]int32, error) {
	v, err := c.column(f.col, f.t)
	if err != nil {
		return nil, err
	}
	out = out[:0]
	each(c, in, all, func(i int32) {
		if v.null(int(i)) == f.want {
			out = append(out, i)
		}
	})
	return out, nil
}

// cmpConstFilter recognises column <op> constant (either order) and returns
// a filter that compares straight into the selection vector.
func (cp *compiler) cmpConstFilter(x *Call) filter {
	op := parseCmp(x.Fn)
	col, okc := x.Args[0].(*ColumnRef)
	other := x.Args[1]
	if !okc {
		col, okc = x.Args[1].(*ColumnRef)
		other = x.Args[0]
		op = op.flip()
	}
	if !okc || !isConstant(other) {
		return nil
	}
	v, err := Const(other, cp.env)
	if err != nil {
		return nil // the general path reports the error
	}
	if v == nil {
		return &falseFilter{}
	}
	switch physOf(col.T) {
	case physI64:
		if c, ok := v.(int64); ok {
			return &cmpFilter[int64]{col: col.Index, t: col.T, op: op, c: c, get: func(v *vec) []int64 { return v.i64 }}
		}
	case physI32:
		if c, ok := v.(int32); ok {
			return &cmpFilter[int32]{col: col.Index, t: col.T, op: op, c: c, get: func(v *vec) []int32 { return v.i32 }}
		}
	case physF64:
		if c, ok := v.(float64); ok {
			return &cmpFilter[float64]{col: col.Index, t: col.T, op: op, c: c, get: func(v *vec) []float64 { return v.f64 }}
		}
	}
	return nil
}

type falseFilter struct{}

func (falseFilter) sel(_ *ctx, _ []int32, _ bool, out []int32) ([]int32, error) {
	return out[:0], nil
}

// cmpFilter compares a numeric column with a constant into the selection.
type cmpFilter[T int32 | int64 | float64] struct {
	col int
	t   types.Type
	op  cmpOp
	c   T
	get func(*vec) []T
}

func (f *cmpFilter[T]) sel(c *ctx, in []int32, all bool, out []int32) ([]int32, error) {
	v, err := c.column(f.col, f.t)
	if err != nil {
		return nil, err
	}
	x := f.get(v)
	out = out[:0]
	if v.valid == nil {
		if all {
			return selAll(f.op, x[:c.n], f.c, out), nil
		}
		return selSome(f.op, x, f.c, in, out), nil
	}
	valid := v.valid
	each(c, in, all, func(i int32) {
		if valid[i] && cmpOne(f.op, x[i], f.c) {
			out = append(out, i)
		}
	})
	return out, nil
}

// selAll and selSome are branch-light loops: every row is written, and the
// output length advances only for matches.
func selAll[T int32 | int64 | float64](op cmpOp, x []T, c T, out []int32) []int32 {
	out = out[:len(x)]
	k := 0
	switch op {
	case opEQ:
		for i, v := range x {
			out[k] = int32(i)
			k += int(b2i(v == c))
		}
	case opNE:
		for i, v := range x {
			out[k] = int32(i)
			k += int(b2i(v != c))
		}
	case opLT:
		for i, v := range x {
			out[k] = int32(i)
			k += int(b2i(v < c))
		}
	case opLE:
		for i, v := range x {
			out[k] = int32(i)
			k += int(b2i(v <= c))
		}
	case opGT:
		for i, v := range x {
			out[k] = int32(i)
			k += int(b2i(v > c))
		}
	case opGE:
		for i, v := range x {
			out[k] = int32(i)
			k += int(b2i(v >= c))
		}
	}
	return out[:k]
}

func selSome[T int32 | int64 | float64](op cmpOp, x []T, c T, in, out []int32) []int32 {
	out = out[:len(in)]
	k := 0
	switch op {
	case opEQ:
		for _, i := range in {
			out[k] = i
			k += int(b2i(x[i] == c))
		}
	case opNE:
		for _, i := range in {
			out[k] = i
			k += int(b2i(x[i] != c))
		}
	case opLT:
		for _, i := range in {
			out[k] = i
			k += int(b2i(x[i] < c))
		}
	case opLE:
		for _, i := range in {
			out[k] = i
			k += int(b2i(x[i] <= c))
		}
	case opGT:
		for _, i := range in {
			out[k] = i
			k += int(b2i(x[i] > c))
		}
	case opGE:
		for _, i := range in {
			out[k] = i
			k += int(b2i(x[i] >= c))
		}
	}
	return out[:k]
}
