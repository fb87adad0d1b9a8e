package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

type msetRef = map[int64][maxSharedDistinct]int64

// checkMultiset compares m with the reference map: len, find of every
// reference key, each (every value once, with its counts), and the table's
// invariants (every entry reachable from its home slot without crossing
// an empty slot; n matches).
func checkMultiset(t *testing.T, what string, m *int64Multiset, ref msetRef) {
	t.Helper()
	if m.len() != len(ref) {
		t.Fatalf("%s: len %d, want %d", what, m.len(), len(ref))
	}
	for k, want := range ref {
		got := m.find(k)
		if got == nil {
			t.Fatalf("%s: %d missing", what, k)
		}
		if *got != want {
			t.Fatalf("%s: %d has %v, want %v", what, k, *got, want)
		}
	}
	seen := map[int64]bool{}
	m.each(func(k int64, c *[maxSharedDistinct]int64) {
		if seen[k] {
			t.Fatalf("%s: each yields %d twice", what, k)
		}
		seen[k] = true
		if want, ok := ref[k]; !ok || *c != want {
			t.Fatalf("%s: each yields %d %v, want %v (present %v)", what, k, *c, want, ok)
		}
	})
	if len(seen) != len(ref) {
		t.Fatalf("%s: each yields %d values, want %d", what, len(seen), len(ref))
	}
	n := 0
	mask := uint64(len(m.entries) - 1)
	for i, e := range m.entries {
		if e.key == 0 {
			if e.counts != ([maxSharedDistinct]int64{}) {
				t.Fatalf("%s: empty slot %d has counts %v", what, i, e.counts)
			}
			continue
		}
		n++
		for j := msetHash(e.key) >> m.shift; j != uint64(i); j = (j + 1) & mask {
			if m.entries[j].key == 0 {
				t.Fatalf("%s: %d at slot %d is cut off from its home by an empty slot %d", what, e.key, i, j)
			}
		}
	}
	if n != m.n {
		t.Fatalf("%s: n %d, %d entries in use", what, m.n, n)
	}
	if len(m.entries) > 0 && m.n*4 > len(m.entries)*3 {
		t.Fatalf("%s: %d entries in %d slots", what, m.n, len(m.entries))
	}
}

// TestInt64MultisetMatchesMap runs random upserts (with positive and
// negative count changes), removes, lookups and clones against a Go map.
func TestInt64MultisetMatchesMap(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		// Small key ranges force long clusters and many deletes within
		// them; wide ranges exercise growth; the extremes and 0 (kept
		// outside the slots) always occur.
		span := []int64{3, 20, 200, 5000, 1 << 40}[seed%5]
		key := func() int64 {
			switch rng.IntN(20) {
			case 0:
				return 0
			case 1:
				return []int64{math.MinInt64, math.MaxInt64, -1, 1}[rng.IntN(4)]
			}
			return rng.Int64N(2*span) - span
		}
		m, ref := &int64Multiset{}, msetRef{}
		type snap struct {
			m   *int64Multiset
			ref msetRef
		}
		var snaps []snap
		steps := 200 + rng.IntN(20000)
		for step := 0; step < steps; step++ {
			k := key()
			switch op := rng.IntN(10); {
			case op < 6: // change counts; remove when none is positive, as foldSharedDistinct does
				c := m.upsert(k)
				want := ref[k]
				if *c != want {
					t.Fatalf("seed %d step %d: upsert(%d) has %v, want %v", seed, step, k, *c, want)
				}
				s := rng.IntN(maxSharedDistinct)
				d := int64(rng.IntN(5) - 2)
				c[s] += d
				want[s] += d
				positive := false
				for _, n := range want {
					positive = positive || n > 0
				}
				if positive || rng.IntN(4) == 0 { // (some all-nonpositive entries stay, as gatherShared leaves them)
					ref[k] = want
				} else {
					m.remove(k)
					delete(ref, k)
				}
			case op < 8:
				m.remove(k)
				delete(ref, k)
			case op < 9:
				got, want := m.find(k), ref[k]
				if _, ok := ref[k]; ok != (got != nil) || ok && *got != want {
					t.Fatalf("seed %d step %d: find(%d) = %v, want %v (present %v)", seed, step, k, got, want, ok)
				}
			default:
				if rng.IntN(50) == 0 {
					c := msetRef{}
					for k, v := range ref {
						c[k] = v
					}
					snaps = append(snaps, snap{m.clone(), c})
				}
			}
			if step%997 == 0 {
				checkMultiset(t, "running", m, ref)
			}
		}
		checkMultiset(t, "final", m, ref)
		// Clones stay as they were while the original changed, and
		// changing a clone leaves the original alone.
		for _, s := range snaps {
			checkMultiset(t, "clone", s.m, s.ref)
			s.m.upsert(12345)[0] += 1
			s.m.upsert(0)[1] += 1
			s.m.remove(-1)
			checkMultiset(t, "original after clone changed", m, ref)
		}
		// Remove everything: the table ends empty with every slot zeroed.
		for k := range ref {
			m.remove(k)
			delete(ref, k)
		}
		checkMultiset(t, "emptied", m, ref)
	}
}

