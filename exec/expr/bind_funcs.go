package expr

import (
	"regexp"

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
	case "REGEXP_REPLACE":
		if err = argCount(x, 3, 3); err != nil {
			return nil, err
		}
		if err = strArgs(0); err != nil {
			return nil, err
		}
		if err = constRegexp(args[1], poses[1]); err != nil {
			return nil, err
		}
		return call(strT(false))
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
	if knownFlinkFunction(name) {
		return nil, ast.Errorf(x.Pos, "not supported yet: function %s", name)
	}
	return nil, ast.Errorf(x.Pos, "unknown function '%s'", name)
}

// knownFlinkFunction lists Flink built-ins we do not implement yet, so the
// error says so instead of calling them unknown.
func knownFlinkFunction(name string) bool {
	switch name {
	case "RAND", "RAND_INTEGER", "UUID", "MD5", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "SHA2",
		"HASH_CODE", "TO_BASE64", "FROM_BASE64", "ASCII", "CHR", "ENCODE", "DECODE", "BIN", "HEX",
		"JSON_VALUE", "JSON_QUERY", "JSON_EXISTS", "JSON_STRING", "JSON_OBJECT", "JSON_ARRAY",
		"CONVERT_TZ", "CURRENT_TIME", "LOCALTIME", "CURRENT_WATERMARK", "DATE_ADD", "DATE_SUB",
		"OVERLAY", "PARSE_URL", "STR_TO_MAP", "SPLIT", "CARDINALITY", "ELEMENT",
		"ARRAY", "MAP", "ROW", "TRY_CAST", "CEIL_TO", "FLOOR_TO", "TRUNCATE_TO", "COSH", "SINH", "TANH",
		"COT", "ATAN2", "E_POW", "BITAND", "BITOR", "BITXOR", "BITNOT":
		return true
	}
	return false
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
