package expr

import (
	"regexp"
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// argCount checks the number of arguments of a call.
func argCount(x *ast.Call, lo, hi int) error {
	n := len(x.Args)
	if n >= lo && (hi < 0 || n <= hi) {
		return nil
	}
	var want string
	switch {
	case hi < 0:
		want = "at least " + itoa(lo) + plural(lo)
	case lo == hi:
		want = itoa(lo) + plural(lo)
	case hi == lo+1:
		want = itoa(lo) + " or " + itoa(hi) + " arguments"
	default:
		want = itoa(lo) + " to " + itoa(hi) + " arguments"
	}
	return ast.Errorf(x.Pos, "function %s expects %s, got %d", x.Name, want, n)
}

func plural(n int) string {
	if n == 1 {
		return " argument"
	}
	return " arguments"
}

func argTypeError(fn, want string, e Expr, pos ast.Pos) error {
	return ast.Errorf(pos, "function %s expects %s, got %s", fn, want, e.Type().WithNotNull(false))
}

func (b *binder) stringArg(e Expr, fn string, pos ast.Pos) (Expr, error) {
	switch e.Type().Kind {
	case types.String:
		return e, nil
	case types.Null:
		return typedNull(types.TypeString), nil
	}
	return nil, argTypeError(fn, "STRING", e, pos)
}

// intArg accepts INT or BIGINT and widens to BIGINT (one kernel shape).
func (b *binder) intArg(e Expr, fn string, pos ast.Pos) (Expr, error) {
	t := e.Type()
	if t.Kind == types.Null {
		return typedNull(types.TypeBigInt), nil
	}
	if !t.IsInteger() {
		return nil, argTypeError(fn, "an integer", e, pos)
	}
	return b.coerce(e, types.TypeBigInt, pos)
}

func (b *binder) doubleArg(e Expr, fn string, pos ast.Pos) (Expr, error) {
	t := e.Type()
	if t.Kind == types.Null {
		return typedNull(types.TypeDouble), nil
	}
	if !t.IsNumeric() {
		return nil, argTypeError(fn, "a number", e, pos)
	}
	return b.coerce(e, types.TypeDouble, pos)
}

// timeArg accepts TIMESTAMP, TIMESTAMP_LTZ or DATE; a string literal is
// read as a TIMESTAMP.
func (b *binder) timeArg(e Expr, fn string, pos ast.Pos) (Expr, error) {
	t := e.Type()
	switch {
	case t.IsTemporal():
		return e, nil
	case t.Kind == types.Null:
		return typedNull(types.TimestampOf(3)), nil
	case t.Kind == types.String:
		if l, ok := e.(*Literal); ok {
			return b.coerceLiteral(l, types.TimestampOf(3), pos)
		}
	}
	return nil, argTypeError(fn, "TIMESTAMP or DATE", e, pos)
}

// constRegexp checks a constant pattern now, so a typo is a planning error.
func constRegexp(e Expr, pos ast.Pos) error {
	if l, ok := e.(*Literal); ok && l.V != nil {
		if _, err := regexp.Compile(l.V.(string)); err != nil {
			return ast.Errorf(pos, "invalid regular expression %s: %v", l.String(), err)
		}
	}
	return nil
}

func strT(notNull bool) types.Type { return types.TypeString.WithNotNull(notNull) }

// function binds a scalar function call whose arguments are bound.
func (b *binder) function(x *ast.Call, args []Expr, poses []ast.Pos) (Expr, error) {
	name := x.Name
	call := func(t types.Type) (Expr, error) {
		return &Call{Fn: name, Args: args, T: t}, nil
	}
	strArgs := func(from int) error {
		for i := from; i < len(args); i++ {
			a, err := b.stringArg(args[i], name, poses[i])
			if err != nil {
				return err
			}
			args[i] = a
		}
		return nil
	}
	var err error
	switch name {
	case "CONCAT":
		if err = argCount(x, 1, -1); err != nil {
			return nil, err
		}
		return b.concat(args, poses, x.Pos)
	case "CONCAT_WS":
		if err = argCount(x, 2, -1); err != nil {
			return nil, err
		}
		if err = strArgs(0); err != nil {
			return nil, err
		}
		return call(strT(args[0].Type().NotNull))
	case "UPPER", "LOWER", "INITCAP", "REVERSE":
		if err = argCount(x, 1, 1); err != nil {
			return nil, err
		}
		if err = strArgs(0); err != nil {
			return nil, err
		}
		return call(strT(allNotNull(args)))
	case "CHAR_LENGTH", "CHARACTER_LENGTH":
		if err = argCount(x, 1, 1); err != nil {
			return nil, err
		}
		if err = strArgs(0); err != nil {
			return nil, err
		}
		return &Call{Fn: "CHAR_LENGTH", Args: args, T: types.TypeInt.WithNotNull(allNotNull(args))}, nil
	case "SUBSTRING", "SUBSTR":
		if err = argCount(x, 2, 3); err != nil {
			return nil, err
		}
		if args[0], err = b.stringArg(args[0], name, poses[0]); err != nil {
			return nil, err
		}
		for i := 1; i < len(args); i++ {
			if args[i], err = b.intArg(args[i], name, poses[i]); err != nil {
				return nil, err
			}
		}
		return &Call{Fn: "SUBSTRING", Args: args, T: strT(false)}, nil
	case "TRIM", "LTRIM", "RTRIM":
		if err = argCount(x, 1, 2); err != nil {
			return nil, err
		}
		if err = strArgs(0); err != nil {
			return nil, err
		}
		return call(strT(allNotNull(args)))
	case "REPLACE":
		if err = argCount(x, 3, 3); err != nil {
			return nil, err
		}
		if err = strArgs(0); err != nil {
			return nil, err
		}
		return call(strT(allNotNull(args)))
	case "LPAD", "RPAD":
		if err = argCount(x, 3, 3); err != nil {
			return nil, err
		}
		if args[0], err = b.stringArg(args[0], name, poses[0]); err != nil {
			return nil, err
		}
		if args[1], err = b.intArg(args[1], name, poses[1]); err != nil {
			return nil, err
		}
		if args[2], err = b.stringArg(args[2], name, poses[2]); err != nil {
			return nil, err
		}
		return call(strT(false))
	case "REPEAT":
		if err = argCount(x, 2, 2); err != nil {
			return nil, err
		}
		if args[0], err = b.stringArg(args[0], name, poses[0]); err != nil {
			return nil, err
		}
		if args[1], err = b.intArg(args[1], name, poses[1]); err != nil {
			return nil, err
		}
		return call(strT(allNotNull(args)))
	case "POSITION", "LOCATE":
		hi := 2
		if name == "LOCATE" {
			hi = 3
		}
		if err = argCount(x, 2, hi); err != nil {
			return nil, err
		}
		for i := 0; i < 2; i++ {
			if args[i], err = b.stringArg(args[i], name, poses[i]); err != nil {
				return nil, err
			}
		}
		if len(args) == 3 {
			if args[2], err = b.intArg(args[2], name, poses[2]); err != nil {
				return nil, err
			}
		}
		return call(types.TypeInt.WithNotNull(allNotNull(args)))
	case "REGEXP_EXTRACT":
		if err = argCount(x, 2, 3); err != nil {
			return nil, err
		}
		for i := 0; i < 2; i++ {
			if args[i], err = b.stringArg(args[i], name, poses[i]); err != nil {
				return nil, err
			}
		}
		if err = constRegexp(args[1], poses[1]); err != nil {
			return nil, err
		}
		if len(args) == 3 {
			if args[2], err = b.intArg(args[2], name, poses[2]); err != nil {
				return nil, err
			}
		}
		return call(strT(false))
	case "REGEXP":
		if err = argCount(x, 2, 2); err != nil {
			return nil, err
		}
		if err = strArgs(0); err != nil {
			return nil, err
		}
		if err = constRegexp(args[1], poses[1]); err != nil {
			return nil, err
		}
		return call(types.TypeBoolean)
	case "SPLIT_INDEX":
		if err = argCount(x, 3, 3); err != nil {
			return nil, err
		}
		for i := 0; i < 2; i++ {
			if args[i], err = b.stringArg(args[i], name, poses[i]); err != nil {
				return nil, err
			}
		}
		if args[2], err = b.intArg(args[2], name, poses[2]); err != nil {
			return nil, err
		}
		return call(strT(false))
	}
	if e, ok, err := b.mathFunction(x, args, poses); ok || err != nil {
		return e, err
	}
	if e, ok, err := b.condFunction(x, args, poses); ok || err != nil {
		return e, err
	}
	if e, ok, err := b.timeFunction(x, args, poses); ok || err != nil {
		return e, err
	}
	return nil, ast.Errorf(x.Pos, "unknown function '%s'", name)
}

func (b *binder) concat(args []Expr, poses []ast.Pos, pos ast.Pos) (Expr, error) {
	for i, a := range args {
		s, err := b.stringArg(a, "CONCAT", poses[i])
		if err != nil {
			return nil, err
		}
		args[i] = s
	}
	return &Call{Fn: "CONCAT", Args: args, T: strT(allNotNull(args))}, nil
}

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
