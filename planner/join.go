package planner

import (
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// JoinNode is a regular (unwindowed) join of two changelogs on equal keys,
// with any other condition as a residual filter over the joined row.
type JoinNode struct {
	Left, Right         Node
	Kind                ast.JoinKind
	LeftKeys, RightKeys []int
	Residual            expr.Expr
	Out                 types.Schema
}

func (j *JoinNode) Schema() types.Schema { return j.Out }
func (j *JoinNode) Inputs() []Node       { return []Node{j.Left, j.Right} }
func (j *JoinNode) Bounded() bool        { return j.Left.Bounded() && j.Right.Bounded() }
func (j *JoinNode) Describe() string {
	names := j.Out.Names() // deduplicated: id, id0
	nl := j.Left.Schema().Len()
	var conds []string
	for i := range j.LeftKeys {
		conds = append(conds, names[j.LeftKeys[i]]+" = "+names[nl+j.RightKeys[i]])
	}
	d := fmt.Sprintf("Join(joinType=[%s], where=[%s]", j.Kind, strings.Join(conds, " AND "))
	if j.Residual != nil {
		d += ", residual=[" + j.Residual.String() + "]"
	}
	return d + ")"
}

// planJoin plans left JOIN right ON cond.
func (p *Planner) planJoin(bc *bindCtx, j *ast.Join) (relation, error) {
	if len(j.Using) > 0 {
		return relation{}, ast.Errorf(j.Pos, "not supported yet: JOIN ... USING (write ON l.c = r.c)")
	}
	left, err := p.planFrom(bc, j.Left)
	if err != nil {
		return relation{}, err
	}
	right, err := p.planFrom(bc, j.Right)
	if err != nil {
		return relation{}, err
	}
	nl := len(left.scope.cols)
	sc := &scope{cols: append(append([]scopeCol{}, left.scope.cols...), right.scope.cols...)}
	// The padded side of an outer join can be NULL.
	for i := range sc.cols {
		isLeft := i < nl
		if (isLeft && (j.Kind == ast.JoinRight || j.Kind == ast.JoinFull)) ||
			(!isLeft && (j.Kind == ast.JoinLeft || j.Kind == ast.JoinFull)) {
			sc.cols[i].Type = sc.cols[i].Type.WithNotNull(false)
		}
	}
	node := &JoinNode{Left: left.node, Right: right.node, Kind: j.Kind}
	if j.Kind == ast.JoinCross {
		node.Kind = ast.JoinInner
	}
	if j.On != nil {
		cond, err := expr.Bind(j.On, sc, noAggregates("JOIN ... ON"))
		if err != nil {
			return relation{}, err
		}
		if cond.Type().Kind != types.Boolean {
			return relation{}, ast.Errorf(j.On.Position(), "JOIN ... ON must be a boolean condition, got %s", cond.Type())
		}
		var rest []expr.Expr
		for _, c := range conjuncts(cond) {
			if l, r, ok := equiKey(c, nl); ok && sc.cols[l].Type.Equal(sc.cols[r].Type) {
				node.LeftKeys = append(node.LeftKeys, l)
				node.RightKeys = append(node.RightKeys, r-nl)
				continue
			}
			rest = append(rest, c)
		}
		for _, e := range rest {
			if node.Residual == nil {
				node.Residual = e
			} else {
				node.Residual = expr.And(node.Residual, e)
			}
		}
	} else if j.Kind != ast.JoinCross && j.Kind != ast.JoinInner {
		return relation{}, ast.Errorf(j.Pos, "%s JOIN needs an ON condition", j.Kind)
	}
	fields := make([]types.Field, len(sc.cols))
	for i, c := range sc.cols {
		fields[i] = types.Field{Name: c.Name, Type: c.Type}
	}
	node.Out = types.Schema{Fields: uniqueFields(fields)}
	return relation{node: node, scope: sc}, nil
}

// equiKey recognizes l = r between a left and a right column.
func equiKey(e expr.Expr, nl int) (int, int, bool) {
	c, ok := e.(*expr.Call)
	if !ok || c.Fn != "=" || len(c.Args) != 2 {
		return 0, 0, false
	}
	a, ok1 := c.Args[0].(*expr.ColumnRef)
	b, ok2 := c.Args[1].(*expr.ColumnRef)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	switch {
	case a.Index < nl && b.Index >= nl:
		return a.Index, b.Index, true
	case b.Index < nl && a.Index >= nl:
		return b.Index, a.Index, true
	}
	return 0, 0, false
}
