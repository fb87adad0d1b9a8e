package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/checkpoint"
)

// benchCLI runs `streamsql bench ...` in-process with temporary
// directories under a fresh TMPDIR, which it returns, so a test can check
// that the runner cleaned up after itself.
func benchCLI(t *testing.T, args ...string) (stdout, stderr string, code int, tmp string) {
	t.Helper()
	tmp = t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
	code = c.main(append([]string{"bench"}, args...))
	return out.String(), errOut.String(), code, tmp
}

func decodeReport(t *testing.T, stdout string) benchReport {
	t.Helper()
	var r benchReport
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, stdout)
	}
	return r
}

func TestBenchNexmarkJSON(t *testing.T) {
	for _, backend := range []string{"hashmap", "rocksdb"} {
		t.Run(backend, func(t *testing.T) {
			stdout, stderr, code, tmp := benchCLI(t, "nexmark", "--queries", "q6,q0,q5", "--events", "5000",
				"--backend", backend, "--parallelism", "2", "--json")
			if code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			r := decodeReport(t, stdout)
			if r.Suite != "nexmark" || r.Events != 5000 || r.Parallelism != 2 || r.Backend != backend ||
				r.CheckpointIntervalMS != 10000 || r.CPUs <= 0 || r.GoVersion == "" {
				t.Errorf("settings in the report: %+v", r)
			}
			var names []string
			for _, q := range r.Queries {
				names = append(names, q.Query)
			}
			if !slices.Equal(names, []string{"q0", "q5", "q6"}) {
				t.Fatalf("queries %v, want q0, q5, q6 in suite order", names)
			}
			for _, q := range r.Queries[:2] {
				if q.Status != statusOK || q.Reason != "" {
					t.Errorf("%s: status %q, reason %q", q.Query, q.Status, q.Reason)
				}
				// 46 of every 50 events are bids: q0 reads them once, q5
				// (two window aggregates over bid) twice.
				if q.Events != 5000 || q.RowsRead == 0 || q.RowsRead%(5000*46/50) != 0 {
					t.Errorf("%s: events %d, rows read %d", q.Query, q.Events, q.RowsRead)
				}
				if q.Seconds <= 0 || q.EventsPerSecond <= 0 || q.CPUSeconds <= 0 || q.EventsPerCoreSecond <= 0 {
					t.Errorf("%s: figures missing: %+v", q.Query, q)
				}
			}
			if q6 := r.Queries[2]; q6.Status != statusSkipped ||
				!strings.HasPrefix(q6.Reason, "q6.sql:") || !strings.Contains(q6.Reason, "not supported yet: ") {
				t.Errorf("q6: status %q, reason %q; want skipped with the engine's reason", q6.Status, q6.Reason)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("working directories left behind: %v", left)
			}
		})
	}
}

func TestBenchNexmarkJSONColumns(t *testing.T) {
	stdout, stderr, code, _ := benchCLI(t, "nexmark", "--queries", "q2", "--events", "1000", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var raw struct {
		Queries []map[string]any `json:"queries"`
	}
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil || len(raw.Queries) != 1 {
		t.Fatalf("decode %v: %s", err, stdout)
	}
	for _, key := range []string{"query", "status", "events", "rows_read", "seconds", "cpu_seconds", "events_per_second",
		"events_per_core_second", "checkpoints", "checkpoints_failed", "checkpoint_median_ms", "checkpoint_max_ms", "state_bytes"} {
		if _, ok := raw.Queries[0][key]; !ok {
			t.Errorf("column %q missing from %v", key, raw.Queries[0])
		}
	}
}

// --ddl flink runs the queries over Flink's single nexmark table and its
// views: the same events, so the same rows reach the join of q3 and the
// aggregate of q5.
func TestBenchNexmarkFlinkDDL(t *testing.T) {
	stdout, stderr, code, _ := benchCLI(t, "nexmark", "--queries", "q0,q3,q5", "--events", "5000", "--ddl", "flink", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	r := decodeReport(t, stdout)
	if r.DDL != "flink" || len(r.Queries) != 3 {
		t.Fatalf("report %+v", r)
	}
	for _, q := range r.Queries {
		// The views' scans generate their kind only (WHERE event_type = n).
		if q.Status != statusOK || q.Events != 5000 || q.RowsRead == 0 {
			t.Errorf("%s: %+v", q.Query, q)
		}
	}
	text := withFlinkDDL("-- q\nCREATE TABLE bid (\n a BIGINT\n) WITH (\n  'connector' = 'nexmark');\nCREATE TABLE out (a BIGINT) WITH ('connector' = 'blackhole');\nINSERT INTO out SELECT auction FROM bid;\n")
	if strings.Contains(text, "CREATE TABLE bid") || !strings.Contains(text, "CREATE VIEW bid AS") ||
		strings.Index(text, "CREATE VIEW bid") > strings.Index(text, "CREATE TABLE out") {
		t.Errorf("withFlinkDDL:\n%s", text)
	}
}

func TestBenchNexmarkTable(t *testing.T) {
	stdout, stderr, code, _ := benchCLI(t, "nexmark", "--queries", "q2,q6,q13", "--events", "1000")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	lines := strings.Split(stdout, "\n")
	if !strings.HasPrefix(lines[0], "Nexmark: 1000 events per query, parallelism 1, state backend hashmap, checkpoint every 10s") {
		t.Errorf("first line %q", lines[0])
	}
	header := strings.Fields(strings.Join(lines[2:3], ""))
	want := []string{"query", "events", "seconds", "events/s", "events/s/core", "checkpoints", "cp", "median", "cp", "max", "state", "size", "note"}
	if !reflect.DeepEqual(header, want) {
		t.Errorf("header %q, want %q", header, want)
	}
	var q2, q6, q13 string
	for _, l := range lines {
		switch f := strings.Fields(l); {
		case len(f) > 0 && f[0] == "q2":
			q2 = l
		case len(f) > 0 && f[0] == "q6":
			q6 = l
		case len(f) > 0 && f[0] == "q13":
			q13 = l
		}
	}
	if f := strings.Fields(q2); len(f) < 2 || f[1] != "1000" {
		t.Errorf("q2 row %q", q2)
	}
	// q13 (a lookup join against side_input.csv, which the runner writes).
	if f := strings.Fields(q13); len(f) < 2 || f[1] != "1000" {
		t.Errorf("q13 row %q", q13)
	}
	if !strings.Contains(q6, "skipped: q6.sql:") || !strings.Contains(q6, "not supported yet: ") {
		t.Errorf("q6 row %q: want skipped with the engine's reason", q6)
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("a progress bar was drawn although stderr is not a terminal: %q", stderr)
	}
}

func TestBenchNexmarkFailedQuery(t *testing.T) {
	dir := t.TempDir()
	ddl, err := os.ReadFile(filepath.Join("..", "..", "bench", "nexmark", "q0.sql"))
	if err != nil {
		t.Fatal(err)
	}
	// Division by zero fails the job at run time: a failure, not a skip.
	bad := strings.Replace(string(ddl), "SELECT auction, bidder, price, dateTime, extra FROM bid",
		"SELECT auction, bidder, price / (price - price), dateTime, extra FROM bid", 1)
	if bad == string(ddl) {
		t.Fatal("q0.sql changed: adapt the test")
	}
	writeSQL(t, dir, "q0.sql", bad)
	writeSQL(t, dir, "q1.sql", string(ddl))
	stdout, stderr, code, _ := benchCLI(t, "nexmark", "--dir", dir, "--events", "1000", "--json")
	if code != exitJobFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitJobFailed, stderr)
	}
	r := decodeReport(t, stdout)
	if len(r.Queries) != 2 {
		t.Fatalf("queries %+v", r.Queries)
	}
	if q := r.Queries[0]; q.Status != statusFailed || !strings.Contains(q.Reason, "division by zero") {
		t.Errorf("q0: status %q, reason %q", q.Status, q.Reason)
	}
	if q := r.Queries[1]; q.Status != statusOK {
		t.Errorf("q1 after a failed q0: status %q, reason %q", q.Status, q.Reason)
	}
}

