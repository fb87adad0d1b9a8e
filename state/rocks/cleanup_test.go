package rocks

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/streamsql/streamsql/state"
)

// pebbleKeys counts the entries pebble holds (metadata aside).
func pebbleKeys(t *testing.T, b *Backend) int {
	t.Helper()
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: []byte{metaID + 1}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}

// CleanupExpiredStep deletes expired entries from pebble itself, in
// bounded steps (long runs as range deletions, cut at step boundaries and
// at the end of the key space) without touching live entries between
// them, and does nothing while a checkpoint runs.
func TestCleanupExpiredStepDeletesFromPebble(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	clock := func() time.Time { return now }
	b, err := New(Options{Options: state.Options{KeyGroupStart: 0, KeyGroupEnd: 4, TTL: time.Minute, Now: clock},
		Dir: filepath.Join(t.TempDir(), "db"), CacheEntries: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	v, err := b.ValueState("v")
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) []byte { return []byte(fmt.Sprintf("k%04d", i)) }
	// Runs of 49 expired keys; the last step (keys 999..1009 in steps of
	// 37) ends with a run of 9 at the end of the key space.
	const n = 1010
	live := func(i int) bool { return i%50 == 0 }
	for i := 0; i < n; i++ {
		if err := v.Put(0, key(i), nil, []byte("old")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(40 * time.Second)
	for i := 0; i < n; i++ {
		if live(i) {
			if err := v.Put(0, key(i), nil, []byte("new")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Second)

	pc := &pendingCheckpoint{done: make(chan struct{})}
	b.ckpt = pc
	if done, err := b.CleanupExpiredStep(10_000); err != nil || done {
		t.Fatalf("step during a checkpoint: done %v, err %v", done, err)
	}
	close(pc.done)
	if got := pebbleKeys(t, b); got != n {
		t.Fatalf("a step during a checkpoint wrote to pebble: %d keys left", got)
	}

	calls := 0
	for done := false; !done; calls++ {
		if done, err = b.CleanupExpiredStep(37); err != nil {
			t.Fatal(err)
		}
	}
	if calls < n/37 {
		t.Fatalf("a pass of %d keys took %d steps of 37", n, calls)
	}
	if got := pebbleKeys(t, b); got != 21 {
		t.Fatalf("%d keys left in pebble, want the 21 live ones", got)
	}
	now = now.Add(-35 * time.Second) // expired entries would read as live again
	for i := 0; i < n; i++ {
		got, ok, err := v.Get(0, key(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if ok != live(i) || ok && string(got) != "new" {
			t.Fatalf("%s = %q,%v after cleanup", key(i), got, ok)
		}
	}
}
