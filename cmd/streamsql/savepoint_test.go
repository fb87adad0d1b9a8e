package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSavepointOnExit stops a checkpointed job with SIGTERM and
// --savepoint-on-exit, moves the savepoint elsewhere (it is relocatable),
// resumes from it, and expects every row in the sink exactly once.
func TestSavepointOnExit(t *testing.T) {
	dir := t.TempDir()
	writeSQL(t, dir, "job.sql", `CREATE TABLE src (k BIGINT, v BIGINT) WITH ('connector' = 'datagen',
  'rows-per-second' = '2000', 'fields.v.kind' = 'sequence', 'fields.v.start' = '1', 'fields.v.end' = '4000',
  'checkpoint.interval.ms' = '200');
CREATE TABLE out (k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = 'out', 'format' = 'csv');
SET 'parallelism.default' = '2';
INSERT INTO out SELECT k, v FROM src;
`)
	cmd := exec.Command(binary, "run", "--savepoint-on-exit", "job.sql")
	cmd.Dir = dir
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("SIGTERM did not stop the job; stderr %q", errOut.String())
	}
	m := regexp.MustCompile(`Savepoint written: (\S+)`).FindStringSubmatch(errOut.String())
	if m == nil {
		t.Fatalf("no savepoint reported; stderr %q", errOut.String())
	}
	moved := filepath.Join(t.TempDir(), "sp")
	if err := os.Rename(m[1], moved); err != nil {
		t.Fatal(err)
	}
	before := sinkRows(t, filepath.Join(dir, "out"))
	if len(before) == 0 || len(before) >= 4000 {
		t.Fatalf("%d rows before resuming; want some, not all", len(before))
	}
	res := exec.Command(binary, "run", "--restore", moved, "job.sql")
	res.Dir = dir
	if out, err := res.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	rows := sinkRows(t, filepath.Join(dir, "out"))
	if len(rows) != 4000 {
		t.Fatalf("%d rows after resuming, want 4000", len(rows))
	}
	for i := 1; i < len(rows); i++ {
		if rows[i] == rows[i-1] {
			t.Fatalf("duplicate row %q", rows[i])
		}
	}
}

// sinkRows reads the visible (committed) files of a filesystem sink.
func sinkRows(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				rows = append(rows, l)
			}
		}
	}
	sort.Strings(rows)
	return rows
}
