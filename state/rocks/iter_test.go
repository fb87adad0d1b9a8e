package rocks

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/streamsql/streamsql/state"
)

// Iterations merge the cache with pebble: they neither write the cache's
// dirty entries back nor wait for a checkpoint in progress (one is faked
// here that never ends: an iteration waiting for it would hang the test).
func TestIterationsNeitherFlushNorWait(t *testing.T) {
	b, err := New(Options{Options: state.Options{KeyGroupStart: 0, KeyGroupEnd: 8}, Dir: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := b.MapState("m")
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.ValueState("v")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := m.Put(1, []byte("k"), nil, []byte(fmt.Sprintf("u%03d", i)), []byte("stored")); err != nil {
			t.Fatal(err)
		}
		if err := v.Put(i%8, []byte(fmt.Sprint("k", i)), nil, []byte("stored")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := m.Put(1, []byte("k"), nil, []byte(fmt.Sprintf("u%03d", i*3)), []byte("cached")); err != nil {
			t.Fatal(err)
		}
		if err := v.Delete(i%8, []byte(fmt.Sprint("k", i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	dirty := func() int {
		n := 0
		for _, c := range b.cache {
			if c.dirty {
				n++
			}
		}
		return n
	}
	before := dirty()
	pc := &pendingCheckpoint{done: make(chan struct{})}
	b.ckpt = pc
	defer close(pc.done)

	n, cached := 0, 0
	if err := m.Iterate(1, []byte("k"), nil, func(_, val []byte) error {
		n++
		if string(val) == "cached" {
			cached++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 100 || cached != 10 {
		t.Fatalf("iterate: %d entries, %d from the cache; want 100, 10", n, cached)
	}
	keys := 0
	if err := v.Keys(nil, func(int, []byte) error { keys++; return nil }); err != nil {
		t.Fatal(err)
	}
	entries := 0
	if err := v.Entries(nil, func(int, []byte, []byte) error { entries++; return nil }); err != nil {
		t.Fatal(err)
	}
	if keys != 90 || entries != 90 {
		t.Fatalf("keys %d, entries %d; want 90", keys, entries)
	}
	spaces := 0
	if err := m.Namespaces(func([]byte) error { spaces++; return nil }); err != nil {
		t.Fatal(err)
	}
	if spaces != 1 {
		t.Fatalf("%d namespaces, want 1", spaces)
	}
	if after := dirty(); after != before || before != 20 {
		t.Fatalf("dirty entries %d before the iterations, %d after: want 20 and no flush", before, after)
	}
}
