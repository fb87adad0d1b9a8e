package postgres

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testServer is the PostgreSQL server the tests use, set once by TestMain:
// STREAMSQL_POSTGRES_URL when it is set, else a throwaway cluster started
// with scripts/postgres-test-server.sh. skip says why there is none.
var testServer struct {
	url  string
	skip string
}

const howToRun = `run them with a server of your own:
    eval "$(scripts/postgres-test-server.sh start)"   # installs PostgreSQL from Debian if needed
    go test ./connectors/postgres/
    scripts/postgres-test-server.sh stop
or set STREAMSQL_POSTGRES_URL=postgres://user:password@host:port/db`

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	if u := os.Getenv("STREAMSQL_POSTGRES_URL"); u != "" {
		testServer.url = u
		return m.Run()
	}
	dir, stop, err := startServer()
	if err != nil {
		msg := fmt.Sprintf("no PostgreSQL server for the postgres connector tests: %v", err)
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "FAIL: %s\n(under CI=true the tests fail instead of skipping)\n", msg)
			return 1
		}
		banner := strings.Repeat("!", 78)
		fmt.Fprintf(os.Stderr, "%s\n!! SKIPPING the tests that need PostgreSQL.\n!! %s\n!! %s\n%s\n", banner, msg,
			strings.ReplaceAll(howToRun, "\n", "\n!! "), banner)
		testServer.skip = msg
		return m.Run()
	}
	defer func() {
		stop()
		os.RemoveAll(dir)
	}()
	return m.Run()
}

var urlLine = regexp.MustCompile(`STREAMSQL_POSTGRES_URL='([^']+)'`)

// startServer runs the test-server script into a fresh directory under the
// temp dir (the server's user must be able to reach it).
func startServer() (dir string, stop func(), err error) {
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "postgres-test-server.sh"))
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(script); err != nil {
		return "", nil, err
	}
	dir, err = os.MkdirTemp("", "streamsql-postgres-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // may apt-get install
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, "start", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("%s start: %v: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
			testServer.url = m[1]
		}
	}
	stop = func() {
		exec.Command("bash", script, "stop", dir).Run()
	}
	if testServer.url == "" {
		stop()
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("%s start printed no URL: %s", script, out)
	}
	return dir, stop, nil
}

// serverURL returns the test server's URL, or skips the test loudly.
func serverURL(t testing.TB) string {
	t.Helper()
	if testServer.skip != "" {
		t.Skipf("SKIPPED: %s\n%s", testServer.skip, howToRun)
	}
	return testServer.url
}

// dbConn connects to the test server for setting up and reading tables.
func dbConn(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	mustExec(t, conn, "SET TIME ZONE 'UTC'")
	return conn
}

// mustExec runs SQL statements on conn.
func mustExec(t testing.TB, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.PgConn().Exec(context.Background(), sql).ReadAll(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// tableName is a fresh table name for a test.
func tableName(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"))
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	return "t_" + strings.Trim(name, "_")
}

// dump returns a table's rows as text, ordered by the first column, one
// "v1|v2|..." line per row (NULL as "null").
func dump(t testing.TB, conn *pgx.Conn, table string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT * FROM "+table+" ORDER BY 1", pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var fields []string
		for _, v := range rows.RawValues() {
			if v == nil {
				fields = append(fields, "null")
			} else {
				fields = append(fields, string(v))
			}
		}
		out = append(out, strings.Join(fields, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
