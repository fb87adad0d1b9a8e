package rocks

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The write-back cache: a batch reads each key from pebble at most once and
// writes it back once, at Flush. Entries are keyed by the full pebble key.

type centry struct {
	val     []byte // payload without the write stamp
	ts      int64
	present bool
	dirty   bool
}

// load returns the cache entry of k, reading pebble on a miss. An expired
// value loads as absent and dirty, so the Flush deletes it. mp is the
// length of k's map prefix (state, namespace, key group, key) for a map
// state's entry, 0 otherwise (see addEntry).
func (b *Backend) load(k []byte, mp int) (*centry, error) {
	if c := b.cache[string(k)]; c != nil {
		if c.present && b.clock.Expired(c.ts) {
			c.present, c.dirty = false, true
		}
		return c, nil
	}
	if b.cacheFull() {
		if err := b.Flush(); err != nil { // drops the full cache
			return nil, err
		}
	}
	info, err := b.nsOf(k)
	if err != nil {
		return nil, err
	}
	c := b.newEntry()
	if !b.mayBeInPebble(info, k) {
		b.addEntry(info, k, mp, c)
		return c, nil
	}
	raw, found, err := b.pebbleGet(k)
	if err != nil {
		return nil, err
	}
	if found {
		ts, payload, err := splitValue(raw, b.clock.Enabled())
		if err != nil {
			return nil, err
		}
		if b.clock.Expired(ts) {
			c.dirty = true
		} else {
			c.present, c.ts = true, ts
			c.val = append(c.val[:0], payload...)
		}
	}
	b.addEntry(info, k, mp, c)
	return c, nil
}

// pebbleGet reads k from pebble; the value is valid until the next call.
//
// It seeks a long-lived iterator with UseL6Filters instead of calling
// db.Get: pebble's Get never reads the bloom filters of the bottom level
// (L6, most of a large state), so every lookup of a key that is not there
// read and decompressed an L6 data block (profile of 10 M distinct keys:
// 58 % of the time in Get, 27 % in readDataBlock). The iterator also keeps
// its per-level table iterators open between lookups. It sees pebble as of
// its creation, so every write to pebble from this goroutine closes it
// (resetGetIter); the writes of a running checkpoint need not, as all of
// them are in the cache, which is read first.
func (b *Backend) pebbleGet(k []byte) ([]byte, bool, error) {
	if b.getIt == nil {
		it, err := b.db.NewIter(&pebble.IterOptions{UseL6Filters: true})
		if err != nil {
			return nil, false, fmt.Errorf("rocks: get: %w", err)
		}
		b.getIt = it
	}
	it := b.getIt
	if !it.SeekPrefixGE(k) || !bytes.Equal(it.Key(), k) {
		if err := it.Error(); err != nil {
			return nil, false, fmt.Errorf("rocks: get: %w", err)
		}
		return nil, false, nil
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return nil, false, fmt.Errorf("rocks: get: %w", err)
	}
	return v, true, nil
}

// resetGetIter closes pebbleGet's iterator: called before every write to
// pebble (and Close), so the next lookup sees it.
func (b *Backend) resetGetIter() error {
	if b.getIt == nil {
		return nil
	}
	err := b.getIt.Close()
	b.getIt = nil
	if err != nil {
		return fmt.Errorf("rocks: get: %w", err)
	}
	return nil
}

// addEntry caches c as the entry of k, of prefix info. A map state's
// entry (mp > 0) is also listed under its map prefix, so that Iterate
// finds the cached entries of one map without walking the cache.
func (b *Backend) addEntry(info *nsInfo, k []byte, mp int, c *centry) {
	ks := string(k)
	b.cache[ks] = c
	info.keys = append(info.keys, ks)
	if mp > 0 {
		g := b.maps[ks[:mp]]
		if g == nil {
			g = &mapGroup{}
			b.maps[ks[:mp]] = g // the key shares ks's bytes
		}
		g.keys = append(g.keys, ks)
	}
}

// mapGroup lists the cache's keys of one map (duplicates possible after a
// ClearNamespace dropped and a write re-added a key; readers dedupe).
type mapGroup struct{ keys []string }

// entryForWrite returns the cache entry of k without reading pebble.
func (b *Backend) entryForWrite(k []byte, mp int) (*centry, error) {
	if c := b.cache[string(k)]; c != nil {
		return c, nil
	}
	if b.cacheFull() {
		if err := b.Flush(); err != nil { // drops the full cache
			return nil, err
		}
	}
	info, err := b.nsOf(k)
	if err != nil {
		return nil, err
	}
	c := b.newEntry()
	b.addEntry(info, k, mp, c)
	return c, nil
}

func (b *Backend) set(k []byte, mp int, payload []byte) error {
	c, err := b.entryForWrite(k, mp)
	if err != nil {
		return err
	}
	c.val = append(c.val[:0], payload...)
	c.ts = b.clock.Stamp()
	c.present, c.dirty = true, true
	return nil
}

