package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// rankInput is (p STRING, o BIGINT, x BIGINT).
var rankInput = types.NewSchema(types.Field{Name: "p", Type: types.TypeString},
	types.Field{Name: "o", Type: types.TypeBigInt}, types.Field{Name: "x", Type: types.TypeBigInt})

func testRank() *Rank { return testRankOn("hashmap") }

func testRankOn(backend string) *Rank {
	out := types.NewSchema(append(slices.Clone(rankInput.Fields), types.Field{Name: "rn", Type: types.TypeBigInt})...)
	return &Rank{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 1, Desc: true}}, Limit: 2, RankColumn: true,
		In: rankInput, Out: out, InputUpdating: true, // rankGen retracts
		RocksDB: backend == "rocksdb"}
}

// rankGen makes random changelogs for testRank: ties on o, retractions.
type rankGen struct {
	rng  *rand.Rand
	live [][3]int64
	x    int64
}

func (g *rankGen) batch(n int) batch.Batch {
	ps, os, xs := make([]string, n), make([]int64, n), make([]int64, n)
	pv := make([]bool, n)
	kinds := make([]batch.RowKind, n)
	for i := range kinds {
		var r [3]int64
		if len(g.live) > 0 && g.rng.IntN(4) == 0 {
			j := g.rng.IntN(len(g.live))
			r = g.live[j]
			g.live = slices.Delete(g.live, j, j+1)
			kinds[i] = batch.Delete
		} else {
			g.x++
			r = [3]int64{int64(g.rng.IntN(30)), int64(g.rng.IntN(10)), g.x}
			g.live = append(g.live, r)
		}
		ps[i], pv[i], os[i], xs[i] = fmt.Sprint("p", r[0]), r[0] != 0, r[1], r[2]
	}
	rec := batch.NewRecord(rankInput, []arrow.Array{batch.StringArray(ps, pv), batch.Int64Array(os, nil), batch.Int64Array(xs, nil)}, n)
	return batch.Batch{Rec: rec, Kinds: kinds}
}

func TestRankSnapshotRestore(t *testing.T) {
	g := &rankGen{rng: rand.New(rand.NewPCG(1, 7))}
	var pre, more []step
	var kpre, kmore []keyedInput
	for i := 0; i < 10; i++ {
		b := g.batch(1 + g.rng.IntN(40))
		pre, kpre = append(pre, proc(0, b)), append(kpre, keyedInput{b: b, keys: []int{0}})
	}
	for i := 0; i < 10; i++ {
		b := g.batch(1 + g.rng.IntN(40))
		more, kmore = append(more, proc(0, b)), append(kmore, keyedInput{b: b, keys: []int{0}})
	}
	for _, be := range rankBackends {
		snapshotRoundTrip(t, "Top-N on "+be, func() exec.Operator { return openOp(t, testRankOn(be), 0, 1) }, pre, more)
		rescaleRoundTrip(t, "Top-N on "+be, func(s, p int) exec.Operator { return openOp(t, testRankOn(be), s, p) }, kpre, kmore)
	}
}

// TestRankSnapshotOtherBackend: a snapshot of one backend is refused by
// the other with a clear error, not misread.
func TestRankSnapshotOtherBackend(t *testing.T) {
	g := &rankGen{rng: rand.New(rand.NewPCG(2, 7))}
	b := g.batch(30)
	dirs := map[string]string{}
	for _, be := range rankBackends {
		op := openOp(t, testRankOn(be), 0, 1)
		var c collectRows
		run(t, op, &c, []step{proc(0, b)})
		dirs[be] = snapshotSync(t, op, &c, false)()
		op.Close()
	}
	for be, other := range map[string]string{"hashmap": "rocksdb", "rocksdb": "hashmap"} {
		op := openOp(t, testRankOn(be), 0, 1).(*Rank)
		err := op.RestoreState(restoreOne(dirs[other]))
		if err == nil || !strings.Contains(err.Error(), "not supported yet") {
			t.Fatalf("%s restoring %s state: %v", be, other, err)
		}
		op.Close()
		// And another Top-N's state of the same backend.
		o := testRankOn(be)
		o.Limit = 3
		openOp(t, o, 0, 1)
		if err := o.RestoreState(restoreOne(dirs[be])); err == nil || !strings.Contains(err.Error(), "different Top-N") {
			t.Fatalf("%s restoring another Top-N's state: %v", be, err)
		}
		o.Close()
	}
}
