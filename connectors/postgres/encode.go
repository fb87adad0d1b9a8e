package postgres

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Rows travel to the server in COPY's text format: one line per row,
// columns separated by tabs, NULL as \N, backslash, tab, newline and
// carriage return escaped. The server parses each value with its column's
// input function, so the same bytes fit the target table's own (possibly
// wider) types. Encoding straight from the Arrow buffers into one byte
// slice costs no allocation per row.

// appendValue appends row r of column a (of logical type t) in COPY text
// form.
func appendValue(b []byte, a arrow.Array, t types.Type, r int) []byte {
	if a.IsNull(r) {
		return append(b, '\\', 'N')
	}
	switch t.Kind {
	case types.Boolean:
		if a.(*array.Boolean).Value(r) {
			return append(b, 't')
		}
		return append(b, 'f')
	case types.Int:
		return strconv.AppendInt(b, int64(a.(*array.Int32).Value(r)), 10)
	case types.BigInt:
		return strconv.AppendInt(b, a.(*array.Int64).Value(r), 10)
	case types.Double:
		v := a.(*array.Float64).Value(r)
		switch {
		case math.IsInf(v, 1):
			return append(b, "Infinity"...)
		case math.IsInf(v, -1):
			return append(b, "-Infinity"...)
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64) // NaN is "NaN"
	case types.Decimal:
		return appendDecimal(b, a.(*array.Int64).Value(r), t.Scale)
	case types.String:
		return appendEscaped(b, a.(*array.String).Value(r))
	case types.Date:
		return time.Unix(int64(a.(*array.Int32).Value(r))*86400, 0).UTC().AppendFormat(b, "2006-01-02")
	case types.Timestamp:
		return time.UnixMicro(a.(*array.Int64).Value(r)).UTC().AppendFormat(b, "2006-01-02 15:04:05.999999")
	case types.TimestampLTZ:
		b = time.UnixMicro(a.(*array.Int64).Value(r)).UTC().AppendFormat(b, "2006-01-02 15:04:05.999999")
		return append(b, '+', '0', '0')
	case types.Interval:
		b = strconv.AppendInt(b, a.(*array.Int64).Value(r), 10)
		return append(b, " milliseconds"...)
	}
	panic(fmt.Sprintf("postgres: no COPY encoding for %s", t)) // parse refuses such columns
}

// appendDecimal writes an unscaled int64 with scale digits after the point.
func appendDecimal(b []byte, v int64, scale int) []byte {
	if scale == 0 {
		return strconv.AppendInt(b, v, 10)
	}
	var digits [24]byte
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = uint64(-v) // math.MinInt64 wraps to its own magnitude as uint64
	}
	d := strconv.AppendUint(digits[:0], u, 10)
	if len(d) <= scale {
		b = append(b, '0', '.')
		for range scale - len(d) {
			b = append(b, '0')
		}
		return append(b, d...)
	}
	b = append(b, d[:len(d)-scale]...)
	b = append(b, '.')
	return append(b, d[len(d)-scale:]...)
}

