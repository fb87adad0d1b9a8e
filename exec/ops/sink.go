package ops

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
)

// Sink hands batches to a connector sink. With checkpoints it bridges the
// runtime's checkpoint calls to the connector: a connectors.FlushingSink
// flushes before each barrier (at-least-once); a
// connectors.TransactionalSink pre-commits at the barrier, keeps what it
// returns in the checkpoint, commits when the checkpoint completes, and
// recovers from it on restart (two-phase commit, exactly-once).
type Sink struct {
	exec.BaseOperator
	Sink     connectors.Sink
	ctx      context.Context
	finished bool
	// recovered: Recover ran (from restored state).
	recovered bool
	// checkpointing: the job takes checkpoints, so the end of the input
	// only stages the last output (see CommitAtEndOfJob).
	checkpointing bool
	// finalIn is the first checkpoint that recorded the staged last
	// output (taken after the task finished); its completion commits it.
	finalIn int64
}

// finalCheckpoint is the id the last output is pre-committed under at the
// end of the input: it sorts after every real checkpoint.
const finalCheckpoint = math.MaxInt64

// Open opens the connector sink for this subtask.
func (s *Sink) Open(ctx *exec.OpContext) error {
	s.ctx = ctx.Ctx
	return s.Sink.Open(ctx.Ctx, ctx.Subtask, ctx.Parallelism)
}

// Process writes a batch.
func (s *Sink) Process(_ int, b batch.Batch, _ exec.Collector) error {
	return s.Sink.Write(s.ctx, b)
}

// ProcessWatermark ends here: sinks emit nothing.
func (s *Sink) ProcessWatermark(int64, exec.Collector) error { return nil }

// Finish commits the sink's output at the end of a bounded input. With
// checkpoints, a two-phase-commit sink only pre-commits it: another task
// may still fail and restart the job from a checkpoint older than these
// rows, which would then be written again; CommitAtEndOfJob commits once
// every task has finished.
func (s *Sink) Finish(exec.Collector) error {
	s.finished = true
	if ts, ok := s.Sink.(connectors.TransactionalSink); ok && s.checkpointing {
		if _, err := ts.PreCommit(s.ctx, finalCheckpoint); err != nil {
			return fmt.Errorf("finish: pre-commit: %w", err)
		}
		return nil
	}
	if err := s.Sink.Finish(s.ctx); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	return nil
}

// CommitAtEndOfJob implements exec.EndOfJobCommitter.
func (s *Sink) CommitAtEndOfJob() error {
	ts, ok := s.Sink.(connectors.TransactionalSink)
	if !ok || !s.checkpointing {
		return nil
	}
	if err := ts.Commit(s.ctx, finalCheckpoint); err != nil {
		return fmt.Errorf("commit at the end of the job: %w", err)
	}
	if err := s.Sink.Finish(s.ctx); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	return nil
}

// Close releases the connector sink.
func (s *Sink) Close() error { return s.Sink.Close() }

const (
	sinkSnapFile = "sink.snap"
	sinkMagic    = "SSQLSNK1"
)

// PrepareSnapshotPreBarrier flushes a buffering sink, so that what it got
// before the barrier is durable once the checkpoint is.
func (s *Sink) PrepareSnapshotPreBarrier(int64, exec.Collector) error {
	if f, ok := s.Sink.(connectors.FlushingSink); ok {
		if err := f.Flush(s.ctx); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
	}
	return nil
}

// SnapshotState pre-commits a two-phase-commit sink's output; what Commit
// and Recover need goes into the checkpoint. Other sinks keep no state.
func (s *Sink) SnapshotState(sc exec.SnapshotContext) (exec.AsyncSnapshot, error) {
	ts, ok := s.Sink.(connectors.TransactionalSink)
	if !ok {
		return nil, nil
	}
	pending, err := ts.PreCommit(s.ctx, sc.CheckpointID)
	if err != nil {
		return nil, fmt.Errorf("pre-commit: %w", err)
	}
	meta := binary.AppendVarint(nil, sc.CheckpointID)
	meta = append(meta, pending...) // a copy: the sink may reuse its buffer
	return func(w exec.SnapshotWriter) error {
		f, err := newSnapFile(w, sinkSnapFile, sinkMagic, meta)
		if err != nil {
			return err
		}
		return f.close()
	}, nil
}

