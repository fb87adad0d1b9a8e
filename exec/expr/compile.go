package expr

import (
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/sql/types"
)

// kernel evaluates one node of a compiled expression over a whole batch
// (one call per batch, never per row).
type kernel interface {
	eval(c *ctx) (*vec, error)
}

// ctx is the evaluation state of one batch: the input, the columns already
// unpacked, and the per-batch clock. A subset ctx evaluates a branch (CASE,
// AND's right side, ...) over only the rows that need it, so that errors
// such as division by zero only fire for rows the branch really computes.
type ctx struct {
	n      int
	rec    arrow.Record
	cols   []*vec
	parent *ctx
	idx    []int32
	env    *EvalEnv
	now    *time.Time
	// memo holds the results of shared subexpressions over these rows
	// (see memoKernel).
	memo map[int]*vec
}

func newCtx(rec arrow.Record, env *EvalEnv) *ctx {
	c := &ctx{env: env}
	if rec != nil {
		c.n = int(rec.NumRows())
		c.rec = rec
		c.cols = make([]*vec, rec.NumCols())
	}
	return c
}

func (c *ctx) column(i int, t types.Type) (*vec, error) {
	if i < 0 || i >= len(c.cols) {
		return nil, fmt.Errorf("column $%d out of range: the input has %d columns", i, len(c.cols))
	}
	if v := c.cols[i]; v != nil {
		return v, nil
	}
	var v *vec
	if c.parent != nil {
		pv, err := c.parent.column(i, t)
		if err != nil {
			return nil, err
		}
		v = pv.take(t, c.idx)
	} else {
		var err error
		if v, err = fromArrow(c.rec.Column(i)); err != nil {
			return nil, fmt.Errorf("column $%d: %w", i, err)
		}
	}
	c.cols[i] = v
	return v, nil
}

// subset returns a ctx over rows idx (sorted, distinct) of c.
func (c *ctx) subset(idx []int32) *ctx {
	if len(idx) == c.n {
		return c
	}
	return &ctx{n: len(idx), cols: make([]*vec, len(c.cols)), parent: c, idx: idx, env: c.env}
}

// clock returns the batch's CURRENT_TIMESTAMP, read once per batch.
func (c *ctx) clock() time.Time {
	if c.parent != nil {
		return c.parent.clock() // one reading per batch, subsets included
	}
	if c.now == nil {
		t := time.Now()
		if c.env != nil && c.env.Now != nil {
			t = c.env.Now()
		}
		c.now = &t
	}
	return *c.now
}

func (c *ctx) location() *time.Location {
	if c.env != nil && c.env.Location != nil {
		return c.env.Location
	}
	return time.UTC
}

// Program is a list of compiled expressions. It is not safe for concurrent
// use; compile one per task.
type Program struct {
	exprs   []Expr
	kernels []kernel
	env     *EvalEnv
}

// Compile prepares a list of expressions for repeated evaluation.
func Compile(exprs []Expr, env *EvalEnv) (*Program, error) {
	if env == nil {
		env = &EvalEnv{}
	}
	p := &Program{exprs: exprs, env: env}
	cp := &compiler{env: env, shared: sharedKeys(exprs)}
	for _, e := range exprs {
		k, err := cp.build(e)
		if err != nil {
			return nil, err
		}
		p.kernels = append(p.kernels, k)
	}
	return p, nil
}

// Eval evaluates every expression over rec; one array per expression, of the
// physical type of its Type(). The caller releases the arrays.
func (p *Program) Eval(rec arrow.Record) ([]arrow.Array, error) {
	c := newCtx(rec, p.env)
	out := make([]arrow.Array, len(p.kernels))
	for i, k := range p.kernels {
		v, err := k.eval(c)
		if err != nil {
			for _, a := range out[:i] {
				a.Release()
			}
			return nil, err
		}
		out[i] = v.toArrow(p.exprs[i].Type())
	}
	return out, nil
}

// Const evaluates an expression with no column references (interval
// arguments of windows, LIMIT). The result is the Go value of the physical
// type (int64, int32, float64, bool, string) or nil for NULL.
func Const(e Expr, env *EvalEnv) (any, error) {
	if refs := Refs(e); len(refs) > 0 {
		return nil, fmt.Errorf("%s is not a constant", e)
	}
	if env == nil {
		env = &EvalEnv{}
	}
	cp := &compiler{env: env}
	k, err := cp.build(e)
	if err != nil {
		return nil, err
	}
	c := &ctx{n: 1, env: env}
	v, err := k.eval(c)
	if err != nil {
		return nil, err
	}
	return v.value(e.Type(), 0), nil
}

