package exec

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/streamsql/streamsql/checkpoint"
	"github.com/streamsql/streamsql/connectors"
)

// Checkpointing turns checkpoints on for a job (Env.Checkpoint; nil = off).
type Checkpointing struct {
	Config  checkpoint.Config
	Restart checkpoint.RestartStrategy
	// JobID names the job's directory under Config.Dir.
	JobID string
	// Restore is the checkpoint or savepoint the job starts from (nil =
	// fresh state).
	Restore *checkpoint.Metadata
	// AllowNonRestoredState lets a job start although the snapshot holds
	// state for operators the plan no longer has.
	AllowNonRestoredState bool
	// Settings are recorded in each checkpoint's metadata.
	Settings map[string]string
	// Attach is called with the coordinator of each attempt (savepoints,
	// SHOW CHECKPOINTS); may be nil.
	Attach func(*checkpoint.Coordinator)
	// Storage is opened by the runtime when nil.
	Storage *checkpoint.Storage
	// Logger receives the coordinator's line per checkpoint (nil = the
	// job's logger).
	Logger *slog.Logger
}

// errFinishedMidCheckpoint declines a checkpoint whose barrier reached a
// task that then dropped its alignment (the checkpoint was superseded or
// aborted) and finished: it cannot acknowledge it as finished, since the
// barrier went by. It does not count as a checkpoint failure.
var errFinishedMidCheckpoint = fmt.Errorf("the task finished after dropping this checkpoint: %w", checkpoint.ErrTasksNotRunning)

// StateInitializer is implemented by operators that must know, when a job
// runs with checkpointing, whether it starts from restored state (a
// two-phase-commit sink cleans up after a failed attempt either way).
type StateInitializer interface {
	InitializeState(restored bool) error
}

// taskCheckpointing is one task's checkpoint wiring.
type taskCheckpointing struct {
	job      *jobCheckpointing
	id       checkpoint.TaskID
	opIDs    []string // per chained operator
	sourceID string   // the source's id ("" without a source)
	kgStart  int
	kgEnd    int
	scratch  string
	logger   *slog.Logger
	// positions are the source positions of checkpoints not yet completed
	// or aborted, for connectors.PositionCommitter.
	positions map[int64][]byte
	// finishedID names the task in a checkpoint's list of finished tasks.
	finishedID string
	// lastBarrier is the highest checkpoint whose barrier reached the task
	// (or was triggered at it); snapshotted and finishedAcks are the
	// checkpoints it acknowledges (or will) with a snapshot or as
	// finished. All three are used on the task's goroutine only.
	lastBarrier  int64
	snapshotted  map[int64]bool
	finishedAcks map[int64]bool
}

// jobCheckpointing is shared by a job attempt's tasks.
type jobCheckpointing struct {
	cfg     checkpoint.Config
	storage *checkpoint.Storage
	coord   *checkpoint.Coordinator
	maxPar  int
	tasks   []*task
	// unfinished counts tasks still running; allFinished closes when the
	// last one has finished its input.
	unfinished  atomic.Int64
	allFinished chan struct{}
}

// alignment is a task's progress on one checkpoint's barriers.
type alignment struct {
	info      BarrierInfo
	arrived   []bool
	overtaken []int
	first     time.Time
	// unaligned: the snapshot has been taken; data still arriving on
	// channels without their barrier is in-flight state.
	unaligned bool
	recording []bool
	inflight  [][]Element
	snap      *pendingSnapshot
	timer     *time.Timer
}

func (a *alignment) record(ch int, e Element) {
	if a.unaligned && a.recording[ch] {
		a.inflight[ch] = append(a.inflight[ch], e)
	}
}

