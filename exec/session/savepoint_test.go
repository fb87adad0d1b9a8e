package session

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// msgOutput records messages.
type msgOutput struct {
	discardOutput
	msgs []string
}

func (m *msgOutput) Message(s string) error { m.msgs = append(m.msgs, s); return nil }

const savepointDDL = `
CREATE TABLE src (k BIGINT, v BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '4000',
  'fields.v.kind' = 'sequence', 'fields.v.start' = '1', 'fields.v.end' = '6000',
  'fields.k.min' = '1', 'fields.k.max' = '5', 'checkpoint.interval.ms' = '100');
CREATE TABLE out (k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'csv');
SET 'parallelism.default' = '2';
`

// readVisible returns the sorted lines of the sink's committed files.
func readVisible(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	sort.Strings(lines)
	return lines
}

func TestStopWithSavepointAndRestore(t *testing.T) {
	dir := t.TempDir()
	s, err := New(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := &msgOutput{}
	if err := s.ExecuteScript(ctx, savepointDDL+"INSERT INTO out SELECT k, v FROM src WHERE v % 3 = 0;", out); err != nil {
		t.Fatal(err)
	}
	jobs := s.Jobs()
	if len(jobs) != 1 || jobs[0][1] != "RUNNING" {
		t.Fatalf("jobs: %v", jobs)
	}
	time.Sleep(400 * time.Millisecond) // let a few checkpoints complete
	sp, err := s.StopWithSavepoint(ctx, jobs[0][0])
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	partial := readVisible(t, filepath.Join(dir, "out"))
	if len(partial) == 0 || len(partial) >= 2000 {
		t.Fatalf("stopped job committed %d rows; want some, not all", len(partial))
	}

	// A changed query (another filter) has no operator matching the
	// savepoint's sink chain: refused, naming what would be dropped.
	s2, _ := New(Options{Dir: dir, DMLSync: true, Restore: sp})
	err = s2.ExecuteScript(ctx, savepointDDL+"INSERT INTO out SELECT k, v FROM src WHERE v % 3 = 1;", &msgOutput{})
	if err == nil || !strings.Contains(err.Error(), "allow-non-restored-state") {
		t.Fatalf("changed query restored: %v", err)
	}
	s2.Close()

	// The same query resumes from the savepoint: every row exactly once.
	s3, _ := New(Options{Dir: dir, DMLSync: true, Restore: sp})
	if err := s3.ExecuteScript(ctx, savepointDDL+"INSERT INTO out SELECT k, v FROM src WHERE v % 3 = 0;", &msgOutput{}); err != nil {
		t.Fatal(err)
	}
	s3.Close()
	got := readVisible(t, filepath.Join(dir, "out"))
	if len(got) != 2000 {
		t.Fatalf("%d rows after resuming, want 2000", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("duplicate row %q", got[i])
		}
	}
}
