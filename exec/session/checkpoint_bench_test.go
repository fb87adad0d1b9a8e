package session

// Checkpoint performance figures (issue 4). Every figure is a benchmark
// metric or a b.Log table, never an assertion: the machine is shared and
// timings vary, so compare ratios within one run. bench/checkpoint/README.md
// has the commands and the figures measured.
//
//	go test ./exec/session -run '^$' -bench 'CheckpointThroughput' -benchtime 1x -timeout 30m
//	STREAMSQL_BENCH_CHECKPOINT=1 go test ./exec/session -run '^$' \
//	    -bench 'CheckpointLargeState|CheckpointBackpressure' -benchtime 1x -timeout 60m
//
// Environment:
//
//	STREAMSQL_BENCH_SECONDS      target run time of each throughput variant (default 6)
//	STREAMSQL_BENCH_CHECKPOINT=1 runs the big benchmarks (large state + recovery, backpressure)
//	STREAMSQL_BENCH_KEYS         distinct keys of the large-state run (default 2 000 000;
//	                             the small run has a quarter of them)
//	STREAMSQL_BENCH_HOT_KEYS     keys updated after the build phase (default 10 000)
//	STREAMSQL_BENCH_UPDATE_ROWS  rows of the update phase (default 16 000 000)
//	STREAMSQL_BENCH_LARGE_OFF=0  skips the large run without checkpoints
//	STREAMSQL_BENCH_PAD          bytes of a random string kept per key (MAX), default 0:
//	                             about 1 GB of state from 4 000 000 keys with 240
//	STREAMSQL_BENCH_SINK_SLEEP_MS, STREAMSQL_BENCH_BP_PARALLELISM  backpressure knobs
//	                             (default 400 ms per sink batch, parallelism 4)

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamsql/streamsql/checkpoint"
	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
)

// ---------------------------------------------------------------------------
// Checkpoint log recorder: Options.CheckpointLogger.

// cpEvent is one line of the coordinator's checkpoint log.
type cpEvent struct {
	at        time.Time
	completed bool // else failed
	id        int64
	duration  time.Duration
	state     int64
	uploaded  int64
	inflight  int64
	reason    string
	// sum is the checkpoint's metadata as checkpoint.List reads it from
	// disk (per-task sync, async, alignment, start delay); nil for failed
	// checkpoints.
	sum *checkpoint.Summary
}

// cpRecorder collects checkpoint log lines. On "checkpoint completed" it
// reads the checkpoint's metadata from disk right away: the coordinator
// logs after writing _metadata and before the next checkpoint can start,
// so the directory is still retained (checkpoint.retained = 1) while we
// read it.
type cpRecorder struct {
	root    string // checkpoint.dir
	mu      sync.Mutex
	evs     []cpEvent
	readErr error
	changed chan struct{}
}

func newCPRecorder(root string) *cpRecorder {
	return &cpRecorder{root: root, changed: make(chan struct{}, 1)}
}

func (r *cpRecorder) logger() *slog.Logger { return slog.New(&cpHandler{rec: r}) }

func (r *cpRecorder) add(ev cpEvent) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *cpRecorder) events() []cpEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

func (r *cpRecorder) completed() []cpEvent {
	var out []cpEvent
	for _, e := range r.events() {
		if e.completed {
			out = append(out, e)
		}
	}
	return out
}

// failed returns the checkpoints that failed, leaving out the trigger a
// bounded source's end declines (no checkpoint after a source finished).
func (r *cpRecorder) failed() []cpEvent {
	var out []cpEvent
	for _, e := range r.events() {
		if !e.completed && !strings.Contains(e.reason, checkpoint.ErrTasksNotRunning.Error()) {
			out = append(out, e)
		}
	}
	return out
}

type cpHandler struct {
	rec   *cpRecorder
	attrs []slog.Attr
}

func (h *cpHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *cpHandler) WithGroup(string) slog.Handler            { return h }
func (h *cpHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &cpHandler{rec: h.rec, attrs: append(slices.Clone(h.attrs), as...)}
}

func attrInt(v slog.Value) int64 {
	switch v.Kind() {
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return int64(v.Uint64())
	case slog.KindDuration:
		return int64(v.Duration())
	}
	n, _ := strconv.ParseInt(v.String(), 10, 64)
	return n
}

