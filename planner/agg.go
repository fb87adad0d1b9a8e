package planner

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// AggFunc names an aggregate function the engine computes.
type AggFunc string

const (
	AggCount         AggFunc = "COUNT" // COUNT(x): non-NULL values
	AggCountStar     AggFunc = "COUNT(*)"
	AggCountDistinct AggFunc = "COUNT(DISTINCT)"
	AggSum           AggFunc = "SUM"
	AggAvg           AggFunc = "AVG"
	AggMin           AggFunc = "MIN"
	AggMax           AggFunc = "MAX"
)

// AggCall is one aggregate of a GroupAgg: its argument and FILTER are
// columns of the aggregate's input (-1 when absent).
type AggCall struct {
	Func    AggFunc
	Arg     int
	Filter  int
	ArgType types.Type
	Type    types.Type
	// Text renders the call for EXPLAIN.
	Text string
}

// GroupAgg groups its input by key columns and computes aggregates; its
// output is the keys followed by the aggregates, as a changelog (+I the
// first result of a key, -U/+U when it changes, -D when its last row is
// retracted).
type GroupAgg struct {
	Input Node
	Keys  []int
	Aggs  []AggCall
	Out   types.Schema
	// Distinct marks SELECT DISTINCT (keys only).
	Distinct bool
	// Windowed: grouped by window_start and window_end of a window TVF;
	// key WindowEnd is window_end. Emits each window's final rows once,
	// insert-only, when the watermark passes its end.
	Windowed    bool
	WindowStart int
	WindowEnd   int
	// Session: the windows are SESSION windows, merged per key.
	Session bool
	// ProcTime: the windows are over PROCTIME() and fire by the wall clock.
	ProcTime bool
}

func (g *GroupAgg) Schema() types.Schema { return g.Out }
func (g *GroupAgg) Inputs() []Node       { return []Node{g.Input} }
func (g *GroupAgg) Bounded() bool        { return g.Input.Bounded() }
func (g *GroupAgg) Describe() string {
	in := g.Input.Schema().Names()
	keys := make([]string, len(g.Keys))
	for i, k := range g.Keys {
		keys[i] = in[k]
	}
	if g.Distinct {
		return "GroupAggregate(distinct=[" + strings.Join(keys, ", ") + "])"
	}
	aggs := make([]string, len(g.Aggs))
	for i, a := range g.Aggs {
		aggs[i] = a.Text + " AS " + g.Out.Fields[len(g.Keys)+i].Name
	}
	d := "GroupAggregate("
	if g.Windowed {
		d = "WindowAggregate("
		if g.ProcTime {
			d += "proctime, "
		}
	}
	if len(keys) > 0 {
		d += "groupBy=[" + strings.Join(keys, ", ") + "], "
	}
	return d + "select=[" + strings.Join(aggs, ", ") + "])"
}

// Updating reports whether a node's output may contain -U/+U/-D rows.
func Updating(n Node) bool {
	switch x := n.(type) {
	case *GroupAgg:
		return !x.Windowed || Updating(x.Input)
	case *RankNode:
		return true
	case *JoinNode:
		// An inner join of append-only inputs only ever adds rows.
		return x.Kind != ast.JoinInner || Updating(x.Left) || Updating(x.Right)
	case *Scan:
		return x.Table.Changelog
	case *Values:
		return false
	default:
		for _, in := range x.Inputs() {
			if Updating(in) {
				return true
			}
		}
	}
	return false
}

// aggBinder collects the aggregate calls of one query block and binds the
// expressions above the aggregation (select list, HAVING) against its
// output: group keys by name or by matching expression, aggregates by
// position.
type aggBinder struct {
	in       *scope
	keyExprs []ast.Expr // GROUP BY items as written
	keyCols  []expr.Expr
	// pre are the input projections of the aggregate: keys first, then
	// aggregate arguments and filters as they are discovered.
	pre   []expr.Expr
	aggs  []AggCall
	names []string
}

// keyName is the hidden name a GROUP BY expression is rewritten to.
func keyName(i int) string { return fmt.Sprintf("$key%d", i) }

func newAggBinder(in *scope, groupBy []ast.Expr) (*aggBinder, error) {
	b := &aggBinder{in: in, keyExprs: groupBy}
	for _, g := range groupBy {
		if lit, ok := g.(*ast.Literal); ok && lit.Kind == ast.LitInt {
			return nil, ast.Errorf(g.Position(), "not supported yet: GROUP BY a column position")
		}
		e, err := expr.Bind(g, in, noAggregates("GROUP BY"))
		if err != nil {
			return nil, err
		}
		b.keyCols = append(b.keyCols, e)
		b.pre = append(b.pre, e)
	}
	return b, nil
}

