package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/streamsql/streamsql/bench/nexmark"
	"github.com/streamsql/streamsql/checkpoint"
	"github.com/streamsql/streamsql/cmd/streamsql/script"
	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/registry"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

const benchUsage = `Usage: streamsql bench nexmark [--queries q0,q5,...] [--events N]
                     [--parallelism P] [--backend hashmap|rocksdb]
                     [--checkpoint-interval D] [--json|--markdown]
                     [--cpuprofile FILE]
                     [--timeout D] [--dir DIR] [--ddl per-kind|flink]

Runs the Nexmark benchmark queries (bench/nexmark/q0.sql ... q22.sql, built
into the binary; --dir reads q*.sql from a directory instead) one after the
other, each to the end of its bounded source of N events, and prints per
query: events, seconds, events/s, events/s per core (events over the
process's user+system CPU time while the job ran, generator included),
completed checkpoints, median and max checkpoint duration, and the
largest full state size among the completed checkpoints (a checkpoint
taken after the stateful tasks finished holds little or nothing).

Each query runs in a fresh session whose working directory (state,
checkpoints) is a new temporary directory, removed afterwards. The query
files are templates: ${EVENTS} becomes N, and before the file the runner
executes SET statements for parallelism.default, state.backend,
checkpoint.interval.ms and restart-strategy 'none' (a failing query fails
instead of restarting). A query the engine cannot run yet ("not supported
yet: ...") is reported as skipped with the engine's reason; the other
queries still run.

With --ddl flink each query reads Flink's Nexmark DDL (bench/nexmark/
flink_ddl.sql: one nexmark table with ROW columns, and person, auction and
bid views over it) in place of its own per-kind nexmark tables; the events
are the same.

With --timeout D a query still running after D is stopped and reported
with the figures of the events it processed until then (status timeout).

A progress bar (events generated so far) is drawn on stderr when stderr is
a terminal, never into a pipe or file.

Exit status: 0 every query ran, was skipped or timed out, 1 a query failed, 2 a usage
error, 130 interrupted.

Examples:
  streamsql bench nexmark
  streamsql bench nexmark --queries q0,q5 --events 1000000
  streamsql bench nexmark --backend rocksdb --parallelism 2 --json > out.json
  streamsql bench nexmark --queries q5 --cpuprofile q5.pprof
`

// benchConfig is what `bench nexmark` was asked to run.
type benchConfig struct {
	queries     []string // names, e.g. "q5", in suite order
	events      int64
	parallelism int
	backend     string
	interval    time.Duration
	timeout     time.Duration // per query; 0 = none
	files       fs.FS         // the q*.sql templates
	ddl         string        // "per-kind" (the files' tables) or "flink"
}

// benchReport is the result of a run (--json prints it).
type benchReport struct {
	Suite                string        `json:"suite"`
	Events               int64         `json:"events"`
	Parallelism          int           `json:"parallelism"`
	Backend              string        `json:"backend"`
	DDL                  string        `json:"ddl"`
	CheckpointIntervalMS int64         `json:"checkpoint_interval_ms"`
	GoVersion            string        `json:"go_version"`
	CPUs                 int           `json:"cpus"`
	Queries              []queryResult `json:"queries"`
}

// Query statuses.
const (
	statusOK      = "ok"
	statusSkipped = "skipped"
	statusFailed  = "failed"
	statusTimeout = "timeout"
)

// queryResult is one query's figures; Reason says why a query was skipped
// or failed. A query stopped by --timeout has the figures of the events it
// processed until then.
type queryResult struct {
	Query               string  `json:"query"`
	Status              string  `json:"status"`
	Reason              string  `json:"reason,omitempty"`
	Events              int64   `json:"events"`
	RowsRead            int64   `json:"rows_read"`
	Seconds             float64 `json:"seconds"`
	CPUSeconds          float64 `json:"cpu_seconds"`
	EventsPerSecond     float64 `json:"events_per_second"`
	EventsPerCoreSecond float64 `json:"events_per_core_second"`
	Checkpoints         int     `json:"checkpoints"`
	CheckpointsFailed   int     `json:"checkpoints_failed"`
	CheckpointMedianMS  float64 `json:"checkpoint_median_ms"`
	CheckpointMaxMS     float64 `json:"checkpoint_max_ms"`
	StateBytes          int64   `json:"state_bytes"`
}

