package main

import (
	"errors"
	"fmt"

	"github.com/streamsql/streamsql/checkpoint"
)

const checkpointsUsage = `Usage: streamsql checkpoints DIR

Lists the checkpoints and savepoints under DIR (a checkpoint.dir holding
several jobs, or one job's directory) from their metadata on disk: id,
status, kind, trigger time, duration, full and uploaded state size,
in-flight data, and per task the synchronous, asynchronous, alignment and
start-delay durations. A checkpoint whose files are missing or truncated
is shown as INCOMPLETE or CORRUPT.

Example:
  streamsql checkpoints checkpoints/
`

func (c *cli) checkpoints(args []string) int {
	fs := newCommand("streamsql checkpoints", checkpointsUsage)
	rest, code, ok := c.parse(fs, args, true)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError(fs, errors.New("want exactly one DIR"))
	}
	sums, err := checkpoint.List(rest[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "streamsql checkpoints: %v\n", err)
		return exitJobFailed
	}
	if len(sums) == 0 {
		fmt.Fprintf(c.stderr, "streamsql checkpoints: no checkpoints under %s\n", rest[0])
		return exitJobFailed
	}
	if err := checkpoint.FormatTable(c.stdout, sums); err != nil {
		fmt.Fprintf(c.stderr, "streamsql checkpoints: %v\n", err)
		return exitJobFailed
	}
	return exitOK
}
