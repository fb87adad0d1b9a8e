package sql

import (
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
)

// The tests compare trees through this compact prefix notation: it shows
// the shape (operators, nesting, literal kinds) and nothing else.

func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case nil:
		return "<nil>"
	case *ast.Ident:
		return strings.Join(x.Parts, ".")
	case *ast.Literal:
		switch x.Kind {
		case ast.LitNull:
			return "NULL"
		case ast.LitBool:
			return x.Value
		case ast.LitInt:
			return x.Value
		case ast.LitDecimal:
			return x.Value + "d"
		case ast.LitFloat:
			return x.Value + "f"
		case ast.LitString:
			return "'" + x.Value + "'"
		case ast.LitTimestamp:
			return "TIMESTAMP'" + x.Value + "'"
		case ast.LitDate:
			return "DATE'" + x.Value + "'"
		case ast.LitInterval:
			return "INTERVAL'" + x.Value + "'" + x.Unit
		}
	case *ast.Unary:
		return "(" + x.Op + " " + exprString(x.X) + ")"
	case *ast.Binary:
		return "(" + x.Op + " " + exprString(x.L) + " " + exprString(x.R) + ")"
	case *ast.IsNull:
		return "(IS " + not(x.Not) + "NULL " + exprString(x.X) + ")"
	case *ast.IsBool:
		v := "FALSE"
		if x.Value {
			v = "TRUE"
		}
		return "(IS " + not(x.Not) + v + " " + exprString(x.X) + ")"
	case *ast.Between:
		return "(" + not(x.Not) + "BETWEEN " + exprString(x.X) + " " + exprString(x.Lo) + " " + exprString(x.Hi) + ")"
	case *ast.In:
		return "(" + not(x.Not) + "IN " + exprString(x.X) + " " + exprList(x.List) + ")"
	case *ast.Like:
		s := "(" + not(x.Not) + "LIKE " + exprString(x.X) + " " + exprString(x.Pattern)
		if x.Escape != "" {
			s += " ESCAPE " + x.Escape
		}
		return s + ")"
	case *ast.Case:
		s := "(CASE"
		if x.Operand != nil {
			s += " " + exprString(x.Operand)
		}
		for _, w := range x.Whens {
			s += " (WHEN " + exprString(w.Cond) + " " + exprString(w.Result) + ")"
		}
		if x.Else != nil {
			s += " (ELSE " + exprString(x.Else) + ")"
		}
		return s + ")"
	case *ast.Cast:
		name := "CAST"
		if x.Try {
			name = "TRY_CAST"
		}
		return "(" + name + " " + exprString(x.X) + " " + x.To.String() + ")"
	case *ast.Call:
		s := x.Name + "("
		if x.Distinct {
			s += "DISTINCT "
		}
		if x.Star {
			s += "*"
		}
		s += exprList(x.Args) + ")"
		if x.Filter != nil {
			s += " FILTER " + exprString(x.Filter)
		}
		if x.Over != nil {
			s += " OVER(" + exprList(x.Over.PartitionBy) + " |"
			for _, o := range x.Over.OrderBy {
				s += " " + exprString(o.Expr)
				if o.Desc {
					s += " DESC"
				}
			}
			if x.Over.Frame != "" {
				s += " | " + x.Over.Frame
			}
			s += ")"
		}
		return s
	case *ast.Extract:
		return "(EXTRACT " + x.Unit + " " + exprString(x.X) + ")"
	case *ast.Subquery:
		return "(SUBQUERY " + selectString(x.Query) + ")"
	}
	return "?"
}

func not(b bool) string {
	if b {
		return "NOT "
	}
	return ""
}

func exprList(es []ast.Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = exprString(e)
	}
	return strings.Join(parts, " ")
}

func tableString(t ast.TableRef) string {
	switch x := t.(type) {
	case nil:
		return "<nil>"
	case *ast.TableName:
		if x.SystemTime != nil {
			return x.Name + " FOR SYSTEM_TIME AS OF " + exprString(x.SystemTime) + alias(x.Alias)
		}
		return x.Name + alias(x.Alias)
	case *ast.Join:
		s := "(" + x.Kind.String() + " " + tableString(x.Left) + " " + tableString(x.Right)
		if x.On != nil {
			s += " ON " + exprString(x.On)
		}
		if len(x.Using) > 0 {
			s += " USING " + strings.Join(x.Using, ",")
		}
		return s + ")"
	case *ast.DerivedTable:
		return "(" + selectString(x.Query) + ")" + alias(x.Alias)
	case *ast.WindowTVF:
		s := x.Kind + "(" + tableString(x.Input)
		if len(x.PartitionBy) > 0 {
			s += " PARTITION BY " + strings.Join(x.PartitionBy, ",")
		}
		return s + " DESCRIPTOR(" + x.TimeCol + ") " + exprList(x.Args) + ")" + alias(x.Alias)
	}
	return "?"
}

func alias(a string) string {
	if a == "" {
		return ""
	}
	return " AS " + a
}

func selectString(s *ast.Select) string {
	var b strings.Builder
	for _, c := range s.With {
		b.WriteString("WITH " + c.Name + " (" + selectString(c.Query) + ") ")
	}
	b.WriteString("SELECT ")
	if s.Distinct {
		b.WriteString("DISTINCT ")
	}
	for i, it := range s.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		switch {
		case it.Star && it.StarTable != "":
			b.WriteString(it.StarTable + ".*")
		case it.Star:
			b.WriteString("*")
		default:
			b.WriteString(exprString(it.Expr) + alias(it.Alias))
		}
	}
	if s.From != nil {
		b.WriteString(" FROM " + tableString(s.From))
	}
	if s.Where != nil {
		b.WriteString(" WHERE " + exprString(s.Where))
	}
	if len(s.GroupBy) > 0 {
		b.WriteString(" GROUP BY " + exprList(s.GroupBy))
	}
	if s.Having != nil {
		b.WriteString(" HAVING " + exprString(s.Having))
	}
	if len(s.OrderBy) > 0 {
		b.WriteString(" ORDER BY")
		for _, o := range s.OrderBy {
			b.WriteString(" " + exprString(o.Expr))
			if o.Desc {
				b.WriteString(" DESC")
			}
		}
	}
	if s.Limit != nil {
		b.WriteString(" LIMIT " + exprString(s.Limit))
	}
	if s.Offset != nil {
		b.WriteString(" OFFSET " + exprString(s.Offset))
	}
	for _, op := range s.SetOps {
		b.WriteString(" " + op.Op)
		if op.All {
			b.WriteString(" ALL")
		}
		b.WriteString(" " + selectString(op.Query))
	}
	return b.String()
}
