package filesystem

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/sql/types"
)

// countContainer reads a file with goavro, as an independent reader.
func countContainer(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := goavro.NewOCFReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n := 0
	for r.Scan() {
		if _, err := r.Read(); err != nil {
			t.Fatalf("%s: record %d: %v", path, n, err)
		}
		n++
	}
	if r.Err() != nil {
		t.Fatalf("%s: %v", path, r.Err())
	}
	return n
}

// Part files of an avro table are complete containers when committed,
// through rolling and checkpoints; the source resumes mid-container.
func TestAvroContainerSinkAndSource(t *testing.T) {
	dir := t.TempDir()
	tb := table(filepath.Join(dir, "out"), map[string]string{"path": ".", "format": "avro", "avro.codec": "snappy", "sink.rolling-policy.file-size": "64kb"})
	ctx := context.Background()
	s := openSink(t, tb, 0, 1)
	ids := make([]int64, 30000)
	for i := range ids {
		ids[i] = int64(i)
	}
	writeIDs(t, s, ids[:10000]...)
	if _, err := s.PreCommit(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, 1); err != nil {
		t.Fatal(err)
	}
	committed, _ := filepath.Glob(filepath.Join(dir, "out", "part-*.avro"))
	total := 0
	for _, p := range committed {
		total += countContainer(t, p)
	}
	if total != 10000 || len(committed) < 2 {
		t.Fatalf("after checkpoint 1: %d rows in %d files", total, len(committed))
	}
	writeIDs(t, s, ids[10000:]...)
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	committed, _ = filepath.Glob(filepath.Join(dir, "out", "part-*.avro"))
	total = 0
	for _, p := range committed {
		total += countContainer(t, p)
	}
	if total != 30000 {
		t.Fatalf("after finish: %d rows", total)
	}

	// Read back, taking positions; resume from one mid-file.
	src := openSource(t, tb, 0, 1)
	rows, positions, counts := drain(t, src)
	if len(rows) != 30000 {
		t.Fatalf("read %d rows", len(rows))
	}
	k := len(positions) / 2
	again := openSource(t, tb, 0, 1)
	if err := again.Seek(positions[k]); err != nil {
		t.Fatal(err)
	}
	rest, _, _ := drain(t, again)
	if strings.Join(rest, "\n") != strings.Join(rows[counts[k]:], "\n") {
		t.Errorf("resumed at row %d: %d rows, want %d", counts[k], len(rest), len(rows)-counts[k])
	}
}

func TestAvroContainerMalformed(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "in", "a.avro"), "id,name\n1,x\n")
	_, err := readAll(t, table(dir, map[string]string{"path": "in", "format": "avro"}), 1)
	if err == nil || !strings.Contains(err.Error(), filepath.Join("in", "a.avro")+": not an Avro container file") {
		t.Errorf("error %v", err)
	}
	// A record that breaks the table's NOT NULL: fails naming the block
	// and record, or is skipped with the rest of its block.
	w, _ := os.Create(filepath.Join(dir, "b.avro"))
	ocf, err := goavro.NewOCFWriter(goavro.OCFConfig{W: w, Schema: `{"type":"record","name":"r","fields":[{"name":"id","type":["null","long"]},{"name":"name","type":"string"},{"name":"amount","type":["null",{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}]}]}`})
	if err != nil {
		t.Fatal(err)
	}
	ocf.Append([]any{map[string]any{"id": goavro.Union("long", int64(1)), "name": "a", "amount": nil}})
	ocf.Append([]any{map[string]any{"id": nil, "name": "b", "amount": nil}, map[string]any{"id": goavro.Union("long", int64(3)), "name": "c", "amount": nil}})
	ocf.Append([]any{map[string]any{"id": goavro.Union("long", int64(4)), "name": "d", "amount": nil}})
	w.Close()
	strict := table(dir, map[string]string{"path": "b.avro", "format": "avro"})
	strict.Schema.Fields = append([]types.Field(nil), schema.Fields...) // not the shared slice
	strict.Schema.Fields[0].Type = strict.Schema.Fields[0].Type.WithNotNull(true)
	if _, err := readAll(t, strict, 1); err == nil || !strings.Contains(err.Error(), "b.avro: block at byte") || !strings.Contains(err.Error(), "record 0: column 'id': NULL value for a NOT NULL column") {
		t.Errorf("error %v", err)
	}
	lax := table(dir, map[string]string{"path": "b.avro", "format": "avro", "avro.ignore-parse-errors": "true"})
	lax.Schema = strict.Schema
	rows, err := readAll(t, lax, 1)
	if err != nil || strings.Join(rows, " ") != "+I[1, a, NULL] +I[4, d, NULL]" {
		t.Errorf("ignore-parse-errors: %v %v", rows, err)
	}
}

func TestAvroConfluentRefusedForFiles(t *testing.T) {
	err := New().Validate(table(t.TempDir(), map[string]string{"path": "x", "format": "avro-confluent", "avro-confluent.url": "http://r:8081"}))
	var oe *connectors.OptionError
	if !errors.As(err, &oe) || oe.Option != "format" || !strings.Contains(err.Error(), "files use 'avro'") {
		t.Errorf("error %v", err)
	}
}
