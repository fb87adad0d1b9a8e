package format

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

type csvOptions struct {
	delim             byte
	quote             byte // 0 when quoting is disabled
	escape            byte // 0 when there is no escape character
	allowComments     bool
	ignoreParseErrors bool
	ignoreFirstLine   bool
	nullLiteral       string
}

func parseCSVOptions(table, prefix string, own map[string]string) (csvOptions, error) {
	o := csvOptions{delim: ',', quote: '"'}
	if err := checkKnown(table, prefix, own, "field-delimiter", "quote-character", "disable-quote-character",
		"allow-comments", "ignore-parse-errors", "null-literal", "escape-character", "ignore-first-line",
		"array-element-delimiter", "write-bigdecimal-in-scientific-notation"); err != nil {
		return o, err
	}
	var err error
	for _, k := range opts.SortedKeys(own) {
		v, key := own[k], prefix+k
		switch k {
		case "field-delimiter":
			o.delim, err = opts.Char(table, key, v)
		case "quote-character":
			o.quote, err = opts.Char(table, key, v)
		case "escape-character":
			o.escape, err = opts.Char(table, key, v)
		case "disable-quote-character":
			var off bool
			if off, err = opts.Bool(table, key, v); err == nil && off {
				if _, set := own["quote-character"]; set {
					return o, opts.Errorf(table, key, "cannot be set together with '%squote-character'", prefix)
				}
				o.quote = 0
			}
		case "allow-comments":
			o.allowComments, err = opts.Bool(table, key, v)
		case "ignore-parse-errors":
			o.ignoreParseErrors, err = opts.Bool(table, key, v)
		case "ignore-first-line":
			o.ignoreFirstLine, err = opts.Bool(table, key, v)
		case "null-literal":
			o.nullLiteral = v
		case "array-element-delimiter", "write-bigdecimal-in-scientific-notation":
			err = opts.NotSupported(table, key)
		}
		if err != nil {
			return o, err
		}
	}
	if o.delim == '\n' || o.delim == '\r' || (o.quote != 0 && o.quote == o.delim) || (o.escape != 0 && (o.escape == o.delim || o.escape == o.quote)) {
		return o, opts.Errorf(table, prefix+"field-delimiter", "delimiter, quote and escape characters must differ and not be line breaks")
	}
	return o, nil
}

// ---------------------------------------------------------------------------
// Decoding.

type csvDecoder struct {
	o       csvOptions
	n       int
	scratch []byte // unescaped field text
	ends    []int  // scratch offsets per field
	isNull  []bool
	names   []string
}

func newCSVDecoder(o csvOptions, s types.Schema) *csvDecoder {
	return &csvDecoder{o: o, n: s.Len(), names: s.Names()}
}

// Decode splits one line into fields (RFC 4180 quoting, optional escape
// character) and parses them. An empty unquoted field and the null literal
// read as NULL; a quoted empty field is an empty string. Quoted fields
// may span lines: a record that ends inside quotes fails with an error
// matching ErrIncompleteRecord, and a line reader then retries with the
// next line appended.
func (d *csvDecoder) Decode(rec []byte, into *RowBuilder) error {
	o := &d.o
	if o.allowComments && len(rec) > 0 && rec[0] == '#' {
		return nil
	}
	d.scratch, d.ends, d.isNull = d.scratch[:0], d.ends[:0], d.isNull[:0]
	i := 0
	for {
		quoted := false
		start := len(d.scratch)
		if o.quote != 0 && i < len(rec) && rec[i] == o.quote {
			quoted = true
			i++
			closed := false
			for i < len(rec) {
				c := rec[i]
				switch {
				case o.escape != 0 && c == o.escape && i+1 < len(rec):
					d.scratch = append(d.scratch, rec[i+1])
					i += 2
					continue
				case c == o.quote && i+1 < len(rec) && rec[i+1] == o.quote:
					d.scratch = append(d.scratch, c)
					i += 2
					continue
				case c == o.quote:
					closed = true
					i++
				default:
					d.scratch = append(d.scratch, c)
					i++
					continue
				}
				break
			}
			if !closed {
				return &incompleteError{column: d.column(len(d.ends))}
			}
			if i < len(rec) && rec[i] != o.delim {
				return &ParseError{Column: d.column(len(d.ends)), Msg: "unexpected character '" + string(rec[i]) + "' after a closing quote"}
			}
		} else if o.escape == 0 {
			// Common case: copy up to the next delimiter in one go.
			end := bytes.IndexByte(rec[i:], o.delim)
			if end < 0 {
				end = len(rec) - i
			}
			d.scratch = append(d.scratch, rec[i:i+end]...)
			i += end
		} else {
			for i < len(rec) && rec[i] != o.delim {
				if o.escape != 0 && rec[i] == o.escape && i+1 < len(rec) {
					i++
				}
				d.scratch = append(d.scratch, rec[i])
				i++
			}
		}
		d.ends = append(d.ends, len(d.scratch))
		field := d.scratch[start:]
		d.isNull = append(d.isNull, !quoted && (len(field) == 0 || (o.nullLiteral != "" && string(field) == o.nullLiteral)))
		if i >= len(rec) {
			break
		}
		i++ // the delimiter
	}
	if len(d.ends) != d.n {
		return &ParseError{Column: d.column(min(len(d.ends), d.n-1)), Msg: "expected " + strconv.Itoa(d.n) + " fields, found " + strconv.Itoa(len(d.ends))}
	}
	start := 0
	for col, end := range d.ends {
		var err error
		if d.isNull[col] {
			err = into.AppendNull(col)
		} else {
			err = into.AppendBytes(col, d.scratch[start:end])
		}
		if err != nil {
			into.DiscardRow()
			return err
		}
		start = end
	}
	into.EndRow()
	return nil
}

