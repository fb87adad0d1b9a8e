package expr

// A tiny SQL expression parser for tests only, so that test tables can be
// written as SQL text; the real parser lives in package sql. Positions are
// column offsets on line 1.

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

type tok struct {
	kind byte // 'i' ident/keyword, 'n' number, 's' string, 'o' operator, 0 end
	text string
	pos  ast.Pos
}

type tparser struct {
	toks []tok
	i    int
}

func lex(src string) ([]tok, error) {
	var out []tok
	for i := 0; i < len(src); {
		c := rune(src[i])
		pos := ast.Pos{Line: 1, Col: i + 1, Offset: i}
		switch {
		case unicode.IsSpace(c):
			i++
		case unicode.IsLetter(c) || c == '_':
			j := i
			for j < len(src) && (unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j])) || src[j] == '_' || src[j] == '.') {
				j++
			}
			out = append(out, tok{'i', src[i:j], pos})
			i = j
		case unicode.IsDigit(c):
			j := i
			for j < len(src) && (unicode.IsDigit(rune(src[j])) || src[j] == '.' || src[j] == 'e' || src[j] == 'E') {
				j++
			}
			out = append(out, tok{'n', src[i:j], pos})
			i = j
		case c == '\'':
			j := i + 1
			var sb strings.Builder
			for {
				if j >= len(src) {
					return nil, fmt.Errorf("unterminated string")
				}
				if src[j] == '\'' {
					if j+1 < len(src) && src[j+1] == '\'' {
						sb.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				sb.WriteByte(src[j])
				j++
			}
			out = append(out, tok{'s', sb.String(), pos})
			i = j + 1
		default:
			for _, op := range []string{"<=", ">=", "<>", "!=", "||", "+", "-", "*", "/", "%", "=", "<", ">", "(", ")", ","} {
				if strings.HasPrefix(src[i:], op) {
					out = append(out, tok{'o', op, pos})
					i += len(op)
					goto next
				}
			}
			return nil, fmt.Errorf("bad char %q", c)
		next:
		}
	}
	return append(out, tok{kind: 0}), nil
}

func parseExpr(src string) (ast.Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &tparser{toks: toks}
	e, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != 0 {
		return nil, fmt.Errorf("trailing %q", p.peek().text)
	}
	return e, nil
}

func (p *tparser) peek() tok { return p.toks[p.i] }
func (p *tparser) next() tok { t := p.toks[p.i]; p.i++; return t }
func (p *tparser) kw(s string) bool {
	t := p.peek()
	if (t.kind == 'i' || t.kind == 'o') && strings.EqualFold(t.text, s) {
		p.i++
		return true
	}
	return false
}
func (p *tparser) expect(s string) error {
	if !p.kw(s) {
		return fmt.Errorf("expected %s at %v, got %q", s, p.peek().pos, p.peek().text)
	}
	return nil
}

func prec(op string) int {
	switch op {
	case "OR":
		return 1
	case "AND":
		return 2
	case "=", "<>", "!=", "<", "<=", ">", ">=", "IS", "BETWEEN", "IN", "LIKE", "NOT":
		return 4
	case "+", "-", "||":
		return 5
	case "*", "/", "%":
		return 6
	}
	return -1
}

