package rocks

import (
	"math/rand/v2"
	"testing"
)

// The filter chain never forgets a key (a false negative would make a
// stored key read as absent) and its false positives stay rare as it
// grows through several filters.
func TestKeyFilter(t *testing.T) {
	var kf keyFilter
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 300_000
	added := make([]uint64, n)
	allocated := 0
	for i := range added {
		added[i] = rng.Uint64()
		a, ok := kf.add(added[i], 1<<30)
		if !ok {
			t.Fatal("add refused under a large budget")
		}
		allocated += a
	}
	if len(kf.filters) < 3 {
		t.Fatalf("%d filters for %d keys: the chain did not grow", len(kf.filters), n)
	}
	if allocated != kf.bytes() {
		t.Fatalf("allocated %d bytes, filters hold %d", allocated, kf.bytes())
	}
	for _, h := range added {
		if !kf.mayContain(h) {
			t.Fatalf("added hash %x not found", h)
		}
	}
	// Re-adding known keys adds nothing (flushed at every batch).
	before := kf.n
	for _, h := range added[:1000] {
		kf.add(h, 1<<30)
	}
	if kf.n != before {
		t.Fatalf("re-adding grew the count from %d to %d", before, kf.n)
	}
	fp := 0
	const probes = 200_000
	for i := 0; i < probes; i++ {
		if kf.mayContain(rng.Uint64()) {
			fp++
		}
	}
	if rate := float64(fp) / probes; rate > 0.03 {
		t.Fatalf("false positive rate %.3f", rate)
	}
	// A budget too small for the next filter refuses the key.
	var small keyFilter
	if _, ok := small.add(1, 100); ok {
		t.Fatal("add allocated past its budget")
	}
}
