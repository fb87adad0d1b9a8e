// Package statetest is the test suite every state backend must pass with
// identical expectations, plus the shared update benchmark.
package statetest

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/streamsql/streamsql/state"
)

// Factory creates a fresh backend for a test; it registers its own cleanup.
type Factory func(t testing.TB, opts state.Options) state.Backend

// Run runs the whole suite against one backend.
func Run(t *testing.T, f Factory) {
	t.Run("Values", func(t *testing.T) { testValues(t, f) })
	t.Run("Maps", func(t *testing.T) { testMaps(t, f) })
	t.Run("Lists", func(t *testing.T) { testLists(t, f) })
	t.Run("Order", func(t *testing.T) { testOrder(t, f) })
	t.Run("ClearNamespace", func(t *testing.T) { testClearNamespace(t, f) })
	t.Run("Entries", func(t *testing.T) { testEntries(t, f) })
	t.Run("NamespaceLifecycle", func(t *testing.T) { testNamespaceLifecycle(t, f) })
	t.Run("TTL", func(t *testing.T) { testTTL(t, f) })
	t.Run("SnapshotSameRange", func(t *testing.T) { testSnapshotSameRange(t, f) })
	t.Run("SnapshotRescale", func(t *testing.T) { testSnapshotRescale(t, f) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, f) })
	t.Run("IterateUnflushed", func(t *testing.T) { testIterateUnflushed(t, f) })
	t.Run("MergeModel", func(t *testing.T) { testMergeModel(t, f) })
	t.Run("IterateDuringSnapshot", func(t *testing.T) { testIterateDuringSnapshot(t, f) })
	t.Run("CleanupStep", func(t *testing.T) { testCleanupStep(t, f) })
}

func full() state.Options { return state.Options{KeyGroupStart: 0, KeyGroupEnd: 128} }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func getValue(t testing.TB, v state.ValueState, kg int, key, ns string) (string, bool) {
	t.Helper()
	b, ok, err := v.Get(kg, []byte(key), []byte(ns))
	must(t, err)
	return string(b), ok
}

func wantValue(t testing.TB, v state.ValueState, kg int, key, ns, want string) {
	t.Helper()
	got, ok := getValue(t, v, kg, key, ns)
	if want == "" {
		if ok {
			t.Fatalf("%s(%d,%q,%q) = %q, want absent", v.Name(), kg, key, ns, got)
		}
		return
	}
	if !ok || got != want {
		t.Fatalf("%s(%d,%q,%q) = %q,%v, want %q", v.Name(), kg, key, ns, got, ok, want)
	}
}

func testValues(t *testing.T, f Factory) {
	b := f(t, full())
	v, err := b.ValueState("acc")
	must(t, err)
	must(t, v.Put(3, []byte("k"), nil, []byte("one")))
	wantValue(t, v, 3, "k", "", "one")
	wantValue(t, v, 4, "k", "", "")     // another key group is another key
	wantValue(t, v, 3, "k", "w1", "")   // another namespace is another entry
	wantValue(t, v, 3, "k\x00", "", "") // no prefix confusion
	buf := []byte("two")
	must(t, v.Put(3, []byte("k"), nil, buf))
	buf[0] = 'X' // the backend must have copied the value
	wantValue(t, v, 3, "k", "", "two")
	must(t, v.Put(3, []byte("k"), []byte("w1"), []byte("win")))
	must(t, b.Flush())
	wantValue(t, v, 3, "k", "", "two")
	wantValue(t, v, 3, "k", "w1", "win")
	must(t, v.Delete(3, []byte("k"), nil))
	wantValue(t, v, 3, "k", "", "")
	wantValue(t, v, 3, "k", "w1", "win")
	must(t, v.Put(3, nil, nil, []byte("empty key")))
	wantValue(t, v, 3, "", "", "empty key")

	// The same name gives the same state; two names are isolated.
	v2, err := b.ValueState("acc")
	must(t, err)
	wantValue(t, v2, 3, "k", "w1", "win")
	other, err := b.ValueState("other")
	must(t, err)
	wantValue(t, other, 3, "k", "w1", "")

	// Read-modify-write of an accumulator across flushes.
	for i := 0; i < 100; i++ {
		cur, ok, err := v.Get(7, []byte("sum"), nil)
		must(t, err)
		acc := make([]byte, 24)
		if ok {
			copy(acc, cur)
		}
		state.PutInt64(acc, 0, state.Int64At(acc, 0)+1)
		state.PutFloat64(acc, 8, state.Float64At(acc, 8)+0.5)
		state.PutUint64(acc, 16, state.Uint64At(acc, 16)+2)
		must(t, v.Put(7, []byte("sum"), nil, acc))
		if i%10 == 0 {
			must(t, b.Flush())
		}
	}
	cur, _, err := v.Get(7, []byte("sum"), nil)
	must(t, err)
	if state.Int64At(cur, 0) != 100 || state.Float64At(cur, 8) != 50 || state.Uint64At(cur, 16) != 200 {
		t.Fatalf("accumulator = %d %v %d", state.Int64At(cur, 0), state.Float64At(cur, 8), state.Uint64At(cur, 16))
	}
}

