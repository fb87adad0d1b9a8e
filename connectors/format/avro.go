package format

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/linkedin/goavro/v2"

	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Avro records are encoded and decoded by a codec of our own for the
// schema derived from the table (and for writer schemas with the same
// fields): it reads and writes the binary encoding straight from and into
// columns, several times faster than goavro's map-based codec. goavro
// validates schemas, and the tests use it as the independent reference.

type avroOptions struct {
	ignoreParseErrors bool
	codec             string // container compression: null, deflate, snappy
	legacyTimestamps  bool   // avro.timestamp_mapping.legacy
}

func parseAvroOptions(table, prefix string, own map[string]string) (avroOptions, error) {
	o := avroOptions{codec: "snappy", legacyTimestamps: true}
	if err := checkKnown(table, prefix, own, "codec", "ignore-parse-errors", "timestamp_mapping.legacy", "encoding"); err != nil {
		return o, err
	}
	var err error
	for _, k := range opts.SortedKeys(own) {
		v, key := own[k], prefix+k
		switch k {
		case "codec":
			switch c := strings.ToLower(strings.TrimSpace(v)); c {
			case "null", "deflate", "snappy":
				o.codec = c
			case "bzip2", "xz", "zstandard":
				err = opts.Errorf(table, key, "not supported yet: codec '%s' (supported: null, deflate, snappy)", v)
			default:
				err = opts.Errorf(table, key, "invalid value '%s' (expected null, deflate or snappy)", v)
			}
		case "ignore-parse-errors":
			o.ignoreParseErrors, err = opts.Bool(table, key, v)
		case "timestamp_mapping.legacy":
			o.legacyTimestamps, err = opts.Bool(table, key, v)
		case "encoding":
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "binary":
			case "json":
				err = opts.Errorf(table, key, "not supported yet: Avro's JSON encoding (only 'binary')")
			default:
				err = opts.Errorf(table, key, "invalid value '%s' (expected binary)", v)
			}
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// avroKind is the Avro type of a field as the codec handles it.
type avroKind uint8

const (
	akBoolean avroKind = iota
	akInt
	akLong
	akFloat
	akDouble
	akString
	akDecimal // bytes with logicalType decimal
	akDate    // int with logicalType date
	akMillis  // long with logicalType (local-)timestamp-millis
	akMicros  // long with logicalType (local-)timestamp-micros
)

func (k avroKind) String() string {
	return [...]string{"boolean", "int", "long", "float", "double", "string", "decimal", "date", "timestamp-millis", "timestamp-micros"}[k]
}

// avroField is one field of a writer schema, in the writer's order, and
// the column it goes to (-1: the table has no such column; skip it).
type avroField struct {
	name     string
	col      int
	kind     avroKind
	union    bool  // the field is a union (of the type and maybe null)
	nullIdx  int64 // union branch of null, or -1
	valueIdx int64 // union branch of the value
	scale    int   // decimal scale
	prec     int   // decimal precision
	target   types.Type
}

// avroPlan decodes records of one writer schema into the table's columns.
type avroPlan struct {
	fields  []avroField
	missing []int // columns the writer schema lacks: always NULL
}

// avroSchema derives the Avro schema of a table schema as Flink's
// AvroSchemaConverter does: a record named "record"; nullable columns as
// a union of null and the type with default null; DECIMAL as bytes with
// logicalType decimal; DATE as int/date; TIMESTAMP(p) as long with
// timestamp-millis (p ≤ 3) or timestamp-micros (p > 3), or with
// local-timestamp-* when the legacy mapping is off; TIMESTAMP_LTZ(p) as
// timestamp-millis/-micros (Flink refuses it under the legacy mapping; we
// write the instant, which is what those logical types mean).
func avroSchema(table string, s types.Schema, legacy bool) (string, error) {
	var b strings.Builder
	b.WriteString(`{"type":"record","name":"record","fields":[`)
	for i, f := range s.Fields {
		var t string
		switch f.Type.Kind {
		case types.Boolean:
			t = `"boolean"`
		case types.Int:
			t = `"int"`
		case types.BigInt:
			t = `"long"`
		case types.Double:
			t = `"double"`
		case types.String:
			t = `"string"`
		case types.Decimal:
			t = fmt.Sprintf(`{"type":"bytes","logicalType":"decimal","precision":%d,"scale":%d}`, f.Type.Precision, f.Type.Scale)
		case types.Date:
			t = `{"type":"int","logicalType":"date"}`
		case types.Timestamp, types.TimestampLTZ:
			lt := "timestamp-millis"
			if f.Type.Precision > 3 {
				lt = "timestamp-micros"
			}
			if f.Type.Kind == types.Timestamp && !legacy {
				lt = "local-" + lt
			}
			t = `{"type":"long","logicalType":"` + lt + `"}`
		default:
			return "", opts.Errorf(table, "format", "not supported yet: column '%s' of type %s in Avro", f.Name, f.Type)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(f.Name)
		b.WriteString(`{"name":`)
		b.Write(name)
		if f.Type.Nullable() {
			b.WriteString(`,"type":["null",` + t + `],"default":null}`)
		} else {
			b.WriteString(`,"type":` + t + `}`)
		}
	}
	b.WriteString(`]}`)
	if _, err := goavro.NewCodec(b.String()); err != nil {
		return "", opts.Errorf(table, "format", "the table's columns give no valid Avro schema: %v", err)
	}
	return b.String(), nil
}

// planFromTable is the plan for records written with the derived schema.
func planFromTable(s types.Schema) *avroPlan {
	p := &avroPlan{}
	for i, f := range s.Fields {
		af := avroField{name: f.Name, col: i, target: f.Type, nullIdx: -1, prec: f.Type.Precision, scale: f.Type.Scale}
		switch f.Type.Kind {
		case types.Boolean:
			af.kind = akBoolean
		case types.Int:
			af.kind = akInt
		case types.BigInt:
			af.kind = akLong
		case types.Double:
			af.kind = akDouble
		case types.String:
			af.kind = akString
		case types.Decimal:
			af.kind = akDecimal
		case types.Date:
			af.kind = akDate
		default: // timestamps; other types were refused by avroSchema
			af.kind = akMillis
			if f.Type.Precision > 3 {
				af.kind = akMicros
			}
		}
		if f.Type.Nullable() {
			af.union, af.nullIdx, af.valueIdx = true, 0, 1
		}
		p.fields = append(p.fields, af)
	}
	return p
}

// planFromWriter matches a writer schema (JSON) to the table's columns by
// name. Supported: the same fields in any order, extra writer fields of
// supported types (skipped), columns the writer lacks (NULL), unions of
// null and one type in either order, and Avro's promotions int → long and
// float → double. Anything else is refused with the field and the reason.
func planFromWriter(writer string, s types.Schema) (*avroPlan, error) {
	if _, err := goavro.NewCodec(writer); err != nil {
		return nil, fmt.Errorf("invalid writer schema: %w", err)
	}
	var root map[string]any
	if err := json.Unmarshal([]byte(writer), &root); err != nil {
		return nil, fmt.Errorf("writer schema: not supported yet: a schema that is not a record")
	}
	if root["type"] != "record" {
		return nil, fmt.Errorf("writer schema: not supported yet: a schema that is not a record")
	}
	raw, _ := root["fields"].([]any)
	p := &avroPlan{}
	seen := make([]bool, s.Len())
	for _, rf := range raw {
		m, _ := rf.(map[string]any)
		name, _ := m["name"].(string)
		af := avroField{name: name, col: -1, nullIdx: -1}
		if err := af.parseType(m["type"]); err != nil {
			return nil, fmt.Errorf("writer schema field '%s': %w", name, err)
		}
		col := -1
		for i, f := range s.Fields {
			if f.Name == name {
				col = i
			}
		}
		if col < 0 {
			col = s.Index(name)
		}
		if col >= 0 && !seen[col] {
			seen[col] = true
			af.col = col
			af.target = s.Fields[col].Type
			if err := af.check(); err != nil {
				return nil, fmt.Errorf("writer schema field '%s' (%s) cannot be read into column '%s' %s: %w",
					name, af.describe(), s.Fields[col].Name, af.target, err)
			}
		}
		p.fields = append(p.fields, af)
	}
	for i, ok := range seen {
		if !ok {
			p.missing = append(p.missing, i)
		}
	}
	return p, nil
}

func (af *avroField) describe() string {
	if af.nullIdx >= 0 {
		return "nullable " + af.kind.String()
	}
	return af.kind.String()
}

func (af *avroField) parseType(t any) error {
	if u, ok := t.([]any); ok {
		af.union = true
		found := false
		for i, br := range u {
			if br == "null" {
				af.nullIdx = int64(i)
				continue
			}
			if found {
				return fmt.Errorf("not supported yet: a union of several non-null types")
			}
			found = true
			af.valueIdx = int64(i)
			if err := af.parseSingle(br); err != nil {
				return err
			}
		}
		if !found {
			return fmt.Errorf("not supported yet: a union of null only")
		}
		return nil
	}
	return af.parseSingle(t)
}

func (af *avroField) parseSingle(t any) error {
	name, logical := "", ""
	switch v := t.(type) {
	case string:
		name = v
	case map[string]any:
		name, _ = v["type"].(string)
		logical, _ = v["logicalType"].(string)
		if logical == "decimal" {
			p, _ := v["precision"].(float64)
			sc, _ := v["scale"].(float64)
			af.prec, af.scale = int(p), int(sc)
		}
	default:
		return fmt.Errorf("not supported yet: type %v", t)
	}
	switch {
	case name == "boolean":
		af.kind = akBoolean
	case name == "int" && logical == "date":
		af.kind = akDate
	case name == "int":
		af.kind = akInt
	case name == "long" && (logical == "timestamp-millis" || logical == "local-timestamp-millis"):
		af.kind = akMillis
	case name == "long" && (logical == "timestamp-micros" || logical == "local-timestamp-micros"):
		af.kind = akMicros
	case name == "long":
		af.kind = akLong
	case name == "float":
		af.kind = akFloat
	case name == "double":
		af.kind = akDouble
	case name == "string":
		af.kind = akString
	case name == "bytes" && logical == "decimal":
		af.kind = akDecimal
	default:
		if logical != "" {
			name += " (" + logical + ")"
		}
		return fmt.Errorf("not supported yet: Avro type %s", name)
	}
	return nil
}

// check reports whether the writer's type can be read into the column.
func (af *avroField) check() error {
	t := af.target
	ok := false
	switch af.kind {
	case akBoolean:
		ok = t.Kind == types.Boolean
	case akInt:
		ok = t.Kind == types.Int || t.Kind == types.BigInt
	case akLong:
		ok = t.Kind == types.BigInt
	case akFloat, akDouble:
		ok = t.Kind == types.Double
	case akString:
		ok = t.Kind == types.String
	case akDecimal:
		if t.Kind == types.Decimal && af.scale != t.Scale {
			return fmt.Errorf("not supported yet: a different decimal scale")
		}
		ok = t.Kind == types.Decimal
	case akDate:
		ok = t.Kind == types.Date
	case akMillis, akMicros:
		ok = t.Kind == types.Timestamp || t.Kind == types.TimestampLTZ
	}
	if !ok {
		return fmt.Errorf("the types do not match")
	}
	return nil
}

// ---------------------------------------------------------------------------
// Decoding.

type avroDecoder struct {
	plan *avroPlan
}

// Decode reads one Avro binary record (no framing) written with the
// table's derived schema.
func (d *avroDecoder) Decode(rec []byte, into *RowBuilder) error {
	return decodeAvroRecord(d.plan, rec, into)
}

// decodeAvroRecord decodes a record that must fill rec exactly.
func decodeAvroRecord(p *avroPlan, rec []byte, into *RowBuilder) error {
	n, err := p.decode(rec, into)
	if err == nil && n != len(rec) {
		err = &ParseError{Msg: fmt.Sprintf("malformed Avro record: %d bytes after the end of the record", len(rec)-n)}
	}
	if err != nil {
		into.DiscardRow()
		return err
	}
	into.EndRow()
	return nil
}

func avroErr(f *avroField, msg string) error {
	name := f.name
	if f.col < 0 {
		name += " (not a column)"
	}
	return &ParseError{Column: name, Msg: "malformed Avro record: " + msg}
}

// readLong reads a zig-zag varint at b[i:].
func readLong(b []byte, i int) (int64, int, string) {
	if i < len(b) && b[i] < 0x80 {
		u := uint64(b[i])
		return int64(u>>1) ^ -int64(u&1), i + 1, ""
	}
	u, n := binary.Uvarint(b[i:])
	if n == 0 {
		return 0, i, "truncated varint"
	}
	if n < 0 || n > 10 {
		return 0, i, "varint longer than 64 bits"
	}
	return int64(u>>1) ^ -int64(u&1), i + n, ""
}

// decode reads one record at the start of b into a row (without ending
// it) and returns the bytes it took.
func (p *avroPlan) decode(b []byte, into *RowBuilder) (int, error) {
	i := 0
	var v int64
	var e string
	for k := range p.fields {
		f := &p.fields[k]
		if f.union {
			v, i, e = readLong(b, i)
			if e != "" {
				return 0, avroErr(f, e+" (union branch)")
			}
			if v == f.nullIdx {
				if f.col >= 0 {
					if err := into.AppendNull(f.col); err != nil {
						return 0, err
					}
				}
				continue
			}
			if v != f.valueIdx {
				branches := 1
				if f.nullIdx >= 0 {
					branches = 2
				}
				return 0, avroErr(f, fmt.Sprintf("union branch %d out of range (the union has %d)", v, branches))
			}
		}
		switch f.kind {
		case akBoolean:
			if i >= len(b) {
				return 0, avroErr(f, "truncated boolean")
			}
			if b[i] > 1 {
				return 0, avroErr(f, fmt.Sprintf("invalid boolean byte %d", b[i]))
			}
			if f.col >= 0 {
				into.appendBool(f.col, b[i] == 1)
			}
			i++
		case akInt, akDate:
			if v, i, e = readLong(b, i); e != "" {
				return 0, avroErr(f, e)
			}
			if v < math.MinInt32 || v > math.MaxInt32 {
				return 0, avroErr(f, fmt.Sprintf("int value %d out of range", v))
			}
			if f.col >= 0 {
				if f.target.Kind == types.BigInt {
					into.appendI64(f.col, v)
				} else {
					into.appendI32(f.col, int32(v))
				}
			}
		case akLong:
			if v, i, e = readLong(b, i); e != "" {
				return 0, avroErr(f, e)
			}
			if f.col >= 0 {
				into.appendI64(f.col, v)
			}
		case akMillis, akMicros:
			if v, i, e = readLong(b, i); e != "" {
				return 0, avroErr(f, e)
			}
			if f.col >= 0 {
				if f.kind == akMillis {
					if v > math.MaxInt64/1000 || v < math.MinInt64/1000 {
						return 0, avroErr(f, fmt.Sprintf("timestamp %d ms out of range", v))
					}
					v *= 1000
				}
				into.appendI64(f.col, TruncateMicros(v, f.target.Precision))
			}
		case akFloat:
			if len(b)-i < 4 {
				return 0, avroErr(f, "truncated float")
			}
			if f.col >= 0 {
				into.appendF64(f.col, float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))))
			}
			i += 4
		case akDouble:
			if len(b)-i < 8 {
				return 0, avroErr(f, "truncated double")
			}
			if f.col >= 0 {
				into.appendF64(f.col, math.Float64frombits(binary.LittleEndian.Uint64(b[i:])))
			}
			i += 8
		case akString, akDecimal:
			if v, i, e = readLong(b, i); e != "" {
				return 0, avroErr(f, e+" (length)")
			}
			if v < 0 || v > int64(len(b)-i) {
				return 0, avroErr(f, fmt.Sprintf("%s length %d but %d bytes left", f.kind, v, len(b)-i))
			}
			data := b[i : i+int(v)]
			i += int(v)
			if f.col < 0 {
				continue
			}
			if f.kind == akString {
				into.appendStr(f.col, data)
				continue
			}
			u, ok := decimalFromBytes(data)
			if !ok || !decimalFits(u, f.target.Precision) {
				return 0, &ParseError{Column: f.name, Msg: "decimal value " + decimalText(data, f.scale) + " does not fit " + f.target.WithNotNull(false).String()}
			}
			into.appendI64(f.col, u)
		}
	}
	for _, col := range p.missing {
		if err := into.AppendNull(col); err != nil {
			return 0, err
		}
	}
	return i, nil
}