// outScope resolves names after aggregation: only grouping keys are visible.
func (b *aggBinder) outScope() *aggScope { return &aggScope{b: b} }

type aggScope struct{ b *aggBinder }

func (s *aggScope) Resolve(id *ast.Ident) (int, types.Type, error) {
	if len(id.Parts) == 1 && strings.HasPrefix(id.Parts[0], "$key") {
		var k int
		fmt.Sscanf(id.Parts[0], "$key%d", &k)
		return k, s.b.keyCols[k].Type(), nil
	}
	// A plain column that is a grouping key.
	idx, t, err := s.b.in.Resolve(id)
	if err != nil {
		return 0, types.Type{}, err
	}
	for k, c := range s.b.keyCols {
		if ref, ok := c.(*expr.ColumnRef); ok && ref.Index == idx {
			return k, t, nil
		}
	}
	return 0, types.Type{}, ast.Errorf(id.Pos, "column '%s' must appear in GROUP BY or be used in an aggregate function", strings.Join(id.Parts, "."))
}

// rewriteKeys replaces subtrees equal to a GROUP BY expression by a hidden
// reference to that key, so `SELECT a + 1 ... GROUP BY a + 1` binds.
func (b *aggBinder) rewriteKeys(e ast.Expr) ast.Expr {
	if e == nil {
		return nil
	}
	for i, k := range b.keyExprs {
		if _, isIdent := k.(*ast.Ident); !isIdent && stripPos(k) == stripPos(e) {
			return &ast.Ident{Parts: []string{keyName(i)}, Pos: e.Position()}
		}
	}
	switch x := e.(type) {
	case *ast.Call:
		if expr.IsAggregate(x.Name) || x.Over != nil {
			return x // arguments of aggregates see the input, not the keys
		}
		cp := *x
		cp.Args = make([]ast.Expr, len(x.Args))
		for i, a := range x.Args {
			cp.Args[i] = b.rewriteKeys(a)
		}
		return &cp
	case *ast.Binary:
		cp := *x
		cp.L, cp.R = b.rewriteKeys(x.L), b.rewriteKeys(x.R)
		return &cp
	case *ast.Unary:
		cp := *x
		cp.X = b.rewriteKeys(x.X)
		return &cp
	case *ast.Cast:
		cp := *x
		cp.X = b.rewriteKeys(x.X)
		return &cp
	case *ast.IsNull:
		cp := *x
		cp.X = b.rewriteKeys(x.X)
		return &cp
	case *ast.Case:
		cp := *x
		cp.Operand = b.rewriteKeys(x.Operand)
		cp.Whens = make([]ast.When, len(x.Whens))
		for i, w := range x.Whens {
			cp.Whens[i] = ast.When{Cond: b.rewriteKeys(w.Cond), Result: b.rewriteKeys(w.Result)}
		}
		cp.Else = b.rewriteKeys(x.Else)
		return &cp
	}
	return e
}

// bindOptions binds aggregate calls: their arguments against the input,
// their results as columns of the aggregate's output.
func (b *aggBinder) bindOptions() expr.BindOptions {
	return expr.BindOptions{OnAggregate: b.aggregate}
}

// addPre adds an aggregate argument or FILTER condition to the
// pre-projection, reusing an equal one (bound expressions are plain data):
// COUNT(DISTINCT x) under several FILTERs then reads one column, so the
// aggregates can share its multiset (exec/ops/agg_distinct.go), and the
// projection computes each expression once.
func (b *aggBinder) addPre(e expr.Expr) int {
	for i, p := range b.pre {
		if reflect.DeepEqual(p, e) {
			return i
		}
	}
	b.pre = append(b.pre, e)
	return len(b.pre) - 1
}

