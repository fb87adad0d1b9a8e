package planner

import (
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// RankNode is Top-N: ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)
// limited by an enclosing rn filter. Its output is the input's columns,
// plus rn when RankColumn.
type RankNode struct {
	Input     Node
	Partition []int
	Order     []SortKeySpec
	// Limit is N of rn <= N; -1 until the optimizer finds the filter.
	Limit      int64
	RankColumn bool
	RankName   string
}

func (r *RankNode) Schema() types.Schema {
	fs := append([]types.Field{}, r.Input.Schema().Fields...)
	if r.RankColumn {
		fs = append(fs, types.Field{Name: r.RankName, Type: types.TypeBigInt.WithNotNull(true)})
	}
	return types.Schema{Fields: fs}
}
func (r *RankNode) Inputs() []Node { return []Node{r.Input} }
func (r *RankNode) Bounded() bool  { return r.Input.Bounded() }
func (r *RankNode) Describe() string {
	names := r.Input.Schema().Names()
	parts := make([]string, len(r.Partition))
	for i, p := range r.Partition {
		parts[i] = names[p]
	}
	orders := make([]string, len(r.Order))
	for i, o := range r.Order {
		dir := "ASC"
		if o.Desc {
			dir = "DESC"
		}
		orders[i] = names[o.Col] + " " + dir
	}
	return fmt.Sprintf("Rank(rankType=[ROW_NUMBER], rankRange=[rankStart=1, rankEnd=%d], partitionBy=[%s], orderBy=[%s], select=[%s])",
		r.Limit, strings.Join(parts, ", "), strings.Join(orders, ", "), strings.Join(r.Schema().Names(), ", "))
}

// findRowNumber returns the select item that is ROW_NUMBER() OVER (...).
func findRowNumber(sel *ast.Select) (int, *ast.Call) {
	for i, it := range sel.Items {
		if c, ok := it.Expr.(*ast.Call); ok && c.Over != nil {
			return i, c
		}
	}
	return -1, nil
}

// planRank plans a select list with ROW_NUMBER() OVER (...): a RankNode over
// the (filtered) input, then the select list over its output.
func planRank(sel *ast.Select, rel relation, filter expr.Expr, idx int, call *ast.Call) (Node, []string, error) {
	if call.Name != "ROW_NUMBER" {
		return nil, nil, ast.Errorf(call.Pos, "not supported yet: %s() OVER (...); only ROW_NUMBER() for Top-N", call.Name)
	}
	if call.Over.Frame != "" {
		return nil, nil, ast.Errorf(call.Pos, "not supported yet: OVER with a window frame")
	}
	if len(call.Over.OrderBy) == 0 {
		return nil, nil, ast.Errorf(call.Pos, "ROW_NUMBER() needs ORDER BY in its OVER clause")
	}
	input := rel.node
	if filter != nil {
		input = &Calc{Input: rel.node, Filter: filter, Exprs: identityExprs(rel.node.Schema()), Out: rel.node.Schema()}
	}
	col := func(e ast.Expr, what string) (int, error) {
		b, err := expr.Bind(e, rel.scope, noAggregates(what))
		if err != nil {
			return 0, err
		}
		ref, ok := b.(*expr.ColumnRef)
		if !ok {
			return 0, ast.Errorf(e.Position(), "not supported yet: an expression in %s of OVER (use a column)", what)
		}
		return ref.Index, nil
	}
	rank := &RankNode{Input: input, Limit: -1, RankColumn: true, RankName: itemName(sel.Items[idx], idx)}
	for _, p := range call.Over.PartitionBy {
		c, err := col(p, "PARTITION BY")
		if err != nil {
			return nil, nil, err
		}
		rank.Partition = append(rank.Partition, c)
	}
	for _, o := range call.Over.OrderBy {
		c, err := col(o.Expr, "ORDER BY")
		if err != nil {
			return nil, nil, err
		}
		rank.Order = append(rank.Order, SortKeySpec{Col: c, Desc: o.Desc})
	}
	// The select list sees the input's columns and rn (the last column).
	n := input.Schema().Len()
	sc := &scope{cols: append([]scopeCol{}, rel.scope.cols...)}
	var exprs []expr.Expr
	var names []string
	for i, it := range sel.Items {
		if it.Star {
			for ci, c := range rel.scope.cols {
				if it.StarTable == "" || strings.EqualFold(c.Qualifier, it.StarTable) {
					exprs = append(exprs, expr.NewColumn(ci, c.Type, c.Name))
					names = append(names, c.Name)
				}
			}
			continue
		}
		names = append(names, itemName(it, i))
		if i == idx {
			exprs = append(exprs, expr.NewColumn(n, types.TypeBigInt.WithNotNull(true), rank.RankName))
			continue
		}
		e, err := expr.Bind(it.Expr, sc, noAggregates("SELECT"))
		if err != nil {
			return nil, nil, err
		}
		exprs = append(exprs, e)
	}
	names = dedupeNames(names)
	return projection(rank, nil, exprs, names), names, nil
}

// pushRankLimit turns a filter rn <= N (or rn < N, rn = 1) over a RankNode
// into the node's limit, and drops rn from its output when nothing else
// reads it.
func pushRankLimit(c *Calc) Node {
	rank, ok := c.Input.(*RankNode)
	if !ok || rank.Limit >= 0 || !rank.RankColumn {
		return c
	}
	rn := rank.Input.Schema().Len()
	var rest []expr.Expr
	limit := int64(-1)
	for _, conj := range conjuncts(c.Filter) {
		if n, ok := rankBound(conj, rn); ok && limit < 0 {
			limit = n
			continue
		}
		rest = append(rest, conj)
	}
	if limit < 0 {
		return c
	}
	r := *rank
	r.Limit = limit
	var filter expr.Expr
	for _, e := range rest {
		if filter == nil {
			filter = e
		} else {
			filter = expr.And(filter, e)
		}
	}
	used := false
	for _, e := range append(append([]expr.Expr{}, c.Exprs...), rest...) {
		for _, i := range expr.Refs(e) {
			if i == rn {
				used = true
			}
		}
	}
	r.RankColumn = used
	out := &Calc{Input: &r, Filter: filter, Exprs: c.Exprs, Out: c.Out}
	if isIdentity(&r, filter, c.Exprs) && sameNames(r.Schema().Names(), c.Out.Names()) {
		return &r
	}
	return out
}

func conjuncts(e expr.Expr) []expr.Expr {
	if e == nil {
		return nil
	}
	if c, ok := e.(*expr.Call); ok && c.Fn == "AND" {
		return append(conjuncts(c.Args[0]), conjuncts(c.Args[1])...)
	}
	return []expr.Expr{e}
}

// rankBound recognizes rn <= N, rn < N and rn = 1 (N a literal).
func rankBound(e expr.Expr, rn int) (int64, bool) {
	c, ok := e.(*expr.Call)
	if !ok || len(c.Args) != 2 {
		return 0, false
	}
	ref, ok := c.Args[0].(*expr.ColumnRef)
	if !ok || ref.Index != rn {
		return 0, false
	}
	lit, ok := c.Args[1].(*expr.Literal)
	if !ok {
		return 0, false
	}
	var n int64
	switch v := lit.V.(type) {
	case int64:
		n = v
	case int32:
		n = int64(v)
	default:
		return 0, false
	}
	switch c.Fn {
	case "<=":
		return n, n >= 1
	case "<":
		return n - 1, n >= 2
	case "=":
		return 1, n == 1
	}
	return 0, false
}
