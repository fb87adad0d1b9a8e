package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/mattn/go-runewidth"

	"github.com/streamsql/streamsql/sql/types"
)

// maxStreamWidth caps a column of a streamed table; longer values are cut
// with "..." (the rows are printed before the widest value is known).
const maxStreamWidth = 30

// Stream prints an unbounded result as it arrives: a table whose column
// widths come from the column types, one line per change.
type Stream struct {
	w      io.Writer
	widths []int
	rows   int
}

// NewStream writes the header of a streamed table and returns the stream.
func NewStream(w io.Writer, schema types.Schema) (*Stream, error) {
	s := &Stream{w: w, widths: make([]int, len(schema.Fields)+1)}
	s.widths[0] = 2
	for i, f := range schema.Fields {
		s.widths[i+1] = min(maxStreamWidth, max(typeWidth(f.Type), runewidth.StringWidth(f.Name)))
	}
	border := borderLine(s.widths)
	head := border + tableLine(s.widths, s.fit(append([]string{"op"}, schema.Names()...))) + border
	if _, err := io.WriteString(w, head); err != nil {
		return nil, fmt.Errorf("write result header: %w", err)
	}
	return s, nil
}

// Write prints rows.
func (s *Stream) Write(rows []Row) error {
	var sb strings.Builder
	for _, r := range rows {
		sb.WriteString(tableLine(s.widths, s.fit(rowCells(r))))
	}
	s.rows += len(rows)
	if _, err := io.WriteString(s.w, sb.String()); err != nil {
		return fmt.Errorf("write result rows: %w", err)
	}
	return nil
}

// Close prints the closing border and the row count.
func (s *Stream) Close() error {
	noun := "rows"
	if s.rows == 1 {
		noun = "row"
	}
	_, err := fmt.Fprintf(s.w, "%sReceived a total of %d %s\n", borderLine(s.widths), s.rows, noun)
	if err != nil {
		return fmt.Errorf("write result footer: %w", err)
	}
	return nil
}

func (s *Stream) fit(cells []string) []string {
	for i, c := range cells {
		if runewidth.StringWidth(c) > s.widths[i] {
			cells[i] = runewidth.Truncate(c, s.widths[i], "...")
		}
	}
	return cells
}

// typeWidth is the widest text a value of t usually needs.
func typeWidth(t types.Type) int {
	w := 0
	switch t.Kind {
	case types.Boolean:
		w = 5
	case types.Int:
		w = 11
	case types.BigInt:
		w = 20
	case types.Double:
		w = 22
	case types.Decimal:
		w = t.Precision + 2
	case types.Timestamp, types.TimestampLTZ:
		w = 19
		if t.Precision > 0 {
			w += 1 + t.Precision
		}
	case types.Date:
		w = 10
	case types.Interval:
		w = 22
	case types.String:
		w = maxStreamWidth
		if t.Length > 0 {
			w = t.Length
		}
	}
	if t.Nullable() {
		w = max(w, len(NullText))
	}
	return w
}
