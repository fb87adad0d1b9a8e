package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/types"
)

// Format is how results are written.
type Format int

const (
	// FormatTable prints bounded results as a table once complete and
	// unbounded ones as a streamed table.
	FormatTable Format = iota
	// FormatCSV prints a header line, then one line per change.
	FormatCSV
	// FormatJSON prints one JSON object per change.
	FormatJSON
)

// ParseFormat reads a --output value.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "table":
		return FormatTable, nil
	case "csv":
		return FormatCSV, nil
	case "json":
		return FormatJSON, nil
	}
	return 0, fmt.Errorf("unknown output format %q (want table, csv or json)", s)
}

// Output implements session.Output for the command line.
type Output struct {
	out, msg io.Writer
	format   Format
	loc      *time.Location

	// The open result, if any.
	open   bool
	schema types.Schema
	info   session.ResultInfo
	rows   []Row // buffered rows of a bounded table
	stream *Stream
}

// NewOutput writes results to out and status messages ("[INFO] ...") to
// msg; other messages (plans) are results and go to out.
func NewOutput(out, msg io.Writer, f Format, loc *time.Location) *Output {
	return &Output{out: out, msg: msg, format: f, loc: loc}
}

// Message implements session.Output.
func (o *Output) Message(m string) error {
	w := o.out
	if IsStatus(m) {
		w = o.msg
	}
	if !strings.HasSuffix(m, "\n") {
		m += "\n"
	}
	if _, err := io.WriteString(w, m); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	return nil
}

// IsStatus reports whether a message is a status line like "[INFO] ..."
// rather than content such as a plan.
func IsStatus(m string) bool {
	for _, p := range []string{"[INFO]", "[WARNING]", "[WARN]", "[ERROR]"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

// Begin implements session.Output.
func (o *Output) Begin(schema types.Schema, info session.ResultInfo) error {
	if err := o.Finish(); err != nil {
		return err
	}
	o.open, o.schema, o.info, o.rows, o.stream = true, schema, info, nil, nil
	if info.Location != nil {
		o.loc = info.Location
	}
	switch o.format {
	case FormatCSV:
		if _, err := io.WriteString(o.out, CSVHeader(schema.Names())+"\n"); err != nil {
			return fmt.Errorf("write csv header: %w", err)
		}
	case FormatTable:
		if !info.Bounded {
			s, err := NewStream(o.out, schema)
			if err != nil {
				return err
			}
			o.stream = s
		}
	}
	return nil
}

// Rows implements session.Output.
func (o *Output) Rows(b batch.Batch) error {
	if !o.open {
		return fmt.Errorf("render: rows outside a result")
	}
	rows := Rows(b, o.schema, o.loc)
	switch {
	case o.format == FormatCSV || o.format == FormatJSON:
		var sb strings.Builder
		names := o.schema.Names()
		for _, r := range rows {
			if o.format == FormatCSV {
				sb.WriteString(CSVLine(r))
			} else {
				sb.WriteString(JSONLine(names, r))
			}
			sb.WriteByte('\n')
		}
		if _, err := io.WriteString(o.out, sb.String()); err != nil {
			return fmt.Errorf("write rows: %w", err)
		}
	case o.stream != nil:
		return o.stream.Write(rows)
	default:
		o.rows = append(o.rows, rows...)
	}
	return nil
}

// End implements session.Output.
func (o *Output) End() error { return o.Finish() }

// Finish closes a result left open, e.g. when a query was cancelled before
// its end: what arrived is still printed, and a streamed table gets its
// footer.
func (o *Output) Finish() error {
	if !o.open {
		return nil
	}
	o.open = false
	if o.format != FormatTable {
		return nil
	}
	if o.stream != nil {
		s := o.stream
		o.stream = nil
		return s.Close()
	}
	rows := o.rows
	o.rows = nil
	return Table(o.out, o.schema.Names(), rows)
}
