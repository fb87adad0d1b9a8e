package statetest

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/state"
)

// Iterations over state that is partly written back and partly not: a
// backend with a write-back cache must merge the two (the cache wins, its
// deletions hide stored entries) and iterate the state as of the start of
// the iteration.

// mapModel is the expected content of one map state: "kg/key/ns" ->
// user key -> value.
type mapModel map[string]map[string]string

func mkey(kg int, key, ns string) string { return fmt.Sprintf("%d/%s/%s", kg, key, ns) }

func (m mapModel) put(kg int, key, ns, uk, v string) {
	k := mkey(kg, key, ns)
	if m[k] == nil {
		m[k] = map[string]string{}
	}
	m[k][uk] = v
}

func (m mapModel) del(kg int, key, ns, uk string) {
	k := mkey(kg, key, ns)
	delete(m[k], uk)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// entries lists one map as Iterate should yield it.
func (m mapModel) entries(kg int, key, ns string) []string {
	e := m[mkey(kg, key, ns)]
	uks := make([]string, 0, len(e))
	for uk := range e {
		uks = append(uks, uk)
	}
	sort.Strings(uks)
	var out []string
	for _, uk := range uks {
		out = append(out, uk+"="+e[uk])
	}
	return out
}

func (m mapModel) clone() mapModel {
	c := mapModel{}
	for k, e := range m {
		c[k] = map[string]string{}
		for uk, v := range e {
			c[k][uk] = v
		}
	}
	return c
}

// keys lists the keys with entries in ns as keysOf formats them, in the
// backends' order (key group, key length, key bytes).
func (m mapModel) keys(ns string) []string {
	type kk struct {
		kg  int
		key string
	}
	var ks []kk
	for k := range m {
		parts := strings.SplitN(k, "/", 3)
		if parts[2] != ns {
			continue
		}
		var kg int
		fmt.Sscan(parts[0], &kg)
		ks = append(ks, kk{kg, parts[1]})
	}
	slices.SortFunc(ks, func(a, b kk) int {
		if a.kg != b.kg {
			return a.kg - b.kg
		}
		if len(a.key) != len(b.key) {
			return len(a.key) - len(b.key)
		}
		return strings.Compare(a.key, b.key)
	})
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = fmt.Sprintf("%d/%s", k.kg, k.key)
	}
	return out
}

