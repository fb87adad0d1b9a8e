package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/streamsql/streamsql/exec"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/streamsql/streamsql/cmd/streamsql/render"
	"github.com/streamsql/streamsql/exec/session"
)

const runUsage = `Usage: streamsql run [--output table|csv|json] [--restore latest|PATH]
                     [--allow-non-restored-state] [--savepoint-on-exit]
                     [--statement-set] FILE.sql|-

Runs the statements of FILE.sql (or of stdin for -) in order; an INSERT
waits for its job to finish. Query results go to stdout, messages to stderr.
With 'checkpoint.interval.ms' set, INSERT jobs take checkpoints (one log
line each on stderr) and restart from the latest one after a failure.

Checkpoints and savepoints:
  --restore latest          start each job from its newest completed
                            checkpoint under its checkpoint.dir
  --restore PATH            start from this checkpoint or savepoint
  --allow-non-restored-state  start although the snapshot holds state the
                            changed query no longer has (it is dropped)
  --savepoint-on-exit       on SIGTERM or SIGINT, take a savepoint of the
                            running job, print its path, then stop
  --statement-set           run all INSERTs of the file as one job (as
                            EXECUTE STATEMENT SET), sharing their sources

Output formats:
  table  an aligned table per query, op column first (default)
  csv    a header "op,<columns>", then one line per change (+I, -U, +U, -D);
         NULL is an empty field, timestamps are 2006-01-02 15:04:05.000
  json   one object per change: {"op":"+I","col":value,...}; NULL is null

Exit status: 0 success, 1 a job failed, 2 an error in the SQL or in the
usage, 130 interrupted (SIGINT or SIGTERM cancel the running job).

Examples:
  streamsql run job.sql
  streamsql run --output csv report.sql > report.csv
  echo 'SELECT 1 AS one;' | streamsql run --output json -
  streamsql run --restore latest job.sql
`

func (c *cli) run(args []string, level string) int {
	fs := newCommand("streamsql run", runUsage)
	output := fs.String("output", "table", "result format: table, csv or json")
	fs.StringVar(&level, "log-level", level, "log level on stderr: debug, info, warn or error")
	restore := fs.String("restore", "", "start from 'latest' or from a checkpoint or savepoint PATH")
	allowNonRestored := fs.Bool("allow-non-restored-state", false, "drop snapshot state the query no longer has")
	savepointOnExit := fs.Bool("savepoint-on-exit", false, "take a savepoint when SIGTERM/SIGINT stops the job")
	statementSet := fs.Bool("statement-set", false, "run the file's INSERTs as one job")
	rest, code, ok := c.parse(fs, args, true)
	if !ok {
		return code
	}
	format, err := render.ParseFormat(*output)
	if err != nil {
		return c.usageError(fs, err)
	}
	if len(rest) != 1 {
		return c.usageError(fs, errors.New("want exactly one FILE.sql or -"))
	}
	log, err := newLogger(c.stderr, level)
	if err != nil {
		return c.usageError(fs, err)
	}
	opts := runOptions{restore: *restore, allowNonRestored: *allowNonRestored, savepointOnExit: *savepointOnExit}
	return c.runScriptWith("run", rest[0], log, format, opts, func(ctx context.Context, s *session.Session, src string, out *render.Output) error {
		if *statementSet {
			return s.ExecuteScriptAsStatementSet(ctx, src, out)
		}
		return s.ExecuteScript(ctx, src, out)
	})
}

// runOptions are run's checkpoint flags.
type runOptions struct {
	restore          string
	allowNonRestored bool
	savepointOnExit  bool
}

// runScript reads a script, then runs do on it in a session whose context
// ends on SIGINT/SIGTERM; it returns the exit status (shared by run and
// explain).
func (c *cli) runScript(cmd, path string, log *slog.Logger, format render.Format,
	do func(ctx context.Context, s *session.Session, src string, out *render.Output) error) int {
	return c.runScriptWith(cmd, path, log, format, runOptions{}, do)
}

func (c *cli) runScriptWith(cmd, path string, log *slog.Logger, format render.Format, ro runOptions,
	do func(ctx context.Context, s *session.Session, src string, out *render.Output) error) int {
	name, src, err := c.readScript(path)
	if err != nil {
		fmt.Fprintf(c.stderr, "streamsql %s: %v\n", cmd, err)
		return exitSQLError
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	out := render.NewOutput(c.stdout, c.stderr, format, time.Local)
	return c.executeWith(ctx, log, name, src, out, ro, func(s *session.Session) error {
		// handled is closed once a signal has been dealt with: the job may
		// end (stopped by the savepoint) before the savepoint's path is
		// printed, and the command must not exit before that.
		var signalled atomic.Bool
		handled := make(chan struct{})
		go func() {
			defer close(handled)
			select {
			case <-sigs:
				signalled.Store(true)
			case <-ctx.Done():
				return
			}
			if ro.savepointOnExit {
				paths, err := s.StopAllWithSavepoint(ctx)
				for _, p := range paths {
					fmt.Fprintf(c.stderr, "[INFO] Savepoint written: %s\n", p)
				}
				if err != nil {
					fmt.Fprintf(c.stderr, "[ERROR] %v\n", err)
				}
			}
			cancel()
		}()
		err := do(ctx, s, src, out)
		if signalled.Load() {
			<-handled
		}
		return err
	})
}

// execute opens a session, runs do, closes what do left open and reports
// errors; it returns the exit status.
func (c *cli) execute(ctx context.Context, log *slog.Logger, name, src string, out *render.Output, do func(*session.Session) error) int {
	return c.executeWith(ctx, log, name, src, out, runOptions{}, do)
}

func (c *cli) executeWith(ctx context.Context, log *slog.Logger, name, src string, out *render.Output, ro runOptions, do func(*session.Session) error) int {
	// One line per checkpoint goes to stderr whatever --log-level says.
	cpLog := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := session.New(session.Options{Stdout: c.stdout, Logger: log, DMLSync: true,
		Restore: ro.restore, AllowNonRestoredState: ro.allowNonRestored, CheckpointLogger: cpLog,
		OnJobFinished: func(job string, st exec.Stats) {
			fmt.Fprintf(c.stderr, "[INFO] Job %s finished: %d rows read in %.2f s (%s rows/s, %s rows per CPU-second)\n",
				job, st.RowsIn, st.Wall.Seconds(), humanRate(st.RowsPerSecond()), humanRate(st.RowsPerCPUSecond()))
		}})
	if err != nil {
		fmt.Fprintf(c.stderr, "streamsql: start session: %v\n", err)
		return exitJobFailed
	}
	err = do(s)
	if ferr := out.Finish(); ferr != nil && err == nil {
		err = ferr
	}
	if cerr := s.Close(); cerr != nil {
		log.Warn("close session", "err", cerr)
	}
	code := exitCode(ctx, err)
	switch code {
	case exitOK:
	case exitCancelled:
		fmt.Fprintln(c.stderr, "[INFO] Interrupted: the running job was cancelled.")
	default:
		reportError(c.stderr, name, src, err)
	}
	return code
}

// readScript reads a script file, or stdin for "-" (named "<stdin>").
func (c *cli) readScript(path string) (name, src string, err error) {
	if path == "-" {
		b, err := io.ReadAll(c.stdin)
		if err != nil {
			return "", "", fmt.Errorf("read stdin: %w", err)
		}
		return "<stdin>", string(b), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("read script: %w", err)
	}
	return path, string(b), nil
}

// humanRate renders a rate as 12.3 M, 45.6 k or 789.
func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1f M", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1f k", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
