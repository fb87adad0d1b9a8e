package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binary is the streamsql built once for the tests that run the real
// command (exit statuses, streams, stdin): TestMain sets it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "streamsql-cli-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binary = filepath.Join(dir, "streamsql")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build streamsql:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary in dir with stdin and returns its streams and exit
// status.
func runCLI(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "TZ=UTC", "HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run streamsql: %v", err)
	}
	return result{out.String(), errOut.String(), code}
}

func writeSQL(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"run", "-h"}, {"explain", "--help"}, {"test", "-h"}, {"version", "-h"}} {
		r := runCLI(t, t.TempDir(), "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage") || !strings.Contains(r.stdout, "Example") {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
		if r.stderr != "" {
			t.Errorf("%v: help must not write to stderr: %q", args, r.stderr)
		}
	}
	r := runCLI(t, t.TempDir(), "", "run", "-h")
	for _, want := range []string{"--output", "csv", "json", "Exit status"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("run -h does not mention %q", want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"frobnicate"},
		{"run"},
		{"run", "--output", "xml", "x.sql"},
		{"run", "--no-such-flag", "x.sql"},
		{"run", "missing.sql"},
		{"test"},
		{"--log-level", "loud", "run", "-"},
		{"run", "--log-level", "loud", "-"},
	} {
		r := runCLI(t, dir, "SELECT 1;", args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, r.code, r.stderr)
		}
		if r.stderr == "" || r.stdout != "" {
			t.Errorf("%v: a usage error goes to stderr only: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, t.TempDir(), "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "streamsql ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("version: exit %d, %q", r.code, r.stdout)
	}
}

func TestRunSyntaxErrorPosition(t *testing.T) {
	dir := t.TempDir()
	writeSQL(t, dir, "bad.sql", "SELECT 1 AS a;\nSELECT 2 AS b\n  FROM WHERE;\n")
	r := runCLI(t, dir, "", "run", "bad.sql")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(r.stderr, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "bad.sql:3:") {
		t.Fatalf("stderr %q does not start with bad.sql:3:col:", r.stderr)
	}
	var col int
	if _, err := fmt.Sscanf(strings.TrimPrefix(lines[0], "bad.sql:3:"), "%d:", &col); err != nil {
		t.Fatalf("no column in %q", lines[0])
	}
	if lines[1] != "  FROM WHERE;" || lines[2] != strings.Repeat(" ", col-1)+"^" {
		t.Errorf("source line and caret:\n%s", r.stderr)
	}
	// The script is parsed as a whole before it runs: nothing ran.
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
}

func TestRunStdinErrorName(t *testing.T) {
	r := runCLI(t, t.TempDir(), "SELEKT 1;", "run", "-")
	if r.code != 2 || !strings.HasPrefix(r.stderr, "<stdin>:1:1: ") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

const valuesQuery = "SELECT 1 AS id, CAST(NULL AS STRING) AS missing, 'say \"hi\", bob' AS name, '' AS empty, " +
	"TIMESTAMP '2024-01-02 03:04:05.678' AS ts;\n"

func TestRunCSV(t *testing.T) {
	r := runCLI(t, t.TempDir(), valuesQuery, "run", "--output", "csv", "-")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := "op,id,missing,name,empty,ts\n+I,1,,\"say \"\"hi\"\", bob\",\"\",2024-01-02 03:04:05.678\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
}

func TestRunJSON(t *testing.T) {
	r := runCLI(t, t.TempDir(), valuesQuery, "run", "-", "--output", "json")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := `{"op":"+I","id":1,"missing":null,"name":"say \"hi\", bob","empty":"","ts":"2024-01-02 03:04:05.678"}` + "\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
}

func TestRunTableAndMessages(t *testing.T) {
	dir := t.TempDir()
	writeSQL(t, dir, "job.sql", "SET 'parallelism.default' = '2';\nSELECT 1 AS one;\n")
	r := runCLI(t, dir, "", "run", "job.sql")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := "+----+-----+\n| op | one |\n+----+-----+\n| +I |   1 |\n+----+-----+\n1 row in set\n"
	if !strings.HasSuffix(r.stdout, want) {
		t.Errorf("stdout:\n%s\nwant it to end with:\n%s", r.stdout, want)
	}
	if strings.Contains(r.stdout, "[INFO]") {
		t.Errorf("status messages belong on stderr: %q", r.stdout)
	}
}

func TestRunJobFailureExitsOne(t *testing.T) {
	dir := t.TempDir()
	writeSQL(t, dir, "fail.sql", "SELECT CAST(s AS INT) AS n FROM (SELECT 'not a number' AS s);\n")
	r := runCLI(t, dir, "", "run", "fail.sql")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "fail.sql: job ") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestShellPiped(t *testing.T) {
	r := runCLI(t, t.TempDir(), "SELECT\n  41 + 1 AS answer;\nSELEKT;\nquit;\nSELECT 2 AS never;\n")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "streamsql>") || strings.Contains(r.stdout, "->") {
		t.Errorf("a piped shell must not print prompts: %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "| op | answer |") || !strings.Contains(r.stdout, "|     42 |") {
		t.Errorf("multi-line statement result missing: %q", r.stdout)
	}
	// Positions are relative to the statement as entered, as in the
	// interactive shell, followed by its line and a caret.
	if !strings.Contains(r.stderr, "[ERROR] 1:1: ") || !strings.Contains(r.stderr, "\nSELEKT;\n^\n") {
		t.Errorf("error with position missing: %q", r.stderr)
	}
	if strings.Contains(r.stdout, "never") {
		t.Errorf("statements after quit ran: %q", r.stdout)
	}
}

func TestShellLastStatementWithoutSemicolon(t *testing.T) {
	r := runCLI(t, t.TempDir(), "SELECT 7 AS seven")
	if r.code != 0 || !strings.Contains(r.stdout, "|     7 |") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestTestCommand(t *testing.T) {
	dir := t.TempDir()
	writeSQL(t, dir, "a.sql", "SELECT 1 AS one;\n")
	writeSQL(t, dir, "b.sql", "SELECT 2 AS two;\n")
	// First run: no goldens yet, both fail.
	r := runCLI(t, dir, "", "test", ".")
	if r.code != 1 || !strings.Contains(r.stdout, "0 passed, 2 failed") {
		t.Fatalf("without goldens: exit %d, stdout %q", r.code, r.stdout)
	}
	r = runCLI(t, dir, "", "test", "--update", ".")
	if r.code != 0 || !strings.Contains(r.stdout, "2 passed, 0 failed") {
		t.Fatalf("update: exit %d, stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	golden, err := os.ReadFile(filepath.Join(dir, "a.out"))
	if err != nil || !strings.HasPrefix(string(golden), "> SELECT 1 AS one;\n+----+-----+\n") {
		t.Fatalf("golden a.out = %q, %v", golden, err)
	}
	r = runCLI(t, dir, "", "test", ".")
	if r.code != 0 || !strings.Contains(r.stdout, "PASS a.sql") || !strings.Contains(r.stdout, "2 passed, 0 failed") {
		t.Fatalf("with goldens: exit %d, stdout %q", r.code, r.stdout)
	}
	writeSQL(t, dir, "b.sql", "SELECT 3 AS two;\n")
	r = runCLI(t, dir, "", "test", "b.sql", "a.sql")
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL b.sql") || !strings.Contains(r.stdout, "-| +I |   2 |") ||
		!strings.Contains(r.stdout, "+| +I |   3 |") || !strings.Contains(r.stdout, "1 passed, 1 failed") {
		t.Errorf("changed output: exit %d, stdout %q", r.code, r.stdout)
	}
}
