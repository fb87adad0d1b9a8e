package exec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The operator side of checkpoints (DESIGN.md, "Checkpoints"). At a
// barrier a task runs its synchronous phase on its own goroutine: every
// PreBarrierFlusher in chain order, then the barrier goes downstream, then
// every Stateful operator's SnapshotState captures its state and returns an
// AsyncSnapshot. The task resumes processing while another goroutine runs
// the AsyncSnapshots, which write into checkpoint storage through a
// SnapshotWriter. When the coordinator has every acknowledgement and has
// written the checkpoint's metadata, CheckpointListeners are notified on
// the task's goroutine.

// SnapshotContext is given to an operator's synchronous snapshot.
type SnapshotContext struct {
	CheckpointID int64
	// Timestamp is when the coordinator triggered the checkpoint (Unix ms).
	Timestamp int64
	// Savepoint: the snapshot must be full and self-contained (no files
	// shared with other checkpoints).
	Savepoint bool
	// ScratchDir is an empty local directory private to this operator
	// subtask and checkpoint (e.g. for a pebble checkpoint of hard links).
	// The runtime removes it after the asynchronous phase.
	ScratchDir string
}

// SnapshotWriter stores one operator subtask's files in checkpoint storage.
// It is used from the asynchronous phase only.
type SnapshotWriter interface {
	// Create makes a file called name (no slashes) in the operator
	// subtask's directory of the checkpoint; Close makes it durable.
	Create(name string) (io.WriteCloser, error)
	// AddDir copies every regular file of the local directory dir into the
	// checkpoint. With sharedPrefix non-empty (incremental rocksdb, not a
	// savepoint), files named *.sst are immutable: each is stored once in
	// the job's shared directory as sharedPrefix + name and referenced by
	// every checkpoint that contains it; one already stored is not copied
	// again. sharedPrefix must identify the DB instance that wrote the file.
	AddDir(dir string, sharedPrefix string) error
}

// SharedSnapshotWriter is a SnapshotWriter that also stores immutable
// files once for many checkpoints, as AddDir does for pebble's SSTs: an
// in-memory operator's incremental state (checkpoint.Writer implements
// it; an operator whose writer does not writes everything with Create).
type SharedSnapshotWriter interface {
	SnapshotWriter
	// CreateShared makes file name of this checkpoint, stored once in
	// the job's shared directory as sharedName, which must identify the
	// operator instance and what the file holds: storing a name that is
	// already stored is an error. In a savepoint it is an ordinary file.
	CreateShared(name, sharedName string) (io.WriteCloser, error)
	// ReuseShared adds shared file sharedName, stored by an earlier
	// checkpoint, to this one as name. It reports false, adding nothing,
	// when the file is not stored (the checkpoint that wrote it failed,
	// or every checkpoint holding it was dropped) and in a savepoint.
	ReuseShared(name, sharedName string) (bool, error)
}

// AsyncSnapshot is an operator's asynchronous phase. It runs on another
// goroutine, so it must only use what the synchronous phase captured, never
// the operator's live state.
type AsyncSnapshot func(w SnapshotWriter) error

// FinishedSnapshotter is a Stateful operator whose state must outlive the
// end of its task's input: a two-phase-commit sink's staged last output.
// A finished task acknowledges later checkpoints with these snapshots only
// (FLIP-147); every other operator's state is of no use once its task has
// sent all its output.
type FinishedSnapshotter interface {
	SnapshotFinished(sc SnapshotContext) (AsyncSnapshot, error)
}

// Stateful is implemented by operators that keep state across batches.
type Stateful interface {
	// SnapshotState is the synchronous phase: capture the state cheaply and
	// return the function that writes it. It may return nil when there is
	// nothing to write.
	SnapshotState(sc SnapshotContext) (AsyncSnapshot, error)
	// RestoreState loads a snapshot. It is called after Open and before any
	// element, only when the job is restored and the checkpoint holds state
	// for this operator.
	RestoreState(rc RestoreContext) error
}

// RestoreContext says what to restore.
type RestoreContext struct {
	// Snapshots are this operator's snapshots from the checkpoint: one per
	// old subtask whose key-group range overlaps this subtask's (exactly the
	// one of the same subtask when the parallelism is unchanged). Keyed
	// state must keep only entries in [KeyGroupStart, KeyGroupEnd).
	Snapshots []RestoredSnapshot
	// KeyGroupStart and KeyGroupEnd are this subtask's key groups.
	KeyGroupStart, KeyGroupEnd int
	// Rescaled is true when the checkpoint was taken at another
	// parallelism. Operators whose state is not keyed refuse it with
	// "not supported yet: ...".
	Rescaled bool
	// ScratchDir is an empty local directory private to this operator
	// subtask, for restores that need to copy files (a pebble DB).
	ScratchDir string
}

// RestoredSnapshot is one old subtask's snapshot of an operator.
type RestoredSnapshot struct {
	Subtask                    int
	KeyGroupStart, KeyGroupEnd int
	// Dir is a local, read-only directory holding all of the snapshot's
	// files under the names they were written with (shared files included).
	Dir string
}

// PreBarrierFlusher is implemented by operators that buffer output (mini
// batches): the flush runs in chain order before the barrier is forwarded,
// so its output belongs to the checkpoint's epoch.
type PreBarrierFlusher interface {
	PrepareSnapshotPreBarrier(checkpointID int64, out Collector) error
}

// CheckpointListener is told on the task's goroutine when a checkpoint
// completed (its metadata is durable) or was aborted.
type CheckpointListener interface {
	NotifyCheckpointComplete(checkpointID int64) error
	NotifyCheckpointAborted(checkpointID int64) error
}

// EndOfJobCommitter is implemented by two-phase-commit sinks. In a job
// with checkpoints, a sink whose input ended only stages its last output
// (in Finish); the runtime calls CommitAtEndOfJob on the task's goroutine
// once every task of the job has finished, so a failure of a task still
// running cannot restart the job from a checkpoint older than output that
// is already visible.
type EndOfJobCommitter interface {
	CommitAtEndOfJob() error
}

// DirSnapshotWriter is a SnapshotWriter over a plain local directory,
// without shared files: for tests and tools.
type DirSnapshotWriter struct {
	Dir string
}

// Create implements SnapshotWriter.
func (w DirSnapshotWriter) Create(name string) (io.WriteCloser, error) {
	if strings.ContainsAny(name, `/\`) || name == "" || name == "." || name == ".." {
		return nil, fmt.Errorf("snapshot: bad file name %q", name)
	}
	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	f, err := os.Create(filepath.Join(w.Dir, name))
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return syncCloser{f}, nil
}

// AddDir implements SnapshotWriter (copying everything; nothing is shared).
func (w DirSnapshotWriter) AddDir(dir string, _ string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copyLocalFile(filepath.Join(dir, e.Name()), w, e.Name()); err != nil {
			return err
		}
	}
	return nil
}

func copyLocalFile(from string, w SnapshotWriter, name string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer in.Close()
	out, err := w.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("snapshot: copy %s: %w", name, err)
	}
	return out.Close()
}

type syncCloser struct{ f *os.File }

func (s syncCloser) Write(p []byte) (int, error) { return s.f.Write(p) }
func (s syncCloser) Close() error {
	if err := s.f.Sync(); err != nil {
		s.f.Close()
		return fmt.Errorf("snapshot: sync: %w", err)
	}
	return s.f.Close()
}