// appendEscaped writes a string with COPY's text escapes.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc byte
		switch s[i] {
		case '\\':
			esc = '\\'
		case '\t':
			esc = 't'
		case '\n':
			esc = 'n'
		case '\r':
			esc = 'r'
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', esc)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// chunk is a batch of reduced rows ready to apply: COPY text lines for the
// rows to insert (or upsert) and for the keys to delete.
type chunk struct {
	upserts  []byte
	nUpserts int
	deletes  []byte // key columns only
	nDeletes int
}

func (c *chunk) rows() int { return c.nUpserts + c.nDeletes }

// buffer collects written rows as COPY lines. With a key, a row replaces
// any earlier row of the same key (ON CONFLICT cannot touch a row twice in
// one statement, and only the last change of a key matters): the earlier
// line is marked dead and dropped when the buffer is sealed into a chunk.
type buffer struct {
	schema types.Schema
	pk     []int

	lines  []byte
	ends   []int32 // end of each row's line in lines (exclusive)
	del    []bool  // row is a delete (its line holds the key columns only)
	dead   []bool  // superseded by a later row of the same key
	nDead  int
	latest map[string]int32 // key text -> row index
	key    []byte
	since  time.Time // when the first row arrived
}

func newBuffer(schema types.Schema, pk []int) *buffer {
	b := &buffer{schema: schema, pk: pk}
	if len(pk) > 0 {
		b.latest = map[string]int32{}
	}
	return b
}

// len is the number of buffered rows, superseded ones included.
func (b *buffer) len() int { return len(b.ends) }

// live is the number of rows a seal would keep.
func (b *buffer) live() int { return len(b.ends) - b.nDead }

// add appends a batch's rows. With a key, -U rows are skipped (the +U that
// follows replaces the row) and -D rows become deletes of their key;
// without one, every row must be an insert (the planner refuses updating
// input for a sink without a primary key).
func (b *buffer) add(bt batch.Batch, now time.Time) error {
	n := bt.Len()
	if n == 0 {
		return nil
	}
	if len(b.ends) == 0 {
		b.since = now
	}
	cols := make([]arrow.Array, len(b.schema.Fields))
	for i := range cols {
		cols[i] = bt.Column(i)
	}
	keyed := len(b.pk) > 0
	if !keyed && !bt.InsertOnly() {
		return fmt.Errorf("received an update or delete but the table declares no PRIMARY KEY to apply it by")
	}
	if len(b.ends)+n > math.MaxInt32 || len(b.lines) > math.MaxInt32/2 {
		return fmt.Errorf("buffer overflow: too many rows buffered")
	}
	for r := 0; r < n; r++ {
		kind := bt.Kind(r)
		if kind == batch.UpdateBefore && keyed {
			continue
		}
		isDel := kind == batch.Delete
		if keyed {
			b.key = b.key[:0]
			for j, c := range b.pk {
				if j > 0 {
					b.key = append(b.key, '\t')
				}
				if cols[c].IsNull(r) {
					return fmt.Errorf("primary key column '%s' is NULL", b.schema.Fields[c].Name)
				}
				b.key = appendValue(b.key, cols[c], b.schema.Fields[c].Type, r)
			}
			idx := int32(len(b.ends))
			if prev, ok := b.latest[string(b.key)]; ok {
				b.dead[prev] = true
				b.nDead++
				b.latest[string(b.key)] = idx
			} else {
				b.latest[string(b.key)] = idx
			}
			if isDel {
				b.lines = append(b.lines, b.key...)
			}
		}
		if !isDel {
			for c, f := range b.schema.Fields {
				if c > 0 {
					b.lines = append(b.lines, '\t')
				}
				b.lines = appendValue(b.lines, cols[c], f.Type, r)
			}
		}
		b.lines = append(b.lines, '\n')
		b.ends = append(b.ends, int32(len(b.lines)))
		b.del = append(b.del, isDel)
		b.dead = append(b.dead, false)
	}
	return nil
}

// seal moves the live rows into a chunk and empties the buffer.
func (b *buffer) seal() chunk {
	var c chunk
	start := int32(0)
	for i, end := range b.ends {
		line := b.lines[start:end]
		start = end
		switch {
		case b.dead[i]:
		case b.del[i]:
			c.deletes = append(c.deletes, line...)
			c.nDeletes++
		default:
			c.upserts = append(c.upserts, line...)
			c.nUpserts++
		}
	}
	b.reset()
	return c
}

func (b *buffer) reset() {
	b.lines, b.ends, b.del, b.dead, b.nDead = b.lines[:0], b.ends[:0], b.del[:0], b.dead[:0], 0
	if b.latest != nil {
		clear(b.latest)
	}
}

// compact drops superseded rows in place (a long checkpoint interval over
// few keys would otherwise keep every change until the barrier).
func (b *buffer) compact() {
	if b.nDead == 0 {
		return
	}
	w, start, out := 0, int32(0), 0
	for i, end := range b.ends {
		line := b.lines[start:end]
		start = end
		if b.dead[i] {
			continue
		}
		w += copy(b.lines[w:], line)
		b.ends[out], b.del[out], b.dead[out] = int32(w), b.del[i], false
		out++
	}
	b.lines, b.ends, b.del, b.dead, b.nDead = b.lines[:w], b.ends[:out], b.del[:out], b.dead[:out], 0
	// Rebuild the key index: row numbers changed.
	clear(b.latest)
	start = 0
	for i, end := range b.ends {
		line := b.lines[start:end]
		start = end
		b.latest[string(b.keyOfLine(line, b.del[i]))] = int32(i)
	}
}

// keyOfLine extracts the key text of a buffered line.
func (b *buffer) keyOfLine(line []byte, isDel bool) []byte {
	line = line[:len(line)-1] // the newline
	if isDel {
		return line
	}
	// Split the full row's fields and join the key columns.
	b.key = b.key[:0]
	field, start := 0, 0
	fields := make([][]byte, 0, len(b.schema.Fields))
	for i := 0; i <= len(line); i++ {
		if i == len(line) || line[i] == '\t' {
			fields = append(fields, line[start:i])
			start = i + 1
			field++
		}
	}
	for j, c := range b.pk {
		if j > 0 {
			b.key = append(b.key, '\t')
		}
		b.key = append(b.key, fields[c]...)
	}
	return b.key
}
