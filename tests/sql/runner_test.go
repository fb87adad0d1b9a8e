package sqltest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// fakeEngine stands in for a session so the runner's own behaviour can be
// tested without the engine. It understands a few statement shapes:
//
//	... BAD ...   a SQL error at the position of the word BAD
//	FAIL ...      a failed job
//	ROWS a,b,c    an unordered result with one BIGINT column
//	ORDERED a,b   the same, ordered
//	PRINT x,y     print-connector lines, then a message
//	READ f        the contents of file f in the work dir, as a message
//	anything else the message "[INFO] Execute statement succeeded."
type fakeEngine struct {
	opts     session.Options
	executed []string
	closed   bool
}

func (f *fakeEngine) ExecuteScript(ctx context.Context, text string, out session.Output) error {
	f.executed = append(f.executed, text)
	body := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), ";"))
	word, arg, _ := strings.Cut(body, " ")
	if strings.Contains(body, "BAD") {
		word = "BAD"
	}
	switch word {
	case "BAD":
		off := strings.Index(text, "BAD")
		line := strings.Count(text[:off], "\n") + 1
		col := off - strings.LastIndex(text[:off], "\n")
		return ast.Errorf(ast.Pos{Line: line, Col: col, Offset: off}, "bad statement")
	case "FAIL":
		return &session.JobError{Job: "job-1234", Err: errors.New("division by zero in Calc")}
	case "ROWS", "ORDERED":
		schema := types.NewSchema(types.Field{Name: "v", Type: types.TypeBigInt})
		if err := out.Begin(schema, session.ResultInfo{Bounded: true, Ordered: word == "ORDERED"}); err != nil {
			return err
		}
		var vals []int64
		for _, s := range strings.Split(arg, ",") {
			var v int64
			if _, err := fmt.Sscan(s, &v); err != nil {
				return err
			}
			vals = append(vals, v)
		}
		arr := batch.Int64Array(vals, nil)
		b := batch.New(batch.NewRecord(schema, []arrow.Array{arr}, len(vals)))
		arr.Release()
		defer b.Release()
		if err := out.Rows(b); err != nil {
			return err
		}
		return out.End()
	case "PRINT":
		for _, s := range strings.Split(arg, ",") {
			fmt.Fprintf(f.opts.Stdout, "+I[%s]\n", s)
		}
		return out.Message("[INFO] Printed.")
	case "READ":
		b, err := os.ReadFile(filepath.Join(f.opts.Dir, arg))
		if err != nil {
			return err
		}
		return out.Message(strings.TrimSpace(string(b)))
	}
	return out.Message("[INFO] Execute statement succeeded.")
}

func (f *fakeEngine) Close() error { f.closed = true; return nil }

func runFake(t *testing.T, path string) (string, *fakeEngine) {
	t.Helper()
	var fake *fakeEngine
	got, err := runFile(context.Background(), path, func(opts session.Options) (engine, error) {
		fake = &fakeEngine{opts: opts}
		return fake, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, fake
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunFileFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "case.sql")
	writeFile(t, path, "-- setup\nCREATE TABLE t;\n\nROWS 3,1,2; ORDERED 3,1,2;\nSELECT\n  BAD;\nFAIL;\nPRINT b,a;\n")
	got, fake := runFake(t, path)
	want := `> -- setup
> CREATE TABLE t;
[INFO] Execute statement succeeded.

> ROWS 3,1,2;
+----+---+
| op | v |
+----+---+
| +I | 1 |
| +I | 2 |
| +I | 3 |
+----+---+
3 rows in set

> ORDERED 3,1,2;
+----+---+
| op | v |
+----+---+
| +I | 3 |
| +I | 1 |
| +I | 2 |
+----+---+
3 rows in set

> SELECT
>   BAD;
error: 6:3: bad statement

> FAIL;
error: job failed: division by zero in Calc

> PRINT b,a;
[INFO] Printed.
-- print output:
+I[a]
+I[b]
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if !fake.closed {
		t.Error("session not closed")
	}
	if !fake.opts.DMLSync {
		t.Error("tests must run INSERTs synchronously")
	}
}

func TestRunFileWorkDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "io.sql")
	writeFile(t, path, "READ testdata/orders.csv;\nREAD notes.txt;\nREAD other.sql;\n")
	writeFile(t, filepath.Join(dir, "testdata", "orders.csv"), "1,apple\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "hello")
	writeFile(t, filepath.Join(dir, "other.sql"), "SELECT 1;")
	got, fake := runFake(t, path)
	if !strings.Contains(got, "1,apple\n") || !strings.Contains(got, "hello\n") {
		t.Errorf("test data not copied into the work dir:\n%s", got)
	}
	if !strings.Contains(got, "error: ") || strings.Contains(got, "SELECT 1") {
		t.Errorf("other tests must not be copied:\n%s", got)
	}
	if fake.opts.Dir == dir || fake.opts.Dir == "" {
		t.Errorf("session dir %q must be a fresh temporary dir", fake.opts.Dir)
	}
	if _, err := os.Stat(fake.opts.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work dir %s left behind", fake.opts.Dir)
	}
}

func TestRunFileCancelled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.sql")
	writeFile(t, path, "CREATE TABLE t;\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := runFile(ctx, path, func(opts session.Options) (engine, error) { return &fakeEngine{opts: opts}, nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.sql")
	if _, err := compare(path, "a\n", false); err == nil {
		t.Fatal("a missing golden must be an error without update")
	}
	diff, err := compare(path, "a\nb\n", true)
	if err != nil || diff == "" {
		t.Fatalf("update of a missing golden: diff %q, err %v", diff, err)
	}
	if diff, err := compare(path, "a\nb\n", false); err != nil || diff != "" {
		t.Fatalf("same output: diff %q, err %v", diff, err)
	}
	diff, err = compare(path, "a\nc\n", false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(diff, "-b\n") || !strings.Contains(diff, "+c\n") || !strings.Contains(diff, "--- "+GoldenPath(path)) {
		t.Errorf("diff:\n%s", diff)
	}
	b, _ := os.ReadFile(GoldenPath(path))
	if string(b) != "a\nb\n" {
		t.Errorf("compare without update changed the golden: %q", b)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b.sql", "a.sql", "a.out", "sub/c.sql", "testdata/data.sql", "x.csv"} {
		writeFile(t, filepath.Join(dir, p), "")
	}
	got, err := Files(dir, filepath.Join(dir, "a.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, g := range got {
		r, _ := filepath.Rel(dir, g)
		rel = append(rel, r)
	}
	if strings.Join(rel, " ") != "a.sql b.sql sub/c.sql" {
		t.Errorf("Files = %v", rel)
	}
	if _, err := Files(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing path must be an error")
	}
}

var _ io.Writer = (*lockedBuffer)(nil)
