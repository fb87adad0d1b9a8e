package filesystem

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

var schema = types.NewSchema(
	types.Field{Name: "id", Type: types.TypeBigInt},
	types.Field{Name: "name", Type: types.TypeString},
	types.Field{Name: "amount", Type: types.DecimalOf(10, 2)},
)

func table(dir string, options map[string]string) connectors.Table {
	return connectors.Table{Name: "fs", Schema: schema, Options: options, Env: connectors.Env{Dir: dir, Location: time.UTC}}
}

// readAll reads the table with parallelism subtasks and returns every row
// rendered by batch.Debug, sorted.
func readAll(t *testing.T, tb connectors.Table, parallelism int) ([]string, error) {
	t.Helper()
	var rows []string
	for st := 0; st < parallelism; st++ {
		src, err := New().NewSource(tb)
		if err != nil {
			t.Fatal(err)
		}
		err = func() error {
			defer src.Close()
			ctx := context.Background()
			if err := src.Open(ctx, st, parallelism); err != nil {
				return err
			}
			for {
				b, err := src.Next(ctx)
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				if b.Len() > maxBatchRows {
					t.Errorf("batch of %d rows", b.Len())
				}
				for r := 0; r < b.Len(); r++ {
					rows = append(rows, strings.TrimSuffix(batch.Debug(batch.Slice(b, r, r+1)), "\n"))
				}
				b.Release()
			}
		}()
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(rows)
	return rows, nil
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func makeBatch(ids []int64, names []string, amounts []int64) batch.Batch {
	cols := []arrow.Array{batch.Int64Array(ids, nil), batch.StringArray(names, nil), batch.Int64Array(amounts, nil)}
	rec := batch.NewRecord(schema, cols, len(ids))
	for _, c := range cols {
		c.Release()
	}
	return batch.New(rec)
}

func TestOptionErrors(t *testing.T) {
	cases := map[string]map[string]string{
		"path":                                  {"format": "csv"},
		"format":                                {"path": "x"},
		"source.monitor-interval":               {"path": "x", "format": "csv", "source.monitor-interval": "10 s"},
		"sink.rolling-policy.file-size":         {"path": "x", "format": "csv", "sink.rolling-policy.file-size": "big"},
		"sink.rolling-policy.rollover-interval": {"path": "x", "format": "csv", "sink.rolling-policy.rollover-interval": "0"},
		"csv.bogus":                             {"path": "x", "format": "csv", "csv.bogus": "1"},
		"json.bogus":                            {"path": "x", "format": "json", "json.bogus": "1"},
		"whatever":                              {"path": "x", "format": "csv", "whatever": "1"},
		"json.ignore-parse-errors":              {"path": "x", "format": "csv", "json.ignore-parse-errors": "true"},
	}
	cases["format "] = map[string]string{"path": "x", "format": "parquet"}
	cases["path "] = map[string]string{"path": "s3://bucket/x", "format": "csv"}
	for want, options := range cases {
		err := New().Validate(table(t.TempDir(), options))
		var oe *connectors.OptionError
		if !errors.As(err, &oe) || oe.Option != strings.TrimSpace(want) {
			t.Errorf("%v: got %v, want an OptionError naming %q", options, err, want)
		}
	}
	if err := New().Validate(table(t.TempDir(), map[string]string{"path": "missing/dir", "format": "json"})); err != nil {
		t.Errorf("a path that does not exist yet must validate: %v", err)
	}
}

func TestSinkCommitAndReadBack(t *testing.T) {
	for _, fmtName := range []string{"csv", "json"} {
		dir := t.TempDir()
		tb := table(dir, map[string]string{"path": "out", "format": fmtName})
		ctx := context.Background()
		for st := 0; st < 2; st++ {
			s, err := New().NewSink(tb)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Open(ctx, st, 2); err != nil {
				t.Fatal(err)
			}
			b := makeBatch([]int64{int64(st), int64(st + 10)}, []string{"a,b", `q"x`}, []int64{1250, -5})
			if err := s.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			b.Release()
			// Before Finish, nothing is visible to readers.
			if rows, err := readAll(t, table(dir, map[string]string{"path": "out", "format": fmtName}), 1); err != nil || len(rows) != 2*st {
				t.Fatalf("%s: before commit: %v, %v", fmtName, rows, err)
			}
			if err := s.Finish(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		entries, _ := os.ReadDir(filepath.Join(dir, "out"))
		re := regexp.MustCompile(`^part-[0-9a-f]{8}-[01]-0\.` + fmtName + `$`)
		if len(entries) != 2 {
			t.Fatalf("%s: %d files, want 2", fmtName, len(entries))
		}
		for _, e := range entries {
			if !re.MatchString(e.Name()) {
				t.Errorf("%s: file name %q does not match %s", fmtName, e.Name(), re)
			}
		}
		rows, err := readAll(t, tb, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{`+I[0, a,b, 1250]`, `+I[1, a,b, 1250]`, `+I[10, q"x, -5]`, `+I[11, q"x, -5]`}
		if strings.Join(rows, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: read back\n%s\nwant\n%s", fmtName, strings.Join(rows, "\n"), strings.Join(want, "\n"))
		}
	}
}

func TestCloseWithoutFinishDiscards(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(0, 0)
	tb := table(dir, map[string]string{"path": "out", "format": "csv",
		"sink.rolling-policy.file-size": "20", "sink.rolling-policy.rollover-interval": "1 min"})
	tb.Env.Now = func() time.Time { return now }
	s, err := New().NewSink(tb)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Open(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	b := makeBatch([]int64{1, 2, 3}, []string{"aaaaaaaaaa", "bbbbbbbbbb", "c"}, []int64{1, 2, 3})
	defer b.Release()
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	if len(entries) < 2 {
		t.Fatalf("file-size 20 should roll: %d files", len(entries))
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".part-") || !strings.HasSuffix(e.Name(), ".csv.inprogress") {
			t.Errorf("uncommitted file %q is not a hidden in-progress file", e.Name())
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "out")); len(entries) != 0 {
		t.Errorf("Close without Finish left %d files", len(entries))
	}
}

func TestRolloverInterval(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(0, 0)
	tb := table(dir, map[string]string{"path": "out", "format": "csv", "sink.rolling-policy.rollover-interval": "1 min"})
	tb.Env.Now = func() time.Time { return now }
	s, _ := New().NewSink(tb)
	ctx := context.Background()
	if err := s.Open(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		b := makeBatch([]int64{int64(i)}, []string{"x"}, []int64{0})
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		b.Release()
		now = now.Add(40 * time.Second)
	}
	if err := s.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	// Writes at 0 s, 40 s (same file) and 80 s (file older than 1 min).
	if len(entries) != 2 {
		t.Errorf("got %d part files, want 2", len(entries))
	}
}

func TestSinkRefusesUpdates(t *testing.T) {
	s, _ := New().NewSink(table(t.TempDir(), map[string]string{"path": "out", "format": "csv"}))
	ctx := context.Background()
	if err := s.Open(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := makeBatch([]int64{1}, []string{"x"}, []int64{0})
	defer b.Release()
	b.Kinds = []batch.RowKind{batch.UpdateAfter}
	if err := s.Write(ctx, b); err == nil || !strings.Contains(err.Error(), "only inserts") {
		t.Errorf("update row: %v", err)
	}
}

func TestSourceDirectoryAndLines(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeFile(t, filepath.Join(in, "b.csv"), "id,name,amount\r\n2,\"two\nlines\",2.5\r\n\r\n3,three,3\r\n")
	writeFile(t, filepath.Join(in, "a.csv"), "id,name,amount\n1,one,1.005\n")
	writeFile(t, filepath.Join(in, "sub", "c.csv"), "id,name,amount\n4,,\n")
	writeFile(t, filepath.Join(in, ".hidden.csv"), "garbage\n")
	writeFile(t, filepath.Join(in, "_SUCCESS"), "garbage\n")
	writeFile(t, filepath.Join(in, ".part-x.csv.inprogress"), "garbage\n")
	tb := table(dir, map[string]string{"path": "in", "format": "csv", "csv.ignore-first-line": "true"})
	for _, p := range []int{1, 2, 4} {
		rows, err := readAll(t, tb, p)
		if err != nil {
			t.Fatal(err)
		}
		want := "+I[1, one, 101]\n+I[2, two\nlines, 250]\n+I[3, three, 300]\n+I[4, NULL, NULL]"
		if got := strings.Join(rows, "\n"); got != want {
			t.Errorf("parallelism %d:\n%s\nwant\n%s", p, got, want)
		}
	}
	// A single file as path.
	rows, err := readAll(t, table(dir, map[string]string{"path": filepath.Join(in, "a.csv"), "format": "csv"}), 1)
	if err == nil {
		t.Errorf("header line parsed as data without ignore-first-line: %v", rows)
	}
}

func TestMalformedLineFailsWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "data.json"), `{"id":1,"name":"a","amount":1}`+"\n"+`{"id":2,"name":"b","amount":"abc"}`+"\n")
	_, err := readAll(t, table(dir, map[string]string{"path": "data.json", "format": "json"}), 1)
	// The file is named as the user wrote the path (relative here).
	want := "data.json:2: column 'amount': cannot parse 'abc' as DECIMAL(10, 2)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestIgnoreParseErrorsCountsAndLogs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "d.csv"), "1,a,1\nx,b,2\n3,c,abc\n4,d,4\n5,e\n")
	var logs bytes.Buffer
	tb := table(dir, map[string]string{"path": "d.csv", "format": "csv", "csv.ignore-parse-errors": "true"})
	tb.Env.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	rows, err := readAll(t, tb, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows, "\n"); got != "+I[1, a, 100]\n+I[4, d, 400]" {
		t.Errorf("rows:\n%s", got)
	}
	if !strings.Contains(logs.String(), "skipped malformed records") || !strings.Contains(logs.String(), "count=3") {
		t.Errorf("log = %q, want the skipped count 3", logs.String())
	}
}

func TestMissingInputFailsAtOpen(t *testing.T) {
	dir := t.TempDir()
	tb := table(dir, map[string]string{"path": "nope.csv", "format": "csv"})
	src, err := New().NewSource(tb)
	if err != nil {
		t.Fatalf("NewSource must not touch the file: %v", err)
	}
	defer src.Close()
	err = src.Open(context.Background(), 0, 1)
	want := "filesystem 'fs': cannot read input: stat nope.csv: no such file or directory"
	if err == nil || err.Error() != want || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want %q (matching os.ErrNotExist)", err, want)
	}
}

func TestErrorNamesFileInsideDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "in", "sub", "x.csv"), "1,a,1\n\n2,b,zz\n")
	_, err := readAll(t, table(dir, map[string]string{"path": "./in/", "format": "csv"}), 1)
	want := filepath.Join("in", "sub", "x.csv") + ":3: column 'amount': cannot parse 'zz' as DECIMAL(10, 2)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