func (c *cli) bench(args []string, level string) int {
	fs := newCommand("streamsql bench", benchUsage)
	queries := fs.String("queries", "", "comma-separated queries to run, e.g. q0,q5 (default all)")
	events := fs.Int64("events", 10_000_000, "events per query (events.num: persons, auctions and bids together)")
	parallelism := fs.Int("parallelism", 1, "parallelism of every operator")
	backend := fs.String("backend", "hashmap", "state backend: hashmap or rocksdb")
	interval := fs.Duration("checkpoint-interval", 10*time.Second, "checkpoint interval")
	asJSON := fs.Bool("json", false, "print the results as JSON on stdout")
	asMarkdown := fs.Bool("markdown", false, "print the results as a Markdown table (bench/nexmark/results.sh)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to FILE (go tool pprof)")
	timeout := fs.Duration("timeout", 0, "stop a query after this long and report what it processed (0 = no limit)")
	dir := fs.String("dir", "", "read the q*.sql templates from DIR instead of the built-in ones")
	ddl := fs.String("ddl", "per-kind", "source tables: per-kind (the query files' own) or flink (Flink's single nexmark table and views)")
	fs.StringVar(&level, "log-level", level, "log level on stderr: debug, info, warn or error")
	rest, code, ok := c.parse(fs, args, true)
	if !ok {
		return code
	}
	if len(rest) != 1 || rest[0] != "nexmark" {
		return c.usageError(fs, errors.New("want the suite to run: nexmark"))
	}
	if *asJSON && *asMarkdown {
		return c.usageError(fs, errors.New("--json and --markdown exclude each other"))
	}
	log, err := newLogger(c.stderr, level)
	if err != nil {
		return c.usageError(fs, err)
	}
	cfg := benchConfig{events: *events, parallelism: *parallelism, backend: *backend, interval: *interval, timeout: *timeout, files: nexmark.Queries, ddl: *ddl}
	if *dir != "" {
		cfg.files = os.DirFS(*dir)
	}
	if err := cfg.validate(*queries); err != nil {
		return c.usageError(fs, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(c.stderr, "streamsql bench: %v\n", err)
			return exitJobFailed
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(c.stderr, "streamsql bench: cpu profile: %v\n", err)
			return exitJobFailed
		}
		defer pprof.StopCPUProfile()
	}
	report, err := c.runNexmark(ctx, log, cfg)
	if ctx.Err() != nil {
		fmt.Fprintln(c.stderr, "[INFO] Interrupted: the running query was cancelled.")
		return exitCancelled
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "streamsql bench: %v\n", err)
		return exitJobFailed
	}
	switch {
	case *asMarkdown:
		writeBenchMarkdown(c.stdout, report)
	case *asJSON:
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			fmt.Fprintf(c.stderr, "streamsql bench: %v\n", err)
			return exitJobFailed
		}
	default:
		writeBenchTable(c.stdout, report)
	}
	for _, q := range report.Queries {
		if q.Status == statusFailed {
			return exitJobFailed
		}
	}
	return exitOK
}

