// Package ops holds the operators the planner puts into job graphs.
package ops

import (
	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Calc filters and projects: it keeps the rows for which Filter is TRUE and
// computes Exprs over them. Row kinds pass through unchanged, so Calc works
// on changelogs as well as on append-only streams. Filter and projections
// are compiled together, so a subexpression they share (Nexmark q21's
// REGEXP_EXTRACT in WHERE and in the CASE) is evaluated once per batch.
type Calc struct {
	exec.BaseOperator
	Filter expr.Expr // nil keeps every row
	Exprs  []expr.Expr
	Out    types.Schema

	prog   *expr.CalcProgram
	schema *arrow.Schema
	sel    []int32
}

// Open compiles the expressions.
func (c *Calc) Open(ctx *exec.OpContext) error {
	env := &expr.EvalEnv{Now: ctx.Now, Location: ctx.Location}
	p, err := expr.CompileCalc(c.Filter, c.Exprs, env)
	if err != nil {
		return err
	}
	c.prog = p
	c.schema = c.Out.Arrow()
	return nil
}

// Process evaluates one batch.
func (c *Calc) Process(_ int, b batch.Batch, out exec.Collector) error {
	cols, kept, all, err := c.prog.Eval(b.Rec, c.sel)
	if err != nil {
		return err
	}
	if all {
		rec := batch.NewRecordArrow(c.schema, cols, b.Len())
		return out.Collect(batch.Batch{Rec: rec, Kinds: b.Kinds})
	}
	c.sel = kept // reuse its storage for the next batch
	if len(kept) == 0 {
		return nil
	}
	var kinds []batch.RowKind
	if b.Kinds != nil {
		kinds = make([]batch.RowKind, len(kept))
		for j, i := range kept {
			kinds[j] = b.Kinds[i]
		}
	}
	rec := batch.NewRecordArrow(c.schema, cols, len(kept))
	return out.Collect(batch.Batch{Rec: rec, Kinds: kinds})
}
