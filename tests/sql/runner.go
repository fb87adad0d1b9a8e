package sqltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/streamsql/streamsql/cmd/streamsql/render"
	"github.com/streamsql/streamsql/cmd/streamsql/script"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// statementTimeout bounds one statement, so that a test that runs an
// unbounded query by mistake fails instead of hanging the suite.
const statementTimeout = time.Minute

func runFile(ctx context.Context, path string, newEng newEngineFunc) (string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read test: %w", err)
	}
	dir, err := os.MkdirTemp("", "sqltest-*")
	if err != nil {
		return "", fmt.Errorf("test work dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := copyData(filepath.Dir(path), dir); err != nil {
		return "", err
	}
	var printed lockedBuffer
	eng, err := newEng(session.Options{
		Dir:     dir,
		Stdout:  &printed,
		Logger:  slog.New(slog.DiscardHandler),
		DMLSync: true,
	})
	if err != nil {
		return "", err
	}
	defer eng.Close()

	var out strings.Builder
	for i, st := range script.Split(string(src)) {
		if i > 0 {
			out.WriteString("\n")
		}
		writeHeader(&out, st.Text)
		col := &collector{w: &out}
		// Each statement runs alone, so an error does not hide the
		// statements after it; the padding keeps error positions relative
		// to the whole file.
		stCtx, cancel := context.WithTimeout(ctx, statementTimeout)
		err := eng.ExecuteScript(stCtx, st.Padded(), col)
		timedOut := errors.Is(stCtx.Err(), context.DeadlineExceeded)
		cancel()
		if ctx.Err() != nil {
			return out.String(), fmt.Errorf("%s: %w", path, ctx.Err())
		}
		col.abandon()
		if timedOut {
			fmt.Fprintf(&out, "error: statement timed out after %v (an unbounded query?)\n", statementTimeout)
		} else if err != nil {
			out.WriteString(errorLine(err))
		}
		writePrinted(&out, printed.take())
	}
	return out.String(), nil
}

// writeHeader prints the statement, each line prefixed with "> ".
func writeHeader(w *strings.Builder, text string) {
	for _, line := range strings.Split(text, "\n") {
		w.WriteString(strings.TrimRight("> "+line, " \t\r"))
		w.WriteString("\n")
	}
}

// errorLine renders a statement's error: SQL errors with their position,
// failed jobs without their job id (ids are not stable across runs).
func errorLine(err error) string {
	var sqlErr *ast.Error
	var jobErr *session.JobError
	switch {
	case errors.As(err, &sqlErr):
		return "error: " + sqlErr.Error() + "\n"
	case errors.As(err, &jobErr):
		return "error: job failed: " + jobErr.Err.Error() + "\n"
	}
	return "error: " + err.Error() + "\n"
}

// writePrinted shows what the print connector wrote during a statement,
// sorted since parallel tasks interleave their lines.
func writePrinted(w *strings.Builder, printed string) {
	if printed == "" {
		return
	}
	lines := strings.Split(strings.TrimSuffix(printed, "\n"), "\n")
	slices.Sort(lines)
	w.WriteString("-- print output:\n")
	for _, l := range lines {
		w.WriteString(l)
		w.WriteString("\n")
	}
}

// collector is the session.Output of a test: results become tables,
// unordered ones sorted so that parallel execution prints the same text
// on every run.
type collector struct {
	w      io.Writer
	open   bool
	schema types.Schema
	info   session.ResultInfo
	rows   []render.Row
}

func (c *collector) Message(msg string) error {
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	if _, err := io.WriteString(c.w, msg); err != nil {
		return fmt.Errorf("sqltest: write message: %w", err)
	}
	return nil
}

func (c *collector) Begin(schema types.Schema, info session.ResultInfo) error {
	c.open, c.schema, c.info, c.rows = true, schema, info, nil
	return nil
}

func (c *collector) Rows(b batch.Batch) error {
	if !c.open {
		return errors.New("sqltest: rows outside a result")
	}
	// The session's zone (UTC unless SET), never the machine's: goldens must
	// not depend on where they run.
	loc := c.info.Location
	if loc == nil {
		loc = time.UTC
	}
	c.rows = append(c.rows, render.Rows(b, c.schema, loc)...)
	return nil
}

func (c *collector) End() error {
	if !c.open {
		return errors.New("sqltest: End without Begin")
	}
	c.open = false
	rows := c.rows
	switch {
	case c.info.Ordered:
	case c.info.Changelog && c.info.Deterministic:
		// A sequential job's changelog is reproducible: show it as
		// emitted, since its order is what a changelog test checks.
	case c.info.Changelog:
		// A parallel changelog interleaves differently on every run;
		// its materialized final result does not.
		final, err := materialize(rows)
		if err != nil {
			return err
		}
		rows = final
		render.Sort(rows)
		if _, err := io.WriteString(c.w, "-- final result of the changelog (parallel job):\n"); err != nil {
			return fmt.Errorf("sqltest: write result: %w", err)
		}
	default:
		render.Sort(rows)
	}
	c.rows = nil
	if err := render.Table(c.w, c.schema.Names(), rows); err != nil {
		return fmt.Errorf("sqltest: write result: %w", err)
	}
	return nil
}

// materialize applies a changelog: +I/+U add a row, -U/-D remove one equal
// row (which must be present).
func materialize(changes []render.Row) ([]render.Row, error) {
	var out []render.Row
	for _, r := range changes {
		if !r.Op.IsRetract() {
			r.Op = batch.Insert
			out = append(out, r)
			continue
		}
		found := -1
		for i := range out {
			if reflect.DeepEqual(out[i].Values, r.Values) {
				found = i
				break
			}
		}
		if found < 0 {
			return nil, fmt.Errorf("sqltest: changelog retracts a row it never added: %v", r.Values)
		}
		out = append(out[:found], out[found+1:]...)
	}
	return out, nil
}

// abandon drops a result the statement left open (it failed midway): its
// rows so far depend on timing, so printing them would make flaky goldens.
func (c *collector) abandon() {
	c.open, c.rows = false, nil
}

// lockedBuffer is the print connector's stdout: jobs write to it from
// their own goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns what was written so far and empties the buffer.
func (b *lockedBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}
