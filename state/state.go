// Package state holds keyed operator state: one Backend per parallel
// subtask, owning a contiguous range of key groups. Operators run in one
// goroutine per task, so nothing here is safe for concurrent use and nothing
// needs locks.
//
// Every entry is scoped by (key group, key, namespace). The key group comes
// from the deterministic key hash (the caller computes it; see
// exec.KeyGroupOf), so a snapshot can be split by key-group range when a job
// is restored at another parallelism. The namespace lets one key hold
// several independent entries, e.g. one per window (NamespaceInt64 of the
// window end); operators without windows use a nil namespace.
package state

import (
	"errors"
	"log/slog"
	"time"
)

// Limits of the key layout (the rocks backend spends 2 bytes on a key's
// length and 1 on a namespace's, so that byte order is key order).
const (
	MaxKeyLen       = 1<<16 - 1
	MaxNamespaceLen = 1<<8 - 1
	MaxKeyGroups    = 1 << 15
)

// Stop may be returned by an iteration callback to end the iteration early;
// the iterating method then returns nil.
var Stop = errors.New("state: stop iteration")

// Kind tells the three kinds of state apart.
type Kind uint8

const (
	KindValue Kind = iota + 1
	KindMap
	KindList
)

func (k Kind) String() string {
	switch k {
	case KindValue:
		return "value"
	case KindMap:
		return "map"
	case KindList:
		return "list"
	}
	return "unknown"
}

// Options configure a backend.
type Options struct {
	// KeyGroupStart and KeyGroupEnd are the owned key groups [start, end).
	KeyGroupStart, KeyGroupEnd int
	// TTL is 'table.exec.state.ttl': an entry not written for longer than
	// TTL (processing time) reads as absent. 0 disables it.
	TTL time.Duration
	// Now is the processing-time clock; nil means time.Now. Tests inject a
	// fake one.
	Now func() time.Time
	// Logger receives backend events; nil means slog.Default().
	Logger *slog.Logger
}

// Backend is the keyed state of one subtask.
//
// Iteration order is defined and identical in every backend: namespaces by
// (length, bytes); keys by (key group, key length, key bytes); map entries
// by user-key bytes. Byte slices handed to callbacks, and those returned by
// Get, belong to the backend: read them before the next call on the backend
// and do not modify them. Values passed in are copied.
type Backend interface {
	// KeyGroupRange returns the owned key groups [start, end).
	KeyGroupRange() (start, end int)
	// ValueState, MapState and ListState create or return the named state.
	// Asking for an existing name with another kind is an error.
	ValueState(name string) (ValueState, error)
	MapState(name string) (MapState, error)
	ListState(name string) (ListState, error)
	// Flush writes buffered updates through (a no-op in memory). Operators
	// call it at the end of each batch.
	Flush() error
	// CleanupExpired removes every entry whose TTL has passed, in bulk.
	CleanupExpired() error
	// CleanupExpiredStep removes the expired entries among a bounded slice
	// of the state (about maxEntries stored entries) and resumes where the
	// previous call stopped; it reports true when it finished a pass over
	// the whole state. Operators call it from a timer (OpContext.Every) so
	// that entries whose keys never come back do not stay forever, without
	// a pause proportional to the state. It may do nothing (and report
	// false) when it cannot write now, e.g. during an asynchronous
	// checkpoint.
	CleanupExpiredStep(maxEntries int) (passDone bool, err error)
	// Snapshot writes the whole state into dir, which must not exist yet
	// (its parent must). The files are deterministic for a given state.
	Snapshot(dir string) (SnapshotHandle, error)
	// Restore loads snapshots taken by backends of the same type, keeping
	// only entries in this backend's key-group range; several snapshots are
	// merged (taken at a higher parallelism). It must be called on a fresh
	// backend, before any state is created. Where snapshots overlap, the
	// later one wins.
	Restore(snaps []SnapshotHandle) error
	// Close releases the backend's resources.
	Close() error
}

// SnapshotHandle describes one snapshot directory.
type SnapshotHandle struct {
	Backend                    string // "hashmap" or "rocksdb"
	Dir                        string
	Files                      []string // names relative to Dir, sorted
	Bytes                      int64    // total size of Files
	KeyGroupStart, KeyGroupEnd int
}

// Keyed is what every kind of state offers across keys.
type Keyed interface {
	Name() string
	// Keys calls fn for each key with a live entry in namespace ns.
	Keys(ns []byte, fn func(kg int, key []byte) error) error
	// Namespaces calls fn for each namespace with a live entry.
	Namespaces(fn func(ns []byte) error) error
	// ClearNamespace deletes every entry in namespace ns.
	ClearNamespace(ns []byte) error
}

// ValueState holds one value per (key group, key, namespace).
type ValueState interface {
	Keyed
	Get(kg int, key, ns []byte) (value []byte, ok bool, err error)
	Put(kg int, key, ns, value []byte) error
	Delete(kg int, key, ns []byte) error
	// Entries calls fn for each live entry in namespace ns, in key order
	// (as Keys), with its value: one pass where Keys and a Get per key
	// would read each entry twice (a firing window). Writes fn makes do
	// not change what the iteration yields.
	Entries(ns []byte, fn func(kg int, key, value []byte) error) error
}

// MapState holds a map from user key to value per (key group, key,
// namespace); TTL applies to each user key on its own.
type MapState interface {
	Keyed
	Get(kg int, key, ns, userKey []byte) (value []byte, ok bool, err error)
	Put(kg int, key, ns, userKey, value []byte) error
	Delete(kg int, key, ns, userKey []byte) error
	// Iterate visits the entries in user-key byte order.
	Iterate(kg int, key, ns []byte, fn func(userKey, value []byte) error) error
	// Clear deletes the whole map.
	Clear(kg int, key, ns []byte) error
}

// ListState holds a list of values per (key group, key, namespace); TTL
// applies to the list as a whole (it is refreshed by Add).
type ListState interface {
	Keyed
	Add(kg int, key, ns, value []byte) error
	// Get visits the values in insertion order.
	Get(kg int, key, ns []byte, fn func(value []byte) error) error
	Clear(kg int, key, ns []byte) error
}
