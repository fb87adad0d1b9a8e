// Package types defines streamsql's logical SQL types and how each maps onto
// a physical Arrow array type.
//
// Physical layout (one fixed mapping, so every kernel sees a small set of
// array types):
//
//	BOOLEAN                -> arrow.Boolean
//	INT                    -> arrow.Int32
//	BIGINT                 -> arrow.Int64
//	DOUBLE                 -> arrow.Float64
//	DECIMAL(p, s), p <= 18 -> arrow.Int64, the unscaled value (v * 10^s)
//	STRING / VARCHAR(n)    -> arrow.String (utf8)
//	TIMESTAMP(p)           -> arrow.Int64, microseconds since 1970-01-01 00:00:00 (no zone)
//	TIMESTAMP_LTZ(p)       -> arrow.Int64, microseconds since the epoch (UTC instant)
//	DATE                   -> arrow.Int32, days since 1970-01-01
//	INTERVAL               -> arrow.Int64, milliseconds (day-time intervals only)
//	ROW<f t, ...>          -> no array of its own: a ROW column is flattened
//	                          into one column per leaf field, named "col.f"
//	                          (see Flatten), so kernels, hashing, state and
//	                          formats only ever see the scalar types above
//
// Keeping decimals and timestamps as plain integers makes arithmetic,
// comparison and hashing single tight loops; the logical type travels in the
// schema (and in Arrow field metadata when batches are serialized).
package types

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
)

// Kind is a logical type's family.
type Kind uint8

const (
	Null Kind = iota // the type of an untyped NULL literal
	Boolean
	Int
	BigInt
	Double
	Decimal
	String
	Timestamp
	TimestampLTZ
	Date
	Interval
	// Row is a ROW<name type, ...> (column types only; see Flatten).
	Row
)

// MaxDecimalPrecision is the largest DECIMAL precision that fits the int64
// physical layout.
const MaxDecimalPrecision = 18

// Type is a logical SQL type.
type Type struct {
	Kind Kind
	// Precision is DECIMAL's precision or TIMESTAMP's fractional digits.
	Precision int
	// Scale is DECIMAL's scale.
	Scale int
	// Length is VARCHAR(n)'s n; 0 means unbounded (STRING).
	Length int
	// NotNull marks a column declared NOT NULL (or an expression that can
	// never be NULL).
	NotNull bool
	// Row holds a ROW's fields (a pointer keeps Type comparable).
	Row *RowType
}

// RowType is the field list of a ROW type.
type RowType struct {
	Fields []Field
}

// RowOf returns ROW<fields...>.
func RowOf(fields ...Field) Type { return Type{Kind: Row, Row: &RowType{Fields: fields}} }

// Convenience constructors.
var (
	TypeNull    = Type{Kind: Null}
	TypeBoolean = Type{Kind: Boolean}
	TypeInt     = Type{Kind: Int}
	TypeBigInt  = Type{Kind: BigInt}
	TypeDouble  = Type{Kind: Double}
	TypeString  = Type{Kind: String}
	TypeDate    = Type{Kind: Date}
)

// DecimalOf returns DECIMAL(p, s).
func DecimalOf(p, s int) Type { return Type{Kind: Decimal, Precision: p, Scale: s} }

// TimestampOf returns TIMESTAMP(p).
func TimestampOf(p int) Type { return Type{Kind: Timestamp, Precision: p} }

// TimestampLTZOf returns TIMESTAMP_LTZ(p).
func TimestampLTZOf(p int) Type { return Type{Kind: TimestampLTZ, Precision: p} }

// IntervalType is a day-time interval, carried in milliseconds.
var IntervalType = Type{Kind: Interval}

// WithNotNull returns t with the NOT NULL flag set to notNull.
func (t Type) WithNotNull(notNull bool) Type { t.NotNull = notNull; return t }

// Nullable reports whether values of t may be NULL.
func (t Type) Nullable() bool { return !t.NotNull }

// IsNumeric reports whether t is INT, BIGINT, DOUBLE or DECIMAL.
func (t Type) IsNumeric() bool {
	switch t.Kind {
	case Int, BigInt, Double, Decimal:
		return true
	}
	return false
}

// IsInteger reports whether t is INT or BIGINT.
func (t Type) IsInteger() bool { return t.Kind == Int || t.Kind == BigInt }

// IsTemporal reports whether t is a timestamp or a date.
func (t Type) IsTemporal() bool {
	return t.Kind == Timestamp || t.Kind == TimestampLTZ || t.Kind == Date
}

// Equal reports whether two types are the same, ignoring nullability
// (of ROW fields too). ROW field names compare case-insensitively, as
// column names do.
func (t Type) Equal(o Type) bool {
	if t.Kind != o.Kind || t.Precision != o.Precision || t.Scale != o.Scale || t.Length != o.Length {
		return false
	}
	if t.Kind != Row {
		return true
	}
	if t.Row == nil || o.Row == nil {
		return t.Row == o.Row
	}
	if len(t.Row.Fields) != len(o.Row.Fields) {
		return false
	}
	for i, f := range t.Row.Fields {
		g := o.Row.Fields[i]
		if !strings.EqualFold(f.Name, g.Name) || !f.Type.Equal(g.Type) {
			return false
		}
	}
	return true
}

