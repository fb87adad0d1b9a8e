package expr

import (
	"errors"
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Bind type-checks e against scope. Type errors are *ast.Error at the
// offending node ("cannot apply '+' to STRING and INT").
func Bind(e ast.Expr, scope Scope, opts BindOptions) (Expr, error) {
	b := &binder{scope: scope, opts: opts}
	return b.bind(e)
}

type binder struct {
	scope Scope
	opts  BindOptions
}

func (b *binder) bind(e ast.Expr) (Expr, error) {
	switch x := e.(type) {
	case nil:
		return nil, errors.New("bind: missing expression")
	case *ast.Ident:
		if b.scope == nil {
			return nil, ast.Errorf(x.Pos, "unknown column '%s'", strings.Join(x.Parts, "."))
		}
		idx, t, err := b.scope.Resolve(x)
		if err != nil {
			// Niladic functions written without parentheses, if the
			// parser hands them over as names.
			if len(x.Parts) == 1 && niladic(strings.ToUpper(x.Parts[0])) {
				return b.bindCall(&ast.Call{Name: strings.ToUpper(x.Parts[0]), Pos: x.Pos})
			}
			return nil, err
		}
		return &ColumnRef{Index: idx, T: t, Name: strings.Join(x.Parts, ".")}, nil
	case *ast.Literal:
		return bindLiteral(x)
	case *ast.Unary:
		return b.bindUnary(x)
	case *ast.Binary:
		l, err := b.bind(x.L)
		if err != nil {
			return nil, err
		}
		r, err := b.bind(x.R)
		if err != nil {
			return nil, err
		}
		return b.binaryAt(x.Op, l, r, x.Pos, x.L.Position(), x.R.Position())
	case *ast.IsNull:
		v, err := b.bind(x.X)
		if err != nil {
			return nil, err
		}
		fn := "IS NULL"
		if x.Not {
			fn = "IS NOT NULL"
		}
		return &Call{Fn: fn, Args: []Expr{v}, T: types.TypeBoolean.WithNotNull(true)}, nil
	case *ast.IsBool:
		v, err := b.bind(x.X)
		if err != nil {
			return nil, err
		}
		if v, err = b.boolArg(v, "IS", x.X.Position()); err != nil {
			return nil, err
		}
		fn := "IS "
		if x.Not {
			fn += "NOT "
		}
		if x.Value {
			fn += "TRUE"
		} else {
			fn += "FALSE"
		}
		return &Call{Fn: fn, Args: []Expr{v}, T: types.TypeBoolean.WithNotNull(true)}, nil
	case *ast.Between:
		return b.bindBetween(x)
	case *ast.In:
		return b.bindIn(x)
	case *ast.Like:
		return b.bindLike(x)
	case *ast.Case:
		return b.bindCase(x)
	case *ast.Cast:
		return b.bindCast(x)
	case *ast.Extract:
		v, err := b.bind(x.X)
		if err != nil {
			return nil, err
		}
		return b.extract(x.Unit, v, x.Pos, x.X.Position())
	case *ast.Call:
		return b.bindCall(x)
	case *ast.Subquery:
		return nil, ast.Errorf(x.Pos, "not supported yet: subqueries in expressions")
	}
	return nil, ast.Errorf(e.Position(), "not supported yet: expression %T", e)
}

func niladic(name string) bool {
	switch name {
	case "CURRENT_TIMESTAMP", "LOCALTIMESTAMP", "CURRENT_DATE", "CURRENT_ROW_TIMESTAMP":
		return true
	}
	return false
}

// typedNull is a NULL literal of type t.
func typedNull(t types.Type) *Literal { return &Literal{T: t.WithNotNull(false)} }

// coerce converts e to type to (ignoring nullability): literals are
// converted now, anything else gets an implicit CAST.
func (b *binder) coerce(e Expr, to types.Type, pos ast.Pos) (Expr, error) {
	from := e.Type()
	if from.Equal(to) {
		return e, nil
	}
	if from.Kind == types.Null {
		return typedNull(to), nil
	}
	to = to.WithNotNull(from.NotNull)
	if l, ok := e.(*Literal); ok && from.Kind != types.TimestampLTZ && to.Kind != types.TimestampLTZ {
		v, err := castValue(l.V, from, to, &EvalEnv{})
		if err != nil {
			return nil, ast.Errorf(pos, "cannot convert %s to %s", l.String(), to.WithNotNull(false))
		}
		return &Literal{T: to, V: v}, nil
	}
	return &Call{Fn: "CAST", Args: []Expr{e}, T: to, Implicit: true}, nil
}

func (b *binder) boolArg(e Expr, op string, pos ast.Pos) (Expr, error) {
	switch e.Type().Kind {
	case types.Boolean:
		return e, nil
	case types.Null:
		return typedNull(types.TypeBoolean), nil
	}
	return nil, ast.Errorf(pos, "%s expects BOOLEAN, got %s", op, e.Type().WithNotNull(false))
}

func (b *binder) bindUnary(x *ast.Unary) (Expr, error) {
	v, err := b.bind(x.X)
	if err != nil {
		return nil, err
	}
	switch x.Op {
	case "NOT":
		if v, err = b.boolArg(v, "NOT", x.X.Position()); err != nil {
			return nil, err
		}
		return &Call{Fn: "NOT", Args: []Expr{v}, T: v.Type()}, nil
	case "-":
		t := v.Type()
		if !t.IsNumeric() && t.Kind != types.Interval && t.Kind != types.Null {
			return nil, ast.Errorf(x.Pos, "cannot apply '-' to %s", t.WithNotNull(false))
		}
		if l, ok := v.(*Literal); ok && l.V != nil {
			// Fold negative literals so -2147483648 stays an INT and EXPLAIN reads naturally.
			if nv, ok := negateValue(l.V); ok {
				return &Literal{T: t, V: nv}, nil
			}
		}
		return &Call{Fn: "NEG", Args: []Expr{v}, T: t}, nil
	case "+":
		return v, nil
	}
	return nil, ast.Errorf(x.Pos, "unknown operator '%s'", x.Op)
}

func negateValue(v any) (any, bool) {
	switch n := v.(type) {
	case int32:
		if n != -n || n == 0 {
			return -n, true
		}
	case int64:
		if n != -n || n == 0 {
			return -n, true
		}
	case float64:
		return -n, true
	}
	return nil, false
}

func (b *binder) binary(op string, l, r Expr, pos ast.Pos) (Expr, error) {
	return b.binaryAt(op, l, r, pos, pos, pos)
}

// binaryAt binds an infix operator; lpos and rpos locate the operands for
// errors about them (a string literal that is not a valid TIMESTAMP).
func (b *binder) binaryAt(op string, l, r Expr, pos, lpos, rpos ast.Pos) (Expr, error) {
	switch op {
	case "+", "-", "*", "/", "%":
		return b.arith(op, l, r, pos)
	case "=", "<>", "!=", "<", "<=", ">", ">=":
		if op == "!=" {
			op = "<>"
		}
		return b.compareAt(op, l, r, pos, lpos, rpos)
	case "AND", "OR":
		var err error
		if l, err = b.boolArg(l, op, pos); err != nil {
			return nil, err
		}
		if r, err = b.boolArg(r, op, pos); err != nil {
			return nil, err
		}
		t := types.TypeBoolean.WithNotNull(l.Type().NotNull && r.Type().NotNull)
		return &Call{Fn: op, Args: []Expr{l, r}, T: t}, nil
	case "||":
		return b.concat([]Expr{l, r}, []ast.Pos{pos, pos}, pos)
	}
	return nil, ast.Errorf(pos, "unknown operator '%s'", op)
}

func opError(op string, l, r Expr, pos ast.Pos) error {
	return ast.Errorf(pos, "cannot apply '%s' to %s and %s", op,
		l.Type().WithNotNull(false), r.Type().WithNotNull(false))
}

func (b *binder) arith(op string, l, r Expr, pos ast.Pos) (Expr, error) {
	lt, rt := l.Type(), r.Type()
	if lt.Kind == types.Null && rt.Kind == types.Null {
		return nil, opError(op, l, r, pos)
	}
	if lt.Kind == types.Null {
		l, lt = typedNull(rt), rt.WithNotNull(false)
	}
	if rt.Kind == types.Null {
		r, rt = typedNull(lt), lt.WithNotNull(false)
	}
	notNull := lt.NotNull && rt.NotNull
	switch {
	case lt.IsNumeric() && rt.IsNumeric():
		t := arithType(op, lt, rt)
		var err error
		switch t.Kind {
		case types.Double, types.Int, types.BigInt:
			if l, err = b.coerce(l, t, pos); err != nil {
				return nil, err
			}
			if r, err = b.coerce(r, t, pos); err != nil {
				return nil, err
			}
		case types.Decimal:
			// The decimal kernel reads each operand at its own scale; INT
			// operands only need to be widened to int64.
			if lt.Kind == types.Int {
				if l, err = b.coerce(l, types.TypeBigInt, pos); err != nil {
					return nil, err
				}
			}
			if rt.Kind == types.Int {
				if r, err = b.coerce(r, types.TypeBigInt, pos); err != nil {
					return nil, err
				}
			}
		}
		return &Call{Fn: op, Args: []Expr{l, r}, T: t.WithNotNull(notNull)}, nil
	case (op == "+" || op == "-") && (lt.Kind == types.Timestamp || lt.Kind == types.TimestampLTZ || lt.Kind == types.Date) && rt.Kind == types.Interval:
		return &Call{Fn: op, Args: []Expr{l, r}, T: lt.WithNotNull(notNull)}, nil
	case op == "+" && lt.Kind == types.Interval && (rt.Kind == types.Timestamp || rt.Kind == types.TimestampLTZ || rt.Kind == types.Date):
		// Normalise INTERVAL + ts to ts + INTERVAL: one kernel.
		return &Call{Fn: op, Args: []Expr{r, l}, T: rt.WithNotNull(notNull)}, nil
	case (op == "+" || op == "-") && lt.Kind == types.Interval && rt.Kind == types.Interval:
		return &Call{Fn: op, Args: []Expr{l, r}, T: types.IntervalType.WithNotNull(notNull)}, nil
	case (op == "*" || op == "/") && lt.Kind == types.Interval && rt.IsInteger(),
		op == "*" && lt.IsInteger() && rt.Kind == types.Interval:
		var err error
		if lt.IsInteger() {
			l, r = r, l
		}
		if r, err = b.coerce(r, types.TypeBigInt, pos); err != nil {
			return nil, err
		}
		return &Call{Fn: op, Args: []Expr{l, r}, T: types.IntervalType.WithNotNull(notNull)}, nil
	case op == "-" && lt.IsTemporal() && rt.IsTemporal():
		return nil, ast.Errorf(pos, "not supported yet: subtracting %s from %s (use TIMESTAMPDIFF)",
			rt.WithNotNull(false), lt.WithNotNull(false))
	}
	return nil, opError(op, l, r, pos)
}

// compareType finds the type both sides of a comparison are converted to.
func compareType(lt, rt types.Type) (types.Type, bool) {
	lt, rt = lt.WithNotNull(false), rt.WithNotNull(false)
	switch {
	case lt.IsNumeric() && rt.IsNumeric():
		if lt.Equal(rt) {
			return lt, true
		}
		return numericWiden(lt, rt), true
	case lt.Kind == rt.Kind && (lt.Kind == types.Timestamp || lt.Kind == types.TimestampLTZ):
		// Same physical unit (micros) whatever the precision.
		return lt, true
	case lt.Kind == types.Date && rt.Kind == types.Timestamp:
		return rt, true
	case lt.Kind == types.Timestamp && rt.Kind == types.Date:
		return lt, true
	case lt.Kind == types.String && rt.Kind == types.String:
		return types.TypeString, true
	case lt.Kind == rt.Kind && lt.Kind != types.Null:
		return lt, true
	}
	return lt, false
}

// sameForCompare reports whether a value of type a can be compared with
// one of type b without conversion.
func sameForCompare(a, b types.Type) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == types.Decimal {
		return a.Scale == b.Scale
	}
	return true
}

