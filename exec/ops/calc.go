// Package ops holds the operators the planner puts into job graphs.
package ops

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Calc filters and projects: it keeps the rows for which Filter is TRUE and
// computes Exprs over them. Row kinds pass through unchanged, so Calc works
// on changelogs as well as on append-only streams.
type Calc struct {
	exec.BaseOperator
	Filter expr.Expr // nil keeps every row
	Exprs  []expr.Expr
	Out    types.Schema

	pred    *expr.Predicate
	prog    *expr.Program
	schema  *arrow.Schema
	sel     []int32
	refs    []int // input columns the projections read (compacted first)
	remap   []expr.Expr
	allRows []int32
}

// Open compiles the expressions.
func (c *Calc) Open(ctx *exec.OpContext) error {
	env := &expr.EvalEnv{Now: ctx.Now, Location: ctx.Location}
	if c.Filter != nil {
		p, err := expr.CompilePredicate(c.Filter, env)
		if err != nil {
			return fmt.Errorf("compile filter: %w", err)
		}
		c.pred = p
	}
	p, err := expr.Compile(c.Exprs, env)
	if err != nil {
		return fmt.Errorf("compile projection: %w", err)
	}
	c.prog = p
	c.schema = c.Out.Arrow()
	return nil
}

// Process evaluates one batch.
func (c *Calc) Process(_ int, b batch.Batch, out exec.Collector) error {
	in := b
	if c.pred != nil {
		sel, err := c.pred.Select(b.Rec, c.sel)
		if err != nil {
			return err
		}
		c.sel = sel
		if len(sel) == 0 {
			return nil
		}
		if len(sel) < b.Len() {
			// Compact once, then project only the surviving rows.
			in = batch.TakeBatch(b, sel)
		}
	}
	cols, err := c.prog.Eval(in.Rec)
	if err != nil {
		return err
	}
	rec := batch.NewRecordArrow(c.schema, cols, in.Len())
	return out.Collect(batch.Batch{Rec: rec, Kinds: in.Kinds})
}
