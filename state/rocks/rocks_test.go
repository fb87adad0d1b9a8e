package rocks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/state"
	"github.com/streamsql/streamsql/state/rocks"
	"github.com/streamsql/streamsql/state/statetest"
)

func newRocks(t testing.TB, opts state.Options) state.Backend {
	return newRocksWith(t, rocks.Options{Options: opts})
}

func newRocksWith(t testing.TB, opts rocks.Options) state.Backend {
	opts.Dir = filepath.Join(t.TempDir(), "db")
	b, err := rocks.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestRocksSuite(t *testing.T) { statetest.Run(t, newRocks) }

// A tiny cache flushes in the middle of batches: the suite must still pass.
func TestRocksSuiteTinyCache(t *testing.T) {
	statetest.Run(t, func(t testing.TB, opts state.Options) state.Backend {
		return newRocksWith(t, rocks.Options{Options: opts, CacheEntries: 3})
	})
}

// Without its marker files a pebble snapshot would open as an empty DB;
// Restore must refuse it instead of silently starting empty.
func TestRocksRestoreWithoutMarkersFails(t *testing.T) {
	full := state.Options{KeyGroupStart: 0, KeyGroupEnd: 128}
	b := newRocks(t, full)
	v, err := b.ValueState("v")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Put(1, []byte("k"), nil, []byte("x")); err != nil {
		t.Fatal(err)
	}
	snap, err := b.Snapshot(filepath.Join(t.TempDir(), "snap"))
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, f := range snap.Files {
		if strings.HasPrefix(f, "marker.") {
			if err := os.Remove(filepath.Join(snap.Dir, f)); err != nil {
				t.Fatal(err)
			}
			removed++
		}
	}
	if removed < 2 {
		t.Fatalf("snapshot had %d marker files: %v", removed, snap.Files)
	}
	for _, rg := range [][2]int{{0, 128}, {0, 64}} {
		r := newRocks(t, state.Options{KeyGroupStart: rg[0], KeyGroupEnd: rg[1]})
		if err := r.Restore([]state.SnapshotHandle{snap}); err == nil {
			t.Fatalf("range %v: restore without marker files succeeded", rg)
		}
	}
}

func TestRocksNewRefusesUsedDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := rocks.New(rocks.Options{Options: state.Options{KeyGroupEnd: 1}, Dir: dir}); err == nil {
		t.Fatal("New in a non-empty directory: want an error")
	}
}