func (p *tparser) expr(min int) (ast.Expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		op := strings.ToUpper(t.text)
		if t.kind != 'o' && t.kind != 'i' {
			return l, nil
		}
		pr := prec(op)
		if pr < 0 || pr <= min {
			return l, nil
		}
		p.next()
		switch op {
		case "IS":
			not := p.kw("NOT")
			switch {
			case p.kw("NULL"):
				l = &ast.IsNull{X: l, Not: not, Pos: t.pos}
			case p.kw("TRUE"):
				l = &ast.IsBool{X: l, Value: true, Not: not, Pos: t.pos}
			case p.kw("FALSE"):
				l = &ast.IsBool{X: l, Value: false, Not: not, Pos: t.pos}
			default:
				return nil, fmt.Errorf("bad IS")
			}
			continue
		case "NOT":
			nt := p.next()
			switch strings.ToUpper(nt.text) {
			case "BETWEEN":
				l, err = p.between(l, true, t.pos)
			case "IN":
				l, err = p.in(l, true, t.pos)
			case "LIKE":
				l, err = p.like(l, true, t.pos)
			default:
				return nil, fmt.Errorf("bad NOT")
			}
			if err != nil {
				return nil, err
			}
			continue
		case "BETWEEN":
			if l, err = p.between(l, false, t.pos); err != nil {
				return nil, err
			}
			continue
		case "IN":
			if l, err = p.in(l, false, t.pos); err != nil {
				return nil, err
			}
			continue
		case "LIKE":
			if l, err = p.like(l, false, t.pos); err != nil {
				return nil, err
			}
			continue
		}
		r, err := p.expr(pr)
		if err != nil {
			return nil, err
		}
		if op == "||" {
			l = &ast.Call{Name: "CONCAT", Args: []ast.Expr{l, r}, Pos: t.pos}
			continue
		}
		l = &ast.Binary{Op: op, L: l, R: r, Pos: t.pos}
	}
}

func (p *tparser) between(x ast.Expr, not bool, pos ast.Pos) (ast.Expr, error) {
	lo, err := p.expr(4)
	if err != nil {
		return nil, err
	}
	if err := p.expect("AND"); err != nil {
		return nil, err
	}
	hi, err := p.expr(4)
	if err != nil {
		return nil, err
	}
	return &ast.Between{X: x, Lo: lo, Hi: hi, Not: not, Pos: pos}, nil
}

func (p *tparser) in(x ast.Expr, not bool, pos ast.Pos) (ast.Expr, error) {
	args, err := p.args()
	if err != nil {
		return nil, err
	}
	return &ast.In{X: x, List: args, Not: not, Pos: pos}, nil
}

func (p *tparser) like(x ast.Expr, not bool, pos ast.Pos) (ast.Expr, error) {
	pat, err := p.expr(4)
	if err != nil {
		return nil, err
	}
	l := &ast.Like{X: x, Pattern: pat, Not: not, Pos: pos}
	if p.kw("ESCAPE") {
		l.Escape = p.next().text
	}
	return l, nil
}