func mapEntries(t testing.TB, m state.MapState, kg int, key, ns string) []string {
	t.Helper()
	var out []string
	must(t, m.Iterate(kg, []byte(key), []byte(ns), func(uk, v []byte) error {
		out = append(out, string(uk)+"="+string(v))
		return nil
	}))
	return out
}

func testMaps(t *testing.T, f Factory) {
	b := f(t, full())
	m, err := b.MapState("rank")
	must(t, err)
	for _, uk := range []string{"b", "a", "c", "ab", ""} {
		must(t, m.Put(1, []byte("k"), nil, []byte(uk), []byte("v"+uk)))
	}
	must(t, m.Put(1, []byte("k2"), nil, []byte("a"), []byte("other")))
	got := mapEntries(t, m, 1, "k", "")
	want := []string{"=v", "a=va", "ab=vab", "b=vb", "c=vc"}
	if !slices.Equal(got, want) {
		t.Fatalf("iterate = %q, want %q", got, want)
	}
	v, ok, err := m.Get(1, []byte("k"), nil, []byte("ab"))
	must(t, err)
	if !ok || string(v) != "vab" {
		t.Fatalf("get ab = %q %v", v, ok)
	}
	must(t, m.Delete(1, []byte("k"), nil, []byte("ab")))
	must(t, m.Put(1, []byte("k"), nil, []byte("b"), []byte("new")))
	must(t, b.Flush())
	if _, ok, _ := m.Get(1, []byte("k"), nil, []byte("ab")); ok {
		t.Fatal("deleted user key still present")
	}
	got = mapEntries(t, m, 1, "k", "")
	want = []string{"=v", "a=va", "b=new", "c=vc"}
	if !slices.Equal(got, want) {
		t.Fatalf("iterate = %q, want %q", got, want)
	}
	// Stop ends the iteration without an error.
	n := 0
	must(t, m.Iterate(1, []byte("k"), nil, func(_, _ []byte) error { n++; return state.Stop }))
	if n != 1 {
		t.Fatalf("Stop: %d calls", n)
	}
	must(t, m.Clear(1, []byte("k"), nil))
	if got := mapEntries(t, m, 1, "k", ""); len(got) != 0 {
		t.Fatalf("after clear: %q", got)
	}
	if got := mapEntries(t, m, 1, "k2", ""); !slices.Equal(got, []string{"a=other"}) {
		t.Fatalf("clear leaked into another key: %q", got)
	}
	if keys := keysOf(t, m, ""); !slices.Equal(keys, []string{"1/k2"}) {
		t.Fatalf("keys = %q", keys)
	}
}

func listOf(t testing.TB, l state.ListState, kg int, key, ns string) []string {
	t.Helper()
	var out []string
	must(t, l.Get(kg, []byte(key), []byte(ns), func(v []byte) error {
		out = append(out, string(v))
		return nil
	}))
	return out
}

func testLists(t *testing.T, f Factory) {
	b := f(t, full())
	l, err := b.ListState("rows")
	must(t, err)
	for _, v := range []string{"x", "y", "x", ""} {
		must(t, l.Add(9, []byte("k"), []byte("w"), []byte(v)))
	}
	must(t, b.Flush())
	must(t, l.Add(9, []byte("k"), []byte("w"), []byte("z")))
	if got := listOf(t, l, 9, "k", "w"); !slices.Equal(got, []string{"x", "y", "x", "", "z"}) {
		t.Fatalf("list = %q", got)
	}
	if got := listOf(t, l, 9, "k", ""); len(got) != 0 {
		t.Fatalf("other namespace = %q", got)
	}
	must(t, l.Clear(9, []byte("k"), []byte("w")))
	if got := listOf(t, l, 9, "k", "w"); len(got) != 0 {
		t.Fatalf("after clear = %q", got)
	}
	if _, err := b.ValueState("rows"); err == nil {
		t.Fatal("a list state reopened as a value state: want an error")
	}
}

