package sql

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	tast "github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/streamsql/streamsql/sql/ast"
)

// binaryOps maps TiDB operators to ours; the rest are MySQL-only.
var binaryOps = map[opcode.Op]string{
	opcode.LogicAnd: "AND", opcode.LogicOr: "OR",
	opcode.EQ: "=", opcode.NE: "<>", opcode.LT: "<", opcode.LE: "<=", opcode.GT: ">", opcode.GE: ">=",
	opcode.Plus: "+", opcode.Minus: "-", opcode.Mul: "*", opcode.Div: "/", opcode.Mod: "%",
}

// funcRenames maps TiDB's spelling of a function to Flink's.
var funcRenames = map[string]string{
	"NOW": "CURRENT_TIMESTAMP", "SUBSTR": "SUBSTRING", "MID": "SUBSTRING",
	"CURDATE": "CURRENT_DATE", "CURTIME": "CURRENT_TIME",
}

func (cv *converter) exprs(in []tast.ExprNode) ([]ast.Expr, error) {
	out := make([]ast.Expr, 0, len(in))
	for _, e := range in {
		x, err := cv.expr(e)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func (cv *converter) expr(e tast.ExprNode) (ast.Expr, error) {
	switch x := e.(type) {
	case *tast.ParenthesesExpr:
		return cv.expr(x.Expr)
	case *tast.ColumnNameExpr:
		var parts []string
		for _, p := range []string{x.Name.Schema.O, x.Name.Table.O, x.Name.Name.O} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		return &ast.Ident{Parts: parts, Pos: cv.pos(x)}, nil
	case *driver.ValueExpr:
		return cv.value(x)
	case *tast.BinaryOperationExpr:
		op, ok := binaryOps[x.Op]
		if !ok {
			return nil, notSupported(cv.pos(x), "operator %s", x.Op.String())
		}
		l, err := cv.expr(x.L)
		if err != nil {
			return nil, err
		}
		r, err := cv.expr(x.R)
		if err != nil {
			return nil, err
		}
		return &ast.Binary{Op: op, L: l, R: r, Pos: cv.pos(x)}, nil
	case *tast.UnaryOperationExpr:
		inner, err := cv.expr(x.V)
		if err != nil {
			return nil, err
		}
		switch x.Op {
		case opcode.Not, opcode.Not2:
			return &ast.Unary{Op: "NOT", X: inner, Pos: cv.pos(x)}, nil
		case opcode.Minus:
			return &ast.Unary{Op: "-", X: inner, Pos: cv.pos(x)}, nil
		case opcode.Plus:
			return inner, nil
		}
		return nil, notSupported(cv.pos(x), "operator %s", x.Op.String())
	case *tast.IsNullExpr:
		inner, err := cv.expr(x.Expr)
		if err != nil {
			return nil, err
		}
		return &ast.IsNull{X: inner, Not: x.Not, Pos: cv.pos(x)}, nil
	case *tast.IsTruthExpr:
		inner, err := cv.expr(x.Expr)
		if err != nil {
			return nil, err
		}
		return &ast.IsBool{X: inner, Value: x.True != 0, Not: x.Not, Pos: cv.pos(x)}, nil
	case *tast.BetweenExpr:
		xs, err := cv.exprs([]tast.ExprNode{x.Expr, x.Left, x.Right})
		if err != nil {
			return nil, err
		}
		return &ast.Between{X: xs[0], Lo: xs[1], Hi: xs[2], Not: x.Not, Pos: cv.pos(x)}, nil
	case *tast.PatternInExpr:
		return cv.in(x)
	case *tast.PatternLikeOrIlikeExpr:
		return cv.like(x)
	case *tast.CaseExpr:
		return cv.caseExpr(x)
	case *tast.FuncCallExpr:
		return cv.funcCall(x)
	case *tast.AggregateFuncExpr:
		return cv.aggregate(x)
	case *tast.WindowFuncExpr:
		return cv.windowFunc(x)
	case *tast.SubqueryExpr:
		if x.Exists {
			return nil, notSupported(cv.pos(x), "EXISTS subqueries")
		}
		q, err := cv.query(x.Query)
		if err != nil {
			return nil, err
		}
		return &ast.Subquery{Query: q, Pos: cv.pos(x)}, nil
	case *tast.ExistsSubqueryExpr:
		return nil, notSupported(cv.pos(x), "EXISTS subqueries")
	case *tast.FuncCastExpr:
		return nil, notSupported(cv.pos(x), "CONVERT and BINARY (use CAST)")
	case *tast.TimeUnitExpr:
		// TIMESTAMPDIFF(SECOND, a, b) and the like: the unit as a string.
		return &ast.Literal{Kind: ast.LitString, Value: x.Unit.String(), Pos: cv.pos(x)}, nil
	case *tast.PositionExpr:
		if x.P != nil {
			return nil, notSupported(cv.pos(x), "parameter markers")
		}
		return &ast.Literal{Kind: ast.LitInt, Value: strconv.Itoa(x.N), Pos: cv.pos(x)}, nil
	case *tast.RowExpr:
		return nil, notSupported(cv.pos(x), "row constructors")
	case *tast.DefaultExpr:
		return nil, notSupported(cv.pos(x), "DEFAULT")
	case *tast.VariableExpr:
		return nil, notSupported(cv.pos(x), "@variables")
	}
	return nil, notSupported(cv.pos(e), "expression %s", strings.TrimPrefix(fmt.Sprintf("%T", e), "*ast."))
}

func (cv *converter) value(x *driver.ValueExpr) (ast.Expr, error) {
	pos := cv.pos(x)
	raw := ""
	if i, ok := cv.tokenIndexAt(pos.Offset); ok {
		raw = cv.fp.toks[i].Raw
	}
	lit := &ast.Literal{Pos: pos}
	switch x.Kind() {
	case driver.KindNull:
		lit.Kind = ast.LitNull
	case driver.KindInt64:
		up := strings.ToUpper(raw)
		if up == "TRUE" || up == "FALSE" {
			lit.Kind, lit.Value = ast.LitBool, up
			break
		}
		lit.Kind, lit.Value = ast.LitInt, strconv.FormatInt(x.GetInt64(), 10)
	case driver.KindUint64: // LIMIT counts, and integers beyond int64
		lit.Kind, lit.Value = ast.LitDecimal, strconv.FormatUint(x.GetUint64(), 10)
		if x.GetUint64() <= math.MaxInt64 {
			lit.Kind = ast.LitInt
		}
	case driver.KindMysqlDecimal:
		lit.Kind, lit.Value = ast.LitDecimal, x.GetMysqlDecimal().String()
		if isNumberText(raw) {
			lit.Value = raw
		}
	case driver.KindFloat64, driver.KindFloat32:
		lit.Kind, lit.Value = ast.LitFloat, strconv.FormatFloat(x.GetFloat64(), 'g', -1, 64)
		if isNumberText(raw) {
			lit.Value = raw
		}
	case driver.KindString:
		lit.Kind, lit.Value = ast.LitString, x.GetString()
	default:
		return nil, notSupported(pos, "this kind of literal (%s)", raw)
	}
	return lit, nil
}

func isNumberText(s string) bool { return s != "" && (isDigit(s[0]) || s[0] == '.') }

func (cv *converter) in(x *tast.PatternInExpr) (ast.Expr, error) {
	inner, err := cv.expr(x.Expr)
	if err != nil {
		return nil, err
	}
	out := &ast.In{X: inner, Not: x.Not, Pos: cv.pos(x)}
	if x.Sel != nil {
		sub, err := cv.expr(x.Sel)
		if err != nil {
			return nil, err
		}
		out.List = []ast.Expr{sub}
		return out, nil
	}
	if out.List, err = cv.exprs(x.List); err != nil {
		return nil, err
	}
	return out, nil
}

func (cv *converter) like(x *tast.PatternLikeOrIlikeExpr) (ast.Expr, error) {
	if !x.IsLike {
		return nil, notSupported(cv.pos(x), "ILIKE")
	}
	xs, err := cv.exprs([]tast.ExprNode{x.Expr, x.Pattern})
	if err != nil {
		return nil, err
	}
	out := &ast.Like{X: xs[0], Pattern: xs[1], Not: x.Not, Pos: cv.pos(x)}
	if x.Escape != '\\' {
		out.Escape = string(rune(x.Escape))
	}
	return out, nil
}

func (cv *converter) caseExpr(x *tast.CaseExpr) (ast.Expr, error) {
	out := &ast.Case{Pos: cv.pos(x)}
	var err error
	if x.Value != nil {
		if out.Operand, err = cv.expr(x.Value); err != nil {
			return nil, err
		}
	}
	for _, w := range x.WhenClauses {
		xs, err := cv.exprs([]tast.ExprNode{w.Expr, w.Result})
		if err != nil {
			return nil, err
		}
		out.Whens = append(out.Whens, ast.When{Cond: xs[0], Result: xs[1]})
	}
	if x.ElseClause != nil {
		if out.Else, err = cv.expr(x.ElseClause); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// placeholderIndex reads the integer index argument of a placeholder.
func placeholderIndex(e tast.ExprNode, n int) (int, bool) {
	v, ok := e.(*driver.ValueExpr)
	if !ok || v.Kind() != driver.KindInt64 {
		return 0, false
	}
	i := int(v.GetInt64())
	return i, i >= 0 && i < n
}

func (cv *converter) funcCall(x *tast.FuncCallExpr) (ast.Expr, error) {
	pos := cv.pos(x)
	name := strings.ToUpper(x.FnName.O)
	switch strings.ToLower(name) {
	case phLit:
		if len(x.Args) == 1 {
			if i, ok := placeholderIndex(x.Args[0], len(cv.fp.lits)); ok {
				lit := *cv.fp.lits[i]
				return &lit, nil
			}
		}
	case phCast:
		if len(x.Args) == 2 {
			if i, ok := placeholderIndex(x.Args[1], len(cv.fp.casts)); ok {
				inner, err := cv.expr(x.Args[0])
				if err != nil {
					return nil, err
				}
				c := cv.fp.casts[i]
				return &ast.Cast{X: inner, To: c.To, Try: c.Try, Pos: pos}, nil
			}
		}
	case phFilter:
		if len(x.Args) == 2 {
			agg, err := cv.expr(x.Args[0])
			if err != nil {
				return nil, err
			}
			call, ok := agg.(*ast.Call)
			if !ok || call.Over != nil {
				return nil, ast.Errorf(agg.Position(), "FILTER (WHERE ...) needs an aggregate function call before it")
			}
			if call.Filter, err = cv.expr(x.Args[1]); err != nil {
				return nil, err
			}
			return call, nil
		}
	case phSession:
		name = "SESSION"
	case "extract":
		if len(x.Args) == 2 {
			if u, ok := x.Args[0].(*tast.TimeUnitExpr); ok {
				inner, err := cv.expr(x.Args[1])
				if err != nil {
					return nil, err
				}
				return &ast.Extract{Unit: strings.ToUpper(u.Unit.String()), X: inner, Pos: pos}, nil
			}
		}
	case "trim":
		return cv.trim(x, pos)
	}
	if strings.HasPrefix(strings.ToLower(name), "__ssql_") {
		return nil, ast.Errorf(pos, "malformed internal placeholder %s", name)
	}
	if r, ok := funcRenames[name]; ok {
		name = r
	}
	args, err := cv.exprs(x.Args)
	if err != nil {
		return nil, err
	}
	return &ast.Call{Name: name, Args: args, Pos: pos}, nil
}

// trim maps TiDB's TRIM(str, remstr, direction) to TRIM/LTRIM/RTRIM(s[, c]).
func (cv *converter) trim(x *tast.FuncCallExpr, pos ast.Pos) (ast.Expr, error) {
	name := "TRIM"
	var args []ast.Expr
	for i, a := range x.Args {
		if d, ok := a.(*tast.TrimDirectionExpr); ok {
			switch d.Direction {
			case tast.TrimLeading:
				name = "LTRIM"
			case tast.TrimTrailing:
				name = "RTRIM"
			}
			continue
		}
		if a == nil || (i == 1 && isImplicitValue(a)) {
			continue
		}
		e, err := cv.expr(a)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	return &ast.Call{Name: name, Args: args, Pos: pos}, nil
}

// isImplicitValue reports a value TiDB made up for an omitted TRIM
// character: it has no place in the text (offset 0 is the SELECT keyword).
func isImplicitValue(e tast.ExprNode) bool {
	v, ok := e.(*driver.ValueExpr)
	return ok && v.OriginTextPosition() == 0
}

// isCountStar reports whether the call at pos was written COUNT(*): TiDB
// hands it over as COUNT(1).
func (cv *converter) isCountStar(pos ast.Pos) bool {
	i, ok := cv.tokenIndexAt(pos.Offset)
	ts := cv.fp.toks
	return ok && i+2 < len(ts) && ts[i+1].isOp("(") && ts[i+2].isOp("*")
}

func (cv *converter) aggregate(x *tast.AggregateFuncExpr) (ast.Expr, error) {
	pos := cv.pos(x)
	if x.Order != nil {
		return nil, notSupported(pos, "ORDER BY inside %s", strings.ToUpper(x.F))
	}
	call := &ast.Call{Name: strings.ToUpper(x.F), Distinct: x.Distinct, Pos: pos}
	if call.Name == "COUNT" && cv.isCountStar(pos) {
		call.Star = true
		return call, nil
	}
	var err error
	if call.Args, err = cv.exprs(x.Args); err != nil {
		return nil, err
	}
	return call, nil
}

func (cv *converter) windowFunc(x *tast.WindowFuncExpr) (ast.Expr, error) {
	pos := cv.pos(x)
	name := strings.ToUpper(x.Name)
	if x.IgnoreNull || x.FromLast {
		return nil, notSupported(pos, "IGNORE NULLS / FROM LAST")
	}
	if x.Spec.Name.O != "" || x.Spec.Ref.O != "" {
		return nil, notSupported(pos, "named windows in OVER")
	}
	call := &ast.Call{Name: name, Distinct: x.Distinct, Pos: pos, Over: &ast.WindowSpec{}}
	if name == "COUNT" && cv.isCountStar(pos) {
		call.Star = true
	} else {
		var err error
		if call.Args, err = cv.exprs(x.Args); err != nil {
			return nil, err
		}
	}
	if pb := x.Spec.PartitionBy; pb != nil {
		for _, it := range pb.Items {
			e, err := cv.expr(it.Expr)
			if err != nil {
				return nil, err
			}
			call.Over.PartitionBy = append(call.Over.PartitionBy, e)
		}
	}
	if x.Spec.OrderBy != nil {
		items, err := cv.orderItems(x.Spec.OrderBy)
		if err != nil {
			return nil, err
		}
		call.Over.OrderBy = items
	}
	if x.Spec.Frame != nil {
		call.Over.Frame = cv.fp.frames[pos.Offset]
	}
	return call, nil
}
