package expr

import (
	"sort"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/types"
)

// Literal is a bound constant. V holds the Go value of the physical type of T
// (int32, int64, float64, bool, string) or nil for NULL.
type Literal struct {
	T types.Type
	V any
	// Text is how EXPLAIN shows the literal; empty means derive it from V.
	Text string
}

func (l *Literal) Type() types.Type { return l.T }

func (l *Literal) String() string {
	if l.Text != "" {
		return l.Text
	}
	if l.V == nil {
		return "NULL"
	}
	return literalText(l.T, l.V)
}

// literalText renders a physical value as SQL text.
func literalText(t types.Type, v any) string {
	switch t.Kind {
	case types.String:
		return "'" + strings.ReplaceAll(v.(string), "'", "''") + "'"
	case types.Boolean:
		if v.(bool) {
			return "TRUE"
		}
		return "FALSE"
	case types.Timestamp:
		return "TIMESTAMP '" + formatTimestamp(v.(int64), t.Precision) + "'"
	case types.Date:
		return "DATE '" + formatDate(v.(int32)) + "'"
	case types.Interval:
		return "INTERVAL '" + formatIntervalMillis(v.(int64)) + "' DAY TO SECOND"
	case types.Decimal:
		return formatDecimal(v.(int64), t.Scale)
	case types.Double:
		return formatDouble(v.(float64))
	case types.Int:
		return strconv.Itoa(int(v.(int32)))
	case types.BigInt, types.TimestampLTZ:
		return strconv.FormatInt(v.(int64), 10)
	}
	return "?"
}

// Call is a bound operator or function application. Fn is the canonical
// upper-case name: an SQL operator ("+", "=", "AND", "NOT", "NEG",
// "IS NULL", ...) or a function name ("UPPER", "CAST", "CASE", ...).
type Call struct {
	Fn   string
	Args []Expr
	T    types.Type
	// Aux carries a call's non-expression argument: the unit of EXTRACT /
	// TIMESTAMPADD / TIMESTAMPDIFF, or the escape character of LIKE.
	Aux string
	// Try marks TRY_CAST (NULL instead of an error).
	Try bool
	// Implicit marks a cast the binder inserted; EXPLAIN shows its operand.
	Implicit bool
}

func (c *Call) Type() types.Type { return c.T }

func isInfix(fn string) bool {
	switch fn {
	case "+", "-", "*", "/", "%", "=", "<>", "<", "<=", ">", ">=", "AND", "OR":
		return true
	}
	return false
}

func isPostfix(fn string) bool {
	switch fn {
	case "IS NULL", "IS NOT NULL", "IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE":
		return true
	}
	return false
}

func (c *Call) String() string {
	var sb strings.Builder
	c.render(&sb)
	return sb.String()
}

// precedence of an operator node for EXPLAIN rendering; 0 = atomic.
func precedence(e Expr) int {
	c, ok := e.(*Call)
	if !ok {
		return 0
	}
	if c.Implicit {
		return precedence(c.Args[0])
	}
	switch c.Fn {
	case "OR":
		return 1
	case "AND":
		return 2
	case "NOT":
		return 3
	case "=", "<>", "<", "<=", ">", ">=", "LIKE", "NOT LIKE", "IN", "NOT IN",
		"IS NULL", "IS NOT NULL", "IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE":
		return 4
	case "+", "-":
		return 5
	case "*", "/", "%":
		return 6
	}
	return 0
}

// renderArg renders an operand of an operator of precedence prec,
// parenthesised when it binds more loosely (or equally, on the right).
func renderArg(sb *strings.Builder, e Expr, prec int, right bool) {
	if c, ok := e.(*Call); ok && c.Implicit {
		renderArg(sb, c.Args[0], prec, right)
		return
	}
	p := precedence(e)
	if p != 0 && (p < prec || (right && p == prec)) {
		sb.WriteByte('(')
		sb.WriteString(e.String())
		sb.WriteByte(')')
		return
	}
	sb.WriteString(e.String())
}