// literalFor converts literal l exactly to type t, if it can (so a column
// compared with a constant keeps its own type and the fast path).
func literalFor(l *Literal, t types.Type) (*Literal, bool) {
	if l.V == nil {
		return typedNull(t), true
	}
	lt := l.T
	if !lt.IsNumeric() || !t.IsNumeric() {
		return nil, false
	}
	v, err := castValue(l.V, lt, t, &EvalEnv{})
	if err != nil {
		return nil, false
	}
	back, err := castValue(v, t, lt, &EvalEnv{})
	if err != nil || back != l.V {
		return nil, false
	}
	return &Literal{T: t.WithNotNull(lt.NotNull), V: v}, true
}

func (b *binder) compare(op string, l, r Expr, pos ast.Pos) (Expr, error) {
	return b.compareAt(op, l, r, pos, pos, pos)
}

func (b *binder) compareAt(op string, l, r Expr, pos, lpos, rpos ast.Pos) (Expr, error) {
	lt, rt := l.Type(), r.Type()
	boolT := types.TypeBoolean.WithNotNull(lt.NotNull && rt.NotNull)
	if lt.Kind == types.Null || rt.Kind == types.Null {
		return &Literal{T: types.TypeBoolean}, nil
	}
	var err error
	// A string literal compared with something else takes that type.
	if ll, ok := l.(*Literal); ok && lt.Kind == types.String && rt.Kind != types.String {
		if l, err = b.coerceLiteral(ll, rt, lpos); err != nil {
			return nil, err
		}
		lt = l.Type()
	}
	if rl, ok := r.(*Literal); ok && rt.Kind == types.String && lt.Kind != types.String {
		if r, err = b.coerceLiteral(rl, lt, rpos); err != nil {
			return nil, err
		}
		rt = r.Type()
	}
	if !sameForCompare(lt, rt) {
		if rl, ok := r.(*Literal); ok {
			if nl, ok := literalFor(rl, lt); ok {
				return &Call{Fn: op, Args: []Expr{l, nl}, T: boolT}, nil
			}
		}
		if ll, ok := l.(*Literal); ok {
			if nl, ok := literalFor(ll, rt); ok {
				return &Call{Fn: op, Args: []Expr{nl, r}, T: boolT}, nil
			}
		}
		t, ok := compareType(lt, rt)
		if !ok {
			return nil, opError(op, l, r, pos)
		}
		if l, err = b.coerce(l, t, pos); err != nil {
			return nil, err
		}
		if r, err = b.coerce(r, t, pos); err != nil {
			return nil, err
		}
	} else if _, ok := compareType(lt, rt); !ok {
		return nil, opError(op, l, r, pos)
	}
	return &Call{Fn: op, Args: []Expr{l, r}, T: boolT}, nil
}