func (p *tparser) args() ([]ast.Expr, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var out []ast.Expr
	if p.kw(")") {
		return out, nil
	}
	for {
		e, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if p.kw(")") {
			return out, nil
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
	}
}

func (p *tparser) unary() (ast.Expr, error) {
	t := p.next()
	up := strings.ToUpper(t.text)
	switch t.kind {
	case 'n':
		kind := ast.LitInt
		if strings.ContainsAny(t.text, "eE") {
			kind = ast.LitFloat
		} else if strings.Contains(t.text, ".") {
			kind = ast.LitDecimal
		}
		return &ast.Literal{Kind: kind, Value: t.text, Pos: t.pos}, nil
	case 's':
		return &ast.Literal{Kind: ast.LitString, Value: t.text, Pos: t.pos}, nil
	case 'o':
		switch t.text {
		case "-":
			x, err := p.expr(6)
			if err != nil {
				return nil, err
			}
			return &ast.Unary{Op: "-", X: x, Pos: t.pos}, nil
		case "(":
			e, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			return e, p.expect(")")
		}
	case 'i':
		switch up {
		case "NULL":
			return &ast.Literal{Kind: ast.LitNull, Pos: t.pos}, nil
		case "TRUE", "FALSE":
			return &ast.Literal{Kind: ast.LitBool, Value: up, Pos: t.pos}, nil
		case "NOT":
			x, err := p.expr(3)
			if err != nil {
				return nil, err
			}
			return &ast.Unary{Op: "NOT", X: x, Pos: t.pos}, nil
		case "TIMESTAMP", "DATE":
			if p.peek().kind == 's' {
				s := p.next().text
				k := ast.LitTimestamp
				if up == "DATE" {
					k = ast.LitDate
				}
				return &ast.Literal{Kind: k, Value: s, Pos: t.pos}, nil
			}
		case "INTERVAL":
			v := p.next().text
			unit := strings.ToUpper(p.next().text)
			if p.kw("TO") {
				unit += " TO " + strings.ToUpper(p.next().text)
			}
			return &ast.Literal{Kind: ast.LitInterval, Value: v, Unit: unit, Pos: t.pos}, nil
		case "CASE":
			c := &ast.Case{Pos: t.pos}
			if !strings.EqualFold(p.peek().text, "WHEN") {
				op, err := p.expr(0)
				if err != nil {
					return nil, err
				}
				c.Operand = op
			}
			for p.kw("WHEN") {
				cond, err := p.expr(0)
				if err != nil {
					return nil, err
				}
				if err := p.expect("THEN"); err != nil {
					return nil, err
				}
				res, err := p.expr(0)
				if err != nil {
					return nil, err
				}
				c.Whens = append(c.Whens, ast.When{Cond: cond, Result: res})
			}
			if p.kw("ELSE") {
				e, err := p.expr(0)
				if err != nil {
					return nil, err
				}
				c.Else = e
			}
			return c, p.expect("END")
		case "CAST", "TRY_CAST":
			if err := p.expect("("); err != nil {
				return nil, err
			}
			x, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect("AS"); err != nil {
				return nil, err
			}
			ty, err := p.typ()
			if err != nil {
				return nil, err
			}
			return &ast.Cast{X: x, To: ty, Try: up == "TRY_CAST", Pos: t.pos}, p.expect(")")
		case "EXTRACT":
			if err := p.expect("("); err != nil {
				return nil, err
			}
			unit := strings.ToUpper(p.next().text)
			if err := p.expect("FROM"); err != nil {
				return nil, err
			}
			x, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			return &ast.Extract{Unit: unit, X: x, Pos: t.pos}, p.expect(")")
		}
		if p.peek().text == "(" {
			if p.toks[p.i+1].text == "*" {
				p.i += 3
				return &ast.Call{Name: up, Star: true, Pos: t.pos}, nil
			}
			args, err := p.args()
			if err != nil {
				return nil, err
			}
			return &ast.Call{Name: up, Args: args, Pos: t.pos}, nil
		}
		return &ast.Ident{Parts: strings.Split(t.text, "."), Pos: t.pos}, nil
	}
	return nil, fmt.Errorf("unexpected %q at %v", t.text, t.pos)
}

func (p *tparser) typ() (types.Type, error) {
	name := strings.ToUpper(p.next().text)
	var nums []int
	if p.kw("(") {
		for !p.kw(")") {
			t := p.next()
			if t.kind == 'n' {
				n, _ := strconv.Atoi(t.text)
				nums = append(nums, n)
			}
		}
	}
	arg := func(i, def int) int {
		if i < len(nums) {
			return nums[i]
		}
		return def
	}
	switch name {
	case "INT", "INTEGER":
		return types.TypeInt, nil
	case "BIGINT":
		return types.TypeBigInt, nil
	case "DOUBLE":
		return types.TypeDouble, nil
	case "STRING":
		return types.TypeString, nil
	case "VARCHAR":
		return types.Type{Kind: types.String, Length: arg(0, 0)}, nil
	case "BOOLEAN":
		return types.TypeBoolean, nil
	case "DATE":
		return types.TypeDate, nil
	case "DECIMAL":
		return types.DecimalOf(arg(0, 10), arg(1, 0)), nil
	case "TIMESTAMP":
		return types.TimestampOf(arg(0, 6)), nil
	case "TIMESTAMP_LTZ":
		return types.TimestampLTZOf(arg(0, 6)), nil
	}
	return types.Type{}, fmt.Errorf("bad type %s", name)
}