// decimalFromBytes reads a big-endian two's complement integer that fits
// an int64.
func decimalFromBytes(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	neg := b[0]&0x80 != 0
	for len(b) > 8 { // leading bytes must be sign extension
		if (neg && b[0] != 0xff) || (!neg && b[0] != 0) {
			return 0, false
		}
		b = b[1:]
	}
	var u uint64
	if neg {
		u = math.MaxUint64
	}
	for _, c := range b {
		u = u<<8 | uint64(c)
	}
	v := int64(u)
	if (v < 0) != neg {
		return 0, false
	}
	return v, true
}

func decimalFits(u int64, prec int) bool {
	if prec >= 19 || prec <= 0 {
		return true
	}
	return u < pow10(prec) && u > -pow10(prec)
}

// decimalText renders an out-of-range decimal for a message.
func decimalText(b []byte, scale int) string {
	if len(b) > 40 {
		return fmt.Sprintf("of %d bytes", len(b))
	}
	bi := new(bigInt).set(b)
	return bi.text(scale)
}

// ---------------------------------------------------------------------------
// Encoding.

// avroColumn is one column of the batch being encoded, with its values
// extracted once per batch.
type avroColumn struct {
	kind     avroKind
	nullable bool
	arr      arrow.Array
	nulls    bool
	i64      []int64
	i32      []int32
	f64      []float64
	bools    *array.Boolean
	strs     *array.String
}

