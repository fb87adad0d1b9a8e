package planner

import (
	"github.com/streamsql/streamsql/exec/ops"
	"slices"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Optimize rewrites a plan before translation. Today: Calc fusion, so a
// filter/projection over a projection (computed columns, views, subqueries)
// runs as one operator, and inner columns nobody reads are never computed;
// and join column pruning, so a join under a Calc neither stores nor emits
// the columns the Calc does not read (pruneJoin).
func Optimize(n Node) Node {
	switch x := n.(type) {
	case *Calc:
		in := Optimize(x.Input)
		if inner, ok := in.(*Calc); ok {
			return pushRankLimit(fuse(x, inner))
		}
		cp := *x
		cp.Input = in
		if j, ok := in.(*JoinNode); ok {
			return pruneJoin(&cp, j)
		}
		if j, ok := in.(*WindowJoinNode); ok {
			return pruneWindowJoin(&cp, j)
		}
		if w, ok := in.(*WindowAssignNode); ok && w.Kind != ops.Session {
			return pruneWindow(&cp, w)
		}
		out := pushRankLimit(&cp)
		if c, ok := out.(*Calc); ok {
			if r, ok := c.Input.(*RankNode); ok {
				return pruneRank(c, r)
			}
		}
		return out
	case *RankNode:
		cp := *x
		cp.Input = Optimize(x.Input)
		return &cp
	case *JoinNode:
		cp := *x
		cp.Left, cp.Right = Optimize(x.Left), Optimize(x.Right)
		return &cp
	case *WindowJoinNode:
		cp := *x
		cp.Left, cp.Right = Optimize(x.Left), Optimize(x.Right)
		return &cp
	case *WatermarkNode:
		cp := *x
		cp.Input = Optimize(x.Input)
		return &cp
	case *WindowAssignNode:
		cp := *x
		cp.Input = Optimize(x.Input)
		return &cp
	case *GroupAgg:
		cp := *x
		cp.Input = Optimize(x.Input)
		return &cp
	case *SortNode:
		cp := *x
		cp.Input = Optimize(x.Input)
		return &cp
	case *LimitNode:
		cp := *x
		cp.Input = Optimize(x.Input)
		return &cp
	case *SinkNode:
		cp := *x
		cp.Input = Optimize(x.Input)
		return &cp
	case *CollectNode:
		cp := *x
		cp.Input = Optimize(x.Input)
		return &cp
	case *Union:
		cp := *x
		cp.In = make([]Node, len(x.In))
		for i, c := range x.In {
			cp.In[i] = Optimize(c)
		}
		return &cp
	}
	return n
}

// fuse merges outer over inner into one Calc over inner's input.
func fuse(outer, inner *Calc) *Calc {
	exprs := make([]expr.Expr, len(outer.Exprs))
	for i, e := range outer.Exprs {
		exprs[i] = expr.Substitute(e, inner.Exprs)
	}
	filter := inner.Filter
	if outer.Filter != nil {
		f := expr.Substitute(outer.Filter, inner.Exprs)
		if filter == nil {
			filter = f
		} else {
			filter = expr.And(filter, f)
		}
	}
	return &Calc{Input: inner.Input, Filter: filter, Exprs: exprs, Out: outer.Out}
}

// pruneJoin narrows join j under Calc c to the columns c reads plus the
// ones the join itself needs (keys, residual, interval bounds): each input
// gets a projecting Calc (fused into a Calc already there, or pruning a
// join below in turn), so the join stores and emits only those columns, and
// c's expressions are remapped onto the narrower output. c is returned
// unchanged when every column is needed and no filter moves.
//
// Conjuncts of c's filter that read one append-only input of an inner
// join move into that input's Calc, so rows that cannot pass are never
// stored. The output is the same changelog: the join's rows of that side
// are only ever appended (and swept in order), so a key's stored rows keep
// their relative order.
func pruneJoin(c *Calc, j *JoinNode) Node {
	nl := j.Left.Schema().Len()
	nOut := j.Out.Len()
	var sideFilter [2]expr.Expr
	var rest expr.Expr
	for _, e := range conjuncts(c.Filter) {
		refs := expr.Refs(e)
		side := -1
		if j.Kind == ast.JoinInner && len(refs) > 0 {
			switch {
			case refs[len(refs)-1] < nl && !Updating(j.Left):
				side = 0
			case refs[0] >= nl && !Updating(j.Right):
				side = 1
				m := make(map[int]int, len(refs))
				for _, i := range refs {
					m[i] = i - nl
				}
				e = expr.Remap(e, m)
			}
		}
		switch {
		case side >= 0 && sideFilter[side] == nil:
			sideFilter[side] = e
		case side >= 0:
			sideFilter[side] = expr.And(sideFilter[side], e)
		case rest == nil:
			rest = e
		default:
			rest = expr.And(rest, e)
		}
	}
	c2 := *c
	c2.Filter = rest
	c = &c2
	need := joinNeeds(c, nOut, nl, j.Residual, j.LeftKeys, j.RightKeys)
	if j.Bounds != nil {
		need[j.Bounds.LeftCol] = true
		need[nl+j.Bounds.RightCol] = true
	}
	// A side keeps at least one column (a cross join may read none):
	// its rows still count.
	if nl > 0 && !slices.Contains(need[:nl], true) {
		need[0] = true
	}
	if nOut > nl && !slices.Contains(need[nl:], true) {
		need[nl] = true
	}
	var keep []int
	for i, n := range need {
		if n {
			keep = append(keep, i)
		}
	}
	if len(keep) == nOut && sideFilter[0] == nil && sideFilter[1] == nil {
		return c
	}
	m := make(map[int]int, len(keep)) // old output column -> new
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
	nj.Left = narrow(j.Left, leftCols, sideFilter[0])
	nj.Right = narrow(j.Right, rightCols, sideFilter[1])
	nj.Out = types.Schema{Fields: fields}
	nnl := len(leftCols)
	nj.LeftKeys = make([]int, len(j.LeftKeys))
	nj.RightKeys = make([]int, len(j.RightKeys))
	for i := range j.LeftKeys {
		nj.LeftKeys[i] = m[j.LeftKeys[i]]
		nj.RightKeys[i] = m[nl+j.RightKeys[i]] - nnl
	}
	if j.Residual != nil {
		nj.Residual = expr.Remap(j.Residual, m)
	}
	if j.Bounds != nil {
		b := *j.Bounds
		b.LeftCol = m[j.Bounds.LeftCol]
		b.RightCol = m[nl+j.Bounds.RightCol] - nnl
		nj.Bounds = &b
	}
	return remapCalc(c, &nj, m)
}

// remapCalc is c over input in, its column references renumbered by m;
// in itself when that is an identity projection with the same names.
func remapCalc(c *Calc, in Node, m map[int]int) Node {
	cp := *c
	cp.Input = in
	cp.Exprs = make([]expr.Expr, len(c.Exprs))
	for i, e := range c.Exprs {
		cp.Exprs[i] = expr.Remap(e, m)
	}
	if c.Filter != nil {
		cp.Filter = expr.Remap(c.Filter, m)
	}
	if isIdentity(in, cp.Filter, cp.Exprs) && sameNames(in.Schema().Names(), cp.Out.Names()) {
		return in
	}
	return &cp
}

// pruneRank narrows the input of an append-only Top-N under Calc c to the
// columns c reads plus the partition and order keys, so the join (or
// whatever is below) does not produce the others and the Top-N does not
// keep them. An append-only Top-N tells rows apart by arrival, never by
// value, so its changes are the same; an updating one finds a retracted
// row by value and is left alone.
func pruneRank(c *Calc, r *RankNode) Node {
	if Updating(r.Input) {
		return c
	}
	n := r.Input.Schema().Len()
	need := make([]bool, n)
	for _, e := range append(append([]expr.Expr{}, c.Exprs...), c.Filter) {
		if e == nil {
			continue
		}
		for _, i := range expr.Refs(e) {
			if i < n {
				need[i] = true
			}
		}
	}
	for _, p := range r.Partition {
		need[p] = true
	}
	for _, o := range r.Order {
		need[o.Col] = true
	}
	var keep []int
	m := map[int]int{}
	for i, ok := range need {
		if ok {
			m[i] = len(keep)
			keep = append(keep, i)
		}
	}
	if len(keep) == n {
		return c
	}
	m[n] = len(keep) // rn
	nr := *r
	nr.Input = narrow(r.Input, keep, nil)
	nr.Partition = make([]int, len(r.Partition))
	for i, p := range r.Partition {
		nr.Partition[i] = m[p]
	}
	nr.Order = make([]SortKeySpec, len(r.Order))
	for i, o := range r.Order {
		nr.Order[i] = o
		nr.Order[i].Col = m[o.Col]
	}
	return remapCalc(c, &nr, m)
}

// pruneWindow narrows the input of a window table function under Calc c
// to the columns c reads plus the time column: HOP and CUMULATE copy each
// row once per window, so columns nobody reads (Nexmark's 'extra') would
// be copied several times over. The window columns stay the last three.
func pruneWindow(c *Calc, w *WindowAssignNode) Node {
	n := w.Input.Schema().Len()
	need := make([]bool, n)
	need[w.TimeCol] = true
	for _, e := range append(append([]expr.Expr{}, c.Exprs...), c.Filter) {
		if e == nil {
			continue
		}
		for _, i := range expr.Refs(e) {
			if i < n {
				need[i] = true
			}
		}
	}
	var keep []int
	m := map[int]int{}
	for i, ok := range need {
		if ok {
			m[i] = len(keep)
			keep = append(keep, i)
		}
	}
	if len(keep) == n {
		return c
	}
	for j := 0; j < 3; j++ {
		m[n+j] = len(keep) + j
	}
	nw := *w
	nw.Input = narrow(w.Input, keep, nil)
	nw.TimeCol = m[w.TimeCol]
	fields := append([]types.Field{}, nw.Input.Schema().Fields...)
	nw.Out = types.Schema{Fields: append(fields, w.Out.Fields[n:]...)}
	return remapCalc(c, &nw, m)
}

// narrow filters n (filter may be nil) and projects it to columns cols
// (ascending), fusing into a Calc at n or pruning a join at n; n itself
// when there is nothing to do.
func narrow(n Node, cols []int, filter expr.Expr) Node {
	s := n.Schema()
	if len(cols) == s.Len() && filter == nil {
		return n
	}
	exprs := make([]expr.Expr, len(cols))
	fields := make([]types.Field, len(cols))
	for i, c := range cols {
		f := s.Fields[c]
		exprs[i] = &expr.ColumnRef{Index: c, T: f.Type, Name: f.Name}
		fields[i] = f
	}
	p := &Calc{Input: n, Filter: filter, Exprs: exprs, Out: types.Schema{Fields: fields}}
	switch x := n.(type) {
	case *Calc:
		f := fuse(p, x)
		if j, ok := f.Input.(*JoinNode); ok {
			return pruneJoin(f, j)
		}
		return f
	case *JoinNode:
		return pruneJoin(p, x)
	}
	return p
}

// joinNeeds marks the output columns of a join (nOut columns, the left
// side's nl first) that Calc c over it reads, plus what the join itself
// needs: its residual's columns and its keys.
func joinNeeds(c *Calc, nOut, nl int, residual expr.Expr, leftKeys, rightKeys []int) []bool {
	need := make([]bool, nOut)
	mark := func(e expr.Expr) {
		if e != nil {
			for _, i := range expr.Refs(e) {
				need[i] = true
			}
		}
	}
	for _, e := range c.Exprs {
		mark(e)
	}
	mark(c.Filter)
	mark(residual)
	for i := range leftKeys {
		need[leftKeys[i]] = true
		need[nl+rightKeys[i]] = true
	}
	return need
}
