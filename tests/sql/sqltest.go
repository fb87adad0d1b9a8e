// Package sqltest is the golden-file SQL test runner shared by `streamsql
// test` and `go test ./tests/sql/`. A test is a file X.sql; running it
// prints each statement followed by what it produced (a result table, a
// message, an error, print-connector output), and X.out holds the expected
// text. The format is made to be read and reviewed by people: a golden is
// the specification of the behaviour it records.
package sqltest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/streamsql/streamsql/exec/session"
)

// RunFile runs the test file path (X.sql) in a fresh session whose working
// directory is a temporary copy of the test data next to it, and returns
// what it printed. Errors in the SQL are part of the output; the error
// result is for failures of the runner itself (or ctx's end).
func RunFile(ctx context.Context, path string) (string, error) {
	return runFile(ctx, path, newEngine)
}

// Check runs path and compares the output with the golden file beside it
// (X.out). It returns a unified diff from the golden to the actual output,
// "" when they agree. With update, the golden is (re)written instead and
// the returned diff says what changed.
func Check(path string, update bool) (string, error) {
	return CheckContext(context.Background(), path, update)
}

// CheckContext is Check with a context that cancels the running statement.
func CheckContext(ctx context.Context, path string, update bool) (string, error) {
	got, err := RunFile(ctx, path)
	if err != nil {
		return "", err
	}
	return compare(path, got, update)
}

// GoldenPath is the golden file of a test file: X.sql -> X.out.
func GoldenPath(path string) string {
	return strings.TrimSuffix(path, ".sql") + ".out"
}

func compare(path, got string, update bool) (string, error) {
	golden := GoldenPath(path)
	wantBytes, err := os.ReadFile(golden)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !update:
		return "", fmt.Errorf("no golden file %s (run with update to create it)", golden)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read golden: %w", err)
	}
	want := string(wantBytes)
	if got == want {
		return "", nil
	}
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(want),
		B:        difflib.SplitLines(got),
		FromFile: golden,
		ToFile:   "actual",
		Context:  3,
	})
	if err != nil {
		return "", fmt.Errorf("diff %s: %w", golden, err)
	}
	if update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			return "", fmt.Errorf("update golden: %w", err)
		}
	}
	return diff, nil
}

// Files expands paths (files or directories, searched recursively) into the
// sorted list of .sql test files. Directories named testdata hold data, not
// tests, and are skipped.
func Files(paths ...string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("test path: %w", err)
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" && q != p {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(q, ".sql") {
				out = append(out, q)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("find tests: %w", err)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// engine is what the runner needs of a session; tests of the runner itself
// substitute a fake.
type engine interface {
	ExecuteScript(ctx context.Context, text string, out session.Output) error
	Close() error
}

type newEngineFunc func(opts session.Options) (engine, error)

func newEngine(opts session.Options) (engine, error) {
	s, err := session.New(opts)
	if err != nil {
		return nil, fmt.Errorf("start session: %w", err)
	}
	return s, nil
}