func keysOf(t testing.TB, s state.Keyed, ns string) []string {
	t.Helper()
	var out []string
	must(t, s.Keys([]byte(ns), func(kg int, key []byte) error {
		out = append(out, fmt.Sprintf("%d/%s", kg, key))
		return nil
	}))
	return out
}

func namespacesOf(t testing.TB, s state.Keyed) []string {
	t.Helper()
	var out []string
	must(t, s.Namespaces(func(ns []byte) error {
		out = append(out, string(ns))
		return nil
	}))
	return out
}

func testOrder(t *testing.T, f Factory) {
	b := f(t, full())
	v, err := b.ValueState("v")
	must(t, err)
	put := func(kg int, key, ns string) {
		must(t, v.Put(kg, []byte(key), []byte(ns), []byte(key)))
	}
	for _, e := range []struct {
		kg      int
		key, ns string
	}{{5, "b", "w2"}, {5, "a", "w2"}, {2, "zz", "w2"}, {2, "b", "w2"}, {5, "aa", "w2"}, {100, "a", "w2"},
		{1, "x", "w10"}, {1, "x", ""}, {1, "x", "w1"}} {
		put(e.kg, e.key, e.ns)
	}
	// Keys: by key group, then key length, then bytes.
	want := []string{"2/b", "2/zz", "5/a", "5/b", "5/aa", "100/a"}
	if got := keysOf(t, v, "w2"); !slices.Equal(got, want) {
		t.Fatalf("keys(w2) = %q, want %q", got, want)
	}
	// Namespaces: by length, then bytes.
	if got := namespacesOf(t, v); !slices.Equal(got, []string{"", "w1", "w2", "w10"}) {
		t.Fatalf("namespaces = %q", got)
	}
	// Time namespaces iterate in time order, negative first.
	w, err := b.ValueState("windows")
	must(t, err)
	for _, end := range []int64{5000, -1000, 0, 1 << 40, 999} {
		must(t, w.Put(0, []byte("k"), state.NamespaceInt64(nil, end), []byte("x")))
	}
	var ends []int64
	must(t, w.Namespaces(func(ns []byte) error {
		end, ok := state.Int64OfNamespace(ns)
		if !ok {
			return errors.New("bad namespace")
		}
		if end > 999 { // a window operator stops at the watermark
			return state.Stop
		}
		ends = append(ends, end)
		return nil
	}))
	if !slices.Equal(ends, []int64{-1000, 0, 999}) {
		t.Fatalf("window ends = %v", ends)
	}
	// Writing during iteration is allowed (a firing window deletes its keys).
	must(t, v.Keys([]byte("w2"), func(kg int, key []byte) error {
		return v.Delete(kg, key, []byte("w2"))
	}))
	if got := keysOf(t, v, "w2"); len(got) != 0 {
		t.Fatalf("keys after deleting all = %q", got)
	}
	if got := namespacesOf(t, v); !slices.Equal(got, []string{"", "w1", "w10"}) {
		t.Fatalf("namespaces = %q", got)
	}
}

func testClearNamespace(t *testing.T, f Factory) {
	b := f(t, full())
	v, err := b.ValueState("v")
	must(t, err)
	m, err := b.MapState("m")
	must(t, err)
	l, err := b.ListState("l")
	must(t, err)
	for kg := 0; kg < 128; kg += 7 {
		for _, ns := range []string{"w1", "w2"} {
			key := []byte(fmt.Sprint("key", kg))
			must(t, v.Put(kg, key, []byte(ns), []byte("v")))
			must(t, m.Put(kg, key, []byte(ns), []byte("u"), []byte("v")))
			must(t, l.Add(kg, key, []byte(ns), []byte("v")))
		}
	}
	for _, s := range []state.Keyed{v, m, l} {
		if n := len(keysOf(t, s, "w1")); n != 19 {
			t.Fatalf("%s: %d keys in w1, want 19", s.Name(), n)
		}
		must(t, s.ClearNamespace([]byte("w1")))
		if got := keysOf(t, s, "w1"); len(got) != 0 {
			t.Fatalf("%s: keys after clear = %q", s.Name(), got)
		}
		if n := len(keysOf(t, s, "w2")); n != 19 {
			t.Fatalf("%s: %d keys in w2 after clearing w1, want 19", s.Name(), n)
		}
		if got := namespacesOf(t, s); !slices.Equal(got, []string{"w2"}) {
			t.Fatalf("%s: namespaces = %q", s.Name(), got)
		}
	}
	wantValue(t, v, 7, "key7", "w1", "")
	wantValue(t, v, 7, "key7", "w2", "v")
}

