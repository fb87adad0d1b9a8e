package rocks

import (
	"fmt"
	"hash/maphash"

	"github.com/cockroachdb/pebble/v2"
)

// Negative lookups without pebble. Operators read many keys that were
// never written (a new group, a new window), and a pebble point lookup
// that finds nothing still builds iterators over every level's files. So
// the backend tracks, per (state, namespace) prefix, whether pebble can
// hold a key of that prefix that the cache does not: a namespace this
// instance created after its last restore holds in pebble only what this
// instance flushed, whose keys it remembers (64-bit hashes in a bloom
// filter chain, filter.go). A cache miss under such a prefix whose hash
// was never flushed is a definite miss.
//
// A prefix is "partial" (every miss reads pebble) when it was restored
// with entries, or when remembering its flushed keys would exceed the
// budget.

// nsInfo is what the backend knows about one prefix.
type nsInfo struct {
	// partial: pebble may hold keys of the prefix that are neither cached
	// nor in flushed.
	partial bool
	// flushed holds the hashes of the keys written to pebble under the
	// prefix since it was created or last cleared (deleted keys stay: a
	// hit only costs a pebble lookup); flushed.n == 0: pebble holds none.
	flushed keyFilter
	// keys are the cache's keys of the prefix (for ClearNamespace and
	// Entries); reset when the cache is dropped.
	keys []string
}

// maxFilterBytes bounds the flushed-key filters over all prefixes (one
// prefix reaches it at 21 M keys); past it, the prefix being flushed turns
// partial.
const maxFilterBytes = 64 << 20

// prefixOf returns the (state, namespace) prefix of an entry key.
func prefixOf(k []byte) []byte { return k[:headerBytes+int(k[1])] }

// nsOf returns the info of k's prefix, creating it: a prefix new to this
// backend is complete unless the backend was restored and pebble holds
// entries of it.
func (b *Backend) nsOf(k []byte) (*nsInfo, error) {
	p := prefixOf(k)
	if info := b.ns[string(p)]; info != nil {
		return info, nil
	}
	info := &nsInfo{}
	if b.restored {
		has, err := b.pebbleHasPrefix(p)
		if err != nil {
			return nil, err
		}
		info.partial = has
	}
	b.ns[string(p)] = info
	return info, nil
}

// pebbleHasPrefix reports whether pebble holds a live key with prefix p.
// Only asked of prefixes without info, which have no entries in a pending
// checkpoint batch (see dropCache), so pebble's view is current.
func (b *Backend) pebbleHasPrefix(p []byte) (bool, error) {
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return false, fmt.Errorf("rocks: probe: %w", err)
	}
	has := it.First()
	if err := it.Close(); err != nil {
		return false, fmt.Errorf("rocks: probe: %w", err)
	}
	return has, nil
}

// mayBeInPebble reports whether a key missing from the cache may be in
// pebble.
func (b *Backend) mayBeInPebble(info *nsInfo, k []byte) bool {
	if info.partial {
		return true
	}
	if info.flushed.n == 0 {
		return false
	}
	return info.flushed.mayContain(maphash.Bytes(b.seed, k))
}

// noteFlushed records that k (of prefix info) is being written to pebble.
func (b *Backend) noteFlushed(info *nsInfo, k []byte) {
	if info.partial {
		return
	}
	allocated, ok := info.flushed.add(maphash.Bytes(b.seed, k), maxFilterBytes-b.filterBytes)
	if !ok {
		b.makePartial(info)
		return
	}
	b.filterBytes += allocated
}

func (b *Backend) makePartial(info *nsInfo) {
	b.filterBytes -= info.flushed.bytes()
	info.flushed = keyFilter{}
	info.partial = true
}

// clearPrefix deletes every entry of prefix p: its cache entries are
// dropped, and if pebble may hold some, a range deletion goes into the
// next flush's batch (so it needs no pebble write now, and a checkpoint
// in progress is not waited for). Until then the prefix reads as empty
// from the cache alone.
func (b *Backend) clearPrefix(p []byte) error {
	info := b.ns[string(p)]
	if info == nil {
		if !b.restored {
			return nil // nothing cached, nothing flushed
		}
		k := append([]byte(nil), p...)
		var err error
		if info, err = b.nsOf(k); err != nil {
			return err
		}
	}
	for _, k := range info.keys {
		if c := b.cache[k]; c != nil {
			delete(b.cache, k)
			b.free = append(b.free, c)
		}
		if len(b.maps) > 0 {
			if end := keyEndOf(k); end > 0 {
				delete(b.maps, k[:end])
			}
		}
	}
	clear(info.keys)
	info.keys = info.keys[:0]
	if info.partial || info.flushed.n > 0 {
		b.pendingDel = append(b.pendingDel, append([]byte(nil), p...))
	}
	b.filterBytes -= info.flushed.bytes()
	info.flushed = keyFilter{}
	info.partial = false
	return nil
}

// forgetCachedKeys is dropCache's part: cache key lists are emptied, and
// the infos that tell nothing beyond "pebble holds nothing of the prefix"
// are dropped (a prefix without info is probed again after a restore, and
// is known empty otherwise). Called only after the pending range
// deletions went into a batch applied before any probe.
func (b *Backend) forgetCachedKeys() {
	for p, info := range b.ns {
		if !info.partial && info.flushed.n == 0 {
			delete(b.ns, p)
			continue
		}
		clear(info.keys)
		info.keys = info.keys[:0]
	}
}
