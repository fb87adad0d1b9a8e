package sql

import (
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// unsupportedTypes are Flink types we recognise but cannot store yet.
var unsupportedTypes = map[string]bool{
	"TINYINT": true, "SMALLINT": true, "FLOAT": true, "REAL": true, "TIME": true,
	"BYTES": true, "BINARY": true, "VARBINARY": true, "ARRAY": true, "MAP": true,
	"MULTISET": true, "RAW": true, "INTERVAL": true, "DATETIME": true,
}

// dataType parses a Flink type name (without NOT NULL, which belongs to the
// column). ROW is refused: it is only a column type (see columnType).
func (c *cursor) dataType() (types.Type, error) { return c.anyType(false) }

// columnType is dataType for a CREATE TABLE column, where ROW<...> and
// ROW(...) are allowed (the planner flattens them into leaf columns).
func (c *cursor) columnType() (types.Type, error) { return c.anyType(true) }

func (c *cursor) anyType(rowOK bool) (types.Type, error) {
	t := c.peek()
	if t.Kind != tkWord {
		return types.Type{}, c.errExpected("a type")
	}
	name := strings.ToUpper(t.Raw)
	c.next()
	switch name {
	case "ROW":
		if !rowOK {
			return types.Type{}, notSupported(t.Pos, "type ROW outside a column of CREATE TABLE")
		}
		return c.rowType()
	case "BOOLEAN", "BOOL":
		return types.TypeBoolean, nil
	case "INT", "INTEGER":
		return types.TypeInt, nil
	case "BIGINT":
		return types.TypeBigInt, nil
	case "DOUBLE":
		c.accept("PRECISION")
		return types.TypeDouble, nil
	case "DECIMAL", "DEC", "NUMERIC":
		return c.decimalType(t)
	case "STRING":
		return types.TypeString, nil
	case "VARCHAR", "CHAR":
		n, ok, err := c.typeParam("a length", 1, 1<<31-1)
		if err != nil {
			return types.Type{}, err
		}
		if !ok && name == "CHAR" {
			n = 1 // Flink: CHAR means CHAR(1)
		}
		return types.Type{Kind: types.String, Length: n}, nil
	case "DATE":
		return types.TypeDate, nil
	case "TIMESTAMP":
		p, ok, err := c.typeParam("a precision", 0, 9)
		if err != nil {
			return types.Type{}, err
		}
		if !ok {
			p = 6
		}
		switch {
		case c.accept("WITHOUT", "TIME", "ZONE"):
		case c.accept("WITH", "LOCAL", "TIME", "ZONE"):
			return types.TimestampLTZOf(p), nil
		case c.peek().is("WITH") && c.peekAt(1).is("TIME"):
			return types.Type{}, notSupported(c.here(), "type TIMESTAMP WITH TIME ZONE")
		}
		return types.TimestampOf(p), nil
	case "TIMESTAMP_LTZ":
		p, ok, err := c.typeParam("a precision", 0, 9)
		if err != nil {
			return types.Type{}, err
		}
		if !ok {
			p = 6
		}
		return types.TimestampLTZOf(p), nil
	}
	if unsupportedTypes[name] {
		return types.Type{}, notSupported(t.Pos, "type %s", name)
	}
	return types.Type{}, ast.Errorf(t.Pos, "unknown type %s", t.describe())
}

// rowType parses the rest of ROW<name type, ...> or ROW(name type, ...)
// (Flink accepts both) after the word ROW. A field may be NOT NULL;
// field comments are refused.
func (c *cursor) rowType() (types.Type, error) {
	open := c.peek()
	var closing string
	switch {
	case open.isOp("<"):
		closing = ">"
	case open.isOp("("):
		closing = ")"
	case open.isOp("<>"): // the lexer's not-equal operator
		return types.Type{}, ast.Errorf(open.Pos, "a ROW needs at least one field")
	default:
		return types.Type{}, c.errExpected("'<' or '(' after ROW")
	}
	c.next()
	var fields []types.Field
	seen := map[string]bool{}
	for {
		if c.closesRow(closing) && len(fields) == 0 {
			return types.Type{}, ast.Errorf(c.here(), "a ROW needs at least one field")
		}
		name, nt, err := c.ident("a field name in ROW")
		if err != nil {
			return types.Type{}, err
		}
		if seen[strings.ToLower(name)] {
			return types.Type{}, ast.Errorf(nt.Pos, "duplicate field '%s' in ROW", name)
		}
		seen[strings.ToLower(name)] = true
		ft, err := c.columnType()
		if err != nil {
			return types.Type{}, err
		}
		switch {
		case c.accept("NOT", "NULL"):
			ft.NotNull = true
		case c.accept("NULL"):
		}
		if c.peek().Kind == tkString {
			return types.Type{}, notSupported(c.here(), "a comment on ROW field '%s'", name)
		}
		fields = append(fields, types.Field{Name: name, Type: ft})
		if c.acceptOp(",") {
			continue
		}
		if !c.closesRow(closing) {
			return types.Type{}, c.errExpected("',' or '" + closing + "' in ROW")
		}
		c.next()
		return types.RowOf(fields...), nil
	}
}

// closesRow reports whether the current token closes a ROW with closing.
// A '>>' closing two nested ROW<...> is split: its first half is consumed
// here and a '>' is left for the outer ROW.
func (c *cursor) closesRow(closing string) bool {
	t := c.peek()
	if closing == ">" && t.isOp(">>") {
		toks := append([]token(nil), c.toks...) // other parsers may still read the originals
		half := t
		half.Raw, half.Val, half.Off = ">", ">", t.Off+1
		half.Pos.Col++
		half.Pos.Offset++
		t.Raw, t.Val, t.End = ">", ">", t.Off+1
		toks[c.i] = t
		c.toks = append(toks[:c.i+1], append([]token{half}, toks[c.i+1:]...)...)
		return true
	}
	return t.isOp(closing)
}

func (c *cursor) decimalType(t token) (types.Type, error) {
	p, s := 10, 0 // Flink's default DECIMAL is DECIMAL(10, 0)
	if c.peek().isOp("(") {
		c.next()
		var err error
		if p, err = c.intLit("a precision", 1, 38); err != nil {
			return types.Type{}, err
		}
		if c.acceptOp(",") {
			if s, err = c.intLit("a scale", 0, p); err != nil {
				return types.Type{}, err
			}
		}
		if err := c.expectOp(")", " after DECIMAL precision"); err != nil {
			return types.Type{}, err
		}
	}
	if p > types.MaxDecimalPrecision {
		return types.Type{}, notSupported(t.Pos, "DECIMAL precision above %d", types.MaxDecimalPrecision)
	}
	return types.DecimalOf(p, s), nil
}

// typeParam reads an optional '(' n ')'.
func (c *cursor) typeParam(what string, lo, hi int) (int, bool, error) {
	if !c.peek().isOp("(") {
		return 0, false, nil
	}
	c.next()
	n, err := c.intLit(what, lo, hi)
	if err != nil {
		return 0, false, err
	}
	if err := c.expectOp(")", " after "+what); err != nil {
		return 0, false, err
	}
	return n, true, nil
}

// intLit reads an integer literal within [lo, hi].
func (c *cursor) intLit(what string, lo, hi int) (int, error) {
	t := c.peek()
	if t.Kind != tkNumber {
		return 0, c.errExpected(what)
	}
	n, err := strconv.Atoi(t.Raw)
	if err != nil || n < lo || n > hi {
		return 0, ast.Errorf(t.Pos, "%s must be an integer between %d and %d, found %s", what, lo, hi, t.describe())
	}
	c.next()
	return n, nil
}