func (h *cpHandler) Handle(_ context.Context, r slog.Record) error {
	var ev cpEvent
	switch r.Message {
	case "checkpoint completed":
		ev.completed = true
	case "checkpoint failed":
	default:
		return nil
	}
	ev.at = r.Time
	job := ""
	visit := func(a slog.Attr) bool {
		switch a.Key {
		case "job":
			job = a.Value.String()
		case "id":
			ev.id = attrInt(a.Value)
		case "duration":
			ev.duration = time.Duration(attrInt(a.Value))
		case "state_bytes":
			ev.state = attrInt(a.Value)
		case "uploaded_bytes":
			ev.uploaded = attrInt(a.Value)
		case "in_flight_bytes":
			ev.inflight = attrInt(a.Value)
		case "reason":
			ev.reason = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		visit(a)
	}
	r.Attrs(visit)
	if ev.completed && h.rec.root != "" {
		sums, err := checkpoint.List(filepath.Join(h.rec.root, job, "chk-"+strconv.FormatInt(ev.id, 10)))
		switch {
		case err != nil:
			h.rec.setErr(err)
		case len(sums) != 1 || sums[0].Status != checkpoint.StatusCompleted:
			h.rec.setErr(fmt.Errorf("checkpoint %d: metadata not readable: %+v", ev.id, sums))
		default:
			ev.sum = &sums[0]
		}
	}
	h.rec.add(ev)
	return nil
}

func (r *cpRecorder) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.readErr == nil {
		r.readErr = err
	}
}

// taskMax is the largest figure over a checkpoint's tasks.
func taskMax(e cpEvent, f func(checkpoint.TaskStats) time.Duration) time.Duration {
	var m time.Duration
	if e.sum != nil {
		for _, t := range e.sum.Tasks {
			m = max(m, f(t))
		}
	}
	return m
}

func syncOf(t checkpoint.TaskStats) time.Duration  { return t.Sync }
func asyncOf(t checkpoint.TaskStats) time.Duration { return t.Async }
func alignOf(t checkpoint.TaskStats) time.Duration { return t.Alignment }

// maxOver is the largest figure over checkpoints.
func maxOver(evs []cpEvent, f func(cpEvent) time.Duration) time.Duration {
	var m time.Duration
	for _, e := range evs {
		m = max(m, f(e))
	}
	return m
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mib(n int64) float64          { return float64(n) / (1 << 20) }

// logCheckpoints writes one line per checkpoint (what SHOW CHECKPOINTS
// and `streamsql checkpoints` show, from the same metadata) to stderr:
// the testing package keeps only 10 lines of a benchmark's log.
func logCheckpoints(b *testing.B, title string, evs []cpEvent) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n  %4s %10s %9s %9s %9s %9s %11s %11s %11s\n", title,
		"id", "duration", "max-sync", "max-async", "max-align", "max-delay", "state", "uploaded", "in-flight")
	for _, e := range evs {
		if !e.completed {
			fmt.Fprintf(&sb, "  %4d FAILED after %v: %s\n", e.id, e.duration.Round(time.Millisecond), e.reason)
			continue
		}
		fmt.Fprintf(&sb, "  %4d %9.1fms %7.1fms %7.1fms %7.1fms %7.1fms %9.2fMiB %9.2fMiB %9.2fMiB\n", e.id, msOf(e.duration),
			msOf(taskMax(e, syncOf)), msOf(taskMax(e, asyncOf)), msOf(taskMax(e, alignOf)),
			msOf(taskMax(e, func(t checkpoint.TaskStats) time.Duration { return t.StartDelay })),
			mib(e.state), mib(e.uploaded), mib(e.inflight))
	}
	fmt.Fprintf(os.Stderr, "--- %s: %s", b.Name(), sb.String())
}

// ---------------------------------------------------------------------------
// The probe sink: a blackhole that notes when rows arrive and, with
// 'sleep-per-batch.ms', a deliberately slow sink (backpressure).

type probeConnector struct {
	rows        atomic.Int64
	writes      atomic.Int64
	firstWrite  atomic.Int64 // Unix ns of the first non-empty batch
	firstUpdate atomic.Int64 // Unix ns of the first batch with a -U/+U row
}

const probeSleepOpt = "sleep-per-batch.ms"

func (*probeConnector) Name() string { return "probe" }

func (*probeConnector) Validate(t connectors.Table) error {
	for k, v := range t.Options {
		if k != probeSleepOpt {
			return &connectors.OptionError{Table: t.Name, Option: k, Msg: "unknown option"}
		}
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return &connectors.OptionError{Table: t.Name, Option: k, Msg: "want milliseconds ≥ 0"}
		}
	}
	return nil
}

