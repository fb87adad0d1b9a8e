// Package rocks is the pebble-backed state backend ('state.backend' =
// 'rocksdb'): one pebble DB per subtask, under the task's work directory,
// with a write-back cache so a batch touches pebble once per key. See
// keys.go for the key layout.
package rocks

import (
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	"github.com/streamsql/streamsql/state"
)

// Options configure a rocks backend.
type Options struct {
	state.Options
	// Dir holds the DB; it must not exist yet or be empty.
	Dir string
	// CacheEntries bounds the write-back cache (default 65536 entries);
	// reaching it flushes early.
	CacheEntries int
	// MemTableBytes is pebble's memtable size (default 16 MiB).
	MemTableBytes uint64
	// BlockCacheBytes is pebble's block cache (default 64 MiB).
	BlockCacheBytes int64
}

var errClosed = errors.New("rocks: backend is closed")

type stateInfo struct {
	sid  byte
	kind state.Kind
}

// Backend is the pebble state backend. Not safe for concurrent use.
type Backend struct {
	opts       Options
	clock      state.TTLClock
	log        *slog.Logger
	db         *pebble.DB
	states     map[string]stateInfo
	cache      map[string]*centry
	maps       map[string]*mapGroup // map prefix -> its cached keys
	free       []*centry
	cacheLimit int
	kbuf, vbuf []byte
	fbuf       []byte // dirtyBatch's key
	restored   bool
	created    bool // a state handle was handed out
	// pebble's block cache, shared by the DB and its restores; its type is
	// internal to pebble, hence closures.
	useCache   func(*pebble.Options)
	unrefCache func()
	// ns tracks, per (state, namespace) prefix, what pebble may hold that
	// the cache does not (see nsinfo.go); seed hashes flushed keys.
	ns          map[string]*nsInfo
	seed        maphash.Seed
	filterBytes int // held by the nsInfos' flushed filters
	// pendingDel are prefixes cleared since the last flush, whose range
	// deletions go into its batch.
	pendingDel [][]byte
	// cleanupFrom is where the next CleanupExpiredStep resumes (nil: at
	// the start of a new pass).
	cleanupFrom []byte
	// getIt serves point lookups (see pebbleGet); nil until needed.
	getIt *pebble.Iterator
	// ckpt is the pebble checkpoint SnapshotAsync started, until a write
	// to pebble waits for it (nothing may reach pebble while it runs).
	ckpt *pendingCheckpoint
}

var _ state.Backend = (*Backend)(nil)

// New creates an empty backend in opts.Dir.
func New(opts Options) (*Backend, error) {
	if err := state.CheckOptions(opts.Options); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, errors.New("rocks: no directory given")
	}
	if ents, err := os.ReadDir(opts.Dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("rocks: state directory %s is not empty", opts.Dir)
	}
	if opts.CacheEntries <= 0 {
		opts.CacheEntries = 1 << 16
	}
	if opts.MemTableBytes == 0 {
		opts.MemTableBytes = 16 << 20
	}
	if opts.BlockCacheBytes <= 0 {
		opts.BlockCacheBytes = 64 << 20
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	b := &Backend{
		opts: opts, clock: state.NewTTLClock(opts.Options), log: log,
		states: map[string]stateInfo{}, cache: map[string]*centry{}, maps: map[string]*mapGroup{}, cacheLimit: opts.CacheEntries,
		ns: map[string]*nsInfo{}, seed: maphash.MakeSeed(),
	}
	blockCache := pebble.NewCache(opts.BlockCacheBytes)
	b.useCache = func(o *pebble.Options) { o.Cache = blockCache }
	b.unrefCache = blockCache.Unref
	db, err := pebble.Open(opts.Dir, b.pebbleOptions(false, false))
	if err != nil {
		blockCache.Unref()
		return nil, fmt.Errorf("rocks: open %s: %w", opts.Dir, err)
	}
	b.db = db
	flag := []byte{0}
	if b.clock.Enabled() {
		flag[0] = 1
	}
	if err := db.Set([]byte{metaID, metaTTL}, flag, pebble.NoSync); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("rocks: write metadata: %w", err)
	}
	return b, nil
}

func (b *Backend) pebbleOptions(mustExist, readOnly bool) *pebble.Options {
	o := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		DisableWAL:         true, // checkpoints, not the WAL, make state durable
		ErrorIfNotExists:   mustExist,
		ReadOnly:           readOnly,
		MemTableSize:       b.opts.MemTableBytes,
		Logger:             quietLogger{log: b.log},
		// Checkpoints flush the memtable every interval, so L0 fills with
		// small files; compacting them early rewrites (and re-uploads)
		// the older data they overlap at every checkpoint. Letting L0 grow
		// keeps an incremental upload close to the data that changed.
		L0CompactionThreshold:     16,
		L0CompactionFileThreshold: 64,
		L0StopWritesThreshold:     64,
	}
	// Operators read many keys that were never written (a new group, a new
	// join key): bloom filters answer those without reading data blocks.
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	if b.useCache != nil {
		b.useCache(o)
	}
	return o
}

