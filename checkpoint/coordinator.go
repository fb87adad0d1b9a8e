package checkpoint

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// TaskID names one task (vertex subtask) of the job.
type TaskID struct {
	Vertex  int
	Subtask int
	Name    string
}

func (t TaskID) String() string { return fmt.Sprintf("%s (subtask %d)", t.Name, t.Subtask) }

type taskKey struct{ vertex, subtask int }

func (t TaskID) key() taskKey { return taskKey{t.Vertex, t.Subtask} }

// Barrier is what a trigger injects at the sources.
type Barrier struct {
	ID int64
	// Timestamp is the trigger time (Unix ms).
	Timestamp int64
	Savepoint bool
	// Unaligned barriers may overtake data (exactly-once checkpoints with
	// unaligned checkpoints on; never savepoints).
	Unaligned bool
}

// AckedOperator is one operator subtask's snapshot in an acknowledgement.
type AckedOperator struct {
	ID                         string
	Name                       string
	Parallelism                int
	MaxParallelism             int
	Subtask                    int
	KeyGroupStart, KeyGroupEnd int
	Files                      []FileRef
}

// TaskAck is a task's acknowledgement: its snapshots, in-flight data and
// figures.
type TaskAck struct {
	Operators []AckedOperator
	Channels  []ChannelState
	Stats     TaskStats
	// Finished: the task had consumed all its input and sent all its output
	// before this checkpoint's barrier could reach it (FLIP-147). It is
	// restored as finished; Operators holds only what must outlive it (a
	// two-phase-commit sink's staged output). FinishedID names the task
	// stably across restarts.
	Finished            bool
	FinishedID          string
	FinishedParallelism int
}

// Hooks connect the coordinator to the running job. Trigger, Notify and
// Aborted must not block (they post to the tasks' mailboxes) and may be
// called from any goroutine, never with a coordinator lock held.
type Hooks struct {
	// Tasks must all acknowledge a checkpoint.
	Tasks []TaskID
	// Trigger injects b at every source task; an error declines the
	// checkpoint (a source has finished, say).
	Trigger func(b Barrier) error
	// Notify tells every task that checkpoint id is complete (two-phase
	// commit sinks commit). Calls come in completion order.
	Notify func(id int64)
	// Aborted tells the tasks to drop what they hold for id.
	Aborted func(id int64, reason error)
	// Settings are recorded in each checkpoint's metadata.
	Settings map[string]string
	// Now is the clock for timestamps and scheduling (nil = time.Now).
	Now func() time.Time
}

// ErrTimeout is wrapped by the failure of a checkpoint that did not
// complete within Config.Timeout.
var ErrTimeout = errors.New("checkpoint expired before completing")

// ErrTooManyFailures is wrapped by Run's error when more checkpoints failed
// in a row than tolerated.
var ErrTooManyFailures = errors.New("too many checkpoint failures in a row")

// ErrTasksNotRunning, wrapped by a trigger error or a decline, says the
// checkpoint could not be taken because not every task is running (a
// bounded source finished, say). As in Flink, such a checkpoint fails
// without counting towards TolerableFailures.
var ErrTasksNotRunning = errors.New("not all tasks are running")

// errSubsumed aborts a pending checkpoint once a newer one completed; as
// in Flink, it is not a failure.
var errSubsumed = errors.New("subsumed by a newer completed checkpoint")

// historySize bounds the finished checkpoints History keeps, so a job
// checkpointing for months does not grow without end.
const historySize = 1000

// Coordinator triggers checkpoints, collects acknowledgements, completes
// them in storage and tells the tasks (DESIGN.md, "Checkpoints").
type Coordinator struct {
	cfg Config
	st  *Storage
	h   Hooks
	log *slog.Logger
	now func() time.Time

	// completeMu orders completions: metadata is stored and notifications
	// queued one checkpoint at a time.
	completeMu sync.Mutex

	mu        sync.Mutex
	nextID    int64
	lastID    int64
	pending   map[int64]*pendingCheckpoint
	history   []*Summary
	latest    int64     // latest completed checkpoint (not savepoint)
	lastEnd   time.Time // completion of the latest checkpoint (min pause)
	failures  int       // consecutive failed checkpoints
	lastErr   error
	running   bool
	notifyQ   []*pendingCheckpoint
	notifying bool
	wake      chan struct{}
}

