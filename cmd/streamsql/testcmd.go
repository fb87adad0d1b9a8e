package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	sqltest "github.com/streamsql/streamsql/tests/sql"
)

const testUsage = `Usage: streamsql test [--update] PATH...

Runs golden-file SQL tests. Each PATH is a .sql file or a directory searched
recursively for them (directories named testdata are skipped). A test X.sql
runs statement by statement in a fresh session, in a temporary copy of the
files next to it; its output (each statement, then its result table,
message or error) must equal X.out.

Prints PASS or FAIL per file (with a diff from the golden on failure), then
"N passed, M failed". Exit status 1 when a test fails, 2 on a usage error.

Examples:
  streamsql test tests/sql
  streamsql test tests/sql/windows.sql
  streamsql test --update tests/sql/new_case.sql
`

// test runs golden tests; engine logs are not shown (sqltest discards them
// so that they cannot interleave with the report).
func (c *cli) test(args []string) int {
	fs := newCommand("streamsql test", testUsage)
	update := fs.Bool("update", false, "rewrite the .out golden files with the actual output")
	rest, code, ok := c.parse(fs, args, true)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		return c.usageError(fs, errors.New("want at least one PATH"))
	}
	files, err := sqltest.Files(rest...)
	if err != nil {
		fmt.Fprintf(c.stderr, "streamsql test: %v\n", err)
		return exitSQLError
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	passed, failed, updated := 0, 0, 0
	for _, f := range files {
		diff, err := sqltest.CheckContext(ctx, f, *update)
		switch {
		case ctx.Err() != nil:
			fmt.Fprintf(c.stdout, "FAIL %s\n  interrupted\n", f)
			fmt.Fprintf(c.stdout, "%d passed, %d failed\n", passed, failed+1)
			return exitCancelled
		case err != nil:
			failed++
			fmt.Fprintf(c.stdout, "FAIL %s\n  %v\n", f, err)
		case diff != "" && *update:
			passed++
			updated++
			fmt.Fprintf(c.stdout, "PASS %s (golden updated)\n", f)
		case diff != "":
			failed++
			fmt.Fprintf(c.stdout, "FAIL %s\n%s", f, diff)
		default:
			passed++
			fmt.Fprintf(c.stdout, "PASS %s\n", f)
		}
	}
	if updated > 0 {
		fmt.Fprintf(c.stdout, "%d golden files updated\n", updated)
	}
	fmt.Fprintf(c.stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return exitJobFailed
	}
	return exitOK
}