func (b *aggBinder) aggregate(c *ast.Call) (expr.Expr, error) {
	if c.Over != nil {
		return nil, ast.Errorf(c.Pos, "not supported yet: OVER window function %s", c.Name)
	}
	call := AggCall{Arg: -1, Filter: -1}
	preLen := len(b.pre) // what a reused aggregate's arguments added is dropped
	var text string
	switch {
	case c.Name == "COUNT" && c.Star:
		call.Func, call.Type, text = AggCountStar, types.TypeBigInt.WithNotNull(true), "COUNT(*)"
	case c.Name == "COUNT" || c.Name == "SUM" || c.Name == "AVG" || c.Name == "MIN" || c.Name == "MAX":
		if len(c.Args) != 1 {
			return nil, ast.Errorf(c.Pos, "%s expects one argument, got %d", c.Name, len(c.Args))
		}
		arg, err := expr.Bind(c.Args[0], b.in, expr.BindOptions{OnAggregate: func(inner *ast.Call) (expr.Expr, error) {
			return nil, ast.Errorf(inner.Pos, "aggregate function calls cannot be nested")
		}})
		if err != nil {
			return nil, err
		}
		at := arg.Type()
		call.ArgType = at
		text = c.Name + "(" + arg.String() + ")"
		if c.Distinct {
			if c.Name != "COUNT" {
				return nil, ast.Errorf(c.Pos, "not supported yet: %s(DISTINCT ...)", c.Name)
			}
			text = "COUNT(DISTINCT " + arg.String() + ")"
		}
		switch c.Name {
		case "COUNT":
			call.Func, call.Type = AggCount, types.TypeBigInt.WithNotNull(true)
			if c.Distinct {
				call.Func = AggCountDistinct
			}
		case "SUM", "AVG":
			if !at.IsNumeric() {
				return nil, ast.Errorf(c.Args[0].Position(), "%s expects a numeric argument, got %s", c.Name, at)
			}
			call.Func, call.Type = AggSum, at.WithNotNull(false)
			if c.Name == "AVG" {
				call.Func = AggAvg
			}
			if at.Kind == types.Decimal {
				// Flink: SUM(DECIMAL(p, s)) is DECIMAL(38, s), AVG is
				// DECIMAL(38, max(s, 6)); our precision cap is 18.
				s := at.Scale
				if c.Name == "AVG" {
					s = max(s, 6)
				}
				call.Type = types.DecimalOf(types.MaxDecimalPrecision, s)
			}
		case "MIN", "MAX":
			if at.Kind == types.Boolean || at.Kind == types.Null {
				return nil, ast.Errorf(c.Args[0].Position(), "%s of %s is not supported", c.Name, at)
			}
			call.Func, call.Type = AggFunc(c.Name), at.WithNotNull(false)
		}
		call.Arg = b.addPre(arg)
	default:
		return nil, ast.Errorf(c.Pos, "not supported yet: aggregate function %s", c.Name)
	}
	if c.Filter != nil {
		f, err := expr.Bind(c.Filter, b.in, noAggregates("FILTER"))
		if err != nil {
			return nil, err
		}
		if f.Type().Kind != types.Boolean {
			return nil, ast.Errorf(c.Filter.Position(), "FILTER must be a boolean condition, got %s", f.Type())
		}
		call.Filter = b.addPre(f)
		text += " FILTER (WHERE " + f.String() + ")"
	}
	call.Text = text
	// Reuse an identical aggregate (e.g. SUM(x) in SELECT and HAVING).
	for i, a := range b.aggs {
		if a.Text == call.Text {
			b.pre = b.pre[:preLen]
			return expr.NewColumn(len(b.keyCols)+i, a.Type, a.Text), nil
		}
	}
	b.aggs = append(b.aggs, call)
	return expr.NewColumn(len(b.keyCols)+len(b.aggs)-1, call.Type, text), nil
}

// node builds the pre-projection and the GroupAgg over input.
func (b *aggBinder) node(input Node, distinct bool) *GroupAgg {
	inSchema := input.Schema()
	fields := make([]types.Field, len(b.pre))
	for i, e := range b.pre {
		name := fmt.Sprintf("$f%d", i)
		if ref, ok := e.(*expr.ColumnRef); ok {
			name = inSchema.Fields[ref.Index].Name
		}
		fields[i] = types.Field{Name: name, Type: e.Type()}
	}
	fields = uniqueFields(fields)
	pre := &Calc{Input: input, Exprs: b.pre, Out: types.Schema{Fields: fields}}
	var out []types.Field
	keys := make([]int, len(b.keyCols))
	for i := range b.keyCols {
		keys[i] = i
		out = append(out, fields[i])
	}
	for _, a := range b.aggs {
		out = append(out, types.Field{Name: a.Text, Type: a.Type})
	}
	var in Node = pre
	if isIdentity(input, nil, b.pre) {
		in = input
	}
	return &GroupAgg{Input: in, Keys: keys, Aggs: b.aggs, Out: types.Schema{Fields: out}, Distinct: distinct}
}

func uniqueFields(fs []types.Field) []types.Field {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	names = dedupeNames(names)
	for i := range fs {
		fs[i].Name = names[i]
	}
	return fs
}