type pendingCheckpoint struct {
	barrier   Barrier
	dir       string // savepoint directory
	start     time.Time
	waiting   map[taskKey]TaskID
	acks      []taskAck
	triggered bool // Trigger returned without error
	finishing bool // every ack is in: completion under way
	timer     *time.Timer
	sum       *Summary
	done      chan struct{} // closed when finished; err says how
	err       error
}

type taskAck struct {
	task TaskID
	ack  TaskAck
}

// NewCoordinator returns a coordinator storing into st. Checkpoint ids
// start above every id st has seen.
func NewCoordinator(cfg Config, st *Storage, h Hooks, logger *slog.Logger) *Coordinator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Coordinator{cfg: cfg, st: st, h: h, log: logger, now: h.Now, nextID: 1,
		pending: map[int64]*pendingCheckpoint{}, wake: make(chan struct{}, 1)}
	if c.now == nil {
		c.now = time.Now
	}
	if st != nil {
		st.SetRetained(cfg.Retained)
		c.nextID = st.NextID()
	}
	return c
}

// SetNextID makes checkpoint ids continue from n (after a restore). It
// never goes back below ids already used.
func (c *Coordinator) SetNextID(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID = max(c.nextID, n)
}

// LastID is the highest id this coordinator assigned (0 = none).
func (c *Coordinator) LastID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastID
}

// LatestCompleted is the id of the latest completed checkpoint of this run
// (0 = none); savepoints do not count.
func (c *Coordinator) LatestCompleted() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.latest
}

// History returns this run's checkpoints and savepoints by id: completed,
// failed (with the reason) and in progress. Only the latest finished ones
// are kept.
func (c *Coordinator) History() []Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Summary, len(c.history))
	for i, s := range c.history {
		out[i] = *s
		out[i].Tasks = slices.Clone(s.Tasks)
	}
	slices.SortFunc(out, func(a, b Summary) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (c *Coordinator) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run triggers checkpoints every Interval until ctx ends, keeping MinPause
// after the previous completion and at most MaxConcurrent in flight. It
// returns an error when more than TolerableFailures checkpoints failed in
// a row; the job must then fail. Pending checkpoints are aborted when it
// returns.
func (c *Coordinator) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errors.New("checkpoint coordinator: already running")
	}
	c.running = true
	c.mu.Unlock()
	defer c.stop(ctx)

	maxConc := max(c.cfg.MaxConcurrent, 1)
	if c.cfg.MinPause > 0 {
		// A pause after each completion leaves no room for overlap.
		maxConc = 1
	}
	next := c.now().Add(c.cfg.Interval)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	tolerable := max(c.cfg.TolerableFailures, 0)
	for ctx.Err() == nil {
		c.mu.Lock()
		if c.failures > tolerable {
			err := fmt.Errorf("%w: %d failed (tolerable: %d): %w", ErrTooManyFailures, c.failures, tolerable, c.lastErr)
			c.mu.Unlock()
			return err
		}
		wait := time.Duration(-1) // until woken
		if c.cfg.Enabled() && c.periodicInFlight() < maxConc {
			now := c.now()
			due := next
			if c.cfg.MinPause > 0 && !c.lastEnd.IsZero() {
				due = later(due, c.lastEnd.Add(c.cfg.MinPause))
			}
			if !now.Before(due) {
				next = now.Add(c.cfg.Interval)
				c.mu.Unlock()
				c.trigger(false, "")
				continue
			}
			wait = due.Sub(now)
		}
		c.mu.Unlock()
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		case <-tick:
		}
		timer.Stop()
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// periodicInFlight counts pending checkpoints that are not savepoints.
func (c *Coordinator) periodicInFlight() int {
	n := 0
	for _, p := range c.pending {
		if !p.barrier.Savepoint {
			n++
		}
	}
	return n
}

// stop aborts what is pending when Run returns and waits for completions
// already under way.
func (c *Coordinator) stop(ctx context.Context) {
	c.mu.Lock()
	c.running = false
	ps := slices.Collect(maps.Values(c.pending))
	c.mu.Unlock()
	reason := errors.New("the job stopped")
	if cause := context.Cause(ctx); cause != nil {
		reason = fmt.Errorf("the job stopped: %w", cause)
	}
	for _, p := range ps {
		// A no-op for one that is completing; either way done closes.
		c.abort(p.barrier.ID, reason, false)
		<-p.done
	}
}

