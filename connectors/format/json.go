package format

import (
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/valyala/fastjson"

	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

type jsonOptions struct {
	ignoreParseErrors  bool
	failOnMissingField bool
	iso8601            bool
}

func parseJSONOptions(table, prefix string, own map[string]string) (jsonOptions, error) {
	var o jsonOptions
	if err := checkKnown(table, prefix, own, "ignore-parse-errors", "fail-on-missing-field",
		"timestamp-format.standard", "encode.decimal-as-plain-number", "map-null-key.mode",
		"map-null-key.literal", "encode.ignore-null-fields"); err != nil {
		return o, err
	}
	var err error
	for _, k := range opts.SortedKeys(own) {
		v, key := own[k], prefix+k
		switch k {
		case "ignore-parse-errors":
			o.ignoreParseErrors, err = opts.Bool(table, key, v)
		case "fail-on-missing-field":
			o.failOnMissingField, err = opts.Bool(table, key, v)
		case "timestamp-format.standard":
			switch strings.ToUpper(v) {
			case "SQL":
			case "ISO-8601":
				o.iso8601 = true
			default:
				err = opts.Errorf(table, key, "invalid value '%s' (expected SQL or ISO-8601)", v)
			}
		case "encode.decimal-as-plain-number":
			// Decimals are always written in plain notation (we never
			// produce exponents), so either value gives the same output.
			_, err = opts.Bool(table, key, v)
		case "map-null-key.mode", "map-null-key.literal":
			// MAP columns do not exist yet, so these cannot matter.
			err = opts.NotSupported(table, key)
		case "encode.ignore-null-fields":
			err = opts.NotSupported(table, key)
		}
		if err != nil {
			return o, err
		}
	}
	if o.ignoreParseErrors && o.failOnMissingField {
		return o, opts.Errorf(table, prefix+"fail-on-missing-field", "cannot be true together with '%signore-parse-errors'", prefix)
	}
	return o, nil
}

// ---------------------------------------------------------------------------
// Decoding.

type jsonDecoder struct {
	o       jsonOptions
	schema  types.Schema
	index   map[string]int
	parser  fastjson.Parser
	seen    []bool
	names   []string
	pos     int // column expected next (field-order fast path)
	scratch []byte
	into    *RowBuilder
	err     error
	visit   func(k []byte, v *fastjson.Value)
}

func newJSONDecoder(o jsonOptions, s types.Schema) *jsonDecoder {
	d := &jsonDecoder{o: o, schema: s, index: make(map[string]int, s.Len()), seen: make([]bool, s.Len()), names: s.Names()}
	for i, f := range s.Fields {
		d.index[f.Name] = i
	}
	d.visit = d.visitField // bound once: no closure allocation per record
	return d
}

// Decode reads one JSON object. Fields are matched to columns by name
// (exactly, falling back to a case-insensitive match); unknown fields are
// ignored; missing fields are NULL unless fail-on-missing-field is set.
// Scalars of any JSON type are read as text into the column's type (so "12"
// fits an INT, as in Flink); nested values fit only STRING columns, as
// their JSON text. Both timestamp standards are accepted when reading.
func (d *jsonDecoder) Decode(rec []byte, into *RowBuilder) error {
	v, err := d.parser.ParseBytes(rec)
	if err != nil {
		return &ParseError{Column: "?", Msg: "malformed JSON: " + err.Error()}
	}
	obj, err := v.Object()
	if err != nil {
		return &ParseError{Column: "?", Msg: "expected a JSON object, found " + v.Type().String()}
	}
	if err := d.fill(obj, into); err != nil {
		into.DiscardRow()
		return err
	}
	into.EndRow()
	return nil
}

// fill appends one value per column from obj to the current row, without
// ending it.
func (d *jsonDecoder) fill(obj *fastjson.Object, into *RowBuilder) error {
	for i := range d.seen {
		d.seen[i] = false
	}
	d.into, d.err, d.pos = into, nil, 0
	obj.Visit(d.visit)
	d.into = nil
	if d.err == nil {
		for col, ok := range d.seen {
			if ok {
				continue
			}
			if d.o.failOnMissingField {
				d.err = &ParseError{Column: d.schema.Fields[col].Name, Msg: "field is missing"}
				break
			}
			if d.err = into.AppendNull(col); d.err != nil {
				break
			}
		}
	}
	return d.err
}

func (d *jsonDecoder) visitField(k []byte, v *fastjson.Value) {
	if d.err != nil {
		return
	}
	// Producers usually write fields in column order: try the next
	// column's name before hashing the key.
	col, ok := d.pos, false
	if col < len(d.names) && d.names[col] == string(k) {
		ok = true
	} else {
		col, ok = d.index[string(k)] // no allocation for a map lookup
	}
	d.pos = col + 1
	if !ok {
		col = -1
		for i, f := range d.schema.Fields {
			if strings.EqualFold(f.Name, string(k)) {
				col = i
				break
			}
		}
		if col < 0 {
			return
		}
	}
	if d.seen[col] {
		return // duplicate key: the first one wins
	}
	d.seen[col] = true
	switch v.Type() {
	case fastjson.TypeNull:
		d.err = d.into.AppendNull(col)
	case fastjson.TypeString:
		d.err = d.into.AppendBytes(col, v.GetStringBytes())
	case fastjson.TypeTrue:
		d.err = d.into.AppendText(col, "true")
	case fastjson.TypeFalse:
		d.err = d.into.AppendText(col, "false")
	case fastjson.TypeNumber:
		d.scratch = v.MarshalTo(d.scratch[:0])
		d.err = d.into.AppendBytes(col, d.scratch)
	default:
		d.scratch = v.MarshalTo(d.scratch[:0])
		if d.schema.Fields[col].Type.Kind == types.String {
			d.err = d.into.AppendBytes(col, d.scratch)
		} else {
			d.err = &ParseError{Column: d.schema.Fields[col].Name, Value: string(d.scratch), Type: d.schema.Fields[col].Type}
		}
	}
}

// ---------------------------------------------------------------------------
// Encoding.

type jsonEncoder struct {
	o      jsonOptions
	schema types.Schema
	keys   [][]byte // `"name":` per column, escaped once
}

func newJSONEncoder(o jsonOptions, s types.Schema) *jsonEncoder {
	e := &jsonEncoder{o: o, schema: s, keys: make([][]byte, s.Len())}
	for i, f := range s.Fields {
		k := appendJSONString(nil, f.Name)
		e.keys[i] = append(k, ':')
	}
	return e
}

// Encode writes one object with every column: NULL as null, numbers and
// decimals as JSON numbers (NaN and infinities, which JSON numbers cannot
// express, as strings), timestamps as "2024-01-01 12:00:00.000" strings
// (ISO-8601 with a 'T' when configured; TIMESTAMP_LTZ in UTC with 'Z'),
// dates and intervals as strings.
func (e *jsonEncoder) Encode(dst []byte, b batch.Batch, row int) []byte {
	dst = append(dst, '{')
	sep := byte(' ')
	if e.o.iso8601 {
		sep = 'T'
	}
	for col, f := range e.schema.Fields {
		if col > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e.keys[col]...)
		a := b.Column(col)
		if a.IsNull(row) {
			dst = append(dst, "null"...)
			continue
		}
		switch f.Type.Kind {
		case types.Boolean:
			dst = strconv.AppendBool(dst, a.(*array.Boolean).Value(row))
		case types.Int, types.BigInt, types.Decimal:
			dst = AppendDisplay(dst, a, row, f.Type, nil)
		case types.Double:
			v := a.(*array.Float64).Value(row)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				dst = append(dst, '"')
				dst = AppendDouble(dst, v)
				dst = append(dst, '"')
			} else {
				dst = AppendDouble(dst, v)
			}
		case types.String:
			dst = appendJSONString(dst, a.(*array.String).Value(row))
		case types.Timestamp:
			dst = append(dst, '"')
			dst = AppendTimestamp(dst, a.(*array.Int64).Value(row), f.Type.Precision, sep)
			dst = append(dst, '"')
		case types.TimestampLTZ:
			dst = append(dst, '"')
			dst = AppendTimestamp(dst, a.(*array.Int64).Value(row), f.Type.Precision, sep)
			dst = append(dst, 'Z', '"')
		default:
			dst = append(dst, '"')
			dst = AppendDisplay(dst, a, row, f.Type, nil)
			dst = append(dst, '"')
		}
	}
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigit(c>>4), hexDigit(c&15))
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func hexDigit(b byte) byte { return "0123456789abcdef"[b] }