// coerceLiteral converts a string literal to t at bind time, so that
// ts > '2024-01-01 00:00:00' costs nothing per row.
func (b *binder) coerceLiteral(l *Literal, t types.Type, pos ast.Pos) (Expr, error) {
	t = t.WithNotNull(l.T.NotNull)
	if l.V == nil {
		return typedNull(t), nil
	}
	if !canCast(l.T, t) {
		return nil, ast.Errorf(pos, "cannot compare %s with %s", t.WithNotNull(false), l.String())
	}
	if t.Kind == types.TimestampLTZ {
		// Needs the session zone: convert when compiling.
		return &Call{Fn: "CAST", Args: []Expr{l}, T: t, Implicit: true}, nil
	}
	v, err := castValue(l.V, l.T, t, &EvalEnv{})
	if err != nil {
		return nil, ast.Errorf(pos, "cannot convert %s to %s", l.String(), t.WithNotNull(false))
	}
	return &Literal{T: t, V: v}, nil
}

func (b *binder) bindCall(x *ast.Call) (Expr, error) {
	if x.Over != nil || IsAggregate(x.Name) || isWindowOnly(x.Name) {
		if b.opts.OnAggregate == nil {
			if x.Over != nil && !IsAggregate(x.Name) && !isWindowOnly(x.Name) {
				return nil, ast.Errorf(x.Pos, "function %s cannot be used with OVER", x.Name)
			}
			return nil, ast.Errorf(x.Pos, "aggregate function %s is not allowed here", x.Name)
		}
		return b.opts.OnAggregate(x)
	}
	if x.Star {
		return nil, ast.Errorf(x.Pos, "function %s does not accept *", x.Name)
	}
	if x.Distinct || x.Filter != nil {
		return nil, ast.Errorf(x.Pos, "DISTINCT and FILTER apply only to aggregate functions, not %s", x.Name)
	}
	args := make([]Expr, len(x.Args))
	poses := make([]ast.Pos, len(x.Args))
	for i, a := range x.Args {
		if x.Name == "TIMESTAMPADD" || x.Name == "TIMESTAMPDIFF" {
			if i == 0 {
				// The unit is a keyword, not an expression.
				poses[i] = a.Position()
				continue
			}
		}
		e, err := b.bind(a)
		if err != nil {
			return nil, err
		}
		args[i] = e
		poses[i] = a.Position()
	}
	return b.function(x, args, poses)
}
