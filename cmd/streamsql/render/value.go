package render

import (
	"math"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/sql/types"
)

// Value is one rendered cell.
type Value struct {
	Text string // the SQL-client text (format.Display); "" when Null
	Null bool
	// JSON is the cell as a JSON value (number, string, true/false, null).
	JSON string
}

// Cell renders row i of a column of logical type t.
func Cell(a arrow.Array, i int, t types.Type, loc *time.Location) Value {
	if a.IsNull(i) {
		return Value{Null: true, JSON: "null"}
	}
	text := format.Display(a, i, t, loc)
	return Value{Text: text, JSON: jsonOf(a, i, t, text)}
}

// jsonOf renders numbers and booleans bare and everything else (timestamps,
// dates, intervals, strings) as JSON strings of their display text, so a
// JSON consumer sees the same text as the table.
func jsonOf(a arrow.Array, i int, t types.Type, text string) string {
	switch t.Kind {
	case types.Int, types.BigInt, types.Decimal:
		return text
	case types.Double:
		if f, ok := a.(*array.Float64); ok {
			v := f.Value(i)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				// JSON has no NaN or infinity: keep the value, as a string.
				return quoteJSON(text)
			}
		}
		return text
	case types.Boolean:
		if b, ok := a.(*array.Boolean); ok {
			if b.Value(i) {
				return "true"
			}
			return "false"
		}
	}
	return quoteJSON(text)
}
