package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/ast"
)

func TestReportErrorPointsAtTheColumn(t *testing.T) {
	src := "CREATE TABLE t (a INT);\nSELECT b\n\tFROM t WHERE x > 1;\n"
	var w bytes.Buffer
	reportError(&w, "job.sql", src, fmt.Errorf("execute: %w", ast.Errorf(ast.Pos{Line: 3, Col: 15}, "unknown column 'x'")))
	want := "job.sql:3:15: unknown column 'x'\n" +
		"\tFROM t WHERE x > 1;\n" +
		"\t             ^\n"
	if w.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", w.String(), want)
	}
}

func TestReportErrorWideRunesAndEndOfLine(t *testing.T) {
	var w bytes.Buffer
	reportError(&w, "<stdin>", "SELECT '日本' x", ast.Errorf(ast.Pos{Line: 1, Col: 15}, "expected ';'"))
	// 12 runes before column 15, two of them two cells wide, then one
	// column past the end of the line.
	want := "<stdin>:1:15: expected ';'\nSELECT '日本' x\n" + strings.Repeat(" ", 16) + "^\n"
	if w.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", w.String(), want)
	}
}

func TestReportErrorWithoutPosition(t *testing.T) {
	var w bytes.Buffer
	reportError(&w, "job.sql", "", &session.JobError{Job: "j1", Err: errors.New("boom")})
	if w.String() != "job.sql: job j1 failed: boom\n" {
		t.Errorf("got %q", w.String())
	}
	w.Reset()
	reportError(&w, "", "", errors.New("boom"))
	if w.String() != "boom\n" {
		t.Errorf("shell form: got %q", w.String())
	}
}

func TestParseIntersperedFlags(t *testing.T) {
	c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	fs := newCommand("x", "")
	out := fs.String("output", "table", "")
	rest, _, ok := c.parse(fs, []string{"a.sql", "--output", "csv", "--", "--b.sql"}, true)
	if !ok || *out != "csv" || strings.Join(rest, " ") != "a.sql --b.sql" {
		t.Errorf("rest %v, output %q, ok %v", rest, *out, ok)
	}
	// The top level stops at the command: its flags belong to it.
	top := newCommand("top", "")
	top.String("log-level", "warn", "")
	rest, _, ok = c.parse(top, []string{"--log-level", "info", "run", "--output", "csv", "x.sql"}, false)
	if !ok || strings.Join(rest, " ") != "run --output csv x.sql" {
		t.Errorf("top-level rest %v, ok %v", rest, ok)
	}
}

func TestIsQuit(t *testing.T) {
	for s, want := range map[string]bool{"quit;": true, " EXIT ;": true, "exit": true, "quit_table;": false, "SELECT 1;": false} {
		if got := isQuit(s); got != want {
			t.Errorf("isQuit(%q) = %v", s, got)
		}
	}
}

func TestQueryCanceller(t *testing.T) {
	var q queryCanceller
	if q.cancel() {
		t.Fatal("nothing running, yet cancel reported a query")
	}
	called := false
	q.set(func() { called = true })
	if !q.cancel() || !called {
		t.Fatal("running query not cancelled")
	}
	if q.cancel() {
		t.Fatal("a query is cancelled once")
	}
}