// TriggerSavepoint takes a savepoint now, into a new directory below dir,
// and waits for it. Savepoints are full, self-contained and independent
// of the periodic schedule.
func (c *Coordinator) TriggerSavepoint(ctx context.Context, dir string) (string, error) {
	if dir == "" {
		return "", errors.New("savepoint: no target directory")
	}
	p := c.trigger(true, dir)
	select {
	case <-p.done:
	case <-ctx.Done():
		c.abort(p.barrier.ID, fmt.Errorf("savepoint cancelled: %w", context.Cause(ctx)), false)
		<-p.done
	}
	if p.err != nil {
		return "", fmt.Errorf("savepoint %d: %w", p.barrier.ID, p.err)
	}
	return p.dir, nil
}

// trigger starts a checkpoint (or a savepoint into root) and injects its
// barrier.
func (c *Coordinator) trigger(savepoint bool, root string) *pendingCheckpoint {
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.lastID = id
	now := c.now()
	p := &pendingCheckpoint{
		barrier: Barrier{ID: id, Timestamp: now.UnixMilli(), Savepoint: savepoint,
			Unaligned: !savepoint && c.cfg.Unaligned && c.cfg.Mode == ExactlyOnce},
		start:   now,
		waiting: map[taskKey]TaskID{},
		done:    make(chan struct{}),
	}
	for _, t := range c.h.Tasks {
		p.waiting[t.key()] = t
	}
	p.sum = &Summary{JobID: c.jobID(), ID: id, Status: StatusInProgress, Savepoint: savepoint, TriggerTime: now, Expected: len(p.waiting)}
	c.pending[id] = p
	c.addHistory(p.sum)
	c.mu.Unlock()

	var err error
	switch {
	case c.st == nil:
		err = errors.New("no checkpoint storage")
	case savepoint:
		p.dir = filepath.Join(root, fmt.Sprintf("sp-%d-%d", id, now.UnixMilli()))
		err = c.st.BeginSavepoint(id, p.dir)
	default:
		err = c.st.BeginCheckpoint(id)
	}
	if err == nil && c.h.Trigger == nil {
		err = errors.New("no trigger hook")
	}
	if err != nil {
		c.abort(id, err, true)
		return p
	}
	c.mu.Lock()
	if c.cfg.Timeout > 0 && c.pending[id] == p {
		timeout := c.cfg.Timeout
		p.timer = time.AfterFunc(timeout, func() {
			c.abort(id, fmt.Errorf("%w (timeout %v)", ErrTimeout, timeout), true)
		})
	}
	c.mu.Unlock()
	if err := c.h.Trigger(p.barrier); err != nil {
		c.abort(id, fmt.Errorf("trigger: %w", err), true)
		return p
	}
	c.mu.Lock()
	p.triggered = true
	ready := c.readyLocked(p)
	c.mu.Unlock()
	if ready {
		c.complete(p)
	}
	return p
}

func (c *Coordinator) jobID() string {
	if c.st == nil {
		return ""
	}
	return c.st.JobID()
}

// readyLocked marks p finishing when every task acknowledged.
func (c *Coordinator) readyLocked(p *pendingCheckpoint) bool {
	if !p.triggered || p.finishing || len(p.waiting) > 0 || c.pending[p.barrier.ID] != p {
		return false
	}
	p.finishing = true
	return true
}

// Acknowledge records task's acknowledgement of checkpoint id; the last
// one completes it. An acknowledgement of a checkpoint no longer pending
// is dropped with its files.
func (c *Coordinator) Acknowledge(id int64, task TaskID, ack TaskAck) {
	c.mu.Lock()
	p := c.pending[id]
	if p == nil {
		known := id <= c.lastID
		c.mu.Unlock()
		if !known {
			c.log.Warn("ignoring acknowledgement of a checkpoint never triggered", "id", id, "task", task.String())
			return
		}
		c.log.Debug("dropping acknowledgement of a checkpoint no longer pending", "id", id, "task", task.String())
		if c.st != nil {
			// A no-op for a completed checkpoint.
			if err := c.st.Abort(id); err != nil {
				c.log.Warn("removing files of a late acknowledgement", "id", id, "err", err)
			}
		}
		return
	}
	if _, ok := p.waiting[task.key()]; !ok {
		c.mu.Unlock()
		c.log.Warn("ignoring unexpected acknowledgement", "id", id, "task", task.String())
		return
	}
	delete(p.waiting, task.key())
	if ack.Stats.Vertex == "" {
		ack.Stats.Vertex = task.Name
		ack.Stats.Subtask = task.Subtask
	}
	p.acks = append(p.acks, taskAck{task: task, ack: ack})
	p.sum.Acknowledged++
	ready := c.readyLocked(p)
	c.mu.Unlock()
	if ready {
		c.complete(p)
	}
}