func (c *Call) render(sb *strings.Builder) {
	switch {
	case c.Implicit:
		sb.WriteString(c.Args[0].String())
	case isInfix(c.Fn):
		p := precedence(c)
		renderArg(sb, c.Args[0], p, false)
		sb.WriteString(" " + c.Fn + " ")
		renderArg(sb, c.Args[1], p, true)
	case isPostfix(c.Fn):
		renderArg(sb, c.Args[0], 4, true)
		sb.WriteString(" " + c.Fn)
	case c.Fn == "NOT":
		sb.WriteString("NOT ")
		renderArg(sb, c.Args[0], 3, true)
	case c.Fn == "NEG":
		sb.WriteString("-")
		renderArg(sb, c.Args[0], 7, true)
	case c.Fn == "CAST":
		if c.Try {
			sb.WriteString("TRY_CAST(")
		} else {
			sb.WriteString("CAST(")
		}
		sb.WriteString(c.Args[0].String())
		sb.WriteString(" AS " + c.T.WithNotNull(false).String() + ")")
	case c.Fn == "LIKE" || c.Fn == "NOT LIKE":
		renderArg(sb, c.Args[0], 4, false)
		sb.WriteString(" " + c.Fn + " ")
		renderArg(sb, c.Args[1], 4, true)
		if c.Aux != "" && c.Aux != `\` {
			sb.WriteString(" ESCAPE '" + c.Aux + "'")
		}
	case c.Fn == "IN" || c.Fn == "NOT IN":
		renderArg(sb, c.Args[0], 4, false)
		sb.WriteString(" " + c.Fn + " (")
		for i, a := range c.Args[1:] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(a.String())
		}
		sb.WriteString(")")
	case c.Fn == "CASE":
		sb.WriteString("CASE")
		n := len(c.Args) - 1
		for i := 0; i+1 < n+1 && i < n; i += 2 {
			sb.WriteString(" WHEN " + c.Args[i].String() + " THEN " + c.Args[i+1].String())
		}
		sb.WriteString(" ELSE " + c.Args[n].String() + " END")
	case c.Fn == "NULLIF":
		sb.WriteString("NULLIF(" + c.Args[0].String() + ", " + c.Args[1].String() + ")")
	case c.Fn == "EXTRACT":
		sb.WriteString("EXTRACT(" + c.Aux + " FROM " + c.Args[0].String() + ")")
	case c.Fn == "TIMESTAMPADD" || c.Fn == "TIMESTAMPDIFF":
		sb.WriteString(c.Fn + "(" + c.Aux)
		for _, a := range c.Args {
			sb.WriteString(", " + a.String())
		}
		sb.WriteString(")")
	default:
		sb.WriteString(c.Fn + "(")
		for i, a := range c.Args {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(a.String())
		}
		sb.WriteString(")")
	}
}

// IsAggregate reports whether name (upper case) is an aggregate function.
func IsAggregate(name string) bool {
	switch name {
	case "COUNT", "SUM", "SUM0", "$SUM0", "AVG", "MIN", "MAX",
		"STDDEV", "STDDEV_POP", "STDDEV_SAMP", "VARIANCE", "VAR_POP", "VAR_SAMP",
		"COLLECT", "LISTAGG", "FIRST_VALUE", "LAST_VALUE", "BOOL_AND", "BOOL_OR",
		"APPROX_COUNT_DISTINCT", "ARRAY_AGG":
		return true
	}
	return false
}

// isWindowOnly reports functions that exist only with OVER; they are
// handed to the planner like aggregates.
func isWindowOnly(name string) bool {
	switch name {
	case "ROW_NUMBER", "RANK", "DENSE_RANK", "PERCENT_RANK", "CUME_DIST", "NTILE", "LEAD", "LAG":
		return true
	}
	return false
}

// Refs returns the sorted, distinct input column indexes e reads.
func Refs(e Expr) []int {
	seen := map[int]bool{}
	walk(e, func(x Expr) {
		if c, ok := x.(*ColumnRef); ok {
			seen[c.Index] = true
		}
	})
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

func walk(e Expr, f func(Expr)) {
	f(e)
	if c, ok := e.(*Call); ok {
		for _, a := range c.Args {
			walk(a, f)
		}
	}
}

// Remap returns e with every column index i replaced by m[i]; indexes
// missing from m are kept. e itself is not modified.
func Remap(e Expr, m map[int]int) Expr {
	switch x := e.(type) {
	case *ColumnRef:
		if j, ok := m[x.Index]; ok {
			return &ColumnRef{Index: j, T: x.T, Name: x.Name}
		}
		return x
	case *Call:
		cp := *x
		cp.Args = make([]Expr, len(x.Args))
		for i, a := range x.Args {
			cp.Args[i] = Remap(a, m)
		}
		return &cp
	}
	return e
}

// Substitute returns e with every column reference i replaced by cols[i]:
// it inlines one projection into another, so two stacked Calcs become one.
func Substitute(e Expr, cols []Expr) Expr {
	switch x := e.(type) {
	case *ColumnRef:
		return cols[x.Index]
	case *Call:
		cp := *x
		cp.Args = make([]Expr, len(x.Args))
		for i, a := range x.Args {
			cp.Args[i] = Substitute(a, cols)
		}
		return &cp
	}
	return e
}

// And combines two boolean conditions; evaluation of b is limited to the
// rows where a holds, as for a written AND.
func And(a, b Expr) Expr {
	t := types.TypeBoolean
	t.NotNull = a.Type().NotNull && b.Type().NotNull
	return &Call{Fn: "AND", Args: []Expr{a, b}, T: t}
}
