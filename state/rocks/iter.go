package rocks

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/streamsql/streamsql/state"
)

// Iterations merge the write-back cache with pebble instead of flushing
// the cache first: a Top-N refill iterating one small map must not write
// 64 k dirty entries, nor wait for a running checkpoint.
//
// Why no wait is needed: while SnapshotAsync's goroutine applies its batch
// (the dirty entries at the barrier) to pebble, every entry of that batch
// is still in the cache, clean, and the cache wins over pebble; the range
// deletions of that batch cover prefixes whose nsInfo says pebble holds
// nothing, so pebble is not read under them. Whether the batch is applied
// yet or not, the merge yields the same entries. The iteration itself
// writes nothing to pebble.
//
// The cache's entries under the prefix are copied (sorted) before the
// first callback and the pebble iterator is a point-in-time view, so
// writes made by the callback (even a flush) do not change what the
// iteration yields.

// run is a sorted copy of the cache's entries under one prefix.
type run struct {
	arena []byte
	ents  []runEntry
}

// runEntry is arena[k:kEnd] (the key) and arena[kEnd:vEnd] (the payload);
// an absent entry (a deletion, or expired) hides pebble's.
type runEntry struct {
	k, kEnd, vEnd int
	present       bool
}

func (r *run) key(i int) []byte { return r.arena[r.ents[i].k:r.ents[i].kEnd] }

// cachedRun copies the cache entries of keys (values too if withValues),
// sorted by key, without duplicates.
func (b *Backend) cachedRun(keys []string, withValues bool) run {
	var r run
	if len(keys) == 0 {
		return r
	}
	ttl, deadline := b.clock.Enabled(), b.clock.Deadline()
	for _, k := range keys {
		c := b.cache[k]
		if c == nil {
			continue
		}
		e := runEntry{k: len(r.arena), present: c.present && !(ttl && c.ts < deadline)}
		r.arena = append(r.arena, k...)
		e.kEnd = len(r.arena)
		if e.present && withValues {
			r.arena = append(r.arena, c.val...)
		}
		e.vEnd = len(r.arena)
		r.ents = append(r.ents, e)
	}
	slices.SortFunc(r.ents, func(x, y runEntry) int {
		return bytes.Compare(r.arena[x.k:x.kEnd], r.arena[y.k:y.kEnd])
	})
	r.ents = slices.CompactFunc(r.ents, func(x, y runEntry) bool {
		return bytes.Equal(r.arena[x.k:x.kEnd], r.arena[y.k:y.kEnd])
	})
	return r
}

// pebbleMayHold reports whether pebble may hold live entries of the
// (state, namespace) prefix p that the cache does not cover, and returns
// the prefix's info (nil when nothing of it is cached or flushed).
func (b *Backend) pebbleMayHold(p []byte) (*nsInfo, bool, error) {
	info := b.ns[string(p)]
	if info == nil {
		if !b.restored {
			return nil, false, nil // nothing cached, nothing flushed
		}
		var err error
		if info, err = b.nsOf(p); err != nil {
			return nil, false, err
		}
	}
	return info, info.partial || info.flushed.n > 0, nil
}

// mergeScan calls fn with each live entry under prefix in key order: the
// cached run r, merged with pebble's entries when fromPebble (r wins where
// both hold a key). fn's slices are valid until it returns; state.Stop
// from fn ends the scan with nil.
func (b *Backend) mergeScan(name string, prefix []byte, r *run, fromPebble bool, fn func(k, v []byte) error) error {
	err := b.mergeScanErr(name, prefix, r, fromPebble, fn)
	if errors.Is(err, state.Stop) {
		return nil
	}
	return err
}

func (b *Backend) mergeScanErr(name string, prefix []byte, r *run, fromPebble bool, fn func(k, v []byte) error) error {
	var it *pebble.Iterator
	ok := false
	if fromPebble {
		var err error
		it, err = b.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return fmt.Errorf("rocks: iterate %s: %w", name, err)
		}
		ok = it.First()
	}
	ttl, deadline := b.clock.Enabled(), b.clock.Deadline()
	i := 0
	var err error
	for err == nil {
		if i < len(r.ents) {
			c := 0
			if ok {
				c = bytes.Compare(r.key(i), it.Key())
			}
			if !ok || c <= 0 {
				e := r.ents[i]
				i++
				if ok && c == 0 {
					ok = it.Next() // the cache holds the newer state
				}
				if e.present {
					err = fn(r.arena[e.k:e.kEnd], r.arena[e.kEnd:e.vEnd:e.vEnd])
				}
				continue
			}
		}
		if !ok {
			break
		}
		ts, payload, serr := splitValue(it.Value(), ttl)
		if serr != nil {
			err = serr
			break
		}
		if !ttl || ts >= deadline {
			err = fn(it.Key(), payload)
		}
		if err == nil {
			ok = it.Next()
		}
	}
	if it != nil {
		if cerr := it.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("rocks: iterate %s: %w", name, cerr)
		}
	}
	return err
}

// scanPrefix is mergeScan over a whole (state, namespace) prefix.
func (s *base) scanPrefix(prefix []byte, withValues bool, fn func(k, v []byte) error) error {
	info, may, err := s.b.pebbleMayHold(prefix)
	if err != nil {
		return err
	}
	var r run
	if info != nil {
		r = s.b.cachedRun(info.keys, withValues)
	}
	return s.b.mergeScan(s.name, prefix, &r, may, fn)
}