func (b *Backend) del(k []byte, mp int) error {
	c, err := b.entryForWrite(k, mp)
	if err != nil {
		return err
	}
	c.val = c.val[:0]
	c.present, c.dirty = false, true
	return nil
}

// cacheFull reports whether the cache must be flushed before it takes
// another key. While a pebble checkpoint runs (SnapshotAsync), nothing may
// be written to pebble, so the cache grows to checkpointCacheFactor times
// its limit before a flush waits for the checkpoint.
func (b *Backend) cacheFull() bool {
	if b.checkpointRunning() {
		return len(b.cache) >= checkpointCacheFactor*b.cacheLimit
	}
	return len(b.cache) >= b.cacheLimit
}

// checkpointRunning reports whether a pebble checkpoint is in progress.
func (b *Backend) checkpointRunning() bool {
	if b.ckpt == nil {
		return false
	}
	select {
	case <-b.ckpt.done:
		b.ckpt = nil
		return false
	default:
		return true
	}
}

// WriteBack is what operators call after each batch: it writes the dirty
// entries to pebble only once the cache is full (it is a write-back cache:
// reads are served from it, and a checkpoint takes its dirty entries), so
// a batch over hot keys costs no pebble write, and a task never waits here
// for a checkpoint in progress until the cache has grown to its limit.
func (b *Backend) WriteBack() error {
	if b.db == nil {
		return errClosed
	}
	if !b.cacheFull() {
		return nil
	}
	return b.Flush()
}

const checkpointCacheFactor = 4

func (b *Backend) newEntry() *centry {
	if n := len(b.free); n > 0 {
		c := b.free[n-1]
		b.free = b.free[:n-1]
		*c = centry{val: c.val[:0]}
		return c
	}
	return &centry{}
}

// Flush writes the dirty cache entries to pebble in one batch (no WAL, no
// sync: checkpoints make state durable). Clean entries stay cached, so the
// next batch over the same hot keys reads no pebble; the cache is emptied
// when it reaches its limit.
func (b *Backend) Flush() error {
	if b.db == nil {
		return errClosed
	}
	// Callers write to pebble after Flush too (range deletes, cleanup):
	// wait even when there is nothing to write.
	b.waitCheckpoint()
	if err := b.resetGetIter(); err != nil {
		return err
	}
	if len(b.cache) == 0 && len(b.pendingDel) == 0 {
		return nil
	}
	batch, err := b.dirtyBatch()
	if err != nil {
		return err
	}
	if len(b.cache) >= b.cacheLimit {
		b.dropCache()
	}
	if batch == nil {
		return nil
	}
	if err := b.db.Apply(batch, pebble.NoSync); err != nil {
		_ = batch.Close()
		return fmt.Errorf("rocks: flush: %w", err)
	}
	return batch.Close()
}

// dirtyBatch puts the pending range deletions (ClearNamespace), then the
// dirty cache entries into a new batch and marks them clean; nil when there
// are none. Entries written after a range deletion of their prefix follow
// it in the batch, so they survive it.
func (b *Backend) dirtyBatch() (*pebble.Batch, error) {
	batch := b.db.NewBatch()
	for _, p := range b.pendingDel {
		if err := batch.DeleteRange(p, prefixEnd(p), nil); err != nil {
			_ = batch.Close()
			return nil, fmt.Errorf("rocks: flush: %w", err)
		}
	}
	clear(b.pendingDel)
	b.pendingDel = b.pendingDel[:0]
	ttl := b.clock.Enabled()
	var lastP string
	var info *nsInfo
	for k, c := range b.cache {
		if !c.dirty {
			continue
		}
		var err error
		if c.present {
			b.fbuf = append(b.fbuf[:0], k...) // batch.Set copies it
			kb := b.fbuf
			if p := prefixOf(kb); info == nil || lastP != string(p) {
				lastP, info = string(p), b.ns[string(p)]
			}
			if info != nil { // always: cache entries are registered
				b.noteFlushed(info, kb)
			}
			b.vbuf = appendValue(b.vbuf[:0], ttl, c.ts, c.val)
			err = batch.Set(kb, b.vbuf, nil)
		} else {
			err = batch.Delete([]byte(k), nil)
		}
		if err != nil {
			_ = batch.Close()
			return nil, fmt.Errorf("rocks: flush: %w", err)
		}
		c.dirty = false
	}
	if batch.Empty() {
		return nil, batch.Close()
	}
	return batch, nil
}

// dropCache forgets every (clean) entry: needed after writes that bypass
// the cache (range deletions, TTL cleanup).
func (b *Backend) dropCache() {
	for _, c := range b.cache {
		b.free = append(b.free, c)
	}
	clear(b.cache)
	clear(b.maps)
	b.forgetCachedKeys()
}