// validate checks the settings and resolves the query list (empty = all).
func (cfg *benchConfig) validate(queries string) error {
	all, err := suiteQueries(cfg.files)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return errors.New("no q*.sql queries found")
	}
	if queries == "" {
		cfg.queries = all
	} else {
		for _, q := range strings.Split(queries, ",") {
			q = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(q), ".sql"))
			if !slices.Contains(all, q) {
				return fmt.Errorf("--queries: unknown query %q (have %s)", q, strings.Join(all, ","))
			}
			if !slices.Contains(cfg.queries, q) {
				cfg.queries = append(cfg.queries, q)
			}
		}
		slices.SortFunc(cfg.queries, compareQueries)
	}
	switch {
	case cfg.events <= 0:
		return fmt.Errorf("--events: must be positive, got %d", cfg.events)
	case cfg.parallelism <= 0:
		return fmt.Errorf("--parallelism: must be positive, got %d", cfg.parallelism)
	case cfg.backend != "hashmap" && cfg.backend != "rocksdb":
		return fmt.Errorf("--backend: want hashmap or rocksdb, got %q", cfg.backend)
	case cfg.interval < 10*time.Millisecond:
		return fmt.Errorf("--checkpoint-interval: must be at least 10ms, got %v", cfg.interval)
	case cfg.timeout < 0:
		return fmt.Errorf("--timeout: must not be negative, got %v", cfg.timeout)
	case cfg.ddl != "per-kind" && cfg.ddl != "flink":
		return fmt.Errorf("--ddl: want per-kind or flink, got %q", cfg.ddl)
	}
	return nil
}