// fakeClock is a settable processing-time clock.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }

func testTTL(t *testing.T, f Factory) {
	clock := &fakeClock{now: time.UnixMilli(1_700_000_000_000)}
	opts := full()
	opts.TTL = time.Minute
	opts.Now = clock.Now
	b := f(t, opts)
	v, err := b.ValueState("v")
	must(t, err)
	m, err := b.MapState("m")
	must(t, err)
	l, err := b.ListState("l")
	must(t, err)
	must(t, v.Put(1, []byte("old"), nil, []byte("1")))
	must(t, v.Put(1, []byte("fresh"), nil, []byte("1")))
	must(t, m.Put(1, []byte("k"), nil, []byte("old"), []byte("1")))
	must(t, l.Add(1, []byte("k"), nil, []byte("1")))
	must(t, b.Flush())
	clock.advance(40 * time.Second)
	must(t, v.Put(1, []byte("fresh"), nil, []byte("2"))) // a write refreshes
	must(t, m.Put(1, []byte("k"), nil, []byte("new"), []byte("2")))
	must(t, b.Flush())
	clock.advance(30 * time.Second) // old entries are 70 s old, fresh ones 30 s
	wantValue(t, v, 1, "old", "", "")
	wantValue(t, v, 1, "fresh", "", "2")
	if got := mapEntries(t, m, 1, "k", ""); !slices.Equal(got, []string{"new=2"}) {
		t.Fatalf("map after TTL = %q", got)
	}
	if _, ok, _ := m.Get(1, []byte("k"), nil, []byte("old")); ok {
		t.Fatal("expired map entry readable")
	}
	if got := listOf(t, l, 1, "k", ""); len(got) != 0 {
		t.Fatalf("expired list = %q", got)
	}
	if got := keysOf(t, v, ""); !slices.Equal(got, []string{"1/fresh"}) {
		t.Fatalf("keys = %q", got)
	}
	// An expired list restarts empty on Add.
	must(t, l.Add(1, []byte("k"), nil, []byte("3")))
	if got := listOf(t, l, 1, "k", ""); !slices.Equal(got, []string{"3"}) {
		t.Fatalf("list after re-add = %q", got)
	}
	clock.advance(2 * time.Minute)
	must(t, b.CleanupExpired())
	for _, s := range []state.Keyed{v, m, l} {
		if got := namespacesOf(t, s); len(got) != 0 {
			t.Fatalf("%s: namespaces after cleanup = %q", s.Name(), got)
		}
	}
	// Snapshots carry write times: restored entries keep expiring.
	must(t, v.Put(2, []byte("k"), nil, []byte("x")))
	snap, err := b.Snapshot(filepath.Join(t.TempDir(), "snap"))
	must(t, err)
	r := f(t, opts)
	must(t, r.Restore([]state.SnapshotHandle{snap}))
	rv, err := r.ValueState("v")
	must(t, err)
	wantValue(t, rv, 2, "k", "", "x")
	clock.advance(61 * time.Second)
	wantValue(t, rv, 2, "k", "", "")
}

func testErrors(t *testing.T, f Factory) {
	b := f(t, state.Options{KeyGroupStart: 10, KeyGroupEnd: 20})
	if s, e := b.KeyGroupRange(); s != 10 || e != 20 {
		t.Fatalf("range = %d,%d", s, e)
	}
	v, err := b.ValueState("v")
	must(t, err)
	if err := v.Put(20, []byte("k"), nil, []byte("x")); err == nil {
		t.Fatal("put outside the key-group range: want an error")
	}
	if _, _, err := v.Get(9, []byte("k"), nil); err == nil {
		t.Fatal("get outside the key-group range: want an error")
	}
	if err := v.Put(10, []byte("k"), make([]byte, 256), []byte("x")); err == nil {
		t.Fatal("oversized namespace: want an error")
	}
	if _, err := b.MapState("v"); err == nil {
		t.Fatal("kind mismatch: want an error")
	}
	if err := b.Restore(nil); err == nil {
		t.Fatal("restore into a used backend: want an error")
	}
	dir := filepath.Join(t.TempDir(), "snap")
	_, err = b.Snapshot(dir)
	must(t, err)
	if _, err := b.Snapshot(dir); err == nil {
		t.Fatal("snapshot into an existing directory: want an error")
	}
}