// quietLogger drops pebble's chatter ("Found N WALs") and keeps errors.
type quietLogger struct{ log *slog.Logger }

func (quietLogger) Infof(string, ...any) {}
func (l quietLogger) Errorf(format string, args ...any) {
	l.log.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf is pebble reporting broken invariants (corruption); pebble does
// not expect it to return.
func (l quietLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error("pebble: fatal: " + msg)
	panic("pebble: " + msg)
}

// KeyGroupRange implements state.Backend.
func (b *Backend) KeyGroupRange() (int, int) { return b.opts.KeyGroupStart, b.opts.KeyGroupEnd }

// Dir is where the DB lives.
func (b *Backend) Dir() string { return b.opts.Dir }

// Close flushes nothing (state not in a snapshot is transient) and closes
// the DB.
func (b *Backend) Close() error {
	if b.db == nil {
		return nil
	}
	b.waitCheckpoint()
	err := b.resetGetIter()
	if cerr := b.db.Close(); err == nil {
		err = cerr
	}
	b.db = nil
	if b.unrefCache != nil {
		b.unrefCache()
		b.unrefCache, b.useCache = nil, nil
	}
	if err != nil {
		return fmt.Errorf("rocks: close: %w", err)
	}
	return nil
}

func (b *Backend) register(name string, kind state.Kind) (stateInfo, error) {
	if b.db == nil {
		return stateInfo{}, errClosed
	}
	if si, ok := b.states[name]; ok {
		if si.kind != kind {
			return stateInfo{}, fmt.Errorf("state: %q is a %s state, not a %s state", name, si.kind, kind)
		}
		return si, nil
	}
	if len(b.states) >= maxStates {
		return stateInfo{}, fmt.Errorf("not supported yet: more than %d states in one backend", maxStates)
	}
	si := stateInfo{sid: byte(len(b.states) + 1), kind: kind}
	k := append([]byte{metaID, metaState}, name...)
	b.waitCheckpoint()
	if err := b.resetGetIter(); err != nil {
		return stateInfo{}, err
	}
	if err := b.db.Set(k, []byte{si.sid, byte(kind)}, pebble.NoSync); err != nil {
		return stateInfo{}, fmt.Errorf("rocks: register state %q: %w", name, err)
	}
	b.states[name] = si
	return si, nil
}

// readMeta reads the state registry and TTL flag of db.
func readMeta(db *pebble.DB) (map[string]stateInfo, bool, error) {
	raw, closer, err := db.Get([]byte{metaID, metaTTL})
	if err != nil {
		// Every backend writes this key at creation: its absence means the
		// DB opened empty (e.g. the marker files were lost).
		return nil, false, fmt.Errorf("rocks: snapshot holds no backend metadata (empty database?): %w", err)
	}
	ttl := len(raw) == 1 && raw[0] == 1
	_ = closer.Close()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{metaID, metaState}, UpperBound: []byte{metaID, metaState + 1}})
	if err != nil {
		return nil, false, fmt.Errorf("rocks: read metadata: %w", err)
	}
	states := map[string]stateInfo{}
	for ok := it.First(); ok; ok = it.Next() {
		v := it.Value()
		if len(v) != 2 {
			_ = it.Close()
			return nil, false, fmt.Errorf("rocks: bad state metadata %x", v)
		}
		states[string(it.Key()[2:])] = stateInfo{sid: v[0], kind: state.Kind(v[1])}
	}
	if err := it.Close(); err != nil {
		return nil, false, fmt.Errorf("rocks: read metadata: %w", err)
	}
	return states, ttl, nil
}

// ValueState implements state.Backend.
func (b *Backend) ValueState(name string) (state.ValueState, error) {
	si, err := b.register(name, state.KindValue)
	if err != nil {
		return nil, err
	}
	b.created = true
	return &valueState{base{b: b, name: name, sid: si.sid}}, nil
}

// MapState implements state.Backend.
func (b *Backend) MapState(name string) (state.MapState, error) {
	si, err := b.register(name, state.KindMap)
	if err != nil {
		return nil, err
	}
	b.created = true
	return &mapState{base{b: b, name: name, sid: si.sid}}, nil
}

// ListState implements state.Backend.
func (b *Backend) ListState(name string) (state.ListState, error) {
	si, err := b.register(name, state.KindList)
	if err != nil {
		return nil, err
	}
	b.created = true
	return &listState{base{b: b, name: name, sid: si.sid}}, nil
}

// CleanupExpired implements state.Backend: a whole pass of
// CleanupExpiredStep, after waiting for a running checkpoint.
func (b *Backend) CleanupExpired() error {
	if b.db == nil {
		return errClosed
	}
	if !b.clock.Enabled() {
		return nil
	}
	b.waitCheckpoint()
	b.cleanupFrom = nil // a whole pass from the start
	for {
		done, err := b.CleanupExpiredStep(1 << 16)
		if err != nil || done {
			return err
		}
	}
}
