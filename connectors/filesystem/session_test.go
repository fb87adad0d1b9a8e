package filesystem_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/types"
)

// rowsOutput collects every row of every result as "+I[a, b]" lines.
type rowsOutput struct {
	schema    types.Schema
	rows      []string
	changelog bool
}

func (o *rowsOutput) Message(string) error { return nil }
func (o *rowsOutput) Begin(s types.Schema, info session.ResultInfo) error {
	o.schema, o.changelog = s, info.Changelog
	return nil
}
func (o *rowsOutput) End() error { return nil }
func (o *rowsOutput) Rows(b batch.Batch) error {
	for r := range b.Len() {
		cells := make([]string, len(o.schema.Fields))
		for c, f := range o.schema.Fields {
			cells[c] = format.Display(b.Column(c), r, f.Type, nil)
		}
		o.rows = append(o.rows, b.Kind(r).String()+"["+strings.Join(cells, ", ")+"]")
	}
	return nil
}

func newSession(t *testing.T, dir string) *session.Session {
	t.Helper()
	now := func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC) }
	s, err := session.New(session.Options{Dir: dir, Stdout: io.Discard, Logger: slog.New(slog.DiscardHandler), DMLSync: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func run(t *testing.T, s *session.Session, script string) *rowsOutput {
	t.Helper()
	out := &rowsOutput{}
	if err := s.ExecuteScript(context.Background(), script, out); err != nil {
		t.Fatalf("%s\n: %v", script, err)
	}
	return out
}

// A debezium-json file read into a GROUP BY: the scan is updating, so the
// aggregate retracts, and its full changelog shows it.
func TestSQLDebeziumChangelog(t *testing.T) {
	dir := t.TempDir()
	events := `{"before":null,"after":{"id":1,"customer":"ann","amount":10.00},"op":"r"}
{"before":null,"after":{"id":2,"customer":"bob","amount":5.00},"op":"c"}
{"before":{"id":1,"customer":"ann","amount":10.00},"after":{"id":1,"customer":"ann","amount":12.50},"op":"u"}
{"before":{"id":2,"customer":"bob","amount":5.00},"after":null,"op":"d"}
`
	if err := os.WriteFile(filepath.Join(dir, "orders.json"), []byte(events), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, dir)
	run(t, s, `SET 'table.exec.mini-batch.size' = '1';
CREATE TABLE orders (id BIGINT, customer STRING, amount DECIMAL(10, 2))
  WITH ('connector' = 'filesystem', 'path' = 'orders.json', 'format' = 'debezium-json');`)
	out := run(t, s, `SELECT customer, COUNT(*) AS n, SUM(amount) AS total FROM orders GROUP BY customer;`)
	// The update retracts ann's only row (the group empties, so -D) and
	// inserts the new one; the delete removes bob's group.
	want := []string{
		"+I[ann, 1, 10.00]",
		"+I[bob, 1, 5.00]",
		"-D[ann, 1, 10.00]",
		"+I[ann, 1, 12.50]",
		"-D[bob, 1, 5.00]",
	}
	if !out.changelog {
		t.Error("the result is not a changelog")
	}
	if strings.Join(out.rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("changelog\n%s\nwant\n%s", strings.Join(out.rows, "\n"), strings.Join(want, "\n"))
	}

	// An updating query into an append-only format is refused by the
	// planner; into debezium-json it is written as change events.
	run(t, s, `CREATE TABLE totals_csv (customer STRING, total DECIMAL(10, 2)) WITH ('connector' = 'filesystem', 'path' = 'out-csv', 'format' = 'csv');`)
	err := s.ExecuteScript(context.Background(), `INSERT INTO totals_csv SELECT customer, SUM(amount) FROM orders GROUP BY customer;`, &rowsOutput{})
	if err == nil || !strings.Contains(err.Error(), "totals_csv") {
		t.Errorf("an updating query into a csv table: error %v", err)
	}
	run(t, s, `CREATE TABLE totals (customer STRING, total DECIMAL(10, 2)) WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'debezium-json');
INSERT INTO totals SELECT customer, CAST(SUM(amount) AS DECIMAL(10, 2)) FROM orders GROUP BY customer;`)
	back := run(t, s, `SELECT customer, SUM(total) AS total FROM totals GROUP BY customer;`)
	if final := materialize(back.rows); strings.Join(final, "\n") != "[ann, 12.50]" {
		t.Errorf("read back %v from\n%s", final, strings.Join(back.rows, "\n"))
	}
}

// materialize applies a changelog and returns the remaining rows sorted.
func materialize(rows []string) []string {
	count := map[string]int{}
	for _, r := range rows {
		kind, row := r[:2], r[2:]
		if kind == "-U" || kind == "-D" {
			count[row]--
		} else {
			count[row]++
		}
	}
	var out []string
	for row, n := range count {
		for range n {
			out = append(out, row)
		}
	}
	sort.Strings(out)
	return out
}

// Writing a filesystem table in avro and reading it back through SQL.
func TestSQLAvroRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := newSession(t, dir)
	run(t, s, `
CREATE TABLE src (id BIGINT, name STRING, price DECIMAL(10, 2), ok BOOLEAN, n INT, d DOUBLE, ts TIMESTAMP(3), ts6 TIMESTAMP(6), ltz TIMESTAMP_LTZ(3), dt DATE)
  WITH ('connector' = 'datagen', 'number-of-rows' = '500', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '500',
        'fields.name.null-rate' = '0.2', 'fields.price.null-rate' = '0.1');
CREATE TABLE av (id BIGINT, name STRING, price DECIMAL(10, 2), ok BOOLEAN, n INT, d DOUBLE, ts TIMESTAMP(3), ts6 TIMESTAMP(6), ltz TIMESTAMP_LTZ(3), dt DATE)
  WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'avro', 'avro.codec' = 'deflate', 'sink.rolling-policy.file-size' = '8kb');
CREATE TABLE js (id BIGINT, name STRING, price DECIMAL(10, 2), ok BOOLEAN, n INT, d DOUBLE, ts TIMESTAMP(3), ts6 TIMESTAMP(6), ltz TIMESTAMP_LTZ(3), dt DATE)
  WITH ('connector' = 'filesystem', 'path' = 'ref', 'format' = 'json');
INSERT INTO av SELECT * FROM src;
INSERT INTO js SELECT * FROM src;`)
	files, _ := filepath.Glob(filepath.Join(dir, "out", "part-*.avro"))
	if len(files) < 2 {
		t.Fatalf("want several rolled part files, got %v", files)
	}
	got := run(t, s, `SELECT * FROM av;`)
	want := run(t, s, `SELECT * FROM js;`)
	sort.Strings(got.rows)
	sort.Strings(want.rows)
	if len(got.rows) != 500 || strings.Join(got.rows, "\n") != strings.Join(want.rows, "\n") {
		t.Errorf("avro gives %d rows, json %d; first avro %v, first json %v", len(got.rows), len(want.rows), got.rows[:min(2, len(got.rows))], want.rows[:min(2, len(want.rows))])
	}
	agg := run(t, s, `SELECT COUNT(*), COUNT(name), SUM(id), MIN(ts6), MAX(price) FROM av;`).rows
	ref := run(t, s, `SELECT COUNT(*), COUNT(name), SUM(id), MIN(ts6), MAX(price) FROM js;`).rows
	if len(agg) == 0 || agg[len(agg)-1] != ref[len(ref)-1] || !strings.HasPrefix(agg[len(agg)-1], "+I[500, ") {
		t.Errorf("aggregate over avro %v, over json %v", agg, ref)
	}
}