// Waiting returns the pending checkpoints still waiting for task's
// acknowledgement, in id order: a task that finishes acknowledges those its
// barrier can no longer reach.
func (c *Coordinator) Waiting(task TaskID) []Barrier {
	c.mu.Lock()
	defer c.mu.Unlock()
	var bs []Barrier
	for _, p := range c.pending {
		if _, ok := p.waiting[task.key()]; ok && !p.finishing {
			bs = append(bs, p.barrier)
		}
	}
	slices.SortFunc(bs, func(a, b Barrier) int { return cmp.Compare(a.ID, b.ID) })
	return bs
}

// Decline fails checkpoint id.
func (c *Coordinator) Decline(id int64, task TaskID, reason error) {
	c.abort(id, fmt.Errorf("declined by %s: %w", task, reason), true)
}

// complete stores p's metadata and tells the tasks.
func (c *Coordinator) complete(p *pendingCheckpoint) {
	id := p.barrier.ID
	c.completeMu.Lock()
	c.mu.Lock()
	subsumed := !p.barrier.Savepoint && id < c.latest
	c.mu.Unlock()
	if subsumed {
		c.completeMu.Unlock()
		c.end(id, errSubsumed, false, true)
		return
	}
	meta, err := c.metadata(p)
	if err == nil {
		err = c.st.Complete(meta)
	}
	if err != nil {
		c.completeMu.Unlock()
		c.end(id, fmt.Errorf("storing metadata: %w", err), true, true)
		return
	}

	c.mu.Lock()
	delete(c.pending, id)
	if p.timer != nil {
		p.timer.Stop()
	}
	end := c.now()
	if !p.barrier.Savepoint {
		c.latest = id
		c.lastEnd = end
		c.failures = 0
	}
	s := summaryOf(meta)
	s.Duration = end.Sub(p.start)
	s.TriggerTime = p.start
	s.Acknowledged, s.Expected = p.sum.Acknowledged, p.sum.Expected
	*p.sum = s
	c.trimHistory()
	c.notifyQ = append(c.notifyQ, p)
	var subsume []int64
	if !p.barrier.Savepoint {
		for qid, q := range c.pending {
			if qid < id && !q.barrier.Savepoint && !q.finishing {
				subsume = append(subsume, qid)
			}
		}
	}
	c.mu.Unlock()
	c.completeMu.Unlock()

	c.log.Info("checkpoint completed", "id", id, "kind", s.Kind(), "duration", s.Duration,
		"state_bytes", s.StateBytes, "uploaded_bytes", s.UploadedBytes, "in_flight_bytes", s.InFlightBytes)
	slices.Sort(subsume)
	for _, qid := range subsume {
		c.abort(qid, errSubsumed, false)
	}
	c.drainNotify()
	c.signal()
}

// drainNotify delivers queued completions in order, one caller at a time,
// without holding a lock during the hook. A checkpoint is done once the
// tasks were told.
func (c *Coordinator) drainNotify() {
	c.mu.Lock()
	if c.notifying {
		c.mu.Unlock()
		return
	}
	c.notifying = true
	for len(c.notifyQ) > 0 {
		p := c.notifyQ[0]
		c.notifyQ[0] = nil
		c.notifyQ = c.notifyQ[1:]
		c.mu.Unlock()
		if c.h.Notify != nil {
			c.h.Notify(p.barrier.ID)
		}
		close(p.done)
		c.mu.Lock()
	}
	c.notifying = false
	c.mu.Unlock()
}

// abort ends pending checkpoint id with reason: its files go and the tasks
// are told. failure says whether it counts against TolerableFailures
// (savepoints and ErrTasksNotRunning never do). A checkpoint whose completion is under way is
// left to finish.
func (c *Coordinator) abort(id int64, reason error, failure bool) {
	c.end(id, reason, failure, false)
}

