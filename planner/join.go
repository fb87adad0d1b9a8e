package planner

import (
	"fmt"
	"math"
	"strings"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/exec/ops"
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
	// Bounds, for an inner join of append-only, event-time inputs whose
	// condition bounds left.t - right.t: state is freed behind the
	// watermark (an interval join).
	Bounds *ops.TimeBounds
	Out    types.Schema
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
	if j.Bounds != nil {
		d += fmt.Sprintf(", interval=[%s - %s in [%s, %s]]", names[j.Bounds.LeftCol], names[nl+j.Bounds.RightCol],
			signedDuration(j.Bounds.Lo), signedDuration(j.Bounds.Hi))
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
	if tn, ok := j.Right.(*ast.TableName); ok && tn.SystemTime != nil {
		return p.planLookupJoin(bc, j, left, tn) // FOR SYSTEM_TIME AS OF
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
		if node.Kind == ast.JoinInner && !Updating(left.node) && !Updating(right.node) &&
			hasWatermark(left.node) && hasWatermark(right.node) {
			node.Bounds = timeBounds(rest, nl)
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
	// Equal windows on both sides: a window join (final rows per window).
	wj, err := planWindowJoin(node, j.Pos)
	if err != nil {
		return relation{}, err
	}
	if wj != nil {
		return relation{node: wj, scope: sc}, nil
	}
	return relation{node: node, scope: sc}, nil
}

// pushJoinConditions moves the WHERE conjuncts that relate both sides of an
// inner join into the lowest inner join whose inputs hold every column
// they read, as join keys or residual conditions: the comma form
// (FROM a, b WHERE a.k = b.k) then plans as the equi-join (or interval
// join) it is instead of a cross product filtered afterwards. Conjuncts
// over one input stay in the filter.
func pushJoinConditions(n Node, filter expr.Expr) expr.Expr {
	j, ok := n.(*JoinNode)
	if !ok || filter == nil || j.Kind != ast.JoinInner {
		return filter
	}
	var keep expr.Expr
	for _, c := range conjuncts(filter) {
		if pushInto(j, c) {
			continue
		}
		if keep == nil {
			keep = c
		} else {
			keep = expr.And(keep, c)
		}
	}
	return keep
}

// pushInto adds conjunct c (over j's output columns) to the lowest inner
// join at or under j that holds every column c reads; false if c reads one
// input only and that input is not an inner join.
func pushInto(j *JoinNode, c expr.Expr) bool {
	refs := expr.Refs(c)
	if len(refs) == 0 {
		return false
	}
	nl := j.Left.Schema().Len()
	switch {
	case refs[len(refs)-1] < nl:
		if l, ok := j.Left.(*JoinNode); ok && l.Kind == ast.JoinInner {
			return pushInto(l, c)
		}
		return false
	case refs[0] >= nl:
		if r, ok := j.Right.(*JoinNode); ok && r.Kind == ast.JoinInner {
			m := make(map[int]int, len(refs))
			for _, i := range refs {
				m[i] = i - nl
			}
			return pushInto(r, expr.Remap(c, m))
		}
		return false
	}
	out := j.Out.Fields
	if l, r, ok := equiKey(c, nl); ok && out[l].Type.WithNotNull(false).Equal(out[r].Type.WithNotNull(false)) {
		j.LeftKeys = append(j.LeftKeys, l)
		j.RightKeys = append(j.RightKeys, r-nl)
	} else if j.Residual == nil {
		j.Residual = c
	} else {
		j.Residual = expr.And(j.Residual, c)
	}
	if j.Residual != nil && !Updating(j.Left) && !Updating(j.Right) && hasWatermark(j.Left) && hasWatermark(j.Right) {
		j.Bounds = timeBounds(conjuncts(j.Residual), nl)
	}
	return true
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

// timeTerm is a time column plus a constant offset (µs): col ± INTERVAL.
type timeTerm struct {
	col int
	off int64
}

func asTimeTerm(e expr.Expr) (timeTerm, bool) {
	switch x := e.(type) {
	case *expr.ColumnRef:
		if x.T.Kind == types.Timestamp || x.T.Kind == types.TimestampLTZ {
			return timeTerm{col: x.Index}, true
		}
	case *expr.Call:
		if (x.Fn == "+" || x.Fn == "-") && len(x.Args) == 2 {
			t, ok := asTimeTerm(x.Args[0])
			lit, isLit := x.Args[1].(*expr.Literal)
			if !ok || !isLit || lit.T.Kind != types.Interval {
				return timeTerm{}, false
			}
			ms, isInt := lit.V.(int64)
			if !isInt {
				return timeTerm{}, false
			}
			if x.Fn == "-" {
				ms = -ms
			}
			t.off += ms * 1000
			return t, true
		}
	}
	return timeTerm{}, false
}

// timeBounds finds, among an inner join's conditions, a lower and an upper
// bound on left.t - right.t (an interval join, e.g. a.ts BETWEEN b.ts -
// INTERVAL '1' MINUTE AND b.ts, or equal window ends of a window join).
// Strict and non-strict comparisons give the same bound: that only keeps
// a row a little longer.
func timeBounds(conds []expr.Expr, nl int) *ops.TimeBounds {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	lcol, rcol := -1, -1
	for _, c := range conds {
		call, ok := c.(*expr.Call)
		if !ok || len(call.Args) != 2 {
			continue
		}
		var sign int // +1: A >= B form gives a lower bound on A - B
		switch call.Fn {
		case ">=", ">":
			sign = 1
		case "<=", "<":
			sign = -1
		case "=":
			sign = 0
		default:
			continue
		}
		a, okA := asTimeTerm(call.Args[0])
		b, okB := asTimeTerm(call.Args[1])
		if !okA || !okB {
			continue
		}
		// Rewrite as left - right (op) k.
		var k int64
		switch {
		case a.col < nl && b.col >= nl: // L + oa op R + ob
			k = b.off - a.off
		case b.col < nl && a.col >= nl: // R + oa op L + ob  =>  L - R op' oa - ob
			k = a.off - b.off
			sign = -sign
			a, b = b, a
		default:
			continue
		}
		if (lcol >= 0 && lcol != a.col) || (rcol >= 0 && rcol != b.col-nl) {
			continue // bounds on other columns: not one interval
		}
		lcol, rcol = a.col, b.col-nl
		if sign >= 0 {
			lo = max(lo, k)
		}
		if sign <= 0 {
			hi = min(hi, k)
		}
	}
	if lcol < 0 || lo == math.MinInt64 || hi == math.MaxInt64 || lo > hi {
		return nil
	}
	return &ops.TimeBounds{LeftCol: lcol, RightCol: rcol, Lo: lo, Hi: hi}
}

func signedDuration(us int64) string {
	if us < 0 {
		return "-" + durationText(-us)
	}
	if us == 0 {
		return "0"
	}
	return durationText(us)
}