func (*probeConnector) NewSource(t connectors.Table) (connectors.Source, error) {
	return nil, fmt.Errorf("table '%s': probe is a sink", t.Name)
}

func (p *probeConnector) NewSink(t connectors.Table) (connectors.Sink, error) {
	if err := p.Validate(t); err != nil {
		return nil, err
	}
	ms, _ := strconv.Atoi(t.Options[probeSleepOpt])
	return &probeSink{p: p, sleep: time.Duration(ms) * time.Millisecond}, nil
}

func (*probeConnector) AcceptsUpdates(connectors.Table) bool { return true }

func (p *probeConnector) at(v *atomic.Int64) time.Time {
	if n := v.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

type probeSink struct {
	p     *probeConnector
	sleep time.Duration
}

func (*probeSink) Open(context.Context, int, int) error { return nil }
func (*probeSink) Finish(context.Context) error         { return nil }
func (*probeSink) Close() error                         { return nil }

func (s *probeSink) Write(ctx context.Context, b batch.Batch) error {
	n := b.Len()
	if n == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	s.p.firstWrite.CompareAndSwap(0, now)
	if s.p.firstUpdate.Load() == 0 && slices.Contains(b.Kinds, batch.UpdateAfter) {
		s.p.firstUpdate.CompareAndSwap(0, now)
	}
	s.p.rows.Add(int64(n))
	s.p.writes.Add(1)
	if s.sleep > 0 {
		t := time.NewTimer(s.sleep)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Running a checkpointed job.

type cpRunOpts struct {
	dir     string // session Dir; jobs' state goes to dir/work
	cpDir   string // the script's checkpoint.dir ("" = no recorder reads)
	restore string
	// stopAfter cancels the job once that many checkpoints completed;
	// maxWall cancels it after that long (0 = run to its end).
	stopAfter int
	maxWall   time.Duration
}

type cpRun struct {
	stats      exec.Stats
	rec        *cpRecorder
	probe      *probeConnector
	start, end time.Time
	stopped    bool // cancelled by stopAfter/maxWall
}

func runCheckpointJob(b *testing.B, script string, o cpRunOpts) cpRun {
	b.Helper()
	r := cpRun{rec: newCPRecorder(o.cpDir), probe: &probeConnector{}}
	s, err := New(Options{DMLSync: true, Dir: o.dir, WorkDir: filepath.Join(o.dir, "work"), Restore: o.restore,
		CheckpointLogger: r.rec.logger(), Connectors: []connectors.Factory{r.probe},
		OnJobFinished: func(_ string, st exec.Stats) { r.stats = st }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stopped atomic.Bool
	if o.stopAfter > 0 || o.maxWall > 0 {
		var deadline <-chan time.Time
		if o.maxWall > 0 {
			t := time.NewTimer(o.maxWall)
			defer t.Stop()
			deadline = t.C
		}
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-deadline:
					stopped.Store(true)
					cancel()
					return
				case <-r.rec.changed:
					if o.stopAfter > 0 && len(r.rec.completed()) >= o.stopAfter {
						stopped.Store(true)
						cancel()
						return
					}
				}
			}
		}()
	}
	r.start = time.Now()
	err = s.ExecuteScript(ctx, script, discardOutput{})
	r.end = time.Now()
	r.stopped = stopped.Load()
	if err != nil && !(r.stopped && errors.Is(err, context.Canceled)) {
		b.Fatal(err)
	}
	if r.rec.readErr != nil {
		b.Fatal(r.rec.readErr)
	}
	return r
}

func envInt(b *testing.B, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func needBigBench(b *testing.B) {
	if os.Getenv("STREAMSQL_BENCH_CHECKPOINT") == "" {
		b.Skip("set STREAMSQL_BENCH_CHECKPOINT=1 to run (takes minutes; see bench/checkpoint/README.md)")
	}
}

// ---------------------------------------------------------------------------
// 1. Throughput with checkpoints every second vs off.

func throughputScript(backend string, par int, rows int64, cpDir string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "SET 'state.backend' = '%s';\nSET 'parallelism.default' = '%d';\n", backend, par)
	if cpDir != "" {
		fmt.Fprintf(&sb, "SET 'checkpoint.interval.ms' = '1000';\nSET 'checkpoint.dir' = '%s';\n", cpDir)
	}
	fmt.Fprintf(&sb, `
CREATE TABLE src (k BIGINT, v BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '%d',
  'fields.k.min' = '0', 'fields.k.max' = '9999', 'fields.v.min' = '0', 'fields.v.max' = '1000');
CREATE TABLE sink (k BIGINT, c BIGINT, s BIGINT, m BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT k, COUNT(*), SUM(v), MAX(v) FROM src GROUP BY k;
`, rows)
	return sb.String()
}

// BenchmarkCheckpointThroughput is issue 4's first target: GROUP BY over
// 10 thousand keys (COUNT/SUM/MAX), datagen -> blackhole, with checkpoints
// every second vs off, per backend and parallelism. Rows are sized so each
// run lasts STREAMSQL_BENCH_SECONDS (6 s: five or six checkpoints); each
// iteration runs off, on, on, off (drift cancels) and reports rows per
// CPU-second of both and the overhead in percent (target ≤ 5).
func BenchmarkCheckpointThroughput(b *testing.B) {
	secs := envInt(b, "STREAMSQL_BENCH_SECONDS", 6)
	for _, backend := range []string{"hashmap", "rocksdb"} {
		for _, par := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/p%d", backend, par), func(b *testing.B) {
				root := b.TempDir()
				// Calibrate: rows for secs seconds at this machine's speed
				// (checkpoints off), from a run of at least a second.
				rows := int64(1_000_000)
				for attempt := 0; ; attempt++ {
					r := runCheckpointJob(b, throughputScript(backend, par, rows, ""), cpRunOpts{dir: root})
					rate := float64(r.stats.RowsIn) / r.stats.Wall.Seconds()
					if r.stats.Wall >= time.Second || attempt == 2 {
						rows = int64(rate * float64(secs) * 1.15) // short runs look faster
						break
					}
					rows = int64(rate * 1.5)
				}
				var off, on exec.Stats
				var cps []cpEvent
				var failed []cpEvent
				n := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for _, withCP := range []bool{false, true, true, false} {
						cpDir := ""
						if withCP {
							n++
							cpDir = filepath.Join(root, fmt.Sprintf("cp-%d", n))
						}
						r := runCheckpointJob(b, throughputScript(backend, par, rows, cpDir), cpRunOpts{dir: root, cpDir: cpDir})
						st := &off
						if withCP {
							st = &on
							cps = append(cps, r.rec.completed()...)
							failed = append(failed, r.rec.failed()...)
						}
						st.RowsIn += r.stats.RowsIn
						st.Wall += r.stats.Wall
						st.CPU += r.stats.CPU
					}
				}
				b.StopTimer()
				offR, onR := off.RowsPerCPUSecond(), on.RowsPerCPUSecond()
				b.ReportMetric(offR, "off-rows/cpu-s")
				b.ReportMetric(onR, "cp-rows/cpu-s")
				b.ReportMetric(100*(1-onR/offR), "overhead-%")
				b.ReportMetric(100*(1-on.RowsPerSecond()/off.RowsPerSecond()), "wall-overhead-%")
				b.ReportMetric(float64(len(cps))/float64(n), "checkpoints/run")
				b.ReportMetric(msOf(maxOver(cps, func(e cpEvent) time.Duration { return taskMax(e, syncOf) })), "max-sync-ms")
				b.ReportMetric(msOf(maxOver(cps, func(e cpEvent) time.Duration { return e.duration })), "max-cp-ms")
				b.Logf("%s p=%d: %d rows per run, %.1f s per run; off %.3g rows/cpu-s, checkpoints every 1 s %.3g rows/cpu-s "+
					"(%.1f%% lower); %d checkpoints completed, %d failed", backend, par, rows, off.Wall.Seconds()/float64(2*b.N),
					offR, onR, 100*(1-onR/offR), len(cps), len(failed))
				if len(failed) > 0 {
					logCheckpoints(b, "failed checkpoints", failed)
				}
				if len(cps) > 0 {
					logCheckpoints(b, "checkpoints of the last run", cps[max(0, len(cps)-8):])
				}
			})
		}
	}
}

