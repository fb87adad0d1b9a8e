package planner

import "github.com/streamsql/streamsql/exec/expr"

// Optimize rewrites a plan before translation. Today: Calc fusion, so a
// filter/projection over a projection (computed columns, views, subqueries)
// runs as one operator, and inner columns nobody reads are never computed.
func Optimize(n Node) Node {
	switch x := n.(type) {
	case *Calc:
		in := Optimize(x.Input)
		if inner, ok := in.(*Calc); ok {
			return pushRankLimit(fuse(x, inner))
		}
		cp := *x
		cp.Input = in
		return pushRankLimit(&cp)
	case *RankNode:
		cp := *x
		cp.Input = Optimize(x.Input)
		return &cp
	case *JoinNode:
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
