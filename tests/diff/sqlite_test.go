package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// sqliteDB is a database file driven through the sqlite3 command line.
type sqliteDB struct {
	bin  string
	path string
}

// liteResult is one query's rows (normalized cells) or its error.
type liteResult struct {
	rows []string
	err  error
}

// queryMarker precedes each query's output in a batch run; it cannot be a
// result row, since in quote mode every string cell is quoted.
const queryMarker = "@@query "

// openSQLite creates a database in dir holding tables.
func openSQLite(ctx context.Context, bin, dir string, tables []*table) (*sqliteDB, error) {
	db := &sqliteDB{bin: bin, path: filepath.Join(dir, "ref.db")}
	var script strings.Builder
	script.WriteString(".bail on\n")
	for _, t := range tables {
		script.WriteString(t.sqliteLoad())
	}
	if _, err := db.exec(ctx, script.String()); err != nil {
		return nil, fmt.Errorf("diff: load sqlite: %w", err)
	}
	return db, nil
}

// exec runs a script and returns its stdout.
func (db *sqliteDB) exec(ctx context.Context, script string) (string, error) {
	cmd := exec.CommandContext(ctx, db.bin, "-batch", db.path)
	cmd.Stdin = strings.NewReader(script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("sqlite3: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// queries runs every query in one sqlite3 process (one process per query
// would cost more than the queries). The process stops at the first error
// (.bail), which the markers attribute to its query; the rest then run in
// a new process.
func (db *sqliteDB) queries(ctx context.Context, qs []string) []liteResult {
	res := make([]liteResult, len(qs))
	for start := 0; start < len(qs); {
		var script strings.Builder
		// case_sensitive_like: Flink's LIKE is case-sensitive, sqlite's is
		// not by default. Quote mode renders strings quoted and NULL bare.
		script.WriteString(".bail on\n.headers off\n.mode quote\nPRAGMA case_sensitive_like = ON;\n")
		for i := start; i < len(qs); i++ {
			fmt.Fprintf(&script, ".print '%s%d'\n%s;\n", queryMarker, i, strings.TrimSuffix(strings.TrimSpace(qs[i]), ";"))
		}
		out, err := db.exec(ctx, script.String())
		last := start - 1
		for _, line := range strings.Split(out, "\n") {
			if n, ok := strings.CutPrefix(line, queryMarker); ok {
				i, perr := strconv.Atoi(n)
				if perr != nil || i < start || i >= len(qs) {
					res[start].err = fmt.Errorf("diff: bad sqlite marker %q", line)
					return res
				}
				last = i
				continue
			}
			if line == "" || last < start {
				continue
			}
			cells, perr := parseQuoteRow(line)
			if perr != nil && res[last].err == nil {
				res[last].err = perr
			}
			res[last].rows = append(res[last].rows, rowKey(cells))
		}
		if err == nil {
			break
		}
		if last < start {
			// Failed before the first query: nothing to attribute it to.
			for i := start; i < len(qs); i++ {
				res[i].err = err
			}
			break
		}
		res[last].err, res[last].rows = err, nil
		start = last + 1
	}
	return res
}

// parseQuoteRow splits one line of sqlite's quote mode (cells as SQL
// literals separated by commas) into normalized cells.
func parseQuoteRow(line string) ([]string, error) {
	var cells []string
	for i := 0; i <= len(line); {
		var cell string
		switch {
		case i < len(line) && line[i] == '\'':
			var s strings.Builder
			j := i + 1
			closed := false
			for j < len(line) {
				if line[j] == '\'' {
					if j+1 < len(line) && line[j+1] == '\'' {
						s.WriteByte('\'')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				s.WriteByte(line[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("diff: unterminated string in sqlite row %q", line)
			}
			cell, i = normString(s.String()), j
		default:
			end := strings.IndexByte(line[i:], ',')
			if end < 0 {
				end = len(line) - i
			}
			tok := line[i : i+end]
			i += end
			var err error
			if cell, err = normLiteral(tok); err != nil {
				return nil, fmt.Errorf("diff: sqlite row %q: %w", line, err)
			}
		}
		cells = append(cells, cell)
		if i >= len(line) {
			break
		}
		if line[i] != ',' {
			return nil, fmt.Errorf("diff: expected ',' at %d in sqlite row %q", i, line)
		}
		i++
	}
	return cells, nil
}

// normLiteral normalizes an unquoted quote-mode cell: NULL, an integer or
// a real ("%!.20g", so 0.1 reads 0.10000000000000000555).
func normLiteral(tok string) (string, error) {
	if tok == "NULL" {
		return nullCell, nil
	}
	if v, err := strconv.ParseInt(tok, 10, 64); err == nil {
		return normInt(v), nil
	}
	if v, err := strconv.ParseFloat(tok, 64); err == nil {
		return normFloat(v), nil
	}
	if strings.HasPrefix(tok, "X'") {
		return "", errors.New("blob values are not part of this test")
	}
	return "", fmt.Errorf("unknown literal %q", tok)
}

// sqliteBinary finds the sqlite3 CLI; ok is false when it is not installed.
func sqliteBinary() (string, bool) {
	if p := os.Getenv("SQLITE3"); p != "" {
		return p, true
	}
	p, err := exec.LookPath("sqlite3")
	return p, err == nil
}