// onBarrier handles barrier b arriving on input channel ch.
func (t *task) onBarrier(ch int, b BarrierInfo) error {
	if t.cp == nil {
		return fmt.Errorf("%s: checkpoint barrier received but checkpointing is off", t.vertex.Name)
	}
	t.cp.lastBarrier = max(t.cp.lastBarrier, b.ID)
	a := t.align
	if a != nil && b.ID < a.info.ID {
		return nil // a barrier of an aborted checkpoint
	}
	if a != nil && b.ID > a.info.ID {
		t.cancelAlignment(fmt.Errorf("checkpoint %d was superseded by checkpoint %d", a.info.ID, b.ID))
		a = nil
	}
	if a == nil {
		n := t.gate.NumChannels()
		a = &alignment{info: b, arrived: make([]bool, n), overtaken: make([]int, n), first: time.Now(),
			recording: make([]bool, n), inflight: make([][]Element, n)}
		a.info.Overtaken = 0
		t.align = a
		if b.Unaligned && t.cp.job.cfg.AlignmentTimeout > 0 {
			id := b.ID
			a.timer = time.AfterFunc(untilAlignmentTimeout(b, t.cp.job.cfg.AlignmentTimeout), func() {
				t.mail.Put(func() error {
					if t.align != nil && t.align.info.ID == id && !t.align.unaligned {
						return t.goUnaligned(t.align)
					}
					return nil
				})
			})
		}
	}
	if a.arrived[ch] {
		return nil
	}
	a.arrived[ch] = true
	if a.unaligned {
		a.recording[ch] = false
		a.inflight[ch] = append(a.inflight[ch], t.gate.Channel(ch).PeekData(b.Overtaken)...)
		return t.maybeCompleteAlignment()
	}
	a.overtaken[ch] = b.Overtaken
	switch {
	case b.Unaligned && t.cp.job.cfg.AlignmentTimeout <= 0:
		return t.goUnaligned(a)
	case t.cp.job.cfg.Mode == checkpoint.AtLeastOnce && !b.Savepoint:
		// Barriers are tracked, inputs never blocked: data after a barrier
		// may land in this checkpoint and be replayed again on restore.
	default:
		t.gate.Block(ch)
	}
	return t.maybeCompleteAlignment()
}

// untilAlignmentTimeout is how long after now checkpoint b's alignment
// timeout passes: it counts from the checkpoint's trigger, as in Flink.
func untilAlignmentTimeout(b BarrierInfo, timeout time.Duration) time.Duration {
	return max(timeout-time.Since(time.UnixMilli(b.Timestamp)), 0)
}

// goUnaligned takes the snapshot now: channels whose barrier is queued
// give up the data ahead of it as in-flight state and the barrier is taken
// out of the queue; the others record what arrives until their barrier.
func (t *task) goUnaligned(a *alignment) error {
	for c := range a.arrived {
		if a.arrived[c] {
			a.inflight[c] = append(a.inflight[c], t.gate.Channel(c).PeekData(a.overtaken[c])...)
			continue
		}
		if t.gate.Ended(c) {
			continue
		}
		if infl, found := t.gate.Channel(c).OvertakeBarrier(a.info.ID); found {
			a.arrived[c] = true
			a.inflight[c] = infl
		} else {
			a.recording[c] = true
		}
	}
	t.gate.UnblockAll()
	a.unaligned = true
	if a.timer != nil {
		a.timer.Stop()
	}
	ps, err := t.snapshotSync(a.info, true, time.Since(a.first))
	if err != nil {
		return err
	}
	a.snap = ps
	return t.maybeCompleteAlignment()
}

// channelEnded lets an alignment complete without a channel that ended.
func (t *task) channelEnded(ch int) error {
	if t.align == nil {
		return nil
	}
	t.align.recording[ch] = false
	return t.maybeCompleteAlignment()
}

func (t *task) maybeCompleteAlignment() error {
	a := t.align
	for c, ok := range a.arrived {
		if !ok && !t.gate.Ended(c) {
			return nil
		}
	}
	t.align = nil
	if a.timer != nil {
		a.timer.Stop()
	}
	if !a.unaligned {
		// A barrier that an unaligned upstream pushed ahead of data still
		// carries that data's count: it was sent before the upstream's
		// snapshot, so it is this checkpoint's in-flight data even though
		// this task aligned (its channel is blocked, the data still queued).
		for c, k := range a.overtaken {
			if k > 0 {
				a.inflight[c] = append(a.inflight[c], t.gate.Channel(c).PeekData(k)...)
			}
		}
	}
	t.gate.UnblockAll()
	if !a.unaligned {
		ps, err := t.snapshotSync(a.info, false, time.Since(a.first))
		if err != nil {
			return err
		}
		a.snap = ps
	}
	if a.snap != nil {
		a.snap.channels <- a.inflight
	}
	return nil
}

// cancelAlignment drops a pending alignment (its checkpoint was aborted).
func (t *task) cancelAlignment(reason error) {
	a := t.align
	if a == nil {
		return
	}
	t.align = nil
	if a.timer != nil {
		a.timer.Stop()
	}
	t.gate.UnblockAll()
	if a.snap != nil {
		// The asynchronous phase may be running: it reads cancelled only
		// after receiving from channels (the send orders the write).
		a.snap.cancelled = reason
		a.snap.channels <- nil
	}
}

