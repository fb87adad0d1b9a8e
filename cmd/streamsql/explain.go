package main

import (
	"context"
	"errors"

	"github.com/streamsql/streamsql/cmd/streamsql/render"
	"github.com/streamsql/streamsql/exec/session"
)

const explainUsage = `Usage: streamsql explain FILE.sql|-

Executes the DDL and SET statements of FILE.sql and prints, instead of
running them, the plan of every query and INSERT: the operator graph with
its parallelism and edges, and the job settings with where each came from.

Example:
  streamsql explain job.sql
`

func (c *cli) explain(args []string, level string) int {
	fs := newCommand("streamsql explain", explainUsage)
	fs.StringVar(&level, "log-level", level, "log level on stderr: debug, info, warn or error")
	rest, code, ok := c.parse(fs, args, true)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError(fs, errors.New("want exactly one FILE.sql or -"))
	}
	log, err := newLogger(c.stderr, level)
	if err != nil {
		return c.usageError(fs, err)
	}
	return c.runScript("explain", rest[0], log, render.FormatTable, func(ctx context.Context, s *session.Session, src string, out *render.Output) error {
		return s.Explain(ctx, src, out)
	})
}