type avroEncoder struct {
	plan *avroPlan
	rec  arrow.Record // the record cols were extracted from
	cols []avroColumn
}

func newAvroEncoder(p *avroPlan) *avroEncoder {
	return &avroEncoder{plan: p, cols: make([]avroColumn, len(p.fields))}
}

func (e *avroEncoder) bind(rec arrow.Record) {
	e.rec = rec
	for i := range e.cols {
		f := &e.plan.fields[i]
		a := rec.Column(f.col)
		c := avroColumn{kind: f.kind, nullable: f.union, arr: a, nulls: a.NullN() > 0}
		switch v := a.(type) {
		case *array.Int64:
			c.i64 = v.Int64Values()
		case *array.Int32:
			c.i32 = v.Int32Values()
		case *array.Float64:
			c.f64 = v.Float64Values()
		case *array.Boolean:
			c.bools = v
		case *array.String:
			c.strs = v
		}
		e.cols[i] = c
	}
}

func appendLong(dst []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}

// Encode appends row of b as an Avro binary record of the derived schema.
func (e *avroEncoder) Encode(dst []byte, b batch.Batch, row int) []byte {
	if b.Rec != e.rec {
		e.bind(b.Rec)
	}
	for k := range e.cols {
		c := &e.cols[k]
		if c.nullable {
			if c.nulls && c.arr.IsNull(row) {
				dst = append(dst, 0) // branch 0: null
				continue
			}
			dst = append(dst, 2) // branch 1
		}
		switch c.kind {
		case akBoolean:
			if c.bools.Value(row) {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		case akInt, akDate:
			dst = appendLong(dst, int64(c.i32[row]))
		case akLong, akMicros:
			dst = appendLong(dst, c.i64[row])
		case akMillis:
			v := c.i64[row]
			q := v / 1000
			if v%1000 < 0 {
				q--
			}
			dst = appendLong(dst, q)
		case akDouble:
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(c.f64[row]))
		case akString:
			s := c.strs.Value(row)
			dst = appendLong(dst, int64(len(s)))
			dst = append(dst, s...)
		case akDecimal:
			dst = appendDecimalBytes(dst, c.i64[row])
		}
	}
	return dst
}