// TestInt64MultisetGrowth: sequential and strided keys (ids) through many
// doublings.
func TestInt64MultisetGrowth(t *testing.T) {
	for _, stride := range []int64{1, 2, 1 << 32, -7, 1 << 20} {
		m, ref := &int64Multiset{}, msetRef{}
		for i := int64(1); i <= 50000; i++ {
			k := i * stride
			m.upsert(k)[i%maxSharedDistinct] = i
			var want [maxSharedDistinct]int64
			want[i%maxSharedDistinct] = i
			ref[k] = want
		}
		checkMultiset(t, "grown", m, ref)
		for i := int64(1); i <= 50000; i += 2 {
			m.remove(i * stride)
			delete(ref, i*stride)
		}
		checkMultiset(t, "half removed", m, ref)
	}
}

// TestInt64MultisetEmpty: the zero value works, and a clone of it too.
func TestInt64MultisetEmpty(t *testing.T) {
	var m int64Multiset
	if m.find(5) != nil || m.find(0) != nil || m.len() != 0 {
		t.Fatal("empty multiset finds values")
	}
	m.remove(5)
	m.remove(0)
	c := m.clone()
	c.upsert(5)[0] = 1
	if m.len() != 0 || c.len() != 1 {
		t.Fatalf("len %d and clone %d", m.len(), c.len())
	}
}

func BenchmarkInt64MultisetUpsert(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]int64, 1<<20)
	for i := range keys {
		keys[i] = rng.Int64N(600_000) + 1000
	}
	m := &int64Multiset{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.upsert(keys[i&(len(keys)-1)])[i&3]++
	}
}

func BenchmarkInt64MultisetGoMap(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]int64, 1<<20)
	for i := range keys {
		keys[i] = rng.Int64N(600_000) + 1000
	}
	m := msetRef{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[i&(len(keys)-1)]
		e := m[k]
		e[i&3]++
		m[k] = e
	}
}

type discardRows struct{}

func (discardRows) Collect(batch.Batch) error { return nil }
func (discardRows) EmitWatermark(int64) error { return nil }

// BenchmarkSharedDistinctFold: GROUP BY k (4 keys) with COUNT(DISTINCT a)
// and COUNT(DISTINCT b) each unfiltered and under three FILTERs, as
// Nexmark q16, over 600k distinct a and 2M distinct b values per key;
// ns/op is per input row.
func BenchmarkSharedDistinctFold(b *testing.B) {
	in := types.NewSchema(types.Field{Name: "k", Type: types.TypeString},
		types.Field{Name: "a", Type: types.TypeBigInt}, types.Field{Name: "b", Type: types.TypeBigInt},
		types.Field{Name: "f1", Type: types.TypeBoolean}, types.Field{Name: "f2", Type: types.TypeBoolean},
		types.Field{Name: "f3", Type: types.TypeBoolean})
	fields := []types.Field{{Name: "k", Type: types.TypeString}}
	var aggs []AggSpec
	for _, arg := range []int{1, 2} {
		for _, f := range []int{-1, 3, 4, 5} {
			fields = append(fields, types.Field{Name: fmt.Sprint("c", len(fields)), Type: types.TypeBigInt})
			aggs = append(aggs, AggSpec{Kind: AggCountDistinct, Arg: arg, Filter: f, ArgType: types.TypeBigInt, Type: types.TypeBigInt})
		}
	}
	op := &GroupAgg{Keys: []int{0}, Aggs: aggs, Out: types.NewSchema(fields...)}
	if err := op.Open(&exec.OpContext{WorkDir: b.TempDir(), Parallelism: 1}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, nb = 4096, 64
	var batches []batch.Batch
	for range nb {
		ks, as, bs := make([]string, rows), make([]int64, rows), make([]int64, rows)
		f1, f2, f3 := make([]bool, rows), make([]bool, rows), make([]bool, rows)
		for i := range rows {
			ks[i] = fmt.Sprint("k", rng.IntN(4))
			as[i], bs[i] = 1000+rng.Int64N(600_000), 1000+rng.Int64N(2_000_000)
			p := rng.IntN(10)
			f1[i], f2[i], f3[i] = p < 6, p >= 6 && p < 9, p == 9
		}
		batches = append(batches, batch.New(batch.NewRecord(in, []arrow.Array{batch.StringArray(ks, nil), batch.Int64Array(as, nil),
			batch.Int64Array(bs, nil), batch.BooleanArray(f1, nil), batch.BooleanArray(f2, nil), batch.BooleanArray(f3, nil)}, rows)))
	}
	// Warm up: fill the multisets to their steady size.
	for i := range 4 * nb {
		if err := op.Process(0, batches[i%nb], discardRows{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op.Process(0, batches[i%nb], discardRows{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