// ErrIncompleteRecord is matched (errors.Is) by the error for a record that
// ends inside a quoted field.
var ErrIncompleteRecord = errors.New("record ends inside a quoted field")

type incompleteError struct{ column string }

func (e *incompleteError) Error() string {
	return "column '" + e.column + "': unterminated quoted field"
}

func (e *incompleteError) Is(target error) bool { return target == ErrIncompleteRecord }

func (d *csvDecoder) column(i int) string {
	if i >= 0 && i < len(d.names) {
		return d.names[i]
	}
	return "?"
}

// ---------------------------------------------------------------------------
// Encoding.

type csvEncoder struct {
	o      csvOptions
	schema types.Schema
	tmp    []byte
}

func newCSVEncoder(o csvOptions, s types.Schema) *csvEncoder {
	return &csvEncoder{o: o, schema: s}
}

// Encode writes one line: NULL as the null literal (empty by default,
// unquoted); values rendered like Display except booleans (true/false, as
// Flink's CSV writes them) and TIMESTAMP_LTZ (UTC with a 'Z', so the file
// does not depend on the session zone); fields quoted when they need it.
func (e *csvEncoder) Encode(dst []byte, b batch.Batch, row int) []byte {
	for col := range e.schema.Fields {
		if col > 0 {
			dst = append(dst, e.o.delim)
		}
		a := b.Column(col)
		if a.IsNull(row) {
			dst = append(dst, e.o.nullLiteral...)
			continue
		}
		t := e.schema.Fields[col].Type
		e.tmp = e.tmp[:0]
		switch t.Kind {
		case types.Boolean:
			e.tmp = strconv.AppendBool(e.tmp, a.(*array.Boolean).Value(row))
		case types.TimestampLTZ:
			e.tmp = AppendTimestamp(e.tmp, a.(*array.Int64).Value(row), t.Precision, ' ')
			e.tmp = append(e.tmp, 'Z')
		default:
			e.tmp = AppendDisplay(e.tmp, a, row, t, nil)
		}
		dst = e.appendField(dst, e.tmp, col == 0)
	}
	return dst
}

func (e *csvEncoder) appendField(dst, v []byte, first bool) []byte {
	o := &e.o
	need := len(v) == 0 || (o.nullLiteral != "" && string(v) == o.nullLiteral) ||
		(first && o.allowComments && v[0] == '#') || v[0] == ' ' || v[len(v)-1] == ' '
	if !need {
		for _, c := range v {
			if c == o.delim || c == '\n' || c == '\r' || (o.quote != 0 && c == o.quote) || (o.escape != 0 && c == o.escape) {
				need = true
				break
			}
		}
	}
	if !need {
		return append(dst, v...)
	}
	if o.quote == 0 {
		// Without quoting, only an escape character can protect special
		// characters; with neither, the value is written as is (the
		// user chose an ambiguous format).
		for _, c := range v {
			if o.escape != 0 && (c == o.delim || c == o.escape || c == '\n' || c == '\r') {
				dst = append(dst, o.escape)
			}
			dst = append(dst, c)
		}
		return dst
	}
	dst = append(dst, o.quote)
	for _, c := range v {
		switch {
		case c == o.quote:
			dst = append(dst, c, c)
		case o.escape != 0 && c == o.escape:
			dst = append(dst, c, c)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, o.quote)
}
