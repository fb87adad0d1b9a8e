package expr

import (
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Binding of the special forms: BETWEEN, IN, LIKE, CASE, CAST.

func (b *binder) bindBetween(x *ast.Between) (Expr, error) {
	v, err := b.bind(x.X)
	if err != nil {
		return nil, err
	}
	lo, err := b.bind(x.Lo)
	if err != nil {
		return nil, err
	}
	hi, err := b.bind(x.Hi)
	if err != nil {
		return nil, err
	}
	op1, op2, join := ">=", "<=", "AND"
	if x.Not {
		op1, op2, join = "<", ">", "OR"
	}
	c1, err := b.compareAt(op1, v, lo, x.Pos, x.X.Position(), x.Lo.Position())
	if err != nil {
		return nil, err
	}
	c2, err := b.compareAt(op2, v, hi, x.Pos, x.X.Position(), x.Hi.Position())
	if err != nil {
		return nil, err
	}
	return b.binary(join, c1, c2, x.Pos)
}

func (b *binder) bindIn(x *ast.In) (Expr, error) {
	v, err := b.bind(x.X)
	if err != nil {
		return nil, err
	}
	args := []Expr{v}
	ts := []types.Type{v.Type()}
	for _, a := range x.List {
		e, err := b.bind(a)
		if err != nil {
			return nil, err
		}
		if l, ok := e.(*Literal); ok && l.T.Kind == types.String && v.Type().Kind != types.String && v.Type().Kind != types.Null {
			if e, err = b.coerceLiteral(l, v.Type(), a.Position()); err != nil {
				return nil, err
			}
		}
		args = append(args, e)
		ts = append(ts, e.Type())
	}
	t, ok := commonType(ts)
	if !ok {
		return nil, ast.Errorf(x.Pos, "IN: cannot find a common type for %s", typeList(ts))
	}
	notNull := true
	for i, a := range args {
		pos := x.Pos
		if i > 0 {
			pos = x.List[i-1].Position()
		}
		if args[i], err = b.coerce(a, t, pos); err != nil {
			return nil, err
		}
		notNull = notNull && a.Type().NotNull
	}
	fn := "IN"
	if x.Not {
		fn = "NOT IN"
	}
	return &Call{Fn: fn, Args: args, T: types.TypeBoolean.WithNotNull(notNull)}, nil
}

func typeList(ts []types.Type) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.WithNotNull(false).String()
	}
	return strings.Join(parts, ", ")
}

func (b *binder) bindLike(x *ast.Like) (Expr, error) {
	v, err := b.bind(x.X)
	if err != nil {
		return nil, err
	}
	p, err := b.bind(x.Pattern)
	if err != nil {
		return nil, err
	}
	if v, err = b.stringArg(v, "LIKE", x.X.Position()); err != nil {
		return nil, err
	}
	if p, err = b.stringArg(p, "LIKE", x.Pattern.Position()); err != nil {
		return nil, err
	}
	esc := x.Escape
	if esc == "" {
		esc = `\`
	}
	if len([]rune(esc)) != 1 {
		return nil, ast.Errorf(x.Pos, "LIKE escape must be a single character, got '%s'", esc)
	}
	fn := "LIKE"
	if x.Not {
		fn = "NOT LIKE"
	}
	if l, ok := p.(*Literal); ok && l.V != nil {
		if _, err := compileLike(l.V.(string), []rune(esc)[0]); err != nil {
			return nil, ast.Errorf(x.Pattern.Position(), "%v", err)
		}
	}
	t := types.TypeBoolean.WithNotNull(v.Type().NotNull && p.Type().NotNull)
	return &Call{Fn: fn, Args: []Expr{v, p}, T: t, Aux: esc}, nil
}

func (b *binder) bindCase(x *ast.Case) (Expr, error) {
	var operand Expr
	var err error
	if x.Operand != nil {
		if operand, err = b.bind(x.Operand); err != nil {
			return nil, err
		}
	}
	var conds, results []Expr
	var poses []ast.Pos
	for _, w := range x.Whens {
		c, err := b.bind(w.Cond)
		if err != nil {
			return nil, err
		}
		if operand != nil {
			if c, err = b.compareAt("=", operand, c, w.Cond.Position(), x.Operand.Position(), w.Cond.Position()); err != nil {
				return nil, err
			}
		} else if c, err = b.boolArg(c, "WHEN", w.Cond.Position()); err != nil {
			return nil, err
		}
		r, err := b.bind(w.Result)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
		results = append(results, r)
		poses = append(poses, w.Result.Position())
	}
	var els Expr = &Literal{T: types.TypeNull}
	if x.Else != nil {
		if els, err = b.bind(x.Else); err != nil {
			return nil, err
		}
	}
	results = append(results, els)
	poses = append(poses, x.Pos)
	t, err := b.unify("CASE", results, poses, x.Pos)
	if err != nil {
		return nil, err
	}
	args := make([]Expr, 0, 2*len(conds)+1)
	for i := range conds {
		args = append(args, conds[i], results[i])
	}
	args = append(args, results[len(results)-1])
	return &Call{Fn: "CASE", Args: args, T: t.WithNotNull(allNotNull(results))}, nil
}

// unify coerces es (in place) to their common type and returns it.
func (b *binder) unify(what string, es []Expr, poses []ast.Pos, pos ast.Pos) (types.Type, error) {
	ts := make([]types.Type, len(es))
	for i, e := range es {
		ts[i] = e.Type()
	}
	t, ok := commonType(ts)
	if !ok {
		return t, ast.Errorf(pos, "%s: cannot find a common type for %s", what, typeList(ts))
	}
	if t.Kind == types.Null {
		return t, nil
	}
	for i, e := range es {
		c, err := b.coerce(e, t, poses[i])
		if err != nil {
			return t, err
		}
		es[i] = c
	}
	return t, nil
}

func (b *binder) bindCast(x *ast.Cast) (Expr, error) {
	v, err := b.bind(x.X)
	if err != nil {
		return nil, err
	}
	to := x.To.WithNotNull(false)
	if to.Kind == types.Decimal && (to.Precision > maxP || to.Precision < 1 || to.Scale > to.Precision || to.Scale < 0) {
		if to.Precision > maxP {
			return nil, ast.Errorf(x.Pos, "not supported yet: DECIMAL precision above %d", maxP)
		}
		return nil, ast.Errorf(x.Pos, "invalid type %s", to)
	}
	if to.Kind == types.Null {
		return nil, ast.Errorf(x.Pos, "cannot cast to NULL")
	}
	from := v.Type()
	if !canCast(from, to) {
		return nil, ast.Errorf(x.Pos, "cannot cast %s to %s", from.WithNotNull(false), to)
	}
	if from.Kind == types.Null {
		return typedNull(to), nil
	}
	to.NotNull = from.NotNull && !x.Try
	return &Call{Fn: "CAST", Args: []Expr{v}, T: to, Try: x.Try}, nil
}