// appendDecimalBytes writes v as Avro bytes: the length, then the shortest
// big-endian two's complement form.
func appendDecimalBytes(dst []byte, v int64) []byte {
	n := 8
	for n > 1 {
		top := byte(v >> (8 * (n - 1)))  // most significant byte kept
		next := byte(v >> (8 * (n - 2))) // the byte after it
		if (top == 0 && next&0x80 == 0) || (top == 0xff && next&0x80 != 0) {
			n--
			continue
		}
		break
	}
	dst = append(dst, byte(n<<1))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// bigInt is just enough arbitrary-precision arithmetic to print an
// oversized decimal in an error message.
type bigInt struct {
	neg bool
	mag []byte // big-endian magnitude
}

func (x *bigInt) set(b []byte) *bigInt {
	x.mag = append([]byte(nil), b...)
	if len(b) > 0 && b[0]&0x80 != 0 {
		x.neg = true
		// two's complement negate
		carry := 1
		for i := len(x.mag) - 1; i >= 0; i-- {
			s := int(^x.mag[i]) + carry
			x.mag[i] = byte(s)
			carry = s >> 8
		}
	}
	return x
}

func (x *bigInt) text(scale int) string {
	var digits []byte
	mag := x.mag
	for len(mag) > 0 {
		rem := 0
		out := mag[:0:0]
		for _, c := range mag {
			cur := rem<<8 | int(c)
			q := cur / 10
			rem = cur % 10
			if len(out) > 0 || q > 0 {
				out = append(out, byte(q))
			}
		}
		digits = append(digits, byte('0'+rem))
		mag = out
	}
	for len(digits) <= scale {
		digits = append(digits, '0')
	}
	var s []byte
	if x.neg {
		s = append(s, '-')
	}
	for i := len(digits) - 1; i >= 0; i-- {
		s = append(s, digits[i])
		if i == scale && scale > 0 {
			s = append(s, '.')
		}
	}
	return string(s)
}
