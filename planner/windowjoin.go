package planner

import (
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/exec/ops"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// WindowJoinNode is Flink's window join: a join of two windowed relations
// whose condition equates their window_start and window_end. Each
// window's rows are joined once, when the watermark passes the window's
// end, and the result is final (insert-only, outer sides padded without
// retraction); then the window's state is dropped.
type WindowJoinNode struct {
	Left, Right Node
	Kind        ast.JoinKind
	// LeftKeys and RightKeys are the equi-join columns besides the window
	// columns (possibly none).
	LeftKeys, RightKeys []int
	// The window columns of each input.
	LeftStart, LeftEnd, RightStart, RightEnd int
	Residual                                 expr.Expr
	// Window is the window function both inputs are windowed by (the
	// left's; the right's is equal).
	Window *WindowAssignNode
	Out    types.Schema
}

func (j *WindowJoinNode) Schema() types.Schema { return j.Out }
func (j *WindowJoinNode) Inputs() []Node       { return []Node{j.Left, j.Right} }
func (j *WindowJoinNode) Bounded() bool        { return j.Left.Bounded() && j.Right.Bounded() }
func (j *WindowJoinNode) Describe() string {
	names := j.Out.Names() // deduplicated: id, id0
	nl := j.Left.Schema().Len()
	var conds []string
	for i := range j.LeftKeys {
		conds = append(conds, names[j.LeftKeys[i]]+" = "+names[nl+j.RightKeys[i]])
	}
	kind := map[ast.JoinKind]string{ast.JoinInner: "InnerJoin", ast.JoinLeft: "LeftOuterJoin",
		ast.JoinRight: "RightOuterJoin", ast.JoinFull: "FullOuterJoin"}[j.Kind]
	d := fmt.Sprintf("WindowJoin(joinType=[%s]", kind)
	if len(conds) > 0 {
		d += ", where=[" + strings.Join(conds, " AND ") + "]"
	}
	if j.Residual != nil {
		d += ", residual=[" + j.Residual.String() + "]"
	}
	w := j.Window
	win := fmt.Sprintf("%s(size=[%s]", w.Name, durationText(w.Size))
	switch w.Kind {
	case ops.Hop:
		win += ", slide=[" + durationText(w.Slide) + "]"
	case ops.Cumulate:
		win += ", step=[" + durationText(w.Slide) + "]"
	}
	if w.Offset != 0 {
		win += ", offset=[" + durationText(w.Offset) + "]"
	}
	win += ")"
	return d + fmt.Sprintf(", window=[%s], windowEnd=[%s = %s])", win, names[j.LeftEnd], names[nl+j.RightEnd])
}

// Window column kinds (windowColumn).
const (
	winStart = iota
	winEnd
	winTime
)

// windowColumn traces column col of n back to the window table function
// that made it, through projections, filters, window aggregations (whose
// window_start/window_end keys are their input's) and the unpadded sides
// of window joins; which is winStart, winEnd or winTime.
func windowColumn(n Node, col int) (w *WindowAssignNode, which int, ok bool) {
	switch x := n.(type) {
	case *WindowAssignNode:
		if nin := x.Input.Schema().Len(); col >= nin {
			return x, col - nin, true
		}
	case *Calc:
		if ref, isRef := x.Exprs[col].(*expr.ColumnRef); isRef {
			return windowColumn(x.Input, ref.Index)
		}
	case *WatermarkNode:
		return windowColumn(x.Input, col)
	case *GroupAgg:
		if x.Windowed && (col == x.WindowStart || col == x.WindowEnd) {
			return windowColumn(x.Input, x.Keys[col])
		}
	case *WindowJoinNode:
		// A padded side's window columns are NULL in its padded rows.
		nl := x.Left.Schema().Len()
		if col < nl && (x.Kind == ast.JoinInner || x.Kind == ast.JoinLeft) {
			return windowColumn(x.Left, col)
		}
		if col >= nl && (x.Kind == ast.JoinInner || x.Kind == ast.JoinRight) {
			return windowColumn(x.Right, col-nl)
		}
	}
	return nil, 0, false
}

// sameWindows reports whether two window functions make the same windows.
func sameWindows(a, b *WindowAssignNode) bool {
	return a.Kind == b.Kind && a.Size == b.Size && a.Slide == b.Slide && a.Offset == b.Offset
}

// planWindowJoin turns a join into a window join when both inputs are
// windowed by equal event-time windows and its keys include
// L.window_start = R.window_start and L.window_end = R.window_end; nil
// keeps the regular join (other windows, or no such equalities).
func planWindowJoin(j *JoinNode, pos ast.Pos) (*WindowJoinNode, error) {
	pair := [2]int{-1, -1} // key pair of the starts, of the ends
	var lw, rw [2]*WindowAssignNode
	for i := range j.LeftKeys {
		l, lwhich, lok := windowColumn(j.Left, j.LeftKeys[i])
		r, rwhich, rok := windowColumn(j.Right, j.RightKeys[i])
		if !lok || !rok || lwhich != rwhich || lwhich == winTime || pair[lwhich] >= 0 {
			continue
		}
		pair[lwhich] = i
		lw[lwhich], rw[lwhich] = l, r
	}
	if pair[winStart] < 0 || pair[winEnd] < 0 {
		return nil, nil
	}
	// Each side's start and end must come from one window function.
	if lw[winStart] != lw[winEnd] || rw[winStart] != rw[winEnd] {
		return nil, nil
	}
	l, r := lw[winEnd], rw[winEnd]
	if l.ProcTime || r.ProcTime {
		return nil, ast.Errorf(pos, "not supported yet: a window join over processing-time windows (Flink refuses it too); use event-time windows (a WATERMARK column), or compare window_start/window_end in WHERE after a regular join")
	}
	if l.Kind == ops.Session || r.Kind == ops.Session || !sameWindows(l, r) {
		return nil, nil // a regular join compares the columns as they are
	}
	if Updating(j.Left) || Updating(j.Right) {
		return nil, ast.Errorf(pos, "not supported yet: a window join over an updating input (window join inputs must be insert-only)")
	}
	wj := &WindowJoinNode{Left: j.Left, Right: j.Right, Kind: j.Kind, Residual: j.Residual, Window: l, Out: j.Out,
		LeftStart: j.LeftKeys[pair[winStart]], RightStart: j.RightKeys[pair[winStart]],
		LeftEnd: j.LeftKeys[pair[winEnd]], RightEnd: j.RightKeys[pair[winEnd]]}
	for i := range j.LeftKeys {
		if i != pair[winStart] && i != pair[winEnd] {
			wj.LeftKeys = append(wj.LeftKeys, j.LeftKeys[i])
			wj.RightKeys = append(wj.RightKeys, j.RightKeys[i])
		}
	}
	return wj, nil
}

// pruneWindowJoin narrows window join j under Calc c to the columns c
// reads plus the ones the join needs (keys, window columns, residual), as
// pruneJoin does for a regular join: the join then buffers only those.
func pruneWindowJoin(c *Calc, j *WindowJoinNode) Node {
	nl := j.Left.Schema().Len()
	nOut := j.Out.Len()
	need := joinNeeds(c, nOut, nl, j.Residual, j.LeftKeys, j.RightKeys)
	for _, i := range []int{j.LeftStart, j.LeftEnd, nl + j.RightStart, nl + j.RightEnd} {
		need[i] = true
	}
	var keep []int
	for i, n := range need {
		if n {
			keep = append(keep, i)
		}
	}
	if len(keep) == nOut {
		return c
	}
	m := make(map[int]int, len(keep))
	var leftCols, rightCols []int
	fields := make([]types.Field, len(keep))
	for n, i := range keep {
		m[i] = n
		fields[n] = j.Out.Fields[i]
		if i < nl {
			leftCols = append(leftCols, i)
		} else {
			rightCols = append(rightCols, i-nl)
		}
	}
	nj := *j
	nj.Left = narrow(j.Left, leftCols, nil)
	nj.Right = narrow(j.Right, rightCols, nil)
	nj.Out = types.Schema{Fields: fields}
	nnl := len(leftCols)
	nj.LeftKeys = make([]int, len(j.LeftKeys))
	nj.RightKeys = make([]int, len(j.RightKeys))
	for i := range j.LeftKeys {
		nj.LeftKeys[i] = m[j.LeftKeys[i]]
		nj.RightKeys[i] = m[nl+j.RightKeys[i]] - nnl
	}
	nj.LeftStart, nj.LeftEnd = m[j.LeftStart], m[j.LeftEnd]
	nj.RightStart, nj.RightEnd = m[nl+j.RightStart]-nnl, m[nl+j.RightEnd]-nnl
	if j.Residual != nil {
		nj.Residual = expr.Remap(j.Residual, m)
	}
	return remapCalc(c, &nj, m)
}
