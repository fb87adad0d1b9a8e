package format

import (
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// ParseError reports a value that could not be read as its column's type.
type ParseError struct {
	Column string
	Value  string
	Type   types.Type
	// Msg replaces the default "cannot parse ..." text when set.
	Msg string
}

func (e *ParseError) Error() string {
	if e.Column == "" {
		return e.Msg // about the record as a whole
	}
	if e.Msg != "" {
		return "column '" + e.Column + "': " + e.Msg
	}
	return "column '" + e.Column + "': cannot parse '" + e.Value + "' as " + e.Type.WithNotNull(false).String()
}

// RowBuilder accumulates rows parsed from text into typed column slices and
// turns them into a batch without copying. A row is built by one append per
// column followed by EndRow; DiscardRow drops a partly built row (used when
// a record fails to parse and the error is ignored).
type RowBuilder struct {
	schema types.Schema
	arrow  *arrow.Schema
	loc    *time.Location
	cols   []column
	rows   int
	// kinds holds the row kinds of complete rows; nil while every row is
	// +I (the append-only case costs nothing).
	kinds []batch.RowKind
}

// column holds one column's values in the slice matching its physical type.
type column struct {
	t     types.Type
	name  string
	i64   []int64
	i32   []int32
	f64   []float64
	bools []bool
	buf   []byte
	offs  []int32 // string offsets; len = values + 1
	valid []bool  // nil while the column has no NULL
	n     int
}

// NewRowBuilder returns a builder for schema. loc is the zone in which a
// TIMESTAMP_LTZ text without offset is read (nil means UTC).
func NewRowBuilder(schema types.Schema, loc *time.Location) *RowBuilder {
	if loc == nil {
		loc = time.UTC
	}
	b := &RowBuilder{schema: schema, arrow: schema.Arrow(), loc: loc, cols: make([]column, schema.Len())}
	for i, f := range schema.Fields {
		b.cols[i] = column{t: f.Type, name: f.Name, offs: []int32{0}}
	}
	return b
}

// Schema is the builder's schema.
func (b *RowBuilder) Schema() types.Schema { return b.schema }

// Len is the number of complete rows.
func (b *RowBuilder) Len() int { return b.rows }

// EndRow completes the current row as an insertion (+I).
func (b *RowBuilder) EndRow() {
	if b.kinds != nil {
		b.kinds = append(b.kinds, batch.Insert)
	}
	b.rows++
}

// EndRowKind completes the current row with row kind k (a changelog
// format's -U/+U/-D). The batch Build returns carries Kinds when any of
// its rows is not +I.
func (b *RowBuilder) EndRowKind(k batch.RowKind) {
	if k != batch.Insert && b.kinds == nil {
		b.kinds = make([]batch.RowKind, b.rows, max(2*b.rows, 64))
	}
	if b.kinds != nil {
		b.kinds = append(b.kinds, k)
	}
	b.rows++
}

// Truncate drops the complete rows after the first n, and the current
// partly built row: a decoder that emits several rows for one record uses
// it to undo them all when a later part of the record fails.
func (b *RowBuilder) Truncate(n int) {
	if n < 0 || n > b.rows {
		return
	}
	b.rows = n
	if b.kinds != nil {
		b.kinds = b.kinds[:n]
	}
	b.DiscardRow()
}

// DiscardRow drops the values appended since the last EndRow.
func (b *RowBuilder) DiscardRow() {
	for i := range b.cols {
		c := &b.cols[i]
		if c.n == b.rows {
			continue
		}
		c.n = b.rows
		c.i64, c.i32, c.f64, c.bools = trunc(c.i64, c.n), trunc(c.i32, c.n), trunc(c.f64, c.n), trunc(c.bools, c.n)
		if len(c.offs) > c.n+1 {
			c.offs = c.offs[:c.n+1]
			c.buf = c.buf[:c.offs[c.n]]
		}
		if c.valid != nil {
			c.valid = c.valid[:c.n]
		}
	}
}

func trunc[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// AppendNull appends NULL to column col; a NOT NULL column refuses it.
func (b *RowBuilder) AppendNull(col int) error {
	c := &b.cols[col]
	if c.t.NotNull {
		return &ParseError{Column: c.name, Type: c.t, Msg: "NULL value for a NOT NULL column"}
	}
	if c.valid == nil {
		c.valid = make([]bool, c.n, max(c.n*2, 64))
		for i := range c.valid {
			c.valid[i] = true
		}
	}
	c.valid = append(c.valid, false)
	switch c.t.Kind {
	case types.Boolean:
		c.bools = append(c.bools, false)
	case types.Int, types.Date:
		c.i32 = append(c.i32, 0)
	case types.Double:
		c.f64 = append(c.f64, 0)
	case types.String:
		c.offs = append(c.offs, int32(len(c.buf)))
	default:
		c.i64 = append(c.i64, 0)
	}
	c.n++
	return nil
}

// AppendText parses s as column col's type and appends it. Surrounding
// spaces are ignored except for strings. Accepted forms: true/false (any
// case); integers in range; decimals within the precision, extra fraction
// digits rounded HALF_UP; timestamps "yyyy-mm-dd hh:mm:ss[.f]" or ISO
// "yyyy-mm-ddThh:mm:ss[.f][Z|+hh:mm]" (TIMESTAMP_LTZ without an offset is
// read in the builder's zone); dates yyyy-mm-dd; intervals as Display
// renders them.
func (b *RowBuilder) AppendText(col int, s string) error {
	c := &b.cols[col]
	ok := true
	switch c.t.Kind {
	case types.String:
		c.buf = append(c.buf, s...)
		c.offs = append(c.offs, int32(len(c.buf)))
	case types.Boolean:
		var v bool
		switch t := strings.TrimSpace(s); {
		case strings.EqualFold(t, "true"):
			v = true
		case strings.EqualFold(t, "false"):
		default:
			ok = false
		}
		c.bools = append(c.bools, v)
	case types.Int:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		ok = err == nil
		c.i32 = append(c.i32, int32(v))
	case types.BigInt:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		ok = err == nil
		c.i64 = append(c.i64, v)
	case types.Double:
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil && !isRangeErr(err) {
			ok = false
		}
		c.f64 = append(c.f64, v)
	case types.Decimal:
		var v int64
		v, ok = ParseDecimal(s, c.t.Precision, c.t.Scale)
		c.i64 = append(c.i64, v)
	case types.Timestamp, types.TimestampLTZ:
		micros, off, zoned, pok := ParseTimestamp(s)
		ok = pok
		if c.t.Kind == types.TimestampLTZ {
			if zoned {
				micros -= int64(off) * microsPerSecond
			} else {
				micros = LocalToInstant(micros, b.loc)
			}
		} else if zoned {
			// A zoned text for a zone-less column keeps its wall clock,
			// as Flink's ISO-8601 parsing of TIMESTAMP does with 'Z'.
			ok = pok && off == 0
		}
		c.i64 = append(c.i64, TruncateMicros(micros, c.t.Precision))
	case types.Date:
		v, dok := ParseDate(s)
		ok = dok
		c.i32 = append(c.i32, v)
	case types.Interval:
		v, iok := ParseInterval(s)
		ok = iok
		c.i64 = append(c.i64, v)
	default:
		return &ParseError{Column: c.name, Type: c.t, Msg: "not supported yet: reading " + c.t.String() + " from text"}
	}
	if !ok {
		b.popLast(c)
		return &ParseError{Column: c.name, Value: strings.Clone(s), Type: c.t}
	}
	if c.valid != nil {
		c.valid = append(c.valid, true)
	}
	c.n++
	return nil
}

// AppendBytes is AppendText for a byte slice, without converting it to a
// string first. The bytes are not retained.
func (b *RowBuilder) AppendBytes(col int, v []byte) error {
	// Safe: AppendText copies what it keeps (strings into the column
	// buffer, error values via strings.Clone) and never holds s.
	return b.AppendText(col, unsafe.String(unsafe.SliceData(v), len(v)))
}

// Typed appends for binary formats: the value is already of the column's
// physical type (i64 for BIGINT, DECIMAL unscaled, timestamps in
// microseconds and intervals in milliseconds; i32 for INT and DATE).

func (b *RowBuilder) appendI64(col int, v int64) {
	c := &b.cols[col]
	c.i64 = append(c.i64, v)
	c.appended()
}

func (b *RowBuilder) appendI32(col int, v int32) {
	c := &b.cols[col]
	c.i32 = append(c.i32, v)
	c.appended()
}

func (b *RowBuilder) appendF64(col int, v float64) {
	c := &b.cols[col]
	c.f64 = append(c.f64, v)
	c.appended()
}

func (b *RowBuilder) appendBool(col int, v bool) {
	c := &b.cols[col]
	c.bools = append(c.bools, v)
	c.appended()
}

func (b *RowBuilder) appendStr(col int, v []byte) {
	c := &b.cols[col]
	c.buf = append(c.buf, v...)
	c.offs = append(c.offs, int32(len(c.buf)))
	c.appended()
}

func (c *column) appended() {
	if c.valid != nil {
		c.valid = append(c.valid, true)
	}
	c.n++
}

// popLast removes the value just appended to c (before n is incremented).
func (b *RowBuilder) popLast(c *column) {
	switch c.t.Kind {
	case types.Boolean:
		c.bools = c.bools[:c.n]
	case types.Int, types.Date:
		c.i32 = c.i32[:c.n]
	case types.Double:
		c.f64 = c.f64[:c.n]
	case types.String:
		c.offs = c.offs[:c.n+1]
		c.buf = c.buf[:c.offs[c.n]]
	default:
		c.i64 = c.i64[:c.n]
	}
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// Build returns the complete rows as a batch and resets the builder. A
// partly built row is discarded.
func (b *RowBuilder) Build() batch.Batch {
	b.DiscardRow()
	cols := make([]arrow.Array, len(b.cols))
	for i := range b.cols {
		cols[i] = b.cols[i].array()
	}
	rec := batch.NewRecordArrow(b.arrow, cols, b.rows)
	for _, c := range cols {
		c.Release()
	}
	b.rows = 0
	out := batch.New(rec)
	if b.kinds != nil {
		out.Kinds = b.kinds
		b.kinds = nil
	}
	return out
}

// array hands the column's slices to an Arrow array and starts new ones
// sized like the last batch.
func (c *column) array() arrow.Array {
	n := c.n
	valid := c.valid
	var a arrow.Array
	switch c.t.Kind {
	case types.Boolean:
		a = batch.BooleanArray(c.bools, valid)
		c.bools = c.bools[:0] // BooleanArray packs a copy
	case types.Int, types.Date:
		a = batch.Int32Array(c.i32, valid)
		c.i32 = make([]int32, 0, n)
	case types.Double:
		a = batch.Float64Array(c.f64, valid)
		c.f64 = make([]float64, 0, n)
	case types.String:
		bm, nulls := batch.ValidityFromBools(valid)
		data := array.NewData(arrow.BinaryTypes.String, n,
			[]*memory.Buffer{bm, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.offs)), memory.NewBufferBytes(c.buf)}, nil, nulls, 0)
		a = array.NewStringData(data)
		data.Release()
		c.offs = make([]int32, 1, n+1)
		c.buf = make([]byte, 0, len(c.buf))
	case types.Null:
		a = array.NewNull(n)
	default:
		a = batch.Int64Array(c.i64, valid)
		c.i64 = make([]int64, 0, n)
	}
	if valid != nil {
		c.valid = nil // ValidityFromBools copied it into a bitmap
	}
	c.n = 0
	return a
}