// triggerSource runs on a source task's goroutine: record the position and
// emit the barrier in order with the data.
func (t *task) triggerSource(b BarrierInfo) error {
	if t.finished.Load() {
		return t.ackFinished(b)
	}
	t.cp.lastBarrier = max(t.cp.lastBarrier, b.ID)
	if _, ok := t.source.(connectors.CheckpointedSource); !ok {
		t.cp.job.coord.Decline(b.ID, t.cp.id, fmt.Errorf("source %s cannot take part in checkpoints", t.vertex.Name))
		return nil
	}
	unaligned := b.Unaligned && t.cp.job.cfg.AlignmentTimeout <= 0
	ps, err := t.snapshotSync(b, unaligned, 0)
	if err != nil {
		return err
	}
	ps.channels <- nil
	return nil
}

// pendingSnapshot is a task's checkpoint between its synchronous phase and
// its acknowledgement.
type pendingSnapshot struct {
	t          *task
	info       BarrierInfo
	ops        []opSnapshot
	position   []byte
	hasPos     bool
	sync       time.Duration
	alignment  time.Duration
	startDelay time.Duration
	// channels delivers the in-flight data once every barrier is in (nil
	// for aligned checkpoints and sources).
	channels chan [][]Element
	declined error // set before the asynchronous phase starts
	// cancelled is why the alignment was dropped, set before nil is sent
	// on channels.
	cancelled error
	// finished: the acknowledgement of a task that has finished.
	finished bool
}

type opSnapshot struct {
	id, name string
	fn       AsyncSnapshot
	scratch  string
}

// snapshotSync is the synchronous phase: flush buffered output, forward
// the barrier, capture every operator's state; the asynchronous phase then
// runs on its own goroutine.
func (t *task) snapshotSync(info BarrierInfo, unaligned bool, alignDur time.Duration) (*pendingSnapshot, error) {
	start := time.Now()
	if t.cp.snapshotted == nil {
		t.cp.snapshotted = map[int64]bool{}
	}
	t.cp.snapshotted[info.ID] = true
	info.Overtaken = 0
	for i, op := range t.ops {
		if f, ok := op.(PreBarrierFlusher); ok {
			if err := f.PrepareSnapshotPreBarrier(info.ID, t.link(i+1)); err != nil {
				return nil, (&namedLink{t: t, i: i}).wrap(err)
			}
		}
	}
	if t.out != nil {
		if unaligned {
			t.out.BroadcastPriority(BarrierElement(info))
		} else if err := t.out.Broadcast(BarrierElement(info)); err != nil {
			return nil, err
		} else if info.Unaligned && t.cp.job.cfg.AlignmentTimeout > 0 {
			// Alignment timeout: an aligned barrier still waiting behind
			// data when the checkpoint's timeout passes overtakes it (that
			// data becomes in-flight state downstream), as Flink does with
			// barriers in output buffers.
			out, id := t.out, info.ID
			time.AfterFunc(untilAlignmentTimeout(info, t.cp.job.cfg.AlignmentTimeout), func() { out.PrioritizeBarrier(id) })
		}
	}
	ps := &pendingSnapshot{t: t, info: info, channels: make(chan [][]Element, 1), alignment: alignDur}
	ps.startDelay = time.Since(time.UnixMilli(info.Timestamp)) - alignDur
	if ps.startDelay < 0 {
		ps.startDelay = 0
	}
	var capErr error
	if cs, ok := t.source.(connectors.CheckpointedSource); ok {
		pos, err := cs.Position()
		if err != nil {
			capErr = fmt.Errorf("%s: position: %w", t.vertex.Name, err)
		}
		ps.position, ps.hasPos = pos, true
		if _, ok := t.source.(connectors.PositionCommitter); ok && err == nil {
			if t.cp.positions == nil {
				t.cp.positions = map[int64][]byte{}
			}
			t.cp.positions[info.ID] = pos
		}
	}
	for i, op := range t.ops {
		s, ok := op.(Stateful)
		if !ok || capErr != nil {
			continue
		}
		scratch := filepath.Join(t.cp.scratch, fmt.Sprintf("chk-%d-%d", info.ID, i))
		if err := os.MkdirAll(scratch, 0o755); err != nil {
			capErr = fmt.Errorf("checkpoint scratch: %w", err)
			break
		}
		fn, err := s.SnapshotState(SnapshotContext{CheckpointID: info.ID, Timestamp: info.Timestamp, Savepoint: info.Savepoint, ScratchDir: scratch})
		if err != nil {
			capErr = fmt.Errorf("%s: snapshot: %w", t.names[i], err)
			os.RemoveAll(scratch)
			break
		}
		ps.ops = append(ps.ops, opSnapshot{id: t.cp.opIDs[i], name: t.names[i], fn: fn, scratch: scratch})
	}
	ps.sync = time.Since(start)
	if capErr != nil {
		ps.declined = capErr
	}
	go ps.runAsync()
	return ps, nil
}

