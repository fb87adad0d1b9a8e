package expr

import (
	"math"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

func bindLiteral(x *ast.Literal) (Expr, error) {
	switch x.Kind {
	case ast.LitNull:
		return &Literal{T: types.TypeNull}, nil
	case ast.LitBool:
		switch strings.ToUpper(x.Value) {
		case "TRUE":
			return &Literal{T: types.TypeBoolean.WithNotNull(true), V: true}, nil
		case "FALSE":
			return &Literal{T: types.TypeBoolean.WithNotNull(true), V: false}, nil
		}
		return nil, ast.Errorf(x.Pos, "invalid boolean literal '%s'", x.Value)
	case ast.LitInt:
		n, err := strconv.ParseInt(x.Value, 10, 64)
		if err != nil {
			// Too big for BIGINT: Flink makes it a DECIMAL; ours may fit one.
			return decimalLiteral(x)
		}
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return &Literal{T: types.TypeInt.WithNotNull(true), V: int32(n)}, nil
		}
		return &Literal{T: types.TypeBigInt.WithNotNull(true), V: n}, nil
	case ast.LitDecimal:
		return decimalLiteral(x)
	case ast.LitFloat:
		f, err := strconv.ParseFloat(x.Value, 64)
		if err != nil {
			return nil, ast.Errorf(x.Pos, "invalid numeric literal '%s'", x.Value)
		}
		return &Literal{T: types.TypeDouble.WithNotNull(true), V: f}, nil
	case ast.LitString:
		return &Literal{T: types.TypeString.WithNotNull(true), V: x.Value}, nil
	case ast.LitTimestamp:
		us, digits, ok := parseTimestamp(x.Value)
		if !ok {
			return nil, ast.Errorf(x.Pos, "invalid TIMESTAMP literal '%s'", x.Value)
		}
		return &Literal{T: types.TimestampOf(digits).WithNotNull(true), V: us}, nil
	case ast.LitDate:
		d, ok := parseDate(x.Value)
		if !ok {
			return nil, ast.Errorf(x.Pos, "invalid DATE literal '%s'", x.Value)
		}
		return &Literal{T: types.TypeDate.WithNotNull(true), V: d}, nil
	case ast.LitInterval:
		ms, err := parseInterval(x.Value, x.Unit)
		if err != nil {
			return nil, ast.Errorf(x.Pos, "%v", err)
		}
		return &Literal{T: types.IntervalType.WithNotNull(true), V: ms,
			Text: "INTERVAL '" + x.Value + "' " + x.Unit}, nil
	}
	return nil, ast.Errorf(x.Pos, "not supported yet: literal kind %d", x.Kind)
}

// decimalLiteral types an exact literal such as 12.50 as DECIMAL(4, 2).
func decimalLiteral(x *ast.Literal) (Expr, error) {
	s := strings.TrimPrefix(x.Value, "+")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	intPart = strings.TrimLeft(intPart, "0")
	digits := intPart + frac
	if digits == "" {
		digits = "0"
	}
	p, sc := max(len(intPart)+len(frac), 1), len(frac)
	if p > maxP {
		return nil, ast.Errorf(x.Pos, "not supported yet: numeric literal %s needs DECIMAL(%d, %d), more than %d digits", x.Value, p, sc, maxP)
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return nil, ast.Errorf(x.Pos, "invalid numeric literal '%s'", x.Value)
	}
	if neg {
		v = -v
	}
	return &Literal{T: types.DecimalOf(p, sc).WithNotNull(true), V: v}, nil
}
