package rocks

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/streamsql/streamsql/state"
)

// Pebble needs these zero-byte files to open a DB: without them it fails
// or, worse, opens an empty database (see DEPENDENCIES.md).
var markerPrefixes = []string{"marker.format-version.", "marker.manifest."}

// Snapshot implements state.Backend: SnapshotAsync, waited for.
func (b *Backend) Snapshot(dir string) (state.SnapshotHandle, error) {
	wait, err := b.SnapshotAsync(dir)
	if err != nil {
		return state.SnapshotHandle{}, err
	}
	return wait()
}

// pendingCheckpoint is a pebble checkpoint running on its own goroutine;
// h and err are set before done is closed.
type pendingCheckpoint struct {
	done chan struct{}
	h    state.SnapshotHandle
	err  error
}

// SnapshotAsync takes a snapshot of the state as it is now into dir, in
// two parts. Here, in the caller's goroutine (a checkpoint's synchronous
// phase), it only copies the cache's dirty entries into a pebble batch:
// work bounded by the cache, not by the state. A goroutine applies the
// batch, flushes the memtable (the WAL is off, so unflushed data would be
// missing) and makes a pebble checkpoint (SSTs hard-linked, small files
// copied); wait returns its result. Until it is done nothing else is
// written to pebble (new writes stay in the cache, up to a limit, and any
// write to pebble waits for it), so the checkpoint holds exactly the state
// of this call; the batch's entries stay cached, so reads never miss them.
// Compactions may run meanwhile: they only rewrite that same data.
func (b *Backend) SnapshotAsync(dir string) (wait func() (state.SnapshotHandle, error), err error) {
	if b.db == nil {
		return nil, errClosed
	}
	b.waitCheckpoint()
	// Not needed for correctness (the batch's entries stay cached), but
	// an open lookup iterator pins the memtable and the files compactions
	// replace: let it go at every checkpoint.
	if err := b.resetGetIter(); err != nil {
		return nil, err
	}
	batch, err := b.dirtyBatch()
	if err != nil {
		return nil, err
	}
	pc := &pendingCheckpoint{done: make(chan struct{})}
	b.ckpt = pc
	db, opts := b.db, b.opts
	go func() {
		defer close(pc.done)
		pc.h, pc.err = checkpointDB(db, batch, dir, opts)
	}()
	return func() (state.SnapshotHandle, error) {
		<-pc.done
		return pc.h, pc.err
	}, nil
}

// checkpointDB is SnapshotAsync's asynchronous part.
func checkpointDB(db *pebble.DB, batch *pebble.Batch, dir string, opts Options) (state.SnapshotHandle, error) {
	if batch != nil {
		err := db.Apply(batch, pebble.NoSync)
		if cerr := batch.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return state.SnapshotHandle{}, fmt.Errorf("rocks: snapshot: write cache: %w", err)
		}
	}
	if err := db.Flush(); err != nil {
		return state.SnapshotHandle{}, fmt.Errorf("rocks: snapshot: flush memtable: %w", err)
	}
	if err := db.Checkpoint(dir); err != nil {
		return state.SnapshotHandle{}, fmt.Errorf("rocks: snapshot: %w", err)
	}
	return snapshotHandle(dir, opts)
}

// waitCheckpoint blocks until the pebble checkpoint in progress, if any,
// is done: called before anything is written to pebble.
func (b *Backend) waitCheckpoint() {
	if b.ckpt != nil {
		<-b.ckpt.done
		b.ckpt = nil
	}
}

func snapshotHandle(dir string, opts Options) (state.SnapshotHandle, error) {
	h := state.SnapshotHandle{
		Backend: "rocksdb", Dir: dir,
		KeyGroupStart: opts.KeyGroupStart, KeyGroupEnd: opts.KeyGroupEnd,
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return state.SnapshotHandle{}, fmt.Errorf("rocks: snapshot: %w", err)
	}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			return state.SnapshotHandle{}, fmt.Errorf("rocks: snapshot: %w", err)
		}
		h.Files = append(h.Files, e.Name())
		h.Bytes += info.Size()
	}
	slices.Sort(h.Files)
	if err := checkMarkers(dir, h.Files); err != nil {
		return state.SnapshotHandle{}, err
	}
	return h, nil
}

func checkMarkers(dir string, files []string) error {
	for _, p := range markerPrefixes {
		if !slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(f, p) }) {
			return fmt.Errorf("rocks: snapshot %s lacks its %s* file: pebble would open it empty", dir, p)
		}
	}
	return nil
}