func entriesOf(t testing.TB, v state.ValueState, ns string) []string {
	t.Helper()
	var out []string
	must(t, v.Entries([]byte(ns), func(kg int, key, value []byte) error {
		out = append(out, fmt.Sprintf("%d/%s=%s", kg, key, value))
		return nil
	}))
	return out
}

// wantEntries checks Entries against Keys and Get.
func wantEntries(t testing.TB, v state.ValueState, ns string, want []string) {
	t.Helper()
	got := entriesOf(t, v, ns)
	if !slices.Equal(got, want) {
		t.Fatalf("entries(%q) = %q, want %q", ns, got, want)
	}
	var viaKeys []string
	must(t, v.Keys([]byte(ns), func(kg int, key []byte) error {
		val, ok, err := v.Get(kg, key, []byte(ns))
		if err != nil || !ok {
			return fmt.Errorf("key %d/%s listed but get = %v, %v", kg, key, ok, err)
		}
		viaKeys = append(viaKeys, fmt.Sprintf("%d/%s=%s", kg, key, val))
		return nil
	}))
	if !slices.Equal(viaKeys, want) {
		t.Fatalf("keys+get(%q) = %q, want %q", ns, viaKeys, want)
	}
}

func testEntries(t *testing.T, f Factory) {
	b := f(t, full())
	v, err := b.ValueState("v")
	must(t, err)
	put := func(kg int, key, ns, val string) {
		must(t, v.Put(kg, []byte(key), []byte(ns), []byte(val)))
	}
	wantEntries(t, v, "w", nil)
	put(5, "b", "w", "1")
	put(5, "a", "w", "2")
	put(2, "zz", "w", "3")
	put(100, "a", "w", "4")
	put(5, "aa", "w", "5")
	put(1, "x", "other", "6")
	put(1, "x", "", "7")
	want := []string{"2/zz=3", "5/a=2", "5/b=1", "5/aa=5", "100/a=4"}
	wantEntries(t, v, "w", want) // Keys flushes: entries are now in the store too
	// Updates after a flush, deletions, and new keys.
	put(5, "a", "w", "2b")
	must(t, v.Delete(5, []byte("b"), []byte("w")))
	put(3, "c", "w", "8")
	want = []string{"2/zz=3", "3/c=8", "5/a=2b", "5/aa=5", "100/a=4"}
	if got := entriesOf(t, v, "w"); !slices.Equal(got, want) {
		t.Fatalf("entries before flush = %q, want %q", got, want)
	}
	must(t, b.Flush())
	wantEntries(t, v, "w", want)
	// Writes during the iteration do not change what it yields.
	var seen []string
	must(t, v.Entries([]byte("w"), func(kg int, key, value []byte) error {
		seen = append(seen, fmt.Sprintf("%d/%s=%s", kg, key, value))
		must(t, v.Put(2, []byte("zz"), []byte("w"), []byte("changed")))
		must(t, v.Delete(kg, key, []byte("w")))
		must(t, v.Put(0, []byte("new"), []byte("w"), []byte("n")))
		return nil
	}))
	if !slices.Equal(seen, want) {
		t.Fatalf("entries while writing = %q, want %q", seen, want)
	}
	wantEntries(t, v, "w", []string{"0/new=n", "2/zz=changed"}) // rewritten after its deletion
	// Stop ends the iteration without an error.
	put(9, "k", "w", "9")
	n := 0
	must(t, v.Entries([]byte("w"), func(int, []byte, []byte) error {
		n++
		return state.Stop
	}))
	if n != 1 {
		t.Fatalf("iteration went on after Stop: %d calls", n)
	}
	wantEntries(t, v, "other", []string{"1/x=6"})
	wantEntries(t, v, "", []string{"1/x=7"})
	if err := v.Entries(make([]byte, 256), func(int, []byte, []byte) error { return nil }); err == nil {
		t.Fatal("oversized namespace: want an error")
	}
}