// String renders the type as Flink prints it (DESCRIBE, error messages).
func (t Type) String() string {
	var s string
	switch t.Kind {
	case Null:
		s = "NULL"
	case Boolean:
		s = "BOOLEAN"
	case Int:
		s = "INT"
	case BigInt:
		s = "BIGINT"
	case Double:
		s = "DOUBLE"
	case Decimal:
		s = fmt.Sprintf("DECIMAL(%d, %d)", t.Precision, t.Scale)
	case String:
		if t.Length > 0 {
			s = fmt.Sprintf("VARCHAR(%d)", t.Length)
		} else {
			s = "STRING"
		}
	case Timestamp:
		s = fmt.Sprintf("TIMESTAMP(%d)", t.Precision)
	case TimestampLTZ:
		s = fmt.Sprintf("TIMESTAMP_LTZ(%d)", t.Precision)
	case Date:
		s = "DATE"
	case Interval:
		s = "INTERVAL DAY TO SECOND"
	case Row:
		// Flink's rendering: ROW<`id` BIGINT, `name` STRING>.
		var b strings.Builder
		b.WriteString("ROW<")
		if t.Row != nil {
			for i, f := range t.Row.Fields {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("`" + strings.ReplaceAll(f.Name, "`", "``") + "` " + f.Type.String())
			}
		}
		b.WriteString(">")
		s = b.String()
	default:
		s = fmt.Sprintf("Kind(%d)", t.Kind)
	}
	if t.NotNull {
		s += " NOT NULL"
	}
	return s
}

// Arrow returns the physical Arrow type of t (see the package comment).
func (t Type) Arrow() arrow.DataType {
	switch t.Kind {
	case Boolean:
		return arrow.FixedWidthTypes.Boolean
	case Int, Date:
		return arrow.PrimitiveTypes.Int32
	case BigInt, Decimal, Timestamp, TimestampLTZ, Interval:
		return arrow.PrimitiveTypes.Int64
	case Double:
		return arrow.PrimitiveTypes.Float64
	case String:
		return arrow.BinaryTypes.String
	case Null:
		return arrow.Null
	case Row:
		// Never materialized (ROW columns are flattened); a struct type
		// keeps callers that ask from panicking.
		var fs []arrow.Field
		if t.Row != nil {
			for _, f := range t.Row.Fields {
				fs = append(fs, arrow.Field{Name: f.Name, Type: f.Type.Arrow(), Nullable: f.Type.Nullable()})
			}
		}
		return arrow.StructOf(fs...)
	}
	panic(fmt.Sprintf("types: no Arrow type for %v", t.Kind))
}

// Field is a named, typed column.
type Field struct {
	Name string
	Type Type
}

// Flatten returns the leaf columns a field stands for: itself for a scalar
// type; for a ROW, one column per leaf field (recursively), named
// "col.field" and nullable unless both the row and the field are NOT NULL
// (a NULL row has NULL fields).
func Flatten(f Field) []Field {
	if f.Type.Kind != Row || f.Type.Row == nil {
		return []Field{f}
	}
	var out []Field
	for _, sub := range f.Type.Row.Fields {
		st := sub.Type
		st.NotNull = st.NotNull && f.Type.NotNull
		out = append(out, Flatten(Field{Name: f.Name + "." + sub.Name, Type: st})...)
	}
	return out
}

// Schema is an ordered list of fields.
type Schema struct {
	Fields []Field
}

// NewSchema builds a schema from fields.
func NewSchema(fields ...Field) Schema { return Schema{Fields: fields} }

// Len is the number of fields.
func (s Schema) Len() int { return len(s.Fields) }

// Index returns the position of the field named name (case-insensitive, as
// Flink's default identifiers are not; we follow MySQL-style insensitivity
// because the TiDB parser folds nothing), or -1.
func (s Schema) Index(name string) int {
	for i, f := range s.Fields {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

// Names returns the field names.
func (s Schema) Names() []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}

// MetadataKey is the Arrow field-metadata key that carries the logical type.
const MetadataKey = "streamsql.type"

// Arrow returns the physical Arrow schema; each field's metadata records its
// logical type so serialized batches keep it.
func (s Schema) Arrow() *arrow.Schema {
	fs := make([]arrow.Field, len(s.Fields))
	for i, f := range s.Fields {
		fs[i] = arrow.Field{
			Name:     f.Name,
			Type:     f.Type.Arrow(),
			Nullable: f.Type.Nullable(),
			Metadata: arrow.NewMetadata([]string{MetadataKey}, []string{f.Type.String()}),
		}
	}
	return arrow.NewSchema(fs, nil)
}

// String renders the schema as "(a BIGINT, b STRING)".
func (s Schema) String() string {
	parts := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