// runAsync is the asynchronous phase: write every operator's state and
// the channel state, then acknowledge (or decline) to the coordinator.
func (ps *pendingSnapshot) runAsync() {
	t := ps.t
	cp := t.cp
	start := time.Now()
	defer func() {
		for _, o := range ps.ops {
			os.RemoveAll(o.scratch)
		}
	}()
	var ack checkpoint.TaskAck
	err := ps.declined
	id := ps.info.ID
	if err == nil && ps.hasPos {
		w := cp.job.storage.Writer(id, ps.info.Savepoint, cp.sourceID, t.subtask)
		err = writeFile(w, "position", ps.position)
		if err == nil {
			ack.Operators = append(ack.Operators, ps.acked(cp.sourceID, t.vertex.Name, w))
			ack.Stats.StateBytes += w.FullBytes()
			ack.Stats.UploadedBytes += w.UploadedBytes()
		}
	}
	for _, o := range ps.ops {
		if err != nil {
			break
		}
		w := cp.job.storage.Writer(id, ps.info.Savepoint, o.id, t.subtask)
		if o.fn != nil {
			if ferr := o.fn(w); ferr != nil {
				err = fmt.Errorf("%s: snapshot: %w", o.name, ferr)
				break
			}
		}
		ack.Operators = append(ack.Operators, ps.acked(o.id, o.name, w))
		ack.Stats.StateBytes += w.FullBytes()
		ack.Stats.UploadedBytes += w.UploadedBytes()
	}
	// Wait for the in-flight data (unaligned) or the end of alignment.
	var inflight [][]Element
	select {
	case inflight = <-ps.channels:
	case <-t.ctx.Done():
		return
	}
	if err == nil && ps.cancelled != nil {
		err = ps.cancelled
	}
	if inflight == nil && ps.cancelled != nil {
		err = ps.cancelled
	}
	if err == nil {
		for ch, elems := range inflight {
			if len(elems) == 0 {
				continue
			}
			w := cp.job.storage.ChannelWriter(id, ps.info.Savepoint, t.vertexIndex, t.subtask)
			var buf bytes.Buffer
			if werr := writeChannelState(&buf, elems); werr != nil {
				err = werr
				break
			}
			if werr := writeFile(w, fmt.Sprintf("channel-%d.arrow", ch), buf.Bytes()); werr != nil {
				err = werr
				break
			}
			ack.Channels = append(ack.Channels, checkpoint.ChannelState{Vertex: t.vertexIndex, Subtask: t.subtask, Channel: ch, Files: w.Files()})
			ack.Stats.InFlightBytes += w.FullBytes()
			ack.Stats.UploadedBytes += w.UploadedBytes()
		}
	}
	if err != nil {
		cp.job.coord.Decline(id, cp.id, err)
		return
	}
	ack.Stats.Vertex = t.vertex.Name
	ack.Stats.Subtask = t.subtask
	if ps.finished {
		ack.Finished, ack.FinishedID, ack.FinishedParallelism = true, cp.finishedID, t.vertex.Parallelism
	}
	ack.Stats.Sync = ps.sync
	ack.Stats.Async = time.Since(start)
	ack.Stats.Alignment = ps.alignment
	ack.Stats.StartDelay = ps.startDelay
	cp.job.coord.Acknowledge(id, cp.id, ack)
}

func (ps *pendingSnapshot) acked(opID, name string, w *checkpoint.Writer) checkpoint.AckedOperator {
	t := ps.t
	return checkpoint.AckedOperator{
		ID: opID, Name: name, Parallelism: t.vertex.Parallelism, MaxParallelism: t.cp.job.maxPar,
		Subtask: t.subtask, KeyGroupStart: t.cp.kgStart, KeyGroupEnd: t.cp.kgEnd, Files: w.Files(),
	}
}

func writeFile(w SnapshotWriter, name string, data []byte) error {
	f, err := w.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: write %s: %w", name, err)
	}
	return f.Close()
}