// testNamespaceLifecycle follows window namespaces through writes,
// flushes, clears and reuse, with a snapshot and restore in the middle: a
// restored namespace's entries must still be found, updated and cleared,
// and one cleared before a flush must not come back.
func testNamespaceLifecycle(t *testing.T, f Factory) {
	b := f(t, full())
	v, err := b.ValueState("agg")
	must(t, err)
	ns := func(w int) []byte { return state.NamespaceInt64(nil, int64(w)) }
	model := map[int]map[string]string{} // window -> "kg/key" -> value
	put := func(v state.ValueState, w, kg int, key, val string) {
		t.Helper()
		must(t, v.Put(kg, []byte(key), ns(w), []byte(val)))
		if model[w] == nil {
			model[w] = map[string]string{}
		}
		model[w][fmt.Sprintf("%d/%s", kg, key)] = val
	}
	check := func(v state.ValueState, w int) {
		t.Helper()
		var got []string
		must(t, v.Entries(ns(w), func(kg int, key, value []byte) error {
			k := fmt.Sprintf("%d/%s", kg, key)
			if model[w][k] != string(value) {
				return fmt.Errorf("window %d: %s = %q, want %q", w, k, value, model[w][k])
			}
			got = append(got, k)
			return nil
		}))
		if len(got) != len(model[w]) {
			t.Fatalf("window %d: %d entries, want %d (%q)", w, len(got), len(model[w]), got)
		}
		for k, want := range model[w] {
			var kg int
			var key string
			if _, err := fmt.Sscanf(k, "%d/%s", &kg, &key); err != nil {
				t.Fatal(err)
			}
			val, ok, err := v.Get(kg, []byte(key), ns(w))
			must(t, err)
			if !ok || string(val) != want {
				t.Fatalf("window %d: get %s = %q,%v, want %q", w, k, val, ok, want)
			}
		}
	}
	clearW := func(v state.ValueState, w int) {
		t.Helper()
		must(t, v.ClearNamespace(ns(w)))
		delete(model, w)
		check(v, w)
	}
	// Windows 1..3 written in rounds with flushes between some of them.
	for round := 0; round < 4; round++ {
		for w := 1; w <= 3; w++ {
			for k := 0; k < 10; k++ {
				put(v, w, k%5*20, fmt.Sprint("k", k, "-", round%2), fmt.Sprint(round))
			}
		}
		if round%2 == 1 {
			must(t, b.Flush())
		}
	}
	for w := 1; w <= 3; w++ {
		check(v, w)
	}
	clearW(v, 1)
	put(v, 1, 3, "again", "x") // a cleared namespace reused before any flush
	check(v, 1)
	must(t, b.Flush())
	check(v, 1)
	clearW(v, 2) // cleared, then snapshotted: must stay empty
	snap, err := b.Snapshot(filepath.Join(t.TempDir(), "snap"))
	must(t, err)

	r := f(t, full())
	must(t, r.Restore([]state.SnapshotHandle{snap}))
	rv, err := r.ValueState("agg")
	must(t, err)
	for w := 1; w <= 3; w++ {
		check(rv, w)
	}
	// Restored keys are found by Get (not taken as new) and updated.
	got, ok, err := rv.Get(0, []byte("k0-1"), ns(3))
	must(t, err)
	if !ok || string(got) != "3" {
		t.Fatalf("restored get = %q,%v, want 3", got, ok)
	}
	put(rv, 3, 0, "k0-1", "updated")
	put(rv, 4, 7, "fresh", "f") // a window new after the restore
	check(rv, 3)
	check(rv, 4)
	must(t, r.Flush())
	check(rv, 3)
	check(rv, 4)
	clearW(rv, 3)
	must(t, r.Flush())
	check(rv, 3)
	put(rv, 3, 0, "k0-1", "reborn")
	check(rv, 3)
	clearW(rv, 1) // restored, cleared, then snapshotted without a flush
	clearW(rv, 4)
	snap2, err := r.Snapshot(filepath.Join(t.TempDir(), "snap2"))
	must(t, err)
	if got := namespacesOf(t, rv); len(got) != 1 {
		t.Fatalf("namespaces left = %q, want window 3 only", got)
	}
	check(rv, 3)
	r2 := f(t, full())
	must(t, r2.Restore([]state.SnapshotHandle{snap2}))
	rv2, err := r2.ValueState("agg")
	must(t, err)
	for w := 1; w <= 4; w++ {
		check(rv2, w)
	}
}
