package rocks

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Incremental TTL cleanup. Expired entries read as absent, but they stay
// on disk until a read or a cleanup deletes them; a state whose keys never
// come back (10 M distinct keys) would otherwise only grow.
// CleanupExpiredStep scans a bounded slice of pebble's keys per call and
// resumes at the next call, so an operator can call it from a timer
// without a pause proportional to the state.

// minRangeDelete is the shortest run of consecutive expired keys deleted
// with one range deletion instead of point deletions: a range tombstone
// lets compactions drop the run without a tombstone per key.
const minRangeDelete = 8

// expireCached makes the cache agree with the deletion of k's expired
// version from pebble: a clean entry is that version (absent from now on,
// even if the clock goes back); a dirty one is newer and stays unless it
// expired too.
func (b *Backend) expireCached(k []byte, deadline int64) {
	c := b.cache[string(k)]
	if c == nil || !c.present {
		return
	}
	if !c.dirty || c.ts < deadline {
		c.present = false
		c.val = c.val[:0]
	}
}

// CleanupExpiredStep implements state.Backend: it reads at most maxKeys
// keys of pebble from where the previous call stopped and deletes the
// expired ones, runs of them as range deletions. It reports true when it
// reached the end of the key space (the next call starts a new pass).
//
// It does not flush or drop the cache: a cached entry is at least as new
// as pebble's, so deleting pebble's expired version never loses a write
// (a clean cached entry with that stamp is expired too and reads as
// absent). While SnapshotAsync's checkpoint runs nothing may be written to
// pebble, so the step then does nothing and reports false: the next tick
// tries again, the task never waits here.
func (b *Backend) CleanupExpiredStep(maxKeys int) (bool, error) {
	if b.db == nil {
		return false, errClosed
	}
	if !b.clock.Enabled() {
		return true, nil
	}
	if b.checkpointRunning() {
		return false, nil
	}
	maxKeys = max(maxKeys, 1)
	deadline := b.clock.Deadline()
	lower := b.cleanupFrom
	if lower == nil {
		// Once per pass, the cache's own expired entries (those not yet in
		// pebble would be written back with their old stamp otherwise):
		// at most the cache's size, as often as the pass's scan of the
		// whole state.
		for _, c := range b.cache {
			if c.present && c.ts < deadline {
				c.present, c.dirty = false, true
				c.val = c.val[:0]
			}
		}
		lower = []byte{metaID + 1}
	}
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: lower})
	if err != nil {
		return false, fmt.Errorf("rocks: cleanup: %w", err)
	}
	batch := b.db.NewBatch()
	fail := func(err error) (bool, error) {
		_ = it.Close()
		_ = batch.Close()
		return false, fmt.Errorf("rocks: cleanup: %w", err)
	}
	// The current run of consecutive expired keys: its first key and its
	// keys, kept until the run ends.
	var runKeys [][]byte
	var arena []byte
	endRun := func(next []byte) error {
		defer func() { runKeys, arena = runKeys[:0], arena[:0] }()
		if len(runKeys) >= minRangeDelete {
			// [first, next) holds exactly the run: next is the first live
			// key after it, or the successor of its last key.
			return batch.DeleteRange(runKeys[0], next, nil)
		}
		for _, k := range runKeys {
			if err := batch.Delete(k, nil); err != nil {
				return err
			}
		}
		return nil
	}
	n, removed := 0, 0
	ok := it.First()
	for ; ok && n < maxKeys; ok = it.Next() {
		n++
		ts, _, err := splitValue(it.Value(), true)
		if err != nil {
			return fail(err)
		}
		if ts < deadline {
			b.expireCached(it.Key(), deadline)
			start := len(arena)
			arena = append(arena, it.Key()...)
			runKeys = append(runKeys, arena[start:len(arena):len(arena)])
			removed++
			continue
		}
		if len(runKeys) > 0 {
			if err := endRun(it.Key()); err != nil {
				return fail(err)
			}
		}
	}
	var next []byte // where the next step starts
	if ok {
		next = append([]byte(nil), it.Key()...)
	}
	if len(runKeys) > 0 {
		end := next
		if end == nil {
			end = append(append([]byte(nil), runKeys[len(runKeys)-1]...), 0)
		}
		if err := endRun(end); err != nil {
			return fail(err)
		}
	}
	if err := it.Close(); err != nil {
		_ = batch.Close()
		return false, fmt.Errorf("rocks: cleanup: %w", err)
	}
	if !batch.Empty() {
		if err := b.resetGetIter(); err != nil {
			_ = batch.Close()
			return false, err
		}
		if err := b.db.Apply(batch, pebble.NoSync); err != nil {
			_ = batch.Close()
			return false, fmt.Errorf("rocks: cleanup: %w", err)
		}
	}
	if err := batch.Close(); err != nil {
		return false, fmt.Errorf("rocks: cleanup: %w", err)
	}
	b.cleanupFrom = next
	if removed > 0 {
		b.log.Debug("state: expired entries removed", "backend", "rocksdb", "removed", removed)
	}
	return next == nil, nil
}
