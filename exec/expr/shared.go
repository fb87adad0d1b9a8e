package expr

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/sql/types"
)

// Common subexpression elimination. The compiler finds the structurally
// identical subtrees of the expressions compiled together (a filter and
// the projections of one Calc, or the expressions of one Program) and
// wraps each in a memoKernel. A memoKernel remembers its result per ctx,
// so the second occurrence over the same rows reads the first's vec, and
// a subset ctx (the rows a filter kept, a CASE branch) takes the rows it
// needs from a result an enclosing ctx already computed.
//
// Sharing never evaluates anything on rows the unshared program would
// not have evaluated: a result is only reused, never computed ahead of
// need, so an expression that can fail (a CAST) errors exactly where it
// did before. Lazy branches evaluate in a fresh subset ctx, whose results
// stay there.

// memoKernel evaluates k once per ctx.
type memoKernel struct {
	id int
	k  kernel
	t  types.Type
}

func (k *memoKernel) eval(c *ctx) (*vec, error) {
	if v := c.memoized(k.id, k.t); v != nil {
		return v, nil
	}
	v, err := k.k.eval(c)
	if err != nil {
		return nil, err
	}
	c.remember(k.id, v)
	return v, nil
}

// memoized returns the result of shared expression id over c's rows when
// c or an enclosing ctx has computed it (taking c's rows from the
// enclosing result), or nil.
func (c *ctx) memoized(id int, t types.Type) *vec {
	if v, ok := c.memo[id]; ok {
		return v
	}
	if c.parent == nil {
		return nil
	}
	pv := c.parent.memoized(id, t)
	if pv == nil {
		return nil
	}
	v := pv.take(t, c.idx)
	c.remember(id, v)
	return v
}

func (c *ctx) remember(id int, v *vec) {
	if c.memo == nil {
		c.memo = make(map[int]*vec)
	}
	c.memo[id] = v
}

// sharedKeys returns an id for the structural key of every subtree that
// occurs more than once in roots and is worth sharing: a call (a column
// is already read once per ctx), not constant (folded at compile time),
// and without volatile functions (two RAND() are two draws).
func sharedKeys(roots []Expr) map[string]int {
	count := map[string]int{}
	for _, r := range roots {
		if r == nil {
			continue
		}
		walk(r, func(x Expr) {
			if c, ok := x.(*Call); ok && !isConstant(x) && !hasVolatile(c) {
				count[exprKey(x)]++
			}
		})
	}
	var ids map[string]int
	for k, n := range count {
		if n > 1 {
			if ids == nil {
				ids = map[string]int{}
			}
			ids[k] = len(ids)
		}
	}
	return ids
}

func hasVolatile(e Expr) bool {
	v := false
	walk(e, func(x Expr) {
		if c, ok := x.(*Call); ok && volatile(c.Fn) {
			v = true
		}
	})
	return v
}

// exprKey renders e with everything evaluation depends on (function,
// types, auxiliary argument, literal values), unlike String, which hides
// implicit casts and may show a literal by its text.
func exprKey(e Expr) string {
	var sb strings.Builder
	writeKey(&sb, e)
	return sb.String()
}

func writeKey(sb *strings.Builder, e Expr) {
	switch x := e.(type) {
	case *ColumnRef:
		fmt.Fprintf(sb, "$%d:%s", x.Index, typeKey(x.T))
	case *Literal:
		fmt.Fprintf(sb, "lit:%s:%T:%#v", typeKey(x.T), x.V, x.V)
	case *Call:
		fmt.Fprintf(sb, "%q:%s:%q:%t:%t(", x.Fn, typeKey(x.T), x.Aux, x.Try, x.Implicit)
		for i, a := range x.Args {
			if i > 0 {
				sb.WriteByte(',')
			}
			writeKey(sb, a)
		}
		sb.WriteByte(')')
	default:
		// An expression kind this file does not know: never equal to
		// another one (the pointer identifies it).
		fmt.Fprintf(sb, "?%T:%p", e, e)
	}
}

func typeKey(t types.Type) string {
	return fmt.Sprintf("%d/%d/%d/%d/%t/%p", t.Kind, t.Precision, t.Scale, t.Length, t.NotNull, t.Row)
}

// CalcProgram is a filter and a list of projections compiled together,
// so that subexpressions they share are evaluated once per batch. It is
// not safe for concurrent use; compile one per task.
type CalcProgram struct {
	filter  filter // nil keeps every row
	exprs   []Expr
	kernels []kernel
	env     *EvalEnv
}

// CompileCalc prepares filter (nil for none) and exprs for repeated
// evaluation by EvalCalc.
func CompileCalc(filterExpr Expr, exprs []Expr, env *EvalEnv) (*CalcProgram, error) {
	if env == nil {
		env = &EvalEnv{}
	}
	roots := append([]Expr{filterExpr}, exprs...)
	cp := &compiler{env: env, shared: sharedKeys(roots)}
	p := &CalcProgram{exprs: exprs, env: env}
	if filterExpr != nil {
		if k := filterExpr.Type().Kind; k != types.Boolean && k != types.Null {
			return nil, fmt.Errorf("filter %s is %s, not BOOLEAN", filterExpr, filterExpr.Type())
		}
		f, err := cp.buildFilter(filterExpr)
		if err != nil {
			return nil, fmt.Errorf("compile filter: %w", err)
		}
		p.filter = f
	}
	for _, e := range exprs {
		k, err := cp.build(e)
		if err != nil {
			return nil, fmt.Errorf("compile projection: %w", err)
		}
		p.kernels = append(p.kernels, k)
	}
	return p, nil
}

// Eval keeps the rows of rec for which the filter is TRUE and evaluates
// the projections over them. all reports that every row was kept; else
// kept lists the kept rows (it is built in sel's storage when large
// enough) and cols is nil when kept is empty. The caller releases cols.
func (p *CalcProgram) Eval(rec arrow.Record, sel []int32) (cols []arrow.Array, kept []int32, all bool, err error) {
	n := int(rec.NumRows())
	c := newCtx(rec, p.env)
	pc := c
	if p.filter != nil {
		if cap(sel) < n {
			sel = make([]int32, 0, n)
		}
		kept, err = p.filter.sel(c, nil, true, sel[:0])
		if err != nil {
			return nil, nil, false, err
		}
		if len(kept) == 0 {
			return nil, kept, false, nil
		}
		// The projections see only the kept rows, as a subset of the
		// filter's ctx: columns and shared results come from there.
		pc = c.subset(kept)
	}
	all = pc == c
	cols = make([]arrow.Array, len(p.kernels))
	for i, k := range p.kernels {
		v, err := k.eval(pc)
		if err != nil {
			for _, a := range cols[:i] {
				a.Release()
			}
			return nil, nil, false, err
		}
		cols[i] = v.toArrow(p.exprs[i].Type())
	}
	return cols, kept, all, nil
}
