package ops

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/state"
	"github.com/streamsql/streamsql/state/rocks"
)

// rocksStore is an operator subtask's pebble backend ('state.backend' =
// 'rocksdb'): opening it under the task's work directory, key groups of
// rows, and the checkpoint's synchronous and asynchronous phases. Each
// stateful operator keeps its own states in it (GroupAgg's aggStore, ...).
type rocksStore struct {
	be     *rocks.Backend
	maxPar int
	hashes []uint64
	kgs    []int
	// sharedPrefix names this DB instance's SST files in the shared
	// directory of incremental checkpoints: random per DB, since another
	// instance (a restart, another subtask) reuses file numbers.
	sharedPrefix string
}

// openRocksStore opens a fresh pebble DB in a new directory named
// prefix-* under the subtask's work directory.
func openRocksStore(ctx *exec.OpContext, prefix string, ttl time.Duration) (*rocksStore, error) {
	if ctx.WorkDir == "" {
		return nil, errors.New("rocksdb state needs a work directory")
	}
	if err := os.MkdirAll(ctx.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	dir, err := os.MkdirTemp(ctx.WorkDir, prefix+"-")
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	maxPar := maxParOf(ctx)
	par := max(ctx.Parallelism, 1)
	lo, hi := exec.KeyGroupRange(ctx.Subtask, maxPar, par)
	be, err := rocks.New(rocks.Options{Options: state.Options{KeyGroupStart: lo, KeyGroupEnd: hi, Logger: ctx.Logger, TTL: ttl, Now: ctx.Now}, Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("open rocksdb state: %w", err)
	}
	shared, err := newInstancePrefix()
	if err != nil {
		be.Close()
		return nil, fmt.Errorf("open rocksdb state: %w", err)
	}
	return &rocksStore{be: be, maxPar: maxPar, sharedPrefix: shared}, nil
}

// keyGroups computes each row's key group into s.kgs, exactly as the hash
// exchange that routed the row here did.
func (s *rocksStore) keyGroups(keyCols []arrow.Array, n int) {
	if cap(s.hashes) < n {
		s.hashes = make([]uint64, n)
		s.kgs = make([]int, n)
	}
	s.hashes, s.kgs = s.hashes[:n], s.kgs[:n]
	batch.HashColumns(keyCols, s.hashes)
	for i, h := range s.hashes {
		s.kgs[i] = exec.KeyGroupOf(h, s.maxPar)
	}
}

func (s *rocksStore) close() error { return s.be.Close() }

// Incremental TTL cleanup: every rocksCleanupEvery the operator deletes the
// expired entries among the next rocksCleanupKeys stored keys (about 5 ms
// a tick; a pass over 10 M entries in about 10 minutes), so expired state
// leaves the disk without a pause proportional to the state. A tick during
// a checkpoint does nothing.
const (
	rocksCleanupEvery = 250 * time.Millisecond
	rocksCleanupKeys  = 4096
)

// scheduleCleanup starts the cleanup ticks of an operator whose state has
// a TTL.
func (s *rocksStore) scheduleCleanup(ctx *exec.OpContext, ttl time.Duration) {
	if ttl <= 0 || ctx.Every == nil {
		return
	}
	ctx.Every(rocksCleanupEvery, func(exec.Collector) error {
		if _, err := s.be.CleanupExpiredStep(rocksCleanupKeys); err != nil {
			return fmt.Errorf("rocksdb state cleanup: %w", err)
		}
		return nil
	})
}

// snapshot is the rocksdb synchronous phase: the write-back cache's dirty
// entries are handed to a goroutine that flushes the memtable and takes a
// pebble checkpoint into the scratch directory (bounded work here,
// independent of the state); the asynchronous phase waits for it, then
// writes the operator's metadata file (name, magic, meta) and uploads the
// SSTs. The caller must have created its states first: a restore needs
// their metadata.
func (s *rocksStore) snapshot(sc exec.SnapshotContext, name, magic string, meta []byte) (exec.AsyncSnapshot, error) {
	if sc.ScratchDir == "" {
		return nil, errors.New("rocksdb snapshot: no scratch directory")
	}
	dir := filepath.Join(sc.ScratchDir, "rocksdb")
	wait, err := s.be.SnapshotAsync(dir)
	if err != nil {
		return nil, fmt.Errorf("rocksdb snapshot: %w", err)
	}
	prefix := s.sharedPrefix
	if sc.Savepoint {
		prefix = "" // self-contained
	}
	return func(w exec.SnapshotWriter) error {
		if _, err := wait(); err != nil {
			return fmt.Errorf("rocksdb snapshot: %w", err)
		}
		f, err := newSnapFile(w, name, magic, meta)
		if err != nil {
			return err
		}
		if err := f.close(); err != nil {
			return err
		}
		return w.AddDir(dir, prefix)
	}, nil
}

// restore loads the pebble snapshots of rc into the (still unused)
// backend, which keeps the entries of its own key groups. Each snapshot's
// metadata file (name, magic) is handed to checkMeta first. memFile is the
// file an in-memory ('hashmap') snapshot of the same operator would have:
// finding it instead gives a clear error.
func (s *rocksStore) restore(rc exec.RestoreContext, name, magic, memFile string, checkMeta func(meta []byte) error) error {
	if lo, hi := s.be.KeyGroupRange(); lo != rc.KeyGroupStart || hi != rc.KeyGroupEnd {
		return fmt.Errorf("restore: key groups [%d, %d) but the state owns [%d, %d)", rc.KeyGroupStart, rc.KeyGroupEnd, lo, hi)
	}
	var handles []state.SnapshotHandle
	for _, snap := range rc.Snapshots {
		r, err := readSnapFile(snap.Dir, name, magic)
		if errors.Is(err, fs.ErrNotExist) && memFile != "" && fileExists(snap.Dir, memFile) {
			return errors.New("not supported yet: restoring 'state.backend' = 'hashmap' state into 'rocksdb'")
		}
		if err != nil {
			return err
		}
		if err := checkMeta(r.meta); err != nil {
			return err
		}
		handles = append(handles, state.SnapshotHandle{Backend: "rocksdb", Dir: snap.Dir,
			KeyGroupStart: snap.KeyGroupStart, KeyGroupEnd: snap.KeyGroupEnd})
	}
	if err := s.be.Restore(handles); err != nil {
		return fmt.Errorf("rocksdb state: %w", err)
	}
	return nil
}