func (m mapModel) namespaces() []string {
	set := map[string]bool{}
	for k := range m {
		set[strings.SplitN(k, "/", 3)[2]] = true
	}
	var out []string
	for ns := range set {
		out = append(out, ns)
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return out
}

// checkMap compares every iteration of m with the model.
func checkMap(t testing.TB, m state.MapState, model mapModel, kgs []int, keys, spaces []string) {
	t.Helper()
	for _, ns := range spaces {
		for _, kg := range kgs {
			for _, key := range keys {
				got, want := mapEntries(t, m, kg, key, ns), model.entries(kg, key, ns)
				if !slices.Equal(got, want) {
					t.Fatalf("iterate %s = %q, want %q", mkey(kg, key, ns), got, want)
				}
				for _, e := range want {
					uk, v, _ := strings.Cut(e, "=")
					got, ok, err := m.Get(kg, []byte(key), []byte(ns), []byte(uk))
					must(t, err)
					if !ok || string(got) != v {
						t.Fatalf("get %s[%s] = %q,%v, want %q", mkey(kg, key, ns), uk, got, ok, v)
					}
				}
			}
		}
		if got, want := keysOf(t, m, ns), model.keys(ns); !slices.Equal(got, want) {
			t.Fatalf("keys(%q) = %q, want %q", ns, got, want)
		}
	}
	if got, want := namespacesOf(t, m), model.namespaces(); !slices.Equal(got, want) {
		t.Fatalf("namespaces = %q, want %q", got, want)
	}
}

// testIterateUnflushed: iterations see writes and deletions not yet
// flushed, with flushed entries underneath.
func testIterateUnflushed(t *testing.T, f Factory) {
	b := f(t, full())
	m, err := b.MapState("m")
	must(t, err)
	model := mapModel{}
	put := func(kg int, key, ns, uk, v string) {
		t.Helper()
		must(t, m.Put(kg, []byte(key), []byte(ns), []byte(uk), []byte(v)))
		model.put(kg, key, ns, uk, v)
	}
	del := func(kg int, key, ns, uk string) {
		t.Helper()
		must(t, m.Delete(kg, []byte(key), []byte(ns), []byte(uk)))
		model.del(kg, key, ns, uk)
	}
	kgs, keys, spaces := []int{3, 4}, []string{"a", "b", "c"}, []string{"", "w"}
	for i := 0; i < 20; i++ {
		uk := fmt.Sprintf("u%02d", i)
		put(3, "a", "", uk, "p"+uk)
		put(3, "b", "", uk, "p"+uk)
		if i%4 == 0 {
			put(4, "c", "w", uk, "p"+uk)
		}
	}
	must(t, b.Flush())
	checkMap(t, m, model, kgs, keys, spaces)
	// Not flushed: overwrites, deletions, a deletion then a rewrite, new
	// user keys before, between and after the stored ones, deletions of
	// keys never written, and a put then delete of a new key.
	put(3, "a", "", "u05", "c5")
	del(3, "a", "", "u07")
	del(3, "a", "", "u10")
	put(3, "a", "", "u10", "re10")
	put(3, "a", "", "a-first", "new")
	put(3, "a", "", "u05x", "between")
	put(3, "a", "", "zz-last", "new")
	del(3, "a", "", "nothing")
	put(3, "a", "", "u99", "tmp")
	del(3, "a", "", "u99")
	// Every stored entry of one map deleted, and of one namespace.
	for i := 0; i < 20; i++ {
		del(3, "b", "", fmt.Sprintf("u%02d", i))
		if i%4 == 0 {
			del(4, "c", "w", fmt.Sprintf("u%02d", i))
		}
	}
	put(4, "a", "", "fresh", "only cached") // a map not stored at all
	checkMap(t, m, model, kgs, keys, spaces)
	must(t, b.Flush())
	checkMap(t, m, model, kgs, keys, spaces)

	// Writes made by the callback do not change what the iteration yields
	// (here each visited entry is deleted and a new one is added right
	// after it, both ahead of the iteration).
	before := model.entries(3, "a", "")
	var seen []string
	must(t, m.Iterate(3, []byte("a"), nil, func(uk, v []byte) error {
		seen = append(seen, string(uk)+"="+string(v))
		next := string(uk) + "+"
		del(3, "a", "", string(uk))
		put(3, "a", "", next, "added")
		return nil
	}))
	if !slices.Equal(seen, before) {
		t.Fatalf("iterate while writing = %q, want %q", seen, before)
	}
	checkMap(t, m, model, kgs, keys, spaces)

	// A cleared namespace (flushed entries underneath) reads empty before
	// the next flush, and entries written into it after the clear are
	// the only ones there, before and after the flush.
	put(4, "c", "w", "u01", "stored")
	put(3, "a", "w", "u02", "stored")
	must(t, b.Flush())
	checkMap(t, m, model, kgs, keys, spaces)
	must(t, m.ClearNamespace([]byte("w")))
	delete(model, mkey(4, "c", "w"))
	delete(model, mkey(3, "a", "w"))
	checkMap(t, m, model, kgs, keys, spaces)
	put(4, "c", "w", "u03", "after clear")
	checkMap(t, m, model, kgs, keys, spaces)
	must(t, b.Flush())
	checkMap(t, m, model, kgs, keys, spaces)

	// Stop after the first entry, with unflushed entries on both sides.
	put(3, "a", "", "0-first", "x")
	n := 0
	must(t, m.Iterate(3, []byte("a"), nil, func(uk, _ []byte) error {
		if n++; string(uk) != "0-first" {
			return fmt.Errorf("first entry %q", uk)
		}
		return state.Stop
	}))
	if n != 1 {
		t.Fatalf("Stop: %d calls", n)
	}
}

// testMergeModel runs random writes, flushes, clears and iterations on a
// map state and a value state against a model.
func testMergeModel(t *testing.T, f Factory) {
	b := f(t, full())
	m, err := b.MapState("m")
	must(t, err)
	v, err := b.ValueState("v")
	must(t, err)
	model := mapModel{}
	values := map[string]map[string]string{} // ns -> "kg/key" -> value
	rng := rand.New(rand.NewPCG(7, 11))
	kgs, keys, spaces := []int{1, 2}, []string{"k", "kk"}, []string{"", "x", "y"}
	for step := 0; step < 1500; step++ {
		kg, key, ns := kgs[rng.IntN(2)], keys[rng.IntN(2)], spaces[rng.IntN(3)]
		uk := fmt.Sprintf("u%d", rng.IntN(12))
		switch r := rng.IntN(100); {
		case r < 40:
			val := fmt.Sprint(step)
			must(t, m.Put(kg, []byte(key), []byte(ns), []byte(uk), []byte(val)))
			model.put(kg, key, ns, uk, val)
		case r < 60:
			must(t, m.Delete(kg, []byte(key), []byte(ns), []byte(uk)))
			model.del(kg, key, ns, uk)
		case r < 75:
			val := fmt.Sprint(step)
			must(t, v.Put(kg, []byte(key), []byte(ns), []byte(val)))
			if values[ns] == nil {
				values[ns] = map[string]string{}
			}
			values[ns][fmt.Sprintf("%d/%s", kg, key)] = val
		case r < 82:
			must(t, v.Delete(kg, []byte(key), []byte(ns)))
			delete(values[ns], fmt.Sprintf("%d/%s", kg, key))
		case r < 90:
			must(t, b.Flush())
		case r < 92:
			must(t, m.Clear(kg, []byte(key), []byte(ns)))
			delete(model, mkey(kg, key, ns))
		case r < 94:
			must(t, m.ClearNamespace([]byte(ns)))
			for k := range model {
				if strings.SplitN(k, "/", 3)[2] == ns {
					delete(model, k)
				}
			}
		default:
			checkMap(t, m, model, kgs, keys, spaces)
			for _, ns := range spaces {
				want := entriesModel(values[ns])
				got := entriesOf(t, v, ns)
				if !slices.Equal(got, want) {
					t.Fatalf("step %d: entries(%q) = %q, want %q", step, ns, got, want)
				}
			}
		}
	}
	checkMap(t, m, model, kgs, keys, spaces)
}

// entriesModel formats a value namespace as entriesOf does, in key order.
func entriesModel(vals map[string]string) []string {
	mm := mapModel{}
	for k := range vals {
		kg, key, _ := strings.Cut(k, "/")
		var g int
		fmt.Sscan(kg, &g)
		mm.put(g, key, "", "", "")
	}
	var out []string
	for _, k := range mm.keys("") {
		out = append(out, k+"="+vals[k])
	}
	return out
}

// asyncSnapshotter is what a backend with asynchronous checkpoints offers
// (rocks: SnapshotAsync); others are wrapped to snapshot synchronously.
type asyncSnapshotter interface {
	SnapshotAsync(dir string) (func() (state.SnapshotHandle, error), error)
}

// testIterateDuringSnapshot writes and iterates while an asynchronous
// snapshot runs: iterations see the live state (merged, without waiting
// for the snapshot), and the snapshot holds the state of its start.
func testIterateDuringSnapshot(t *testing.T, f Factory) {
	b := f(t, full())
	m, err := b.MapState("m")
	must(t, err)
	model := mapModel{}
	kgs, keys, spaces := []int{0, 64, 127}, []string{"a", "b"}, []string{""}
	put := func(kg int, key, uk, v string) {
		must(t, m.Put(kg, []byte(key), nil, []byte(uk), []byte(v)))
		model.put(kg, key, "", uk, v)
	}
	for i := 0; i < 300; i++ {
		for _, kg := range kgs {
			put(kg, "a", fmt.Sprintf("u%03d", i), "flushed")
		}
	}
	must(t, b.Flush())
	for i := 0; i < 300; i += 2 { // dirty at the barrier
		for _, kg := range kgs {
			put(kg, "a", fmt.Sprintf("u%03d", i), "barrier")
			put(kg, "b", fmt.Sprintf("u%03d", i), "barrier")
		}
	}
	atBarrier := model.clone()
	snapDir := filepath.Join(t.TempDir(), "snap")
	var wait func() (state.SnapshotHandle, error)
	if as, ok := b.(asyncSnapshotter); ok {
		wait, err = as.SnapshotAsync(snapDir)
		must(t, err)
	} else {
		h, err := b.Snapshot(snapDir)
		wait = func() (state.SnapshotHandle, error) { return h, err }
	}
	for round := 0; round < 10; round++ {
		for i := round; i < 300; i += 7 {
			for _, kg := range kgs {
				uk := fmt.Sprintf("u%03d", i)
				if i%3 == 0 {
					must(t, m.Delete(kg, []byte("a"), nil, []byte(uk)))
					model.del(kg, "a", "", uk)
				} else {
					put(kg, "a", uk, fmt.Sprint("after", round))
				}
				put(kg, "b", uk+"n", "new")
			}
		}
		checkMap(t, m, model, kgs, keys, spaces)
	}
	h, err := wait()
	must(t, err)
	checkMap(t, m, model, kgs, keys, spaces)
	must(t, b.Flush())
	checkMap(t, m, model, kgs, keys, spaces)

	r := f(t, full())
	must(t, r.Restore([]state.SnapshotHandle{h}))
	rm, err := r.MapState("m")
	must(t, err)
	checkMap(t, rm, atBarrier, kgs, keys, spaces)
}
