package expr

import (
	"github.com/streamsql/streamsql/sql/types"
)

// Type derivation rules, after Flink's LogicalTypeMerging, with DECIMAL's
// maximum precision at 18 (our int64 layout) instead of 38.

const maxP = types.MaxDecimalPrecision

// asDecimal gives the DECIMAL an exact numeric type widens to.
func asDecimal(t types.Type) (p, s int) {
	switch t.Kind {
	case types.Int:
		return 10, 0
	case types.BigInt:
		return 19, 0
	case types.Decimal:
		return t.Precision, t.Scale
	}
	return maxP, 0
}

// adjustDecimal reduces a precision beyond the cap as Flink does at its own
// cap: keep the integer digits, but at least min(s, 6) fractional digits.
func adjustDecimal(p, s int) types.Type {
	if p <= maxP {
		return types.DecimalOf(p, s)
	}
	intDigits := p - s
	minScale := min(s, 6)
	s = max(maxP-intDigits, minScale)
	return types.DecimalOf(maxP, s)
}

// numericWiden returns the common type of two numeric types for
// comparisons, CASE and friends (INT < BIGINT < DECIMAL < DOUBLE).
func numericWiden(a, b types.Type) types.Type {
	switch {
	case a.Kind == types.Double || b.Kind == types.Double:
		return types.TypeDouble
	case a.Kind == types.Decimal || b.Kind == types.Decimal:
		pa, sa := asDecimal(a)
		pb, sb := asDecimal(b)
		s := max(sa, sb)
		return adjustDecimal(max(pa-sa, pb-sb)+s, s)
	case a.Kind == types.BigInt || b.Kind == types.BigInt:
		return types.TypeBigInt
	}
	return types.TypeInt
}

// arithType returns the result type of a numeric binary operator.
func arithType(op string, a, b types.Type) types.Type {
	if a.Kind == types.Double || b.Kind == types.Double {
		return types.TypeDouble
	}
	if a.Kind != types.Decimal && b.Kind != types.Decimal {
		// INT op INT stays INT (also for '/': integer division, as Flink).
		if a.Kind == types.BigInt || b.Kind == types.BigInt {
			return types.TypeBigInt
		}
		return types.TypeInt
	}
	p1, s1 := asDecimal(a)
	p2, s2 := asDecimal(b)
	switch op {
	case "+", "-":
		s := max(s1, s2)
		return adjustDecimal(max(p1-s1, p2-s2)+s+1, s)
	case "*":
		return adjustDecimal(p1+p2, s1+s2)
	case "/":
		s := max(6, s1+p2+1)
		return adjustDecimal(p1-s1+s2+s, s)
	default: // %
		s := max(s1, s2)
		return adjustDecimal(min(p1-s1, p2-s2)+s, s)
	}
}

// commonType finds the type all of ts convert to (CASE, COALESCE, IN, ...);
// ok is false when there is none. NULL-typed entries adopt the others.
func commonType(ts []types.Type) (types.Type, bool) {
	var out types.Type
	have := false
	for _, t := range ts {
		if t.Kind == types.Null {
			continue
		}
		if !have {
			out, have = t.WithNotNull(false), true
			continue
		}
		var ok bool
		out, ok = common2(out, t)
		if !ok {
			return out, false
		}
	}
	if !have {
		return types.TypeNull, true
	}
	return out, true
}

func common2(a, b types.Type) (types.Type, bool) {
	a, b = a.WithNotNull(false), b.WithNotNull(false)
	switch {
	case a.IsNumeric() && b.IsNumeric():
		return numericWiden(a, b), true
	case a.Kind == types.String && b.Kind == types.String:
		if a.Length > 0 && b.Length > 0 {
			return types.Type{Kind: types.String, Length: max(a.Length, b.Length)}, true
		}
		return types.TypeString, true
	case a.Kind == b.Kind && (a.Kind == types.Timestamp || a.Kind == types.TimestampLTZ):
		return types.Type{Kind: a.Kind, Precision: max(a.Precision, b.Precision)}, true
	case a.Kind == types.Date && b.Kind == types.Timestamp:
		return b, true
	case a.Kind == types.Timestamp && b.Kind == types.Date:
		return a, true
	case a.Kind == b.Kind:
		return a, true
	}
	return a, false
}

// allNotNull reports whether every argument is NOT NULL.
func allNotNull(args []Expr) bool {
	for _, a := range args {
		if a.Type().Nullable() {
			return false
		}
	}
	return true
}

// canCast reports whether CAST from -> to is defined.
func canCast(from, to types.Type) bool {
	if from.Kind == types.Null || from.Kind == to.Kind {
		return true
	}
	f, t := from.Kind, to.Kind
	switch {
	case t == types.String || f == types.String:
		// Everything converts to and from text except intervals from text.
		return !(f == types.String && t == types.Interval) && t != types.Null
	case from.IsNumeric() && to.IsNumeric():
		return true
	case f == types.Boolean && to.IsNumeric(), from.IsNumeric() && t == types.Boolean:
		return true
	case from.IsTemporal() && to.IsTemporal():
		return true
	case from.IsInteger() && t == types.TimestampLTZ:
		// Flink: epoch seconds.
		return true
	case f == types.Interval && to.IsInteger(), from.IsInteger() && t == types.Interval:
		return true
	}
	return false
}