// ---------------------------------------------------------------------------
// 2 + 4. Large rocksdb state: synchronous phase, incremental upload,
// recovery.

// largeStateScript builds `keys` distinct keys (ids 1..keys are the keys),
// then updates only the `hot` keys 1..hot for `updates` rows: after the
// build phase a small fraction of the state changes between checkpoints.
// pad > 0 adds MAX of a random string of that many bytes per key (big
// state from fewer keys). cpDir "" runs it without checkpoints.
func largeStateScript(keys, hot, updates, pad int64, cpDir string) string {
	cp := ""
	if cpDir != "" {
		cp = fmt.Sprintf("SET 'checkpoint.interval.ms' = '1000';\nSET 'checkpoint.dir' = '%s';\n", cpDir)
	}
	padCol, padOpt, padSink, padAgg, padSel := "", "", "", "", ""
	if pad > 0 {
		padCol, padSink, padAgg, padSel = ", p STRING", ", m STRING", ", MAX(p)", ", p"
		padOpt = fmt.Sprintf(",\n  'fields.p.length' = '%d'", pad)
	}
	return fmt.Sprintf(`
SET 'state.backend' = 'rocksdb';
SET 'state.backend.incremental' = 'true';
%sCREATE TABLE src (id BIGINT, v BIGINT%s) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%d',
  'fields.v.min' = '0', 'fields.v.max' = '1000'%s);
CREATE TABLE sink (k BIGINT, c BIGINT, s BIGINT%s) WITH ('connector' = 'probe');
INSERT INTO sink SELECT k, COUNT(*), SUM(v)%s
FROM (SELECT CASE WHEN id <= %d THEN id ELSE MOD(id, %d) + 1 END AS k, v%s FROM src) GROUP BY k;
`, cp, padCol, keys+updates, padOpt, padSink, padAgg, keys, hot, padSel)
}

