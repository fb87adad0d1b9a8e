package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeJob stands for the runtime: Trigger makes every task write its
// state and acknowledge from its own goroutine.
type fakeJob struct {
	t     *testing.T
	st    *Storage
	db    string // a local DB directory every task adds (shared SSTs)
	tasks []TaskID
	coord *Coordinator

	// outcome decides, per trigger (0-based), what the tasks do.
	outcome func(n int, b Barrier) outcome
	// release holds back held acknowledgements until closed.
	release chan struct{}

	mu        sync.Mutex
	triggers  []Barrier
	notified  []int64
	aborted   map[int64]error
	maxInProg int // most periodic checkpoints in progress seen at a trigger
	wg        sync.WaitGroup
}

type outcome int

const (
	ack outcome = iota
	hold
	decline
	notRunning // decline: a task is not running
	silent     // write files, never acknowledge
)

func newFakeJob(t *testing.T, parallelism int) *fakeJob {
	t.Helper()
	st, err := OpenStorage(t.TempDir(), "job", nil)
	if err != nil {
		t.Fatal(err)
	}
	j := &fakeJob{t: t, st: st, db: filepath.Join(t.TempDir(), "db"), aborted: map[int64]error{}, release: make(chan struct{})}
	writeDB(t, j.db, map[string]string{"1.sst": "sst", "OPTIONS": "o"})
	j.tasks = append(j.tasks, TaskID{Vertex: 0, Subtask: 0, Name: "Source"})
	for s := range parallelism {
		j.tasks = append(j.tasks, TaskID{Vertex: 1, Subtask: s, Name: "GroupAgg"})
	}
	j.outcome = func(int, Barrier) outcome { return ack }
	t.Cleanup(j.wg.Wait)
	return j
}

func (j *fakeJob) start(cfg Config, logger *slog.Logger) *Coordinator {
	j.coord = NewCoordinator(cfg, j.st, Hooks{
		Tasks:    j.tasks,
		Trigger:  j.trigger,
		Notify:   func(id int64) { j.mu.Lock(); j.notified = append(j.notified, id); j.mu.Unlock() },
		Aborted:  func(id int64, reason error) { j.mu.Lock(); j.aborted[id] = reason; j.mu.Unlock() },
		Settings: map[string]string{"checkpoint.interval": cfg.Interval.String()},
	}, logger)
	return j.coord
}

func (j *fakeJob) trigger(b Barrier) error {
	inProgress := 0
	for _, s := range j.coord.History() {
		if s.Status == StatusInProgress && !s.Savepoint {
			inProgress++
		}
	}
	j.mu.Lock()
	n := len(j.triggers)
	j.triggers = append(j.triggers, b)
	j.maxInProg = max(j.maxInProg, inProgress)
	j.mu.Unlock()
	what := j.outcome(n, b)
	for _, task := range j.tasks {
		j.wg.Go(func() { j.runTask(b, task, what) })
	}
	return nil
}

// runTask is one task's asynchronous phase.
func (j *fakeJob) runTask(b Barrier, task TaskID, what outcome) {
	switch what {
	case decline:
		j.coord.Decline(b.ID, task, errors.New("source finished"))
		return
	case notRunning:
		j.coord.Decline(b.ID, task, fmt.Errorf("source finished: %w", ErrTasksNotRunning))
		return
	}
	opID := fmt.Sprintf("op%d", task.Vertex)
	w := j.st.Writer(b.ID, b.Savepoint, opID, task.Subtask)
	var err error
	if f, ferr := w.Create("state"); ferr == nil {
		fmt.Fprintf(f, "state of %v at %d", task, b.ID)
		err = f.Close()
	} else {
		err = ferr
	}
	if err == nil {
		err = w.AddDir(j.db, fmt.Sprintf("v%d-s%d-", task.Vertex, task.Subtask))
	}
	if err != nil {
		// The checkpoint was aborted under our feet: the runtime declines.
		j.coord.Decline(b.ID, task, err)
		return
	}
	switch what {
	case silent:
		return
	case hold:
		<-j.release
	}
	j.coord.Acknowledge(b.ID, task, TaskAck{
		Operators: []AckedOperator{{ID: opID, Name: task.Name, Parallelism: j.parallelism(task.Vertex), MaxParallelism: 128,
			Subtask: task.Subtask, KeyGroupStart: task.Subtask, KeyGroupEnd: task.Subtask + 1, Files: w.Files()}},
		Stats: TaskStats{Sync: time.Microsecond, StateBytes: w.FullBytes(), UploadedBytes: w.UploadedBytes()},
	})
}

func (j *fakeJob) parallelism(vertex int) int {
	n := 0
	for _, t := range j.tasks {
		if t.Vertex == vertex {
			n++
		}
	}
	return n
}