// notifyComplete runs on the task's goroutine when checkpoint id is
// complete: two-phase-commit sinks commit.
func (t *task) notifyComplete(id int64) error {
	if pos, ok := t.cp.positions[id]; ok {
		// Only for monitoring (Kafka's consumer group): a failure is
		// logged, the checkpoint stays the truth.
		if err := t.source.(connectors.PositionCommitter).CommitPosition(t.ctx, pos); err != nil && t.cp.logger != nil {
			t.cp.logger.Warn("committing a source position failed", "task", t.vertex.Name, "subtask", t.subtask, "checkpoint", id, "err", err)
		}
	}
	for k := range t.cp.positions {
		if k <= id {
			delete(t.cp.positions, k)
		}
	}
	forgetUpTo(t.cp.snapshotted, id)
	forgetUpTo(t.cp.finishedAcks, id)
	for i, op := range t.ops {
		if l, ok := op.(CheckpointListener); ok {
			if err := l.NotifyCheckpointComplete(id); err != nil {
				return (&namedLink{t: t, i: i}).wrap(fmt.Errorf("commit of checkpoint %d: %w", id, err))
			}
		}
	}
	return nil
}

// notifyAborted runs on the task's goroutine when checkpoint id failed.
func (t *task) notifyAborted(id int64, reason error) error {
	delete(t.cp.positions, id)
	delete(t.cp.snapshotted, id)
	delete(t.cp.finishedAcks, id)
	if t.align != nil && t.align.info.ID == id {
		t.cancelAlignment(reason)
	}
	for i, op := range t.ops {
		if l, ok := op.(CheckpointListener); ok {
			if err := l.NotifyCheckpointAborted(id); err != nil {
				return (&namedLink{t: t, i: i}).wrap(err)
			}
		}
	}
	return nil
}

func forgetUpTo(m map[int64]bool, id int64) {
	for k := range m {
		if k <= id {
			delete(m, k)
		}
	}
}

// ackFinishedPending runs on a task's goroutine once it has finished (all
// input consumed, end of input sent): the pending checkpoints whose
// barrier can no longer reach it are acknowledged as finished. That is
// consistent (FLIP-147): every upstream task finished before sending this
// checkpoint's barrier, so all their output is in this task's final
// state, and downstream tasks count the end of this task's output as its
// barrier. On restore the task is skipped: it sends end of input only.
func (t *task) ackFinishedPending() error {
	for _, b := range t.cp.job.coord.Waiting(t.cp.id) {
		if t.cp.snapshotted[b.ID] {
			continue // its acknowledgement is on its way
		}
		if b.ID <= t.cp.lastBarrier {
			t.cp.job.coord.Decline(b.ID, t.cp.id, errFinishedMidCheckpoint)
			continue
		}
		info := BarrierInfo{ID: b.ID, Timestamp: b.Timestamp, Unaligned: b.Unaligned, Savepoint: b.Savepoint}
		if err := t.ackFinished(info); err != nil {
			return err
		}
	}
	return nil
}

// ackFinished acknowledges checkpoint info for a finished task, once: with
// the snapshots of its FinishedSnapshotters (a sink's staged output).
func (t *task) ackFinished(info BarrierInfo) error {
	if t.cp.finishedAcks[info.ID] {
		return nil
	}
	if t.cp.finishedAcks == nil {
		t.cp.finishedAcks = map[int64]bool{}
	}
	t.cp.finishedAcks[info.ID] = true
	start := time.Now()
	ps := &pendingSnapshot{t: t, info: info, channels: make(chan [][]Element, 1), finished: true}
	for i, op := range t.ops {
		f, ok := op.(FinishedSnapshotter)
		if !ok {
			continue
		}
		scratch := filepath.Join(t.cp.scratch, fmt.Sprintf("chk-%d-%d", info.ID, i))
		if err := os.MkdirAll(scratch, 0o755); err != nil {
			ps.declined = fmt.Errorf("checkpoint scratch: %w", err)
			break
		}
		fn, err := f.SnapshotFinished(SnapshotContext{CheckpointID: info.ID, Timestamp: info.Timestamp, Savepoint: info.Savepoint, ScratchDir: scratch})
		if err != nil {
			ps.declined = fmt.Errorf("%s: snapshot: %w", t.names[i], err)
			os.RemoveAll(scratch)
			break
		}
		ps.ops = append(ps.ops, opSnapshot{id: t.cp.opIDs[i], name: t.names[i], fn: fn, scratch: scratch})
	}
	ps.sync = time.Since(start)
	ps.channels <- nil
	go ps.runAsync()
	return nil
}

// Operators may share files between checkpoints through the storage's
// writers.
var _ SharedSnapshotWriter = (*checkpoint.Writer)(nil)