// largeRun is one large-state run's figures.
type largeRun struct {
	keys, pad   int64
	stats       exec.Stats
	firstOutput time.Duration // from the job's start to the sink's first row
	build       time.Duration // until the first update row reached the sink
	all, update []cpEvent     // every checkpoint; those of the update phase
	// The synchronous phase's largest figure per checkpoint (over its
	// tasks), over all checkpoints and over the update phase.
	maxSyncAll    time.Duration
	maxSyncUpdate time.Duration
	medSyncUpdate float64 // ms
	stateBytes    int64   // of the last checkpoint
	// Bytes uploaded per update-phase checkpoint (its first one left out:
	// it still uploads the end of the build).
	medUpload, meanUpload, maxUpload float64
	cpDir, root                      string
}

func runLargeState(b *testing.B, root string, keys, hot, updates, pad int64, checkpoints bool) largeRun {
	cpDir := ""
	if checkpoints {
		cpDir = filepath.Join(root, "checkpoints")
	}
	lr := largeRun{keys: keys, pad: pad, cpDir: cpDir, root: root}
	r := runCheckpointJob(b, largeStateScript(keys, hot, updates, pad, cpDir), cpRunOpts{dir: root, cpDir: cpDir})
	lr.stats = r.stats
	lr.all = r.rec.completed()
	if f := r.rec.failed(); len(f) > 0 {
		logCheckpoints(b, "failed checkpoints", f)
	}
	upd := r.probe.at(&r.probe.firstUpdate)
	if upd.IsZero() {
		b.Fatal("the update phase never started")
	}
	lr.firstOutput = r.probe.at(&r.probe.firstWrite).Sub(r.start)
	lr.build = upd.Sub(r.start)
	var syncs, uploads []float64
	for _, e := range lr.all {
		s := taskMax(e, syncOf)
		lr.maxSyncAll = max(lr.maxSyncAll, s)
		if e.sum != nil && e.sum.TriggerTime.After(upd) {
			lr.update = append(lr.update, e)
		}
	}
	for i, e := range lr.update {
		s := taskMax(e, syncOf)
		lr.maxSyncUpdate = max(lr.maxSyncUpdate, s)
		syncs = append(syncs, msOf(s))
		if i > 0 {
			uploads = append(uploads, float64(e.uploaded))
			lr.maxUpload = max(lr.maxUpload, float64(e.uploaded))
			lr.meanUpload += float64(e.uploaded)
		}
	}
	if len(uploads) > 0 {
		lr.meanUpload /= float64(len(uploads))
	}
	lr.medSyncUpdate = median(syncs)
	lr.medUpload = median(uploads)
	if n := len(lr.all); n > 0 {
		lr.stateBytes = lr.all[n-1].state
	}
	b.Logf("%d keys, checkpoints %v: build phase %.1f s (%.0f keys/s), job %.1f s, %.3g rows/cpu-s; %d checkpoints (%d in the update phase)",
		keys, checkpoints, lr.build.Seconds(), float64(keys)/lr.build.Seconds(), r.stats.Wall.Seconds(), r.stats.RowsPerCPUSecond(),
		len(lr.all), len(lr.update))
	if checkpoints {
		logCheckpoints(b, fmt.Sprintf("%d keys, every checkpoint:", keys), lr.all)
	}
	return lr
}

