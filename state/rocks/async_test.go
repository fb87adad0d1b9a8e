package rocks_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/streamsql/streamsql/state"
	"github.com/streamsql/streamsql/state/rocks"
)

// SnapshotAsync captures the state of the call even though the task goes on
// writing (puts, deletes, a namespace clear, more keys than the cache holds)
// before the pebble checkpoint is done; the writes made meanwhile must be
// readable at once and survive the checkpoint too.
func TestSnapshotAsyncIsConsistent(t *testing.T) {
	for _, cache := range []int{4, 1 << 16} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) {
			opts := state.Options{KeyGroupStart: 0, KeyGroupEnd: 4}
			b, err := rocks.New(rocks.Options{Options: opts, Dir: filepath.Join(t.TempDir(), "db"), CacheEntries: cache})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			v, err := b.ValueState("v")
			if err != nil {
				t.Fatal(err)
			}
			key := func(i int) []byte { return []byte(fmt.Sprintf("k%04d", i)) }
			for i := 0; i < 200; i++ {
				if err := v.Put(i%4, key(i), []byte("a"), []byte("before")); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Flush(); err != nil {
				t.Fatal(err)
			}
			wait, err := b.SnapshotAsync(filepath.Join(t.TempDir(), "snap"))
			if err != nil {
				t.Fatal(err)
			}
			// After the barrier: overwrite, delete, clear, add.
			for i := 0; i < 100; i++ {
				if err := v.Put(i%4, key(i), []byte("a"), []byte("after")); err != nil {
					t.Fatal(err)
				}
			}
			for i := 100; i < 150; i++ {
				if err := v.Delete(i%4, key(i), []byte("a")); err != nil {
					t.Fatal(err)
				}
			}
			for i := 200; i < 300; i++ {
				if err := v.Put(i%4, key(i), []byte("b"), []byte("new")); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.WriteBack(); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := v.Get(0, key(0), []byte("a")); err != nil || !ok || string(got) != "after" {
				t.Fatalf("read after the barrier: %q %v %v", got, ok, err)
			}
			if err := v.ClearNamespace([]byte("b")); err != nil { // a range delete: waits for the checkpoint
				t.Fatal(err)
			}
			h, err := wait()
			if err != nil {
				t.Fatal(err)
			}

			r, err := rocks.New(rocks.Options{Options: opts, Dir: filepath.Join(t.TempDir(), "restored")})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := r.Restore([]state.SnapshotHandle{h}); err != nil {
				t.Fatal(err)
			}
			rv, err := r.ValueState("v")
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 300; i++ {
				for _, ns := range []string{"a", "b"} {
					got, ok, err := rv.Get(i%4, key(i), []byte(ns))
					if err != nil {
						t.Fatal(err)
					}
					want := ns == "a" && i < 200
					if ok != want || (ok && string(got) != "before") {
						t.Fatalf("restored %s/%s = %q, %v; want the value before the snapshot (present %v)", key(i), ns, got, ok, want)
					}
				}
			}
			// The live backend kept every write made during the checkpoint.
			for i := 0; i < 150; i++ {
				got, ok, err := v.Get(i%4, key(i), []byte("a"))
				if err != nil {
					t.Fatal(err)
				}
				if i < 100 && (!ok || string(got) != "after") || i >= 100 && ok {
					t.Fatalf("live %s = %q, %v after the checkpoint", key(i), got, ok)
				}
			}
		})
	}
}
