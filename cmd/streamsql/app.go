package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/streamsql/streamsql/exec/session"
)

// Exit statuses: the command line is scripted against, so they are a
// contract.
const (
	exitOK        = 0
	exitJobFailed = 1 // a job failed while running; `test`: a test failed
	exitSQLError  = 2 // an error in the SQL, or a usage error
	exitCancelled = 130
)

// cli is the command line with its standard streams, so tests can run it
// in-process as well as through the binary.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

const topUsage = `streamsql runs Flink-style streaming SQL.

Usage:
  streamsql [--log-level LEVEL]              interactive shell
  streamsql run [--output FORMAT] [--restore latest|PATH] FILE.sql|-
                                             run a script
  streamsql explain FILE.sql|-               print the plans of a script
  streamsql test [--update] PATH...          run golden-file SQL tests
  streamsql checkpoints DIR                  list checkpoints on disk
  streamsql bench nexmark [--queries q0,q5] [--events N] [--json]
                                             run the Nexmark benchmark
  streamsql version                          print the version

Run 'streamsql COMMAND -h' for a command's options.

Examples:
  streamsql
  streamsql run --output csv job.sql > result.csv
  echo 'SELECT 1;' | streamsql run -
  streamsql test tests/sql
`

func (c *cli) main(args []string) int {
	fs := newCommand("streamsql", topUsage)
	level := logLevelFlag(fs)
	rest, code, ok := c.parse(fs, args, false)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		log, err := newLogger(c.stderr, *level)
		if err != nil {
			return c.usageError(fs, err)
		}
		return c.shell(log)
	}
	cmd, cmdArgs := rest[0], rest[1:]
	switch cmd {
	case "run":
		return c.run(cmdArgs, *level)
	case "explain":
		return c.explain(cmdArgs, *level)
	case "test":
		return c.test(cmdArgs)
	case "version":
		return c.version(cmdArgs)
	case "checkpoints":
		return c.checkpoints(cmdArgs)
	case "bench":
		return c.bench(cmdArgs, *level)
	case "help":
		fmt.Fprint(c.stdout, topUsage)
		return exitOK
	}
	return c.usageError(fs, fmt.Errorf("unknown command %q", cmd))
}

// command is a FlagSet with its help text; the cli prints errors and help
// itself so that -h goes to stdout (exit 0) and mistakes to stderr (exit 2).
type command struct {
	*flag.FlagSet
	usage string
}

func newCommand(name, usage string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{FlagSet: fs, usage: usage}
}

// parse parses flags, with interspersed also those after positional
// arguments (`run x.sql --output csv`); without (the top level), the first
// positional is the command and the rest belongs to it. ok is false when
// the caller must return code: help was printed or the flags were wrong.
func (c *cli) parse(fs *command, args []string, interspersed bool) (rest []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.printUsage(c.stdout, fs)
				return nil, exitOK, false
			}
			return nil, c.usageError(fs, err), false
		}
		left := fs.Args()
		if len(left) == 0 {
			return rest, 0, true
		}
		if !interspersed || (len(args) > len(left) && args[len(args)-len(left)-1] == "--") {
			return append(rest, left...), 0, true
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}

func (c *cli) printUsage(w io.Writer, fs *command) {
	fmt.Fprint(w, fs.usage)
	var opts strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(&opts, "  --%s", f.Name)
		if name, _ := flag.UnquoteUsage(f); name != "" {
			fmt.Fprintf(&opts, " %s", name)
		}
		fmt.Fprintf(&opts, "\n    \t%s", f.Usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(&opts, " (default %s)", f.DefValue)
		}
		opts.WriteString("\n")
	})
	if opts.Len() > 0 {
		fmt.Fprintf(w, "\nOptions:\n%s", opts.String())
	}
}

func (c *cli) usageError(fs *command, err error) int {
	fmt.Fprintf(c.stderr, "%s: %v\nRun '%s -h' for usage.\n", fs.Name(), err, fs.Name())
	return exitSQLError
}

// exitCode maps an error of a statement to the exit status.
func exitCode(ctx context.Context, err error) int {
	var jobErr *session.JobError
	switch {
	case ctx.Err() != nil:
		// Interrupted: whatever the statement returned (an unbounded query
		// may end cleanly when cancelled), the script did not complete.
		return exitCancelled
	case err == nil:
		return exitOK
	case errors.As(err, &jobErr):
		return exitJobFailed
	}
	return exitSQLError
}

func logLevelFlag(fs *command) *string {
	return fs.String("log-level", "warn", "log level on stderr: debug, info, warn or error")
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
