package state_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/streamsql/streamsql/state"
	"github.com/streamsql/streamsql/state/statetest"
)

func newHashMap(t testing.TB, opts state.Options) state.Backend {
	b, err := state.NewHashMap(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestHashMapSuite(t *testing.T) { statetest.Run(t, newHashMap) }

// Equal states give byte-identical snapshots, and a corrupted file is
// refused rather than half loaded.
func TestHashMapSnapshotDeterministicAndChecked(t *testing.T) {
	build := func(order []int) state.SnapshotHandle {
		b := newHashMap(t, state.Options{KeyGroupStart: 0, KeyGroupEnd: 128})
		v, err := b.ValueState("v")
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range order {
			if err := v.Put(i, []byte{byte(i)}, []byte{byte(i % 3)}, []byte{1, 2, byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		h, err := b.Snapshot(filepath.Join(t.TempDir(), "s"))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a := build([]int{1, 5, 9, 2, 77, 3})
	b := build([]int{77, 3, 2, 9, 5, 1})
	da, err := os.ReadFile(filepath.Join(a.Dir, a.Files[0]))
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(filepath.Join(b.Dir, b.Files[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(da, db) {
		t.Fatal("same state, different snapshot bytes")
	}
	if int64(len(da)) != a.Bytes {
		t.Fatalf("handle says %d bytes, file has %d", a.Bytes, len(da))
	}
	da[len(da)/2] ^= 0x40
	if err := os.WriteFile(filepath.Join(a.Dir, a.Files[0]), da, 0o644); err != nil {
		t.Fatal(err)
	}
	r := newHashMap(t, state.Options{KeyGroupStart: 0, KeyGroupEnd: 128})
	if err := r.Restore([]state.SnapshotHandle{a}); err == nil {
		t.Fatal("corrupted snapshot restored without error")
	}
}

func BenchmarkUpdate(b *testing.B) {
	statetest.BenchUpdate(b, func(b *testing.B) state.Backend {
		return newHashMap(b, state.Options{KeyGroupStart: 0, KeyGroupEnd: 128})
	})
}