// end aborts id if it is pending and its finishing state is as given:
// only complete ends a finishing checkpoint.
func (c *Coordinator) end(id int64, reason error, failure, finishing bool) {
	c.mu.Lock()
	p := c.pending[id]
	if p == nil || p.finishing != finishing {
		c.mu.Unlock()
		return
	}
	delete(c.pending, id)
	if p.timer != nil {
		p.timer.Stop()
	}
	if failure && !p.barrier.Savepoint && !errors.Is(reason, ErrTasksNotRunning) {
		c.failures++
		c.lastErr = reason
	}
	p.sum.Status = StatusFailed
	p.sum.Failure = reason.Error()
	p.sum.Duration = c.now().Sub(p.start)
	c.trimHistory()
	c.mu.Unlock()

	if c.st != nil {
		if err := c.st.Abort(id); err != nil {
			c.log.Warn("removing files of an aborted checkpoint", "id", id, "err", err)
		}
	}
	if c.h.Aborted != nil {
		c.h.Aborted(id, reason)
	}
	if errors.Is(reason, errSubsumed) {
		c.log.Info("checkpoint subsumed", "id", id)
	} else {
		c.log.Warn("checkpoint failed", "id", id, "savepoint", p.barrier.Savepoint, "reason", reason)
	}
	p.err = reason
	close(p.done)
	c.signal()
}

// metadata gathers the acknowledgements of p, which is finishing (so they
// no longer change).
func (c *Coordinator) metadata(p *pendingCheckpoint) (*Metadata, error) {
	acks := slices.Clone(p.acks)
	slices.SortFunc(acks, func(a, b taskAck) int {
		return cmp.Or(cmp.Compare(a.task.Vertex, b.task.Vertex), cmp.Compare(a.task.Subtask, b.task.Subtask))
	})
	m := &Metadata{
		Version:        MetadataVersion,
		JobID:          c.jobID(),
		ID:             p.barrier.ID,
		Savepoint:      p.barrier.Savepoint,
		TriggerTime:    p.barrier.Timestamp,
		CompletionTime: c.now().UnixMilli(),
		Settings:       maps.Clone(c.h.Settings),
	}
	index := map[string]int{}
	for _, a := range acks {
		for _, o := range a.ack.Operators {
			i, ok := index[o.ID]
			if !ok {
				i = len(m.Operators)
				index[o.ID] = i
				m.Operators = append(m.Operators, OperatorState{ID: o.ID, Name: o.Name, Parallelism: o.Parallelism, MaxParallelism: o.MaxParallelism})
			}
			op := &m.Operators[i]
			if op.Parallelism != o.Parallelism {
				return nil, fmt.Errorf("operator %s acknowledged with parallelism %d and %d", o.ID, op.Parallelism, o.Parallelism)
			}
			if op.Subtask(o.Subtask) != nil {
				return nil, fmt.Errorf("operator %s subtask %d acknowledged twice", o.ID, o.Subtask)
			}
			op.Subtasks = append(op.Subtasks, SubtaskState{Subtask: o.Subtask, KeyGroupStart: o.KeyGroupStart, KeyGroupEnd: o.KeyGroupEnd, Files: o.Files})
		}
		m.Channels = append(m.Channels, a.ack.Channels...)
		m.Stats = append(m.Stats, a.ack.Stats)
		if a.ack.Finished {
			m.Finished = append(m.Finished, FinishedTask{ID: a.ack.FinishedID, Subtask: a.task.Subtask, Parallelism: a.ack.FinishedParallelism})
		}
	}
	for i := range m.Operators {
		slices.SortFunc(m.Operators[i].Subtasks, func(a, b SubtaskState) int { return cmp.Compare(a.Subtask, b.Subtask) })
	}
	slices.SortStableFunc(m.Channels, func(a, b ChannelState) int {
		return cmp.Or(cmp.Compare(a.Vertex, b.Vertex), cmp.Compare(a.Subtask, b.Subtask), cmp.Compare(a.Channel, b.Channel))
	})
	return m, nil
}

func (c *Coordinator) addHistory(s *Summary) {
	c.history = append(c.history, s)
	c.trimHistory()
}

// trimHistory forgets the oldest finished checkpoints beyond historySize.
func (c *Coordinator) trimHistory() {
	finished := 0
	for _, s := range c.history {
		if s.Status != StatusInProgress {
			finished++
		}
	}
	drop := finished - historySize
	if drop <= 0 {
		return
	}
	out := c.history[:0]
	for _, s := range c.history {
		if drop > 0 && s.Status != StatusInProgress {
			drop--
			continue
		}
		out = append(out, s)
	}
	clear(c.history[len(out):])
	c.history = out
}
