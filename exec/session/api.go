// Package session executes SQL statements: it owns the catalog and the
// session settings, plans queries and runs jobs. The command line (shell,
// run, explain, test) drives it through this API, which is a contract.
package session

import (
	"io"
	"log/slog"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Options configures a session.
type Options struct {
	// Dir resolves relative paths in connector options ("" = current dir).
	Dir string
	// Stdout receives the print connector's output (nil = os.Stdout). The
	// session serializes writes to it.
	Stdout io.Writer
	// Logger for job and checkpoint logs (nil = discard).
	Logger *slog.Logger
	// WorkDir holds jobs' on-disk state ("" = a temporary directory per
	// job, removed when it ends).
	WorkDir string
	// Now is the clock (nil = time.Now).
	Now func() time.Time
	// DMLSync makes INSERT wait for its job to finish (run, test). When
	// false (the shell), INSERT submits the job in the background and
	// returns its id at once.
	DMLSync bool
	// OnJobFinished, if set, receives each finished job's throughput figures
	// (`run` prints them to stderr; tests leave it nil since timings vary).
	OnJobFinished func(job string, st exec.Stats)
	// Restore starts checkpointed jobs from saved state: "latest" (each
	// job's newest completed checkpoint under its checkpoint.dir) or the
	// path of a checkpoint or savepoint ("" = fresh state).
	Restore string
	// AllowNonRestoredState lets a job start although the snapshot holds
	// state for operators its plan no longer has.
	AllowNonRestoredState bool
	// CheckpointLogger receives one line per checkpoint (nil = Logger).
	CheckpointLogger *slog.Logger
	// Connectors are extra connector factories (embedders, tests); one
	// named like a built-in replaces it.
	Connectors []connectors.Factory
	// InjectFault, if set, is called by every task after each batch it
	// handles; an error it returns fails that task (fault-injection tests).
	InjectFault func(task string, subtask int) error
}

// ResultInfo describes a result before its rows arrive.
type ResultInfo struct {
	// Bounded: the result ends by itself (all sources are bounded).
	Bounded bool
	// Changelog: rows may be -U/+U/-D, not only +I.
	Changelog bool
	// Ordered: the query has an ORDER BY, so row order is meaningful.
	Ordered bool
	// Deterministic: the job has one source and runs every operator at
	// parallelism 1 on a single path, so the order of its changes is the
	// same on every run.
	Deterministic bool
	// Location is the session time zone ('table.local-time-zone') in which
	// TIMESTAMP_LTZ values are shown; nil means UTC.
	Location *time.Location
}

// Output receives what statements produce. Calls for one result come from
// one goroutine, in order: Begin, Rows..., End.
type Output interface {
	// Message reports a statement's effect, e.g. "[INFO] Execute statement
	// succeeded." or an EXPLAIN plan.
	Message(msg string) error
	// Begin starts a tabular result (SELECT rows, SHOW TABLES, DESCRIBE, SET).
	Begin(schema types.Schema, info ResultInfo) error
	// Rows delivers a batch of the result's schema, with row kinds.
	Rows(b batch.Batch) error
	// End finishes the current result.
	End() error
}

// JobError is a job that failed while running (exit status 1 in `run`), as
// opposed to an error in the SQL (an *ast.Error, exit status 2).
type JobError struct {
	Job string
	Err error
}

func (e *JobError) Error() string { return "job " + e.Job + " failed: " + e.Err.Error() }
func (e *JobError) Unwrap() error { return e.Err }

// The Session methods (implemented in session.go):
//
//	func New(opts Options) (*Session, error)
//	// ExecuteScript parses text and executes its statements in order,
//	// stopping at the first error. SQL errors are *ast.Error (line:col of
//	// text); failed jobs are *JobError.
//	func (s *Session) ExecuteScript(ctx context.Context, text string, out Output) error
//	// Explain executes DDL/SET statements of text and prints, through
//	// out.Message, the plan of every query and INSERT instead of running it.
//	func (s *Session) Explain(ctx context.Context, text string, out Output) error
//	// Close stops background jobs and releases resources.
//	func (s *Session) Close() error
var _ = batch.Insert
