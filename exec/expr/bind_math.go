package expr

import (
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

func (b *binder) mathFunction(x *ast.Call, args []Expr, poses []ast.Pos) (Expr, bool, error) {
	name := x.Name
	var err error
	numeric := func(i int) error {
		t := args[i].Type()
		if t.Kind == types.Null {
			args[i] = typedNull(types.TypeDouble)
			return nil
		}
		if !t.IsNumeric() {
			return argTypeError(name, "a number", args[i], poses[i])
		}
		return nil
	}
	switch name {
	case "ABS", "SIGN":
		if err = argCount(x, 1, 1); err != nil {
			return nil, true, err
		}
		if err = numeric(0); err != nil {
			return nil, true, err
		}
		return &Call{Fn: name, Args: args, T: args[0].Type()}, true, nil
	case "MOD":
		if err = argCount(x, 2, 2); err != nil {
			return nil, true, err
		}
		e, err := b.arith("%", args[0], args[1], x.Pos)
		return e, true, err
	case "FLOOR", "CEIL", "CEILING":
		if err = argCount(x, 1, 1); err != nil {
			return nil, true, err
		}
		if err = numeric(0); err != nil {
			return nil, true, err
		}
		t := args[0].Type()
		if t.Kind == types.Decimal {
			t = types.DecimalOf(min(t.Precision-t.Scale+1, maxP), 0).WithNotNull(t.NotNull)
		}
		if name == "CEILING" {
			name = "CEIL"
		}
		return &Call{Fn: name, Args: args, T: t}, true, nil
	case "ROUND", "TRUNCATE":
		if err = argCount(x, 1, 2); err != nil {
			return nil, true, err
		}
		if err = numeric(0); err != nil {
			return nil, true, err
		}
		d := int64(0)
		if len(args) == 2 {
			l, ok := args[1].(*Literal)
			if !ok || !l.T.IsInteger() || l.V == nil {
				return nil, true, ast.Errorf(poses[1], "not supported yet: %s with a non-constant number of digits", name)
			}
			d = toInt64(l.V)
			if d > 18 || d < -18 {
				return nil, true, ast.Errorf(poses[1], "%s: digits %d out of range", name, d)
			}
		}
		t := args[0].Type()
		if t.Kind == types.Decimal && int(d) < t.Scale {
			s := max(int(d), 0)
			t = types.DecimalOf(min(1+t.Precision-t.Scale+s, maxP), s).WithNotNull(t.NotNull)
		}
		return &Call{Fn: name, Args: args[:1], T: t, Aux: itoaSigned(d)}, true, nil
	case "POWER", "POW":
		if err = argCount(x, 2, 2); err != nil {
			return nil, true, err
		}
		for i := range args {
			if args[i], err = b.doubleArg(args[i], name, poses[i]); err != nil {
				return nil, true, err
			}
		}
		return &Call{Fn: "POWER", Args: args, T: types.TypeDouble.WithNotNull(allNotNull(args))}, true, nil
	case "SQRT", "LN", "LOG10", "LOG2", "EXP", "SIN", "COS", "TAN", "ASIN", "ACOS", "ATAN", "DEGREES", "RADIANS":
		if err = argCount(x, 1, 1); err != nil {
			return nil, true, err
		}
		if args[0], err = b.doubleArg(args[0], name, poses[0]); err != nil {
			return nil, true, err
		}
		return &Call{Fn: name, Args: args, T: types.TypeDouble.WithNotNull(allNotNull(args))}, true, nil
	case "LOG":
		if err = argCount(x, 1, 2); err != nil {
			return nil, true, err
		}
		for i := range args {
			if args[i], err = b.doubleArg(args[i], name, poses[i]); err != nil {
				return nil, true, err
			}
		}
		return &Call{Fn: name, Args: args, T: types.TypeDouble.WithNotNull(allNotNull(args))}, true, nil
	case "PI", "E":
		if err = argCount(x, 0, 0); err != nil {
			return nil, true, err
		}
		return &Call{Fn: name, T: types.TypeDouble.WithNotNull(true)}, true, nil
	}
	return nil, false, nil
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int32:
		return int64(n)
	case int64:
		return n
	}
	return 0
}

func itoaSigned(n int64) string {
	if n < 0 {
		return "-" + itoa(int(-n))
	}
	return itoa(int(n))
}

func (b *binder) condFunction(x *ast.Call, args []Expr, poses []ast.Pos) (Expr, bool, error) {
	name := x.Name
	var err error
	switch name {
	case "COALESCE", "IFNULL":
		if name == "IFNULL" {
			err = argCount(x, 2, 2)
		} else {
			err = argCount(x, 1, -1)
		}
		if err != nil {
			return nil, true, err
		}
		t, err := b.unify(name, args, poses, x.Pos)
		if err != nil {
			return nil, true, err
		}
		notNull := false
		for _, a := range args {
			notNull = notNull || a.Type().NotNull
		}
		return &Call{Fn: "COALESCE", Args: args, T: t.WithNotNull(notNull)}, true, nil
	case "IF":
		if err = argCount(x, 3, 3); err != nil {
			return nil, true, err
		}
		if args[0], err = b.boolArg(args[0], "IF", poses[0]); err != nil {
			return nil, true, err
		}
		rs := args[1:]
		t, err := b.unify("IF", rs, poses[1:], x.Pos)
		if err != nil {
			return nil, true, err
		}
		return &Call{Fn: "IF", Args: args, T: t.WithNotNull(allNotNull(rs))}, true, nil
	case "NULLIF":
		if err = argCount(x, 2, 2); err != nil {
			return nil, true, err
		}
		eq, err := b.compare("=", args[0], args[1], x.Pos)
		if err != nil {
			return nil, true, err
		}
		t := args[0].Type()
		if t.Kind == types.Null {
			return &Literal{T: types.TypeNull}, true, nil
		}
		// Args[2] is the comparison, kept so that both sides have one type.
		return &Call{Fn: "NULLIF", Args: []Expr{args[0], args[1], eq}, T: t.WithNotNull(false)}, true, nil
	case "GREATEST", "LEAST":
		if err = argCount(x, 1, -1); err != nil {
			return nil, true, err
		}
		t, err := b.unify(name, args, poses, x.Pos)
		if err != nil {
			return nil, true, err
		}
		return &Call{Fn: name, Args: args, T: t.WithNotNull(allNotNull(args))}, true, nil
	}
	return nil, false, nil
}