func (j *fakeJob) snapshot() (triggers []Barrier, notified []int64, aborted map[int64]error, maxInProg int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	aborted = map[int64]error{}
	for k, v := range j.aborted {
		aborted[k] = v
	}
	return slices.Clone(j.triggers), slices.Clone(j.notified), aborted, j.maxInProg
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// runCoordinator runs c.Run until the returned stop is called, which
// returns Run's error.
func runCoordinator(c *Coordinator) (stop func() error, done <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	return func() error { cancel(); return <-errc }, errc
}

func testConfig() Config {
	return Config{Interval: time.Millisecond, Timeout: time.Minute, MaxConcurrent: 1, TolerableFailures: 0, Retained: 2}
}

func TestCoordinatorCompletesInOrder(t *testing.T) {
	j := newFakeJob(t, 3)
	var logs bytes.Buffer
	c := j.start(testConfig(), slog.New(slog.NewTextHandler(&logs, nil)))
	stop, _ := runCoordinator(c)
	waitFor(t, "5 completed checkpoints", func() bool { _, n, _, _ := j.snapshot(); return len(n) >= 5 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	triggers, notified, aborted, _ := j.snapshot()
	if !slices.IsSorted(notified) || len(slices.Compact(slices.Clone(notified))) != len(notified) {
		t.Fatalf("notifications %v not once each, in order", notified)
	}
	for i, b := range triggers {
		if b.ID != int64(i+1) || b.Savepoint || b.Unaligned {
			t.Fatalf("trigger %d: %+v", i, b)
		}
	}
	// Every trigger was completed, or aborted when Run stopped.
	for _, b := range triggers {
		if _, ok := aborted[b.ID]; !ok && !slices.Contains(notified, b.ID) {
			t.Fatalf("checkpoint %d neither completed nor aborted", b.ID)
		}
	}
	last := notified[len(notified)-1]
	if c.LatestCompleted() != last {
		t.Fatalf("LatestCompleted = %d, last notified %d", c.LatestCompleted(), last)
	}
	m, err := j.st.Latest()
	if err != nil || m.ID != last {
		t.Fatalf("storage latest = %v, %v; want %d", m, err, last)
	}
	agg := m.Operator("op1")
	if agg == nil || len(agg.Subtasks) != 3 || len(m.Stats) != 4 || m.Settings["checkpoint.interval"] != "1ms" {
		t.Fatalf("metadata %+v", m)
	}
	if got := j.st.Completed(); len(got) != 2 {
		t.Fatalf("retained %v, want 2 checkpoints", got)
	}
	for _, s := range c.History() {
		if slices.Contains(notified, s.ID) && (s.Status != StatusCompleted || s.Acknowledged != 4 || s.StateBytes == 0) {
			t.Fatalf("history entry %+v", s)
		}
	}
	if !strings.Contains(logs.String(), "checkpoint completed") || !strings.Contains(logs.String(), "uploaded_bytes=") {
		t.Fatalf("no completion log:\n%s", logs.String())
	}
}

func TestCoordinatorRespectsMaxConcurrent(t *testing.T) {
	j := newFakeJob(t, 2)
	j.outcome = func(n int, b Barrier) outcome {
		if n < 10 {
			return hold
		}
		return ack
	}
	cfg := testConfig()
	cfg.MaxConcurrent = 2
	c := j.start(cfg, nil)
	stop, _ := runCoordinator(c)
	waitFor(t, "2 triggers", func() bool { tr, _, _, _ := j.snapshot(); return len(tr) >= 2 })
	time.Sleep(30 * time.Millisecond) // many intervals: none may trigger
	if tr, _, _, _ := j.snapshot(); len(tr) != 2 {
		t.Fatalf("%d checkpoints triggered with 2 in flight and max-concurrent 2", len(tr))
	}
	close(j.release)
	waitFor(t, "completions after release", func() bool { _, n, _, _ := j.snapshot(); return len(n) >= 5 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	_, notified, aborted, maxInProg := j.snapshot()
	if maxInProg > 2 {
		t.Fatalf("%d periodic checkpoints in progress at once", maxInProg)
	}
	if !slices.IsSorted(notified) {
		t.Fatalf("notified out of order: %v", notified)
	}
	// A checkpoint overtaken by a newer completed one is subsumed, which
	// is not a failure.
	for id, reason := range aborted {
		if !errors.Is(reason, errSubsumed) && !strings.Contains(reason.Error(), "stopped") {
			t.Fatalf("checkpoint %d aborted: %v", id, reason)
		}
	}
}

func TestCoordinatorRespectsMinPause(t *testing.T) {
	j := newFakeJob(t, 1)
	cfg := testConfig()
	cfg.MinPause = time.Hour
	cfg.MaxConcurrent = 4 // min pause allows only one at a time anyway
	c := j.start(cfg, nil)
	stop, _ := runCoordinator(c)
	waitFor(t, "the first checkpoint", func() bool { _, n, _, _ := j.snapshot(); return len(n) == 1 })
	time.Sleep(30 * time.Millisecond) // many intervals, far less than the pause
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if tr, _, _, _ := j.snapshot(); len(tr) != 1 {
		t.Fatalf("%d checkpoints triggered within the min pause", len(tr))
	}
}

func TestCoordinatorTimeoutAbortsAndDeletes(t *testing.T) {
	j := newFakeJob(t, 2)
	j.outcome = func(int, Barrier) outcome { return silent }
	cfg := testConfig()
	cfg.Timeout = 20 * time.Millisecond
	c := j.start(cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := c.Run(ctx)
	if !errors.Is(err, ErrTooManyFailures) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run = %v, want too many failures wrapping the timeout", err)
	}
	j.wg.Wait()
	_, notified, aborted, _ := j.snapshot()
	if len(notified) != 0 || !errors.Is(aborted[1], ErrTimeout) {
		t.Fatalf("notified %v, aborted %v", notified, aborted)
	}
	// The tasks wrote their files before the timeout; abort removed them
	// (a task finishing later is refused by the storage).
	if exists(j.st.chkDir(1)) {
		t.Fatal("files of the expired checkpoint remain")
	}
	if got := sharedFiles(t, j.st); len(got) != 0 {
		t.Fatalf("shared files of the expired checkpoint remain: %v", got)
	}
	// A late acknowledgement is ignored.
	c.Acknowledge(1, j.tasks[0], TaskAck{})
	if c.LatestCompleted() != 0 {
		t.Fatal("late acknowledgement completed an expired checkpoint")
	}
	h := c.History()
	if len(h) != 1 || h[0].Status != StatusFailed || !strings.Contains(h[0].Failure, "expired") {
		t.Fatalf("history %+v", h)
	}
}

func TestCoordinatorTolerableFailures(t *testing.T) {
	j := newFakeJob(t, 1)
	j.outcome = func(int, Barrier) outcome { return decline }
	cfg := testConfig()
	cfg.TolerableFailures = 2
	c := j.start(cfg, nil)
	err := c.Run(context.Background())
	if !errors.Is(err, ErrTooManyFailures) || !strings.Contains(err.Error(), "source finished") {
		t.Fatalf("Run = %v", err)
	}
	j.wg.Wait()
	if tr, _, ab, _ := j.snapshot(); len(tr) != 3 || len(ab) != 3 {
		t.Fatalf("%d triggers, %d aborted; want the job to fail at the third decline in a row", len(tr), len(ab))
	}
}

func TestCoordinatorSuccessResetsFailureCount(t *testing.T) {
	j := newFakeJob(t, 1)
	// decline, decline, ack, repeated: never 3 failures in a row; then
	// only declines.
	j.outcome = func(n int, _ Barrier) outcome {
		if n < 9 && n%3 == 2 {
			return ack
		}
		return decline
	}
	cfg := testConfig()
	cfg.TolerableFailures = 2
	c := j.start(cfg, nil)
	err := c.Run(context.Background())
	if !errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("Run = %v", err)
	}
	j.wg.Wait()
	tr, notified, _, _ := j.snapshot()
	if len(tr) != 12 || !slices.Equal(notified, []int64{3, 6, 9}) {
		t.Fatalf("%d triggers, completed %v; want 12 triggers (3 successes, then 3 declines)", len(tr), notified)
	}
}

func TestCoordinatorTasksNotRunningIsNoFailure(t *testing.T) {
	j := newFakeJob(t, 1)
	j.outcome = func(int, Barrier) outcome { return notRunning }
	c := j.start(testConfig(), nil) // tolerable failures: 0
	stop, done := runCoordinator(c)
	waitFor(t, "5 declined checkpoints", func() bool { _, _, ab, _ := j.snapshot(); return len(ab) >= 5 })
	select {
	case err := <-done:
		t.Fatalf("Run ended: %v", err)
	default:
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestCoordinatorSavepointWhilePeriodicRun(t *testing.T) {
	j := newFakeJob(t, 2)
	// Periodic checkpoints hang (max-concurrent is reached), which must
	// not hold up a savepoint.
	j.outcome = func(n int, b Barrier) outcome {
		if b.Savepoint || n > 0 {
			return ack
		}
		return hold
	}
	cfg := testConfig()
	cfg.Incremental = true
	c := j.start(cfg, nil)
	stop, _ := runCoordinator(c)
	waitFor(t, "a periodic checkpoint", func() bool { tr, _, _, _ := j.snapshot(); return len(tr) >= 1 })
	root := filepath.Join(t.TempDir(), "savepoints")
	path, err := c.TriggerSavepoint(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != root || !strings.HasPrefix(filepath.Base(path), "sp-2-") {
		t.Fatalf("savepoint path %s", path)
	}
	close(j.release)
	waitFor(t, "periodic checkpoints after the savepoint", func() bool { _, n, _, _ := j.snapshot(); return len(n) >= 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Savepoint || m.ID != 2 || len(m.Operator("op1").Subtasks) != 2 {
		t.Fatalf("savepoint metadata %+v", m)
	}
	for _, f := range m.Files() {
		if f.Shared {
			t.Fatalf("savepoint references shared %s", f.Path)
		}
	}
	_, notified, _, _ := j.snapshot()
	if !slices.Contains(notified, 2) {
		t.Fatalf("savepoint completion not notified: %v", notified)
	}
	if c.LatestCompleted() == 2 {
		t.Fatal("a savepoint counted as the latest checkpoint")
	}
	// Dropping checkpoints never touches the savepoint.
	if _, err := Load(path); err != nil {
		t.Fatalf("savepoint damaged: %v", err)
	}
}

func TestCoordinatorSavepointFailureAndCancel(t *testing.T) {
	j := newFakeJob(t, 1)
	j.outcome = func(int, Barrier) outcome { return decline }
	c := j.start(testConfig(), nil) // not running: savepoints work anyway
	root := t.TempDir()
	if _, err := c.TriggerSavepoint(context.Background(), root); err == nil || !strings.Contains(err.Error(), "source finished") {
		t.Fatalf("declined savepoint: %v", err)
	}
	j.outcome = func(int, Barrier) outcome { return silent }
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFor(t, "the second savepoint's trigger", func() bool { tr, _, _, _ := j.snapshot(); return len(tr) == 2 })
		cancel()
	}()
	if _, err := c.TriggerSavepoint(ctx, root); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled savepoint: %v", err)
	}
	j.wg.Wait()
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Fatalf("failed savepoints left %d directories", len(ents))
	}
	// Savepoint failures do not count towards failing the job.
	c.mu.Lock()
	failures := c.failures
	c.mu.Unlock()
	if failures != 0 {
		t.Fatalf("%d failures counted for savepoints", failures)
	}
}

func TestCoordinatorIDsContinue(t *testing.T) {
	j := newFakeJob(t, 1)
	c := j.start(testConfig(), nil)
	path, err := c.TriggerSavepoint(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(filepath.Base(path), "sp-1-") || c.LastID() != 1 {
		t.Fatalf("first id: %s, LastID %d", path, c.LastID())
	}
	// A new coordinator on the same storage does not reuse ids; SetNextID
	// moves forward only.
	c2 := j.start(testConfig(), nil)
	c2.SetNextID(7)
	c2.SetNextID(3)
	stop, _ := runCoordinator(c2)
	waitFor(t, "a checkpoint", func() bool { return c2.LatestCompleted() > 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := c2.History()[0].ID; got != 7 {
		t.Fatalf("first id after SetNextID(7) = %d", got)
	}
}

func TestCoordinatorIgnoresStrayAcknowledgements(t *testing.T) {
	j := newFakeJob(t, 2)
	j.outcome = func(int, Barrier) outcome { return hold }
	c := j.start(testConfig(), nil)
	stop, _ := runCoordinator(c)
	waitFor(t, "a trigger", func() bool { tr, _, _, _ := j.snapshot(); return len(tr) == 1 })
	// An unknown task and a duplicate do not complete it early.
	c.Acknowledge(1, TaskID{Vertex: 9, Subtask: 0, Name: "ghost"}, TaskAck{})
	c.Acknowledge(1, j.tasks[0], TaskAck{})
	c.Acknowledge(1, j.tasks[0], TaskAck{})
	c.Acknowledge(99, j.tasks[0], TaskAck{}) // never triggered
	if c.LatestCompleted() != 0 {
		t.Fatal("completed without every task")
	}
	close(j.release)
	waitFor(t, "completion", func() bool { return c.LatestCompleted() >= 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestCoordinatorHistoryIsBounded(t *testing.T) {
	c := NewCoordinator(testConfig(), nil, Hooks{}, nil)
	c.mu.Lock()
	c.addHistory(&Summary{ID: 1, Status: StatusInProgress})
	for id := int64(2); id <= historySize+10; id++ {
		c.addHistory(&Summary{ID: id, Status: StatusFailed})
	}
	c.mu.Unlock()
	h := c.History()
	if len(h) != historySize+1 || h[0].ID != 1 || h[1].ID != 11 || h[len(h)-1].ID != historySize+10 {
		t.Fatalf("history of %d: first %d, %d, last %d", len(h), h[0].ID, h[1].ID, h[len(h)-1].ID)
	}
}