// suiteQueries lists the q<N>.sql files of fsys as names (q0, q1, ...) in
// numeric order.
func suiteQueries(fsys fs.FS) ([]string, error) {
	paths, err := fs.Glob(fsys, "q*.sql")
	if err != nil {
		return nil, fmt.Errorf("list queries: %w", err)
	}
	var names []string
	for _, p := range paths {
		name := strings.TrimSuffix(path.Base(p), ".sql")
		if _, err := strconv.Atoi(name[1:]); err == nil {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, compareQueries)
	return names, nil
}

func compareQueries(a, b string) int {
	na, _ := strconv.Atoi(a[1:])
	nb, _ := strconv.Atoi(b[1:])
	return cmp.Compare(na, nb)
}

// runNexmark runs the configured queries one after the other.
func (c *cli) runNexmark(ctx context.Context, log *slog.Logger, cfg benchConfig) (*benchReport, error) {
	source, err := nexmarkSource()
	if err != nil {
		return nil, err
	}
	report := &benchReport{Suite: "nexmark", Events: cfg.events, Parallelism: cfg.parallelism,
		Backend: cfg.backend, DDL: cfg.ddl, CheckpointIntervalMS: cfg.interval.Milliseconds(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU()}
	showBar := isTerminal(c.stderr)
	for _, q := range cfg.queries {
		text, err := fs.ReadFile(cfg.files, q+".sql")
		if err != nil {
			return nil, fmt.Errorf("read %s.sql: %w", q, err)
		}
		if cfg.ddl == "flink" {
			text = []byte(withFlinkDDL(string(text)))
		}
		res, err := runBenchQuery(ctx, log, cfg, source, q, string(text), c.stderr, progressWriter(c.stderr, showBar))
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return report, nil
		}
		report.Queries = append(report.Queries, res)
	}
	return report, nil
}

// perKindTable matches a statement creating one of the per-kind nexmark
// tables (comments before it included).
var perKindTable = regexp.MustCompile(`(?is)^(\s*--[^\n]*\n)*\s*CREATE\s+(TEMPORARY\s+)?TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(person|auction|bid)\s*\(.*'connector'\s*=\s*'nexmark'`)

// withFlinkDDL replaces a query template's per-kind nexmark tables by
// Flink's DDL (bench/nexmark/flink_ddl.sql), put where the first of them
// was. Error positions then point into the combined text.
func withFlinkDDL(text string) string {
	var b strings.Builder
	placed := false
	for _, st := range script.Split(text) {
		if perKindTable.MatchString(st.Text) {
			if !placed {
				b.WriteString(nexmark.FlinkDDL)
				b.WriteString("\n")
				placed = true
			}
			continue
		}
		b.WriteString(st.Text)
		b.WriteString("\n\n")
	}
	return b.String()
}

// runBenchQuery runs one query template in a fresh session and temporary
// directory; err is an error of the runner itself, while a query that
// fails or is not supported is a result.
func runBenchQuery(ctx context.Context, log *slog.Logger, cfg benchConfig, source connectors.Factory, name, text string,
	stderr, bar io.Writer) (queryResult, error) {
	res := queryResult{Query: name, Events: cfg.events}
	dir, err := os.MkdirTemp("", "streamsql-nexmark-"+name+"-")
	if err != nil {
		return res, fmt.Errorf("%s: working directory: %w", name, err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("remove working directory", "dir", dir, "err", err)
		}
	}()
	if strings.Contains(text, "side_input.csv") {
		if err := writeSideInput(filepath.Join(dir, "side_input.csv")); err != nil {
			return res, fmt.Errorf("%s: %w", name, err)
		}
	}
	counter := &sourceCounter{parallelism: int64(cfg.parallelism)}
	var stats exec.Stats
	var finished bool
	// The coordinator warns every interval once a source has finished ("a
	// source has finished: not all tasks are running"); the report counts
	// failed checkpoints instead, so only errors reach stderr.
	cpLog := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	s, err := session.New(session.Options{Dir: dir, WorkDir: dir, Stdout: io.Discard, Logger: log, DMLSync: true, CheckpointLogger: cpLog,
		Connectors: []connectors.Factory{countingFactory{Factory: source, counter: counter}},
		OnJobFinished: func(_ string, st exec.Stats) {
			stats, finished = st, true
		}})
	if err != nil {
		return res, fmt.Errorf("%s: start session: %w", name, err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			log.Warn("close session", "err", err)
		}
	}()
	prelude := fmt.Sprintf("SET 'parallelism.default' = '%d';\nSET 'state.backend' = '%s';\n"+
		"SET 'checkpoint.interval.ms' = '%d';\nSET 'restart-strategy' = 'none';\n",
		cfg.parallelism, cfg.backend, cfg.interval.Milliseconds())
	if err := s.ExecuteScript(ctx, prelude, discardOutput{}); err != nil {
		return res, fmt.Errorf("%s: settings: %w", name, err)
	}
	script := strings.ReplaceAll(text, "${EVENTS}", strconv.FormatInt(cfg.events, 10))
	qctx, cancel := ctx, context.CancelFunc(func() {})
	if cfg.timeout > 0 {
		qctx, cancel = context.WithTimeout(ctx, cfg.timeout)
	}
	defer cancel()
	stopBar := startProgress(bar, name, cfg.events, counter)
	start, startCPU := time.Now(), processCPU()
	err = s.ExecuteScript(qctx, script, discardOutput{})
	wall, cpu := time.Since(start), processCPU()-startCPU
	stopBar()
	var jobErr *session.JobError
	switch {
	case ctx.Err() != nil:
		return res, nil
	case err != nil && qctx.Err() != nil:
		// Stopped by --timeout: report what was processed until then.
		done := counter.events(cfg.events)
		res.Status = statusTimeout
		res.Reason = fmt.Sprintf("cancelled after %v, stopped after %.1f s at about %d of %d events",
			cfg.timeout, wall.Seconds(), done, cfg.events)
		stats = exec.Stats{RowsIn: counter.rowsRead(), Wall: wall, CPU: cpu}
		res.Events = done
	case err == nil && !finished:
		res.Status, res.Reason = statusFailed, "the script ran no INSERT job"
		return res, nil
	case err == nil:
		res.Status = statusOK
	case !errors.As(err, &jobErr) && strings.Contains(err.Error(), "not supported yet"):
		res.Status, res.Reason = statusSkipped, scriptError(name+".sql", err)
		return res, nil
	default:
		res.Status, res.Reason = statusFailed, scriptError(name+".sql", err)
		return res, nil
	}
	res.RowsRead = stats.RowsIn
	res.Seconds = stats.Wall.Seconds()
	res.CPUSeconds = stats.CPU.Seconds()
	if res.Seconds > 0 {
		res.EventsPerSecond = float64(res.Events) / res.Seconds
	}
	if res.CPUSeconds > 0 {
		res.EventsPerCoreSecond = float64(res.Events) / res.CPUSeconds
	}
	var history []checkpoint.Summary
	for _, j := range s.Jobs() {
		h, err := s.CheckpointHistory(j[0])
		if err != nil {
			return res, fmt.Errorf("%s: %w", name, err)
		}
		history = append(history, h...)
	}
	summarizeCheckpoints(&res, history)
	return res, nil
}

// scriptError renders an error of script file as the compiler would:
// "file:line:col: message" for a SQL error, "file: message" otherwise.
func scriptError(file string, err error) string {
	var sqlErr *ast.Error
	if errors.As(err, &sqlErr) && sqlErr.Pos.IsValid() {
		return fmt.Sprintf("%s:%d:%d: %s", file, sqlErr.Pos.Line, sqlErr.Pos.Col, sqlErr.Msg)
	}
	return file + ": " + err.Error()
}

// summarizeCheckpoints fills the checkpoint columns from the completed
// checkpoints (savepoints and failed ones are not counted).
func summarizeCheckpoints(res *queryResult, history []checkpoint.Summary) {
	var durations []time.Duration
	for _, h := range history {
		if h.Savepoint {
			continue
		}
		if h.Status == checkpoint.StatusFailed {
			res.CheckpointsFailed++
		}
		if h.Status != checkpoint.StatusCompleted {
			continue
		}
		durations = append(durations, h.Duration)
		res.StateBytes = max(res.StateBytes, h.StateBytes)
	}
	res.Checkpoints = len(durations)
	if len(durations) == 0 {
		return
	}
	slices.Sort(durations)
	median := durations[len(durations)/2]
	if len(durations)%2 == 0 {
		median = (durations[len(durations)/2-1] + durations[len(durations)/2]) / 2
	}
	res.CheckpointMedianMS = msOf(median)
	res.CheckpointMaxMS = msOf(durations[len(durations)-1])
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// writeSideInput writes q13's side table: keys 0..9999 with a value each.
func writeSideInput(path string) error {
	var b strings.Builder
	for k := range 10000 {
		fmt.Fprintf(&b, "%d,value-%d\n", k, k)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("side input: %w", err)
	}
	return nil
}

// writeBenchTable prints the report as an aligned table; a skipped or
// failed query says why in the last column.
func writeBenchTable(w io.Writer, r *benchReport) {
	fmt.Fprintf(w, "Nexmark: %d events per query, parallelism %d, state backend %s, checkpoint every %v, %s tables, %s, %d CPUs\n\n",
		r.Events, r.Parallelism, r.Backend, time.Duration(r.CheckpointIntervalMS)*time.Millisecond, r.DDL, r.GoVersion, r.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\tevents\tseconds\tevents/s\tevents/s/core\tcheckpoints\tcp median\tcp max\tstate size\t\tnote")
	for _, q := range r.Queries {
		if q.Status != statusOK && q.Status != statusTimeout {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t\t%s: %s\n", q.Query, q.Status, q.Reason)
			continue
		}
		cpMedian, cpMax, state := "-", "-", "-"
		if q.Checkpoints > 0 {
			cpMedian = fmt.Sprintf("%.0f ms", q.CheckpointMedianMS)
			cpMax = fmt.Sprintf("%.0f ms", q.CheckpointMaxMS)
			state = humanBytes(q.StateBytes)
		}
		note := ""
		if q.Status == statusTimeout {
			note = q.Status + ": " + q.Reason
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%s\t%s\t%d\t%s\t%s\t%s\t\t%s\n", q.Query, q.Events, q.Seconds,
			humanRate(q.EventsPerSecond), humanRate(q.EventsPerCoreSecond), q.Checkpoints, cpMedian, cpMax, state, note)
	}
	tw.Flush()
}

// writeBenchMarkdown prints the report as a Markdown table.
func writeBenchMarkdown(w io.Writer, r *benchReport) {
	fmt.Fprintf(w, "%d events per query, parallelism %d, state backend `%s`, checkpoint every %v\n\n",
		r.Events, r.Parallelism, r.Backend, time.Duration(r.CheckpointIntervalMS)*time.Millisecond)
	fmt.Fprintln(w, "| query | events | seconds | events/s | events/s per core | checkpoints | cp median | cp max | state size | note |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
	for _, q := range r.Queries {
		note := strings.ReplaceAll(q.Reason, "|", "\\|")
		if q.Status != statusOK {
			note = q.Status + ": " + note
		}
		if q.Status != statusOK && q.Status != statusTimeout {
			fmt.Fprintf(w, "| %s | | | | | | | | | %s |\n", q.Query, note)
			continue
		}
		cpMedian, cpMax, state := "-", "-", "-"
		if q.Checkpoints > 0 {
			cpMedian = fmt.Sprintf("%.0f ms", q.CheckpointMedianMS)
			cpMax = fmt.Sprintf("%.0f ms", q.CheckpointMaxMS)
			state = humanBytes(q.StateBytes)
		}
		fmt.Fprintf(w, "| %s | %d | %.2f | %s | %s | %d | %s | %s | %s | %s |\n", q.Query, q.Events, q.Seconds,
			humanRate(q.EventsPerSecond), humanRate(q.EventsPerCoreSecond), q.Checkpoints, cpMedian, cpMax, state, note)
	}
}

// humanBytes renders a size as 1.2 GiB, 3.4 MiB, 5.6 KiB or 789 B.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// discardOutput ignores what statements print: the queries write to
// blackhole sinks, and SET/CREATE messages are not results.
type discardOutput struct{}

func (discardOutput) Message(string) error                         { return nil }
func (discardOutput) Begin(types.Schema, session.ResultInfo) error { return nil }
func (discardOutput) Rows(batch.Batch) error                       { return nil }
func (discardOutput) End() error                                   { return nil }

// --- progress ---

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressWriter is where the bar is drawn: stderr when it is a terminal,
// nowhere otherwise (a bar in a log file or pipe is noise).
func progressWriter(stderr io.Writer, show bool) io.Writer {
	if !show {
		return nil
	}
	return stderr
}

// startProgress draws a bar of the events generated so far on w (nil = no
// bar) until the returned function is called.
func startProgress(w io.Writer, name string, total int64, counter *sourceCounter) (stop func()) {
	if w == nil {
		return func() {}
	}
	bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(name),
		progressbar.OptionSetWidth(30), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(), progressbar.OptionSetElapsedTime(true), progressbar.OptionSetPredictTime(true))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = bar.Set64(counter.events(total))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		_ = bar.Clear()
	}
}

// Nexmark's event mix: of every 50 events, 1 person, 3 auctions, 46 bids.
const nexmarkShareTotal = 50

// nexmarkKinds are the event kinds (tables), in sourceCounter's order;
// "nexmark" is Flink's single table of every event (--ddl flink).
func nexmarkKinds() [4]string { return [4]string{"person", "auction", "bid", "nexmark"} }

// nexmarkShare is kind i's share of every nexmarkShareTotal events.
func nexmarkShare(i int) int64 { return [4]int64{1, 3, 46, nexmarkShareTotal}[i] }

// sourceCounter counts the rows each Nexmark table produced so far, for
// the progress bar and for queries stopped by --timeout (the figures of a
// finished query come from the job's statistics).
type sourceCounter struct {
	parallelism int64           // subtasks per scan
	rows        [4]atomic.Int64 // by kind, over all scans of it
	opened      [4]atomic.Int64 // subtasks reading the kind (opened sources)
}

// kind returns the index of table t's event kind ('nexmark.table', else
// its name), or -1 for a table that is not a Nexmark event kind.
func (sc *sourceCounter) kind(t connectors.Table) int {
	kind := cmp.Or(t.Options["nexmark.table"], t.Name)
	for i, k := range nexmarkKinds() {
		if strings.EqualFold(kind, k) {
			return i
		}
	}
	return -1
}

// events estimates how many of total events every scan has read: the
// least advanced kind's rows per scan, scaled by its share of the event
// mix (a query that scans bid twice counts each bid once).
func (sc *sourceCounter) events(total int64) int64 {
	n, any := total, false
	for i := range sc.rows {
		scans := sc.opened[i].Load() / max(sc.parallelism, 1)
		if scans == 0 {
			continue
		}
		any = true
		n = min(n, sc.rows[i].Load()/scans*nexmarkShareTotal/nexmarkShare(i))
	}
	if !any {
		return 0
	}
	return n
}

// rowsRead is the number of rows every source produced.
func (sc *sourceCounter) rowsRead() int64 {
	var n int64
	for i := range sc.rows {
		n += sc.rows[i].Load()
	}
	return n
}

// processCPU is the process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingFactory wraps the source connector so that its sources count
// the rows they produce.
type countingFactory struct {
	connectors.Factory
	counter *sourceCounter
}

// FlattenedRowColumns passes on whether the wrapped connector reads ROW
// columns (planner.RowColumnsFactory): Flink's nexmark table has them.
func (f countingFactory) FlattenedRowColumns() bool {
	rf, ok := f.Factory.(interface{ FlattenedRowColumns() bool })
	return ok && rf.FlattenedRowColumns()
}

// FilterEquals passes on the wrapped connector's filter pushdown
// (planner.EqualityFilterFactory), so that the views of Flink's nexmark
// table generate their kind only, as without the wrapper.
func (f countingFactory) FilterEquals(t connectors.Table, column string, value int64) (map[string]string, bool) {
	ef, ok := f.Factory.(interface {
		FilterEquals(connectors.Table, string, int64) (map[string]string, bool)
	})
	if !ok {
		return nil, false
	}
	return ef.FilterEquals(t, column, value)
}

func (f countingFactory) NewSource(t connectors.Table) (connectors.Source, error) {
	src, err := f.Factory.NewSource(t)
	if err != nil {
		return nil, err
	}
	kind := f.counter.kind(t)
	if kind < 0 {
		return src, nil
	}
	// Sources are counted when opened: the planner may create sources it
	// never runs.
	cs := &countingSource{Source: src, rows: &f.counter.rows[kind], opened: &f.counter.opened[kind]}
	if pos, ok := src.(connectors.CheckpointedSource); ok {
		return &countingCheckpointedSource{countingSource: cs, pos: pos}, nil
	}
	return cs, nil
}

type countingSource struct {
	connectors.Source
	rows, opened *atomic.Int64
}

func (s *countingSource) Open(ctx context.Context, subtask, parallelism int) error {
	if err := s.Source.Open(ctx, subtask, parallelism); err != nil {
		return err
	}
	s.opened.Add(1)
	return nil
}

func (s *countingSource) Next(ctx context.Context) (batch.Batch, error) {
	b, err := s.Source.Next(ctx)
	if err == nil {
		s.rows.Add(int64(b.Len()))
	}
	return b, err
}

// countingCheckpointedSource keeps the wrapped source's checkpointing.
type countingCheckpointedSource struct {
	*countingSource
	pos connectors.CheckpointedSource
}

func (s *countingCheckpointedSource) Position() ([]byte, error) { return s.pos.Position() }
func (s *countingCheckpointedSource) Seek(p []byte) error       { return s.pos.Seek(p) }

// nexmarkSource returns the 'nexmark' source connector.
func nexmarkSource() (connectors.Factory, error) {
	f, err := registry.New().Lookup("nexmark")
	if err != nil {
		return nil, fmt.Errorf("the nexmark connector is not built in: %w", err)
	}
	return f, nil
}