func TestBenchNexmarkTimeout(t *testing.T) {
	stdout, stderr, code, _ := benchCLI(t, "nexmark", "--queries", "q0", "--events", "1000000000000", "--timeout", "200ms", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	r := decodeReport(t, stdout)
	if len(r.Queries) != 1 {
		t.Fatalf("queries %+v", r.Queries)
	}
	q := r.Queries[0]
	if q.Status != statusTimeout || !strings.HasPrefix(q.Reason, "cancelled after 200ms") {
		t.Errorf("status %q, reason %q", q.Status, q.Reason)
	}
	if q.Events >= 1000000000000 || q.Events < 0 || q.RowsRead < q.Events*46/50 {
		t.Errorf("a stopped query reports the events it processed: events %d, rows read %d", q.Events, q.RowsRead)
	}
}

func TestBenchUsage(t *testing.T) {
	stdout, _, code, _ := benchCLI(t, "-h")
	if code != exitOK || !strings.Contains(stdout, "Usage: streamsql bench nexmark") || !strings.Contains(stdout, "--cpuprofile") {
		t.Errorf("help: exit %d, %q", code, stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "want the suite to run: nexmark"},
		{[]string{"tpch"}, "want the suite to run: nexmark"},
		{[]string{"nexmark", "--queries", "q0,q99"}, `unknown query "q99"`},
		{[]string{"nexmark", "--backend", "memory"}, "--backend"},
		{[]string{"nexmark", "--events", "0"}, "--events"},
		{[]string{"nexmark", "--parallelism", "0"}, "--parallelism"},
		{[]string{"nexmark", "--checkpoint-interval", "1ms"}, "--checkpoint-interval"},
		{[]string{"nexmark", "--timeout", "-1s"}, "--timeout"},
		{[]string{"nexmark", "--json", "--markdown"}, "exclude each other"},
		{[]string{"nexmark", "--ddl", "beam"}, `--ddl: want per-kind or flink, got "beam"`},
	} {
		_, stderr, code, _ := benchCLI(t, tc.args...)
		if code != exitSQLError || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestSummarizeCheckpoints(t *testing.T) {
	cp := func(id int64, st checkpoint.Status, ms int, bytes int64) checkpoint.Summary {
		return checkpoint.Summary{ID: id, Status: st, Duration: time.Duration(ms) * time.Millisecond, StateBytes: bytes}
	}
	var r queryResult
	summarizeCheckpoints(&r, []checkpoint.Summary{
		cp(1, checkpoint.StatusCompleted, 40, 100), cp(2, checkpoint.StatusFailed, 900, 0),
		cp(3, checkpoint.StatusCompleted, 10, 400), cp(4, checkpoint.StatusCompleted, 30, 200),
		cp(5, checkpoint.StatusCompleted, 20, 0), // after the stateful tasks finished
		{ID: 6, Status: checkpoint.StatusCompleted, Savepoint: true, Duration: time.Second, StateBytes: 999},
	})
	want := queryResult{Checkpoints: 4, CheckpointsFailed: 1, CheckpointMedianMS: 25, CheckpointMaxMS: 40, StateBytes: 400}
	if r != want {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	var none queryResult
	summarizeCheckpoints(&none, nil)
	if none != (queryResult{}) {
		t.Errorf("no checkpoints: %+v", none)
	}
}