// BenchmarkCheckpointLargeState is issue 4's second and fourth targets.
// One rocksdb task (parallelism 1) builds STREAMSQL_BENCH_KEYS distinct
// keys, then updates STREAMSQL_BENCH_HOT_KEYS of them, with incremental
// checkpoints every second; the same at a quarter of the keys. It reports
// the largest synchronous phase of the task at both sizes and their ratio
// (flat = it does not grow with the state), the incremental upload per
// checkpoint of the update phase against the full state, the same job
// without checkpoints (what they cost with a large state), and then the
// recovery of the large job from its latest checkpoint (Restore =
// "latest"): time until the job produces output again and until its first
// checkpoint completes.
func BenchmarkCheckpointLargeState(b *testing.B) {
	needBigBench(b)
	keys := envInt(b, "STREAMSQL_BENCH_KEYS", 2_000_000)
	hot := envInt(b, "STREAMSQL_BENCH_HOT_KEYS", 10_000)
	updates := envInt(b, "STREAMSQL_BENCH_UPDATE_ROWS", 16_000_000)
	pad := envInt(b, "STREAMSQL_BENCH_PAD", 0)
	var small, large, off largeRun
	b.Run(fmt.Sprintf("keys=%d", keys/4), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			small = runLargeState(b, b.TempDir(), keys/4, hot, updates, pad, true)
		}
		reportLarge(b, small)
	})
	root := b.TempDir() // kept for the recovery run
	b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			large = runLargeState(b, filepath.Join(root, fmt.Sprintf("run-%d", i)), keys, hot, updates, pad, true)
		}
		reportLarge(b, large)
	})
	b.Run(fmt.Sprintf("keys=%d/checkpoints-off", keys), func(b *testing.B) {
		if os.Getenv("STREAMSQL_BENCH_LARGE_OFF") == "0" {
			b.Skip("STREAMSQL_BENCH_LARGE_OFF=0")
		}
		for i := 0; i < b.N; i++ {
			off = runLargeState(b, b.TempDir(), keys, hot, updates, pad, false)
		}
		b.ReportMetric(off.stats.RowsPerCPUSecond(), "rows/cpu-s")
		b.ReportMetric(float64(keys)/off.build.Seconds(), "build-keys/s")
	})
	if large.keys == 0 || small.keys == 0 {
		return
	}
	b.Logf("max sync per task, update phase: %.1f ms at %d keys (%.1f MiB), %.1f ms at %d keys (%.1f MiB): ratio %.2f for %.1fx the state "+
		"(medians %.1f vs %.1f ms); over all checkpoints (build included): %.1f ms vs %.1f ms",
		msOf(small.maxSyncUpdate), small.keys, mib(small.stateBytes), msOf(large.maxSyncUpdate), large.keys, mib(large.stateBytes),
		float64(large.maxSyncUpdate)/float64(small.maxSyncUpdate), float64(large.stateBytes)/float64(small.stateBytes),
		small.medSyncUpdate, large.medSyncUpdate, msOf(small.maxSyncAll), msOf(large.maxSyncAll))
	if off.keys != 0 {
		b.Logf("%d keys without checkpoints: %.3g rows/cpu-s, build %.0f keys/s; with checkpoints every 1 s: %.3g rows/cpu-s (%.1f%% lower), build %.0f keys/s",
			keys, off.stats.RowsPerCPUSecond(), float64(keys)/off.build.Seconds(), large.stats.RowsPerCPUSecond(),
			100*(1-large.stats.RowsPerCPUSecond()/off.stats.RowsPerCPUSecond()), float64(keys)/large.build.Seconds())
	}
	b.Run("recovery", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			recoverLarge(b, large, hot, updates)
		}
	})
}