// compiler turns bound trees into kernels.
type compiler struct {
	env *EvalEnv
	// shared numbers the structural keys of the subexpressions that occur
	// more than once among those compiled together (see memoKernel).
	shared map[string]int
}

// volatile reports functions whose value changes between batches.
func volatile(fn string) bool {
	switch fn {
	case "CURRENT_TIMESTAMP", "NOW", "LOCALTIMESTAMP", "CURRENT_DATE", "CURRENT_TIME",
		"PROCTIME", "UNIX_TIMESTAMP", "RAND", "UUID", "LOCALTIME", "CURRENT_ROW_TIMESTAMP":
		return true
	}
	return false
}

func isConstant(e Expr) bool {
	ok := true
	walk(e, func(x Expr) {
		switch c := x.(type) {
		case *ColumnRef:
			ok = false
		case *Call:
			if volatile(c.Fn) {
				ok = false
			}
		}
	})
	return ok
}

// constKernel returns a precomputed scalar.
type constKernel struct {
	v scalarValue
}

type scalarValue struct {
	t   types.Type
	val any
}

func (k *constKernel) eval(c *ctx) (*vec, error) { return scalarVec(k.v.t, k.v.val, c.n), nil }

// build compiles e, folding constant subtrees once (so x * 0.9 multiplies
// by a scalar, and CAST('2024-01-01' AS DATE) is parsed at compile time).
func (cp *compiler) build(e Expr) (kernel, error) {
	if l, ok := e.(*Literal); ok {
		return &constKernel{v: scalarValue{t: l.T, val: l.V}}, nil
	}
	if _, ok := e.(*Call); ok && isConstant(e) {
		k, err := cp.buildNode(e)
		if err != nil {
			return nil, err
		}
		v, err := k.eval(&ctx{n: 1, env: cp.env})
		if err != nil {
			return nil, err
		}
		return &constKernel{v: scalarValue{t: e.Type(), val: v.value(e.Type(), 0)}}, nil
	}
	if _, ok := e.(*Call); ok && cp.shared != nil {
		if id, ok := cp.shared[exprKey(e)]; ok {
			k, err := cp.buildNode(e)
			if err != nil {
				return nil, err
			}
			return &memoKernel{id: id, k: k, t: e.Type()}, nil
		}
	}
	return cp.buildNode(e)
}

func (cp *compiler) buildAll(es []Expr) ([]kernel, error) {
	ks := make([]kernel, len(es))
	for i, e := range es {
		k, err := cp.build(e)
		if err != nil {
			return nil, err
		}
		ks[i] = k
	}
	return ks, nil
}

// colKernel reads an input column.
type colKernel struct {
	index int
	t     types.Type
}

func (k *colKernel) eval(c *ctx) (*vec, error) { return c.column(k.index, k.t) }

func (cp *compiler) buildNode(e Expr) (kernel, error) {
	switch x := e.(type) {
	case *ColumnRef:
		return &colKernel{index: x.Index, t: x.T}, nil
	case *Literal:
		return &constKernel{v: scalarValue{t: x.T, val: x.V}}, nil
	case *Call:
		return cp.buildCall(x)
	}
	return nil, fmt.Errorf("cannot compile expression %T", e)
}

func (cp *compiler) buildCall(x *Call) (kernel, error) {
	switch x.Fn {
	case "+", "-", "*", "/", "%":
		return cp.buildArith(x)
	case "NEG":
		return cp.buildNeg(x)
	case "=", "<>", "<", "<=", ">", ">=":
		return cp.buildCompare(x)
	case "AND", "OR":
		return cp.buildLogic(x)
	case "NOT", "IS NULL", "IS NOT NULL", "IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE":
		return cp.buildUnaryBool(x)
	case "CAST":
		return cp.buildCast(x)
	case "CASE":
		return cp.buildCase(x)
	case "IN", "NOT IN":
		return cp.buildIn(x)
	case "LIKE", "NOT LIKE":
		return cp.buildLike(x)
	}
	return cp.buildFunction(x)
}
