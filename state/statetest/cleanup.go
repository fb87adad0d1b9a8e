package statetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/streamsql/streamsql/state"
)

// testCleanupStep removes expired entries a slice at a time. To tell
// "deleted" from "expired, still stored", the clock is then set back:
// an entry that was only expired would be live again.
func testCleanupStep(t *testing.T, f Factory) {
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
	key := func(i int) []byte { return []byte(fmt.Sprintf("k%03d", i)) }
	ns := func(i int) []byte { return state.NamespaceInt64(nil, int64(i%3)) }
	const n = 300
	for i := 0; i < n; i++ {
		must(t, v.Put(i%128, key(i), ns(i), []byte("old")))
		must(t, m.Put(i%128, key(i), ns(i), []byte("u"), []byte("old")))
		must(t, l.Add(i%128, key(i), ns(i), []byte("old")))
	}
	must(t, b.Flush())
	clock.advance(40 * time.Second)
	fresh := func(i int) bool { return i%10 == 0 || i%10 == 7 }
	for i := 0; i < n; i++ {
		if fresh(i) { // refreshed: flushed for i%10 == 0, cached only for 7
			must(t, v.Put(i%128, key(i), ns(i), []byte("new")))
			must(t, m.Put(i%128, key(i), ns(i), []byte("u"), []byte("new")))
		}
		if i%10 == 0 {
			must(t, b.Flush())
		}
	}
	clock.advance(30 * time.Second) // old: 70 s, fresh: 30 s
	calls := 0
	for done := false; !done; calls++ {
		if calls > 10*n {
			t.Fatal("cleanup never finished a pass")
		}
		done, err = b.CleanupExpiredStep(16)
		must(t, err)
	}
	clock.advance(-35 * time.Second) // old: 35 s, would be live if stored
	for i := 0; i < n; i++ {
		want := ""
		if fresh(i) {
			want = "new"
		}
		wantValue(t, v, i%128, string(key(i)), string(ns(i)), want)
		got, ok, err := m.Get(i%128, key(i), ns(i), []byte("u"))
		must(t, err)
		if ok != fresh(i) || ok && string(got) != "new" {
			t.Fatalf("map %s = %q,%v after cleanup", key(i), got, ok)
		}
		if got := listOf(t, l, i%128, string(key(i)), string(ns(i))); len(got) != 0 {
			t.Fatalf("list %s = %q after cleanup", key(i), got)
		}
	}
	var live int
	for i := 0; i < 3; i++ {
		live += len(keysOf(t, v, string(ns(i))))
	}
	if live != n/5 {
		t.Fatalf("%d live values after cleanup, want %d", live, n/5)
	}
	// A second pass, everything expired, then new writes survive it.
	clock.advance(2 * time.Minute)
	for done := false; !done; {
		done, err = b.CleanupExpiredStep(1000)
		must(t, err)
	}
	must(t, v.Put(1, []byte("after"), nil, []byte("x")))
	for done := false; !done; {
		done, err = b.CleanupExpiredStep(5)
		must(t, err)
	}
	clock.advance(-10 * time.Minute)
	for _, s := range []state.Keyed{m, l} {
		if got := namespacesOf(t, s); len(got) != 0 {
			t.Fatalf("%s: namespaces after cleanup = %q", s.Name(), got)
		}
	}
	if got := keysOf(t, v, ""); !slices.Equal(got, []string{"1/after"}) {
		t.Fatalf("values after cleanup = %q", got)
	}
}