func reportLarge(b *testing.B, lr largeRun) {
	b.ReportMetric(mib(lr.stateBytes), "state-MiB")
	b.ReportMetric(msOf(lr.maxSyncUpdate), "max-sync-ms")
	b.ReportMetric(lr.medSyncUpdate, "median-sync-ms")
	b.ReportMetric(msOf(lr.maxSyncAll), "max-sync-build-ms")
	b.ReportMetric(lr.medUpload/(1<<20), "median-upload-MiB")
	b.ReportMetric(lr.meanUpload/(1<<20), "mean-upload-MiB")
	if lr.stateBytes > 0 {
		b.ReportMetric(100*lr.meanUpload/float64(lr.stateBytes), "mean-upload-%-of-state")
	}
	b.ReportMetric(lr.stats.RowsPerCPUSecond(), "rows/cpu-s")
	b.ReportMetric(float64(lr.keys)/lr.build.Seconds(), "build-keys/s")
}

// recoverLarge restarts the large job from its latest checkpoint, with
// the source extended by a few seconds of updates so the restored job
// takes checkpoints again.
func recoverLarge(b *testing.B, lr largeRun, hot, updates int64) {
	// The job's directory is named after the job.
	var meta *checkpoint.Metadata
	ents, err := os.ReadDir(lr.cpDir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		if meta, err = checkpoint.LoadLatest(lr.cpDir, e.Name(), nil); err == nil {
			break
		}
	}
	if meta == nil {
		b.Fatalf("no checkpoint to restore under %s: %v", lr.cpDir, err)
	}
	verifyStart := time.Now()
	if err := meta.Verify(); err != nil {
		b.Fatal(err)
	}
	verify := time.Since(verifyStart)
	restored := meta.TotalStateBytes()
	script := largeStateScript(lr.keys, hot, updates+updates/2, lr.pad, lr.cpDir)
	r := runCheckpointJob(b, script, cpRunOpts{dir: lr.root, cpDir: lr.cpDir, restore: "latest"})
	first := r.probe.at(&r.probe.firstWrite)
	if first.IsZero() {
		b.Fatal("the restored job wrote nothing")
	}
	running := first.Sub(r.start)
	cps := r.rec.completed()
	if len(cps) == 0 {
		b.Fatal("the restored job took no checkpoint")
	}
	firstCP := cps[0]
	var later []float64
	for _, e := range cps[1:] {
		later = append(later, float64(e.uploaded))
	}
	b.ReportMetric(mib(restored), "restored-MiB")
	b.ReportMetric(msOf(running), "to-first-output-ms")
	b.ReportMetric(msOf(lr.firstOutput), "fresh-to-first-output-ms")
	b.ReportMetric(msOf(verify), "verify-ms")
	b.ReportMetric(msOf(firstCP.at.Sub(r.start)), "to-first-cp-ms")
	b.ReportMetric(msOf(firstCP.duration), "first-cp-ms")
	b.ReportMetric(mib(firstCP.uploaded), "first-cp-upload-MiB")
	b.ReportMetric(median(later)/(1<<20), "later-cp-median-upload-MiB")
	b.Logf("recovery from checkpoint %d (%.1f MiB of state, %d keys): first output %.0f ms after the session started the job "+
		"(a fresh start: %.0f ms); checksums of the checkpoint's files %.0f ms (measured apart, part of --restore latest); "+
		"first checkpoint completed after %.0f ms (took %.0f ms, uploaded %.1f MiB; later ones %.1f MiB median); job end after %.1f s",
		meta.ID, mib(restored), lr.keys, msOf(running), msOf(lr.firstOutput), msOf(verify), msOf(firstCP.at.Sub(r.start)),
		msOf(firstCP.duration), mib(firstCP.uploaded), median(later)/(1<<20), r.end.Sub(r.start).Seconds())
	logCheckpoints(b, "checkpoints after the restore:", cps)
}

// ---------------------------------------------------------------------------
// 3. Backpressure: aligned vs unaligned checkpoints.