// SnapshotFinished is the snapshot of a sink whose input has ended, taken
// by each checkpoint after its task finished: it records the staged last
// output, so that a restore from it commits that output, and the first
// such checkpoint to complete commits it (as Flink's final checkpoint).
func (s *Sink) SnapshotFinished(sc exec.SnapshotContext) (exec.AsyncSnapshot, error) {
	if _, ok := s.Sink.(connectors.TransactionalSink); !ok {
		return nil, nil
	}
	if s.finished && s.finalIn == 0 {
		s.finalIn = sc.CheckpointID
	}
	return s.SnapshotState(sc)
}

// NotifyCheckpointComplete commits what was pre-committed up to it.
func (s *Sink) NotifyCheckpointComplete(checkpointID int64) error {
	ts, ok := s.Sink.(connectors.TransactionalSink)
	if !ok {
		return nil
	}
	upTo := checkpointID
	if s.finalIn != 0 && checkpointID >= s.finalIn {
		upTo = finalCheckpoint // the staged last output too
	}
	if err := ts.Commit(s.ctx, upTo); err != nil {
		return fmt.Errorf("commit checkpoint %d: %w", checkpointID, err)
	}
	return nil
}

// NotifyCheckpointAborted does nothing: the output stays pending, and the
// next completed checkpoint commits it (Commit covers every earlier one).
func (s *Sink) NotifyCheckpointAborted(int64) error { return nil }

// RestoreState hands a two-phase-commit sink what it pre-committed at the
// restored checkpoint.
func (s *Sink) RestoreState(rc exec.RestoreContext) error {
	ts, ok := s.Sink.(connectors.TransactionalSink)
	if !ok {
		return nil
	}
	// Pending output belongs to the subtask that wrote it.
	snap, err := restoreSingle(rc, "a two-phase-commit sink")
	if err != nil {
		return err
	}
	f, err := readSnapFile(snap.Dir, sinkSnapFile, sinkMagic)
	if err != nil {
		return err
	}
	if _, _, ok, err := f.next(); ok || err != nil {
		return fmt.Errorf("sink snapshot: unexpected records: %w", errCorrupt)
	}
	d := &decoder{b: f.meta}
	d.varint()
	if d.err != nil {
		return fmt.Errorf("sink snapshot: %w", errCorrupt)
	}
	s.recovered = true
	if err := ts.Recover(s.ctx, d.b); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	return nil
}

// InitializeState runs once state is restored (or not) in a job with
// checkpoints: a two-phase-commit sink that got no restored state still
// cleans up what an earlier attempt left uncommitted.
func (s *Sink) InitializeState(restored bool) error {
	s.checkpointing = true
	ts, ok := s.Sink.(connectors.TransactionalSink)
	if !ok || s.recovered {
		return nil
	}
	if err := ts.Recover(s.ctx, nil); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	s.recovered = true
	return nil
}

// Collect passes result batches to a function (a SELECT's consumer in the
// session). It runs at parallelism 1, so calls are never concurrent.
type Collect struct {
	exec.BaseOperator
	Fn  func(ctx context.Context, b batch.Batch) error
	ctx context.Context
}

// Open remembers the job's context.
func (c *Collect) Open(ctx *exec.OpContext) error { c.ctx = ctx.Ctx; return nil }

// Process forwards a batch.
func (c *Collect) Process(_ int, b batch.Batch, _ exec.Collector) error { return c.Fn(c.ctx, b) }

// ProcessWatermark ends here.
func (c *Collect) ProcessWatermark(int64, exec.Collector) error { return nil }