// Restore implements state.Backend. One snapshot of the same key-group
// range and TTL setting becomes this DB (SSTs hard-linked where possible);
// otherwise each snapshot is opened read-only and the entries in range are
// copied, with state ids remapped by name.
func (b *Backend) Restore(snaps []state.SnapshotHandle) error {
	if b.db == nil {
		return errClosed
	}
	if b.restored || b.created || len(b.states) > 0 {
		return fmt.Errorf("state: restore into a backend that is already in use")
	}
	b.restored = true
	if err := b.resetGetIter(); err != nil {
		return err
	}
	for _, snap := range snaps {
		if snap.Backend != "rocksdb" {
			return fmt.Errorf("not supported yet: restoring a %q snapshot into the rocksdb backend", snap.Backend)
		}
		ents, err := os.ReadDir(snap.Dir)
		if err != nil {
			return fmt.Errorf("rocks: restore: %w", err)
		}
		names := make([]string, len(ents))
		for i, e := range ents {
			names[i] = e.Name()
		}
		if err := checkMarkers(snap.Dir, names); err != nil {
			return err
		}
	}
	for _, snap := range snaps {
		src, err := pebble.Open(snap.Dir, b.pebbleOptions(true, true))
		if err != nil {
			return fmt.Errorf("rocks: restore: open %s: %w", snap.Dir, err)
		}
		states, ttl, err := readMeta(src)
		if err == nil && len(snaps) == 1 && ttl == b.clock.Enabled() &&
			snap.KeyGroupStart == b.opts.KeyGroupStart && snap.KeyGroupEnd == b.opts.KeyGroupEnd {
			if err := src.Close(); err != nil {
				return fmt.Errorf("rocks: restore: %w", err)
			}
			return b.adopt(snap.Dir)
		}
		if err == nil {
			err = b.copyFrom(src, states, ttl)
		}
		if cerr := src.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("rocks: restore: %w", cerr)
		}
		if err != nil {
			return fmt.Errorf("rocks: restore %s: %w", snap.Dir, err)
		}
	}
	return nil
}

// adopt replaces this (empty) DB with a copy of the snapshot.
func (b *Backend) adopt(snapDir string) error {
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("rocks: restore: %w", err)
	}
	b.db = nil
	// New checked the directory was empty, so everything in it is ours.
	if err := os.RemoveAll(b.opts.Dir); err != nil {
		return fmt.Errorf("rocks: restore: %w", err)
	}
	if err := copyDir(snapDir, b.opts.Dir); err != nil {
		return fmt.Errorf("rocks: restore: %w", err)
	}
	db, err := pebble.Open(b.opts.Dir, b.pebbleOptions(true, false))
	if err != nil {
		return fmt.Errorf("rocks: restore: open %s: %w", b.opts.Dir, err)
	}
	b.db = db
	states, _, err := readMeta(db)
	if err != nil {
		return fmt.Errorf("rocks: restore: %w", err)
	}
	b.states = states
	return nil
}

// copyDir hard-links immutable SSTs and copies the rest: pebble appends to
// the MANIFEST, which must not write through into the snapshot.
func copyDir(src, dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if strings.HasSuffix(e.Name(), ".sst") && os.Link(from, to) == nil {
			continue
		}
		if err := copyFile(from, to); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// copyFrom copies src's entries in this backend's key-group range.
func (b *Backend) copyFrom(src *pebble.DB, states map[string]stateInfo, srcTTL bool) error {
	remap := [256]byte{}
	for name, si := range states {
		mine, err := b.register(name, si.kind)
		if err != nil {
			return err
		}
		remap[si.sid] = mine.sid
	}
	it, err := src.NewIter(&pebble.IterOptions{LowerBound: []byte{metaID + 1}})
	if err != nil {
		return err
	}
	ttl := b.clock.Enabled()
	batch := b.db.NewBatch()
	var key, val []byte
	for ok := it.First(); ok; ok = it.Next() {
		p, err := parseKey(it.Key())
		if err == nil && remap[p.sid] == 0 {
			err = fmt.Errorf("rocks: entry of unknown state id %d", p.sid)
		}
		if err != nil {
			_ = it.Close()
			_ = batch.Close()
			return err
		}
		if p.kg < b.opts.KeyGroupStart || p.kg >= b.opts.KeyGroupEnd {
			continue
		}
		ts, payload, err := splitValue(it.Value(), srcTTL)
		if err != nil {
			_ = it.Close()
			_ = batch.Close()
			return err
		}
		if ttl && !srcTTL { // its age is unknown: start counting now
			ts = b.clock.Stamp()
		}
		key = append(append(key[:0], remap[p.sid]), it.Key()[1:]...)
		val = appendValue(val[:0], ttl, ts, payload)
		if err := batch.Set(key, val, nil); err != nil {
			_ = it.Close()
			_ = batch.Close()
			return err
		}
		if batch.Len() > 4<<20 {
			if err := b.db.Apply(batch, pebble.NoSync); err != nil {
				_ = it.Close()
				_ = batch.Close()
				return err
			}
			_ = batch.Close()
			batch = b.db.NewBatch()
		}
	}
	if err := it.Close(); err != nil {
		_ = batch.Close()
		return err
	}
	if err := b.db.Apply(batch, pebble.NoSync); err != nil {
		_ = batch.Close()
		return err
	}
	return batch.Close()
}