func backpressureScript(par int, sleepMS int, mode, cpDir string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `
SET 'parallelism.default' = '%d';
SET 'table.exec.mini-batch.size' = '1000';
SET 'table.exec.mini-batch.allow-latency' = '0 ms';
SET 'checkpoint.interval.ms' = '1000';
SET 'checkpoint.dir' = '%s';
`, par, cpDir)
	switch mode {
	case "aligned":
		sb.WriteString("SET 'checkpoint.unaligned' = 'false';\n")
	case "unaligned":
		sb.WriteString("SET 'checkpoint.unaligned' = 'true';\n")
	case "alignment-timeout-1s":
		sb.WriteString("SET 'checkpoint.unaligned' = 'true';\nSET 'checkpoint.alignment-timeout.ms' = '1000';\n")
	}
	fmt.Fprintf(&sb, `
CREATE TABLE src (k BIGINT, v BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000',
  'fields.k.min' = '0', 'fields.k.max' = '9999', 'fields.v.min' = '0', 'fields.v.max' = '1000');
CREATE TABLE sink (k BIGINT, c BIGINT, s BIGINT) WITH ('connector' = 'probe', '%s' = '%d');
INSERT INTO sink SELECT k, COUNT(*), SUM(v) FROM src GROUP BY k;
`, probeSleepOpt, sleepMS)
	return sb.String()
}

// BenchmarkCheckpointBackpressure is issue 4's third target: an unbounded
// datagen feeds a keyed exchange into GROUP BY whose chained sink sleeps
// STREAMSQL_BENCH_SINK_SLEEP_MS per batch (mini-batches of 1000 rows, about
// one per exchanged batch of 4096/parallelism rows), so every channel holds
// its 8 batches and each aggregate subtask has parallelism × 8 batches
// queued ahead of a barrier. It reports checkpoint durations with aligned
// barriers (which wait behind that backlog), unaligned ones (which overtake
// it and store it) and unaligned after a 1 s alignment timeout.
func BenchmarkCheckpointBackpressure(b *testing.B) {
	needBigBench(b)
	par := int(envInt(b, "STREAMSQL_BENCH_BP_PARALLELISM", 4))
	sleep := int(envInt(b, "STREAMSQL_BENCH_SINK_SLEEP_MS", 400))
	for _, mode := range []string{"aligned", "unaligned", "alignment-timeout-1s"} {
		b.Run(mode, func(b *testing.B) {
			stopAfter, maxWall := 6, 60*time.Second
			if mode == "aligned" {
				stopAfter, maxWall = 3, 150*time.Second
			}
			var cps []cpEvent
			var rowsPerS float64
			for i := 0; i < b.N; i++ {
				root := b.TempDir()
				cpDir := filepath.Join(root, "checkpoints")
				r := runCheckpointJob(b, backpressureScript(par, sleep, mode, cpDir),
					cpRunOpts{dir: root, cpDir: cpDir, stopAfter: stopAfter, maxWall: maxWall})
				c := r.rec.completed()
				cps = append(cps, c...)
				rowsPerS = float64(r.probe.rows.Load()) / r.end.Sub(r.start).Seconds()
				logCheckpoints(b, fmt.Sprintf("%s, parallelism %d, sink sleeping %d ms per batch (%d sink batches, %.0f rows/s out):",
					mode, par, sleep, r.probe.writes.Load(), rowsPerS), r.rec.events())
			}
			if len(cps) == 0 {
				b.Fatal("no checkpoint completed")
			}
			var durs []float64
			for _, e := range cps {
				durs = append(durs, msOf(e.duration))
			}
			b.ReportMetric(median(durs), "median-cp-ms")
			b.ReportMetric(msOf(maxOver(cps, func(e cpEvent) time.Duration { return e.duration })), "max-cp-ms")
			b.ReportMetric(msOf(maxOver(cps, func(e cpEvent) time.Duration { return taskMax(e, alignOf) })), "max-align-ms")
			b.ReportMetric(msOf(maxOver(cps, func(e cpEvent) time.Duration { return taskMax(e, syncOf) })), "max-sync-ms")
			var infl []float64
			for _, e := range cps {
				infl = append(infl, float64(e.inflight))
			}
			b.ReportMetric(median(infl)/(1<<20), "median-in-flight-MiB")
		})
	}
}

// TestCheckpointBenchSQL keeps bench/checkpoint/*.sql, the `streamsql run`
// versions of these benchmarks, plannable (it runs no job).
func TestCheckpointBenchSQL(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "bench", "checkpoint", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("bench/checkpoint not found")
	}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		out := &msgOutput{}
		if err := s.Explain(context.Background(), string(text), out); err != nil {
			t.Errorf("%s: %v", f, err)
		} else if plan := strings.Join(out.msgs, "\n"); !strings.Contains(plan, "GroupAggregate(groupBy=[k]") ||
			!strings.Contains(plan, "checkpoint.interval.ms = 1000  (SET)") {
			t.Errorf("%s: not a checkpointed GROUP BY k:\n%s", f, plan)
		}
		s.Close()
	}
}
