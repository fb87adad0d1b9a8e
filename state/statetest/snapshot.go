package statetest

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/state"
)

// fill writes values, maps and lists over every key group and a few
// namespaces, so every split of the key-group range has something in it.
func fill(t testing.TB, b state.Backend) {
	v, err := b.ValueState("v")
	must(t, err)
	m, err := b.MapState("m")
	must(t, err)
	l, err := b.ListState("l")
	must(t, err)
	for i := 0; i < 600; i++ {
		kg := (i * 37) % 128
		key := []byte(fmt.Sprintf("key-%d", i))
		ns := []byte(nil)
		if i%3 != 0 {
			ns = state.NamespaceInt64(nil, int64(i%5)*1000)
		}
		must(t, v.Put(kg, key, ns, []byte(fmt.Sprint("v", i))))
		for j := 0; j < i%4; j++ {
			must(t, m.Put(kg, key, ns, []byte{byte(j), 'u'}, []byte(fmt.Sprint("m", i, j))))
			must(t, l.Add(kg, key, ns, []byte(fmt.Sprint("l", i, j))))
		}
	}
	must(t, b.Flush())
}

// dump lists every entry of the states fill writes, in iteration order.
func dump(t testing.TB, b state.Backend) []string {
	t.Helper()
	v, err := b.ValueState("v")
	must(t, err)
	m, err := b.MapState("m")
	must(t, err)
	l, err := b.ListState("l")
	must(t, err)
	var out []string
	for _, s := range []state.Keyed{v, m, l} {
		var spaces [][]byte
		must(t, s.Namespaces(func(ns []byte) error {
			spaces = append(spaces, append([]byte(nil), ns...))
			return nil
		}))
		for _, ns := range spaces {
			type k struct {
				kg  int
				key []byte
			}
			var keys []k
			must(t, s.Keys(ns, func(kg int, key []byte) error {
				keys = append(keys, k{kg, append([]byte(nil), key...)})
				return nil
			}))
			for _, kk := range keys {
				prefix := fmt.Sprintf("%s|%x|%d|%s", s.Name(), ns, kk.kg, kk.key)
				switch s := s.(type) {
				case state.ValueState:
					val, ok, err := s.Get(kk.kg, kk.key, ns)
					must(t, err)
					if !ok {
						t.Fatalf("%s: listed by Keys but absent", prefix)
					}
					out = append(out, prefix+"="+string(val))
				case state.MapState:
					for _, e := range mapEntries(t, s, kk.kg, string(kk.key), string(ns)) {
						out = append(out, prefix+"|"+e)
					}
				case state.ListState:
					for _, e := range listOf(t, s, kk.kg, string(kk.key), string(ns)) {
						out = append(out, prefix+"+"+e)
					}
				}
			}
		}
	}
	return out
}

func snapshot(t testing.TB, b state.Backend) state.SnapshotHandle {
	t.Helper()
	h, err := b.Snapshot(filepath.Join(t.TempDir(), "snap"))
	must(t, err)
	if len(h.Files) == 0 || h.Bytes <= 0 {
		t.Fatalf("snapshot handle lists no data: %+v", h)
	}
	return h
}

func testSnapshotSameRange(t *testing.T, f Factory) {
	b := f(t, full())
	fill(t, b)
	want := dump(t, b)
	if len(want) < 1000 {
		t.Fatalf("fill wrote only %d entries", len(want))
	}
	snap := snapshot(t, b)
	// Writes after the snapshot must not leak into it.
	v, err := b.ValueState("v")
	must(t, err)
	must(t, v.Put(0, []byte("late"), nil, []byte("x")))
	must(t, b.Flush())

	r := f(t, full())
	must(t, r.Restore([]state.SnapshotHandle{snap}))
	if got := dump(t, r); !slices.Equal(got, want) {
		t.Fatalf("restored state differs: %d entries, want %d\nfirst got %q\nfirst want %q",
			len(got), len(want), first(got), first(want))
	}
	// The restored backend keeps working, and a second snapshot restores too.
	rv, err := r.ValueState("v")
	must(t, err)
	must(t, rv.Put(0, []byte("after"), nil, []byte("y")))
	snap2 := snapshot(t, r)
	r2 := f(t, full())
	must(t, r2.Restore([]state.SnapshotHandle{snap2}))
	rv2, err := r2.ValueState("v")
	must(t, err)
	wantValue(t, rv2, 0, "after", "", "y")
	wantValue(t, rv2, 0, "late", "", "")
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// testSnapshotRescale splits one snapshot into three ranges (parallelism
// 1 -> 3) and merges those back into one (3 -> 1).
func testSnapshotRescale(t *testing.T, f Factory) {
	b := f(t, full())
	fill(t, b)
	want := dump(t, b)
	snap := snapshot(t, b)

	ranges := [][2]int{{0, 43}, {43, 86}, {86, 128}}
	var union []string
	var parts []state.SnapshotHandle
	for _, rg := range ranges {
		r := f(t, state.Options{KeyGroupStart: rg[0], KeyGroupEnd: rg[1]})
		must(t, r.Restore([]state.SnapshotHandle{snap}))
		got := dump(t, r)
		if len(got) == 0 {
			t.Fatalf("range %v restored nothing", rg)
		}
		for _, e := range got {
			fields := strings.Split(e, "|")
			kg, err := strconv.Atoi(fields[2])
			if err != nil {
				t.Fatalf("parse %q: %v", e, err)
			}
			if kg < rg[0] || kg >= rg[1] {
				t.Fatalf("range %v holds key group %d: %q", rg, kg, e)
			}
		}
		union = append(union, got...)
		parts = append(parts, snapshot(t, r))
	}
	slices.Sort(union)
	sortedWant := slices.Clone(want)
	slices.Sort(sortedWant)
	if !slices.Equal(union, sortedWant) {
		t.Fatalf("split restores hold %d entries, want %d (lost or duplicated)", len(union), len(want))
	}

	merged := f(t, full())
	must(t, merged.Restore(parts))
	if got := dump(t, merged); !slices.Equal(got, want) {
		t.Fatalf("merged restore differs: %d entries, want %d", len(got), len(want))
	}
}
