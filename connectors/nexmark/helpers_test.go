package nexmark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// fullSchema is the declared schema of a kind's whole table.
func fullSchema(name string) types.Schema {
	k := map[string]kind{"person": kindPerson, "auction": kindAuction, "bid": kindBid}[name]
	var s types.Schema
	for _, d := range kindFields(k) {
		s.Fields = append(s.Fields, types.Field{Name: d.name, Type: d.t})
	}
	return s
}

func testTable(kind string, extra map[string]string) connectors.Table {
	o := map[string]string{"nexmark.table": kind}
	for k, v := range extra {
		o[k] = v
	}
	return connectors.Table{Name: "t", Schema: fullSchema(kind), Options: o}
}

// newTestSource opens subtask of parallelism of a kind's full table.
func newTestSource(tb testing.TB, kind string, extra map[string]string, subtask, parallelism int) *source {
	tb.Helper()
	return openTable(tb, testTable(kind, extra), subtask, parallelism)
}

func openTable(tb testing.TB, t connectors.Table, subtask, parallelism int) *source {
	tb.Helper()
	s, err := New().NewSource(t)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Open(context.Background(), subtask, parallelism); err != nil {
		tb.Fatal(err)
	}
	return s.(*source)
}

// row is one generated row, its values rendered as text.
type row []string

func (r row) String() string { return strings.Join(r, "|") }

// rowsOf renders a batch's rows.
func rowsOf(b batch.Batch) []row {
	out := make([]row, b.Len())
	for i := range out {
		r := make(row, b.Rec.NumCols())
		for c := range r {
			switch a := b.Rec.Column(c).(type) {
			case *array.Int64:
				r[c] = fmt.Sprint(a.Value(i))
			case *array.String:
				r[c] = a.Value(i)
			default:
				r[c] = fmt.Sprintf("?%T", a)
			}
		}
		out[i] = r
	}
	return out
}

// readAll reads a bounded source to its end (at most limit rows when
// limit > 0).
func readAll(tb testing.TB, s connectors.Source, limit int) []row {
	tb.Helper()
	var out []row
	for limit <= 0 || len(out) < limit {
		b, err := s.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, rowsOf(b)...)
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
