package print

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// countingWriter records each Write call separately.
type countingWriter struct{ writes []string }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

var schema = types.NewSchema(
	types.Field{Name: "id", Type: types.TypeInt},
	types.Field{Name: "name", Type: types.TypeString},
	types.Field{Name: "amount", Type: types.DecimalOf(10, 2)},
	types.Field{Name: "ts", Type: types.TimestampLTZOf(3)},
)

func sample() batch.Batch {
	ts := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC).UnixMicro()
	cols := []arrow.Array{
		batch.Int32Array([]int32{1, 2}, nil),
		batch.StringArray([]string{"Alice", ""}, []bool{true, false}),
		batch.Int64Array([]int64{1250, 7}, nil),
		batch.Int64Array([]int64{ts, ts}, nil),
	}
	rec := batch.NewRecord(schema, cols, 2)
	for _, c := range cols {
		c.Release()
	}
	return batch.Batch{Rec: rec, Kinds: []batch.RowKind{batch.Insert, batch.UpdateBefore}}
}

func run(t *testing.T, options map[string]string, subtask, parallelism int) []string {
	t.Helper()
	w := &countingWriter{}
	tb := connectors.Table{Name: "p", Schema: schema, Options: options,
		Env: connectors.Env{Stdout: w, Location: time.FixedZone("X", 3600)}}
	f := New()
	if !f.AcceptsUpdates(tb) {
		t.Fatal("print must accept updates")
	}
	s, err := f.NewSink(tb)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b := sample()
	defer b.Release()
	if err := s.Open(ctx, subtask, parallelism); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	return w.writes
}

func TestPrintLines(t *testing.T) {
	cases := []struct {
		options    map[string]string
		subtask, p int
		wantPrefix string
	}{
		{nil, 0, 1, ""},
		{nil, 1, 4, "2> "},
		{map[string]string{"print-identifier": "out"}, 0, 1, "out> "},
		{map[string]string{"print-identifier": "out"}, 2, 3, "out:3> "},
	}
	for _, c := range cases {
		got := run(t, c.options, c.subtask, c.p)
		want := []string{
			c.wantPrefix + "+I[1, Alice, 12.50, 2024-01-01 13:00:00.000]\n",
			c.wantPrefix + "-U[2, null, 0.07, 2024-01-01 13:00:00.000]\n",
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%v subtask %d/%d:\n got %q\nwant %q", c.options, c.subtask, c.p, got, want)
		}
	}
}

func TestPrintOptions(t *testing.T) {
	for key, options := range map[string]map[string]string{
		"standard-error":   {"standard-error": "sometimes"},
		"sink.parallelism": {"sink.parallelism": "2"},
		"colour":           {"colour": "red"},
	} {
		err := New().Validate(connectors.Table{Name: "p", Schema: schema, Options: options})
		var oe *connectors.OptionError
		if !errors.As(err, &oe) || oe.Option != key {
			t.Errorf("%v: got %v, want an OptionError naming %q", options, err, key)
		}
	}
	if _, err := New().NewSource(connectors.Table{Name: "p", Schema: schema}); err == nil {
		t.Error("print must not be readable")
	}
	var buf bytes.Buffer
	if _, err := New().NewSink(connectors.Table{Name: "p", Schema: schema, Env: connectors.Env{Stdout: &buf}}); err != nil {
		t.Error(err)
	}
}

// TestPrintFlushLeavesNothingBehind: at a barrier (Flush), every row
// written before it has reached the writer.
func TestPrintFlushLeavesNothingBehind(t *testing.T) {
	w := &countingWriter{}
	s, err := New().NewSink(connectors.Table{Name: "p", Schema: schema, Env: connectors.Env{Stdout: w}})
	if err != nil {
		t.Fatal(err)
	}
	fs, ok := s.(connectors.FlushingSink)
	if !ok {
		t.Fatal("print is not a FlushingSink")
	}
	ctx := context.Background()
	b := sample()
	defer b.Release()
	if err := s.Open(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := fs.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if len(w.writes) != 2*i {
			t.Fatalf("after Flush %d: %d lines written, want %d", i, len(w.writes), 2*i)
		}
	}
}
