package ops

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Distinct aggregates over one BIGINT-backed column share a multiset per
// group, as Flink shares a distinct MapView: COUNT(DISTINCT bidder) and
// COUNT(DISTINCT bidder) FILTER (WHERE ...) keep value → multiplicity per
// aggregate in one map, so a row costs one lookup per column instead of
// one per aggregate (Nexmark q16 has four over each of two columns).
//
// The owner (the first of them) holds the map in accum.mset (an
// int64Multiset: int64_multiset.go); each member's count of distinct
// values is its accum.n. State is encoded per aggregate as before
// (encodeGroup expands the shared map), so a restored group arrives with a
// multiset per member, merged again on its first fold.

const maxSharedDistinct = 4

type distinctShare struct {
	owner   int   // the owning aggregate; -1 when not shared
	slot    int   // this aggregate's position in the owner's counts
	members []int // on the owner: the sharing aggregates, by slot
	sink    int64 // keeps the prefetching loads of foldSharedDistinct
}

// planDistinctSharing finds the COUNT(DISTINCT) aggregates that share a
// column (up to maxSharedDistinct per map).
func (a *GroupAgg) planDistinctSharing() {
	a.share = make([]distinctShare, len(a.Aggs))
	byArg := map[int][]int{}
	var args []int
	for i, s := range a.Aggs {
		a.share[i].owner = -1
		if s.Kind != AggCountDistinct || !int64Layout(s.ArgType) {
			continue
		}
		if byArg[s.Arg] == nil {
			args = append(args, s.Arg)
		}
		byArg[s.Arg] = append(byArg[s.Arg], i)
	}
	for _, arg := range args {
		idx := byArg[arg]
		for start := 0; start+1 < len(idx); start += maxSharedDistinct {
			chunk := idx[start:min(start+maxSharedDistinct, len(idx))]
			if len(chunk) < 2 {
				break
			}
			o := chunk[0]
			a.share[o].members = chunk
			for s, j := range chunk {
				a.share[j].owner, a.share[j].slot = o, s
			}
		}
	}
}

// int64Layout: the type's values are an Arrow int64 array (ARCHITECTURE.md,
// "one physical layout per logical type").
func int64Layout(t types.Type) bool {
	switch t.Kind {
	case types.BigInt, types.Decimal, types.Timestamp, types.TimestampLTZ, types.Interval:
		return true
	}
	return false
}

// foldSharedDistinct folds every member of owner o's group in one pass.
func (a *GroupAgg) foldSharedDistinct(o int, b batch.Batch, groups []*group, sign func(r int) int64) error {
	sh := &a.share[o]
	col, ok := b.Column(a.Aggs[o].Arg).(*array.Int64)
	if !ok {
		return fmt.Errorf("internal: %s: column of %T, want int64", a.Aggs[o].Text, b.Column(a.Aggs[o].Arg))
	}
	v := col.Int64Values()
	nulls := col.NullN() > 0
	var filters [maxSharedDistinct]*array.Boolean
	for s, j := range sh.members {
		if f := a.Aggs[j].Filter; f >= 0 {
			filters[s] = b.Column(f).(*array.Boolean)
		}
	}
	for lo := 0; lo < len(groups); lo += msetPrefetchRows {
		hi := min(lo+msetPrefetchRows, len(groups))
		// Touch each row's home slot first: the loads are independent, so
		// the cache misses overlap instead of stalling one row at a time.
		var x int64
		for r := lo; r < hi; r++ {
			if m := groups[r].accs[o].mset; m != nil {
				x ^= m.peek(v[r])
			}
		}
		sh.sink ^= x
		a.foldSharedRows(o, groups, lo, hi, v, col, nulls, &filters, sign)
	}
	return nil
}

// msetPrefetchRows: rows whose slots are touched ahead, few enough that
// their cache lines stay cached until the fold reaches them.
const msetPrefetchRows = 128

// foldSharedRows folds rows [lo, hi) of foldSharedDistinct.
func (a *GroupAgg) foldSharedRows(o int, groups []*group, lo, hi int, v []int64, col *array.Int64, nulls bool,
	filters *[maxSharedDistinct]*array.Boolean, sign func(r int) int64) {
	sh := &a.share[o]
	k := len(sh.members)
	for r := lo; r < hi; r++ {
		g := groups[r]
		if nulls && col.IsNull(r) {
			continue
		}
		var delta [maxSharedDistinct]int64
		any := false
		sg := sign(r)
		for s := 0; s < k; s++ {
			if f := filters[s]; f != nil && (f.IsNull(r) || !f.Value(r)) {
				continue
			}
			delta[s], any = sg, true
		}
		if !any {
			continue
		}
		acc := &g.accs[o]
		if acc.mset == nil {
			a.gatherShared(g, o)
		}
		e := acc.mset.upsert(v[r])
		zero := true
		for s := 0; s < k; s++ {
			if delta[s] != 0 {
				old := e[s]
				e[s] += delta[s]
				switch {
				case old <= 0 && e[s] > 0:
					g.accs[sh.members[s]].n++
				case old > 0 && e[s] <= 0:
					g.accs[sh.members[s]].n--
				}
			}
			if e[s] > 0 {
				zero = false
			}
		}
		if zero {
			acc.mset.remove(v[r])
		}
	}
}

// gatherShared builds owner o's map from its members' own multisets (a
// restored or merged group) and derives each member's count.
func (a *GroupAgg) gatherShared(g *group, o int) {
	sh := &a.share[o]
	m := &int64Multiset{}
	for s, j := range sh.members {
		acc := &g.accs[j]
		for c, n := range acc.set {
			m.upsert(c.i)[s] += n
		}
		for v, n := range acc.iset {
			m.upsert(v)[s] += n
		}
		acc.set, acc.iset, acc.n = nil, nil, 0
	}
	m.each(func(_ int64, e *[maxSharedDistinct]int64) {
		for s, j := range sh.members {
			if e[s] > 0 {
				g.accs[j].n++
			}
		}
	})
	g.accs[o].mset = m
}

// unshare moves a group's shared maps back into each member's own iset
// (for merging session windows, which merge multisets per aggregate).
func (a *GroupAgg) unshare(g *group) {
	for o := range a.share {
		sh := &a.share[o]
		if len(sh.members) == 0 || g.accs[o].mset == nil {
			continue
		}
		for s, j := range sh.members {
			acc := &g.accs[j]
			acc.n = 0
			g.accs[o].mset.each(func(v int64, e *[maxSharedDistinct]int64) {
				if e[s] > 0 {
					if acc.iset == nil {
						acc.iset = map[int64]int64{}
					}
					acc.iset[v] = e[s]
				}
			})
		}
		g.accs[o].mset = nil
	}
}

// sharedEntries calls fn with member i's values and multiplicities when i
// shares its owner's map; it reports false otherwise.
func (a *GroupAgg) sharedEntries(g *group, i int, fn func(v, n int64)) bool {
	if a.share == nil || a.share[i].owner < 0 {
		return false
	}
	m := g.accs[a.share[i].owner].mset
	if m == nil {
		return false // not gathered yet: the member's own multiset holds it
	}
	s := a.share[i].slot
	m.each(func(v int64, e *[maxSharedDistinct]int64) {
		if e[s] > 0 {
			fn(v, e[s])
		}
	})
	return true
}
