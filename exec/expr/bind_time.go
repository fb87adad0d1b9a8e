package expr

import (
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// unitArg reads the unit keyword of TIMESTAMPADD/TIMESTAMPDIFF.
func unitArg(e ast.Expr) (string, bool) {
	switch u := e.(type) {
	case *ast.Ident:
		if len(u.Parts) == 1 {
			return strings.ToUpper(u.Parts[0]), true
		}
	case *ast.Literal:
		return strings.ToUpper(u.Value), true
	}
	return "", false
}

func (b *binder) extract(unit string, v Expr, pos, argPos ast.Pos) (Expr, error) {
	unit = strings.ToUpper(unit)
	v, err := b.timeArg(v, "EXTRACT", argPos)
	if err != nil {
		return nil, err
	}
	if !validUnit(unit) {
		return nil, ast.Errorf(pos, "EXTRACT: unknown unit %s", unit)
	}
	if v.Type().Kind == types.Date && (unit == "HOUR" || unit == "MINUTE" || unit == "SECOND" || unit == "MILLISECOND" || unit == "MICROSECOND") {
		return nil, ast.Errorf(pos, "EXTRACT: DATE has no %s", unit)
	}
	return &Call{Fn: "EXTRACT", Args: []Expr{v}, T: types.TypeBigInt.WithNotNull(v.Type().NotNull), Aux: unit}, nil
}

func validUnit(u string) bool {
	switch u {
	case "YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "DOY", "DOW", "ISODOW", "HOUR", "MINUTE", "SECOND",
		"MILLISECOND", "MICROSECOND", "EPOCH", "DECADE", "CENTURY", "MILLENNIUM":
		return true
	}
	return false
}

func (b *binder) timeFunction(x *ast.Call, args []Expr, poses []ast.Pos) (Expr, bool, error) {
	name := x.Name
	var err error
	switch name {
	case "YEAR", "QUARTER", "MONTH", "WEEK", "DAYOFMONTH", "DAYOFWEEK", "DAYOFYEAR", "HOUR", "MINUTE", "SECOND":
		if err = argCount(x, 1, 1); err != nil {
			return nil, true, err
		}
		unit := map[string]string{"DAYOFMONTH": "DAY", "DAYOFWEEK": "DOW", "DAYOFYEAR": "DOY"}[name]
		if unit == "" {
			unit = name
		}
		e, err := b.extract(unit, args[0], x.Pos, poses[0])
		if err != nil {
			return nil, true, err
		}
		e.(*Call).Fn = name
		return e, true, nil
	case "CURRENT_TIMESTAMP", "NOW", "PROCTIME", "LOCALTIMESTAMP", "CURRENT_DATE", "CURRENT_ROW_TIMESTAMP":
		if err = argCount(x, 0, 0); err != nil {
			return nil, true, err
		}
		t := types.TimestampLTZOf(3)
		switch name {
		case "NOW":
			name = "CURRENT_TIMESTAMP"
		case "LOCALTIMESTAMP":
			t = types.TimestampOf(3)
		case "CURRENT_DATE":
			t = types.TypeDate
		}
		return &Call{Fn: name, T: t.WithNotNull(true)}, true, nil
	case "UNIX_TIMESTAMP":
		if err = argCount(x, 0, 2); err != nil {
			return nil, true, err
		}
		for i := range args {
			if args[i], err = b.stringArg(args[i], name, poses[i]); err != nil {
				return nil, true, err
			}
		}
		return &Call{Fn: name, Args: args, T: types.TypeBigInt.WithNotNull(len(args) == 0)}, true, nil
	case "FROM_UNIXTIME":
		if err = argCount(x, 1, 2); err != nil {
			return nil, true, err
		}
		if args[0], err = b.intArg(args[0], name, poses[0]); err != nil {
			return nil, true, err
		}
		if len(args) == 2 {
			if args[1], err = b.stringArg(args[1], name, poses[1]); err != nil {
				return nil, true, err
			}
		}
		return &Call{Fn: name, Args: args, T: strT(allNotNull(args))}, true, nil
	case "TO_TIMESTAMP", "TO_DATE":
		if err = argCount(x, 1, 2); err != nil {
			return nil, true, err
		}
		for i := range args {
			if args[i], err = b.stringArg(args[i], name, poses[i]); err != nil {
				return nil, true, err
			}
		}
		t := types.TimestampOf(3)
		if name == "TO_DATE" {
			t = types.TypeDate
		}
		return &Call{Fn: name, Args: args, T: t}, true, nil
	case "TO_TIMESTAMP_LTZ":
		if err = argCount(x, 1, 2); err != nil {
			return nil, true, err
		}
		t := args[0].Type()
		if t.Kind == types.Null {
			args[0] = typedNull(types.TypeBigInt)
		} else if !t.IsNumeric() {
			return nil, true, argTypeError(name, "a number", args[0], poses[0])
		}
		p := int64(3)
		if len(args) == 2 {
			l, ok := args[1].(*Literal)
			if !ok || !l.T.IsInteger() || l.V == nil {
				return nil, true, ast.Errorf(poses[1], "TO_TIMESTAMP_LTZ precision must be the constant 0 or 3")
			}
			p = toInt64(l.V)
			if p != 0 && p != 3 {
				return nil, true, ast.Errorf(poses[1], "TO_TIMESTAMP_LTZ precision must be 0 (seconds) or 3 (milliseconds), got %d", p)
			}
		}
		return &Call{Fn: name, Args: args[:1], T: types.TimestampLTZOf(3).WithNotNull(args[0].Type().NotNull), Aux: itoaSigned(p)}, true, nil
	case "DATE_FORMAT":
		if err = argCount(x, 2, 2); err != nil {
			return nil, true, err
		}
		if args[0].Type().Kind != types.String {
			if args[0], err = b.timeArg(args[0], name, poses[0]); err != nil {
				return nil, true, err
			}
		}
		if args[1], err = b.stringArg(args[1], name, poses[1]); err != nil {
			return nil, true, err
		}
		if l, ok := args[1].(*Literal); ok && l.V != nil {
			if _, err := parseDateFormat(l.V.(string)); err != nil {
				return nil, true, ast.Errorf(poses[1], "%v", err)
			}
		}
		return &Call{Fn: name, Args: args, T: strT(false)}, true, nil
	case "TIMESTAMPADD", "TIMESTAMPDIFF":
		if err = argCount(x, 3, 3); err != nil {
			return nil, true, err
		}
		unit, ok := unitArg(x.Args[0])
		if !ok || !validUnit(unit) || unit == "DOY" || unit == "DOW" || unit == "ISODOW" || unit == "EPOCH" {
			return nil, true, ast.Errorf(poses[0], "%s: unknown unit", name)
		}
		rest := args[1:]
		if name == "TIMESTAMPADD" {
			if rest[0], err = b.intArg(rest[0], name, poses[1]); err != nil {
				return nil, true, err
			}
			if rest[1], err = b.timeArg(rest[1], name, poses[2]); err != nil {
				return nil, true, err
			}
			return &Call{Fn: name, Args: rest, T: rest[1].Type().WithNotNull(allNotNull(rest)), Aux: unit}, true, nil
		}
		for i := range rest {
			if rest[i], err = b.timeArg(rest[i], name, poses[i+1]); err != nil {
				return nil, true, err
			}
		}
		return &Call{Fn: name, Args: rest, T: types.TypeInt.WithNotNull(allNotNull(rest)), Aux: unit}, true, nil
	}
	return nil, false, nil
}
