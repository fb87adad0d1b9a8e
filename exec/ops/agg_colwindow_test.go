package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Columnar window state (agg_colwindow.go) against the general path: the
// same random windowed input — several open windows, NULL keys and values,
// watermarks firing some — gives the same output row for row, and a
// snapshot of columnar windows restores (into the general groups, adopted
// again at the next batch) to the same output.

var colWinIn = types.NewSchema(types.Field{Name: "ws", Type: types.TypeBigInt}, types.Field{Name: "we", Type: types.TypeBigInt},
	types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeBigInt})

func colWinAgg(noColumnar bool, keyed bool) *GroupAgg {
	bt := types.TypeBigInt
	keys := []int{0, 1}
	out := []types.Field{{Name: "ws", Type: bt}, {Name: "we", Type: bt}}
	if keyed {
		keys = append(keys, 2)
		out = append(out, types.Field{Name: "k", Type: bt})
	}
	for _, n := range []string{"c", "cv", "s", "mn", "mx"} {
		out = append(out, types.Field{Name: n, Type: bt})
	}
	return &GroupAgg{Keys: keys, Windowed: true, WindowStart: 0, WindowEnd: 1, Out: types.NewSchema(out...), noColumnar: noColumnar,
		Aggs: []AggSpec{
			{Kind: AggCountStar, Arg: -1, Filter: -1, Type: bt},
			{Kind: AggCount, Arg: 3, Filter: -1, ArgType: bt, Type: bt},
			{Kind: AggSum, Arg: 3, Filter: -1, ArgType: bt, Type: bt},
			{Kind: AggMin, Arg: 3, Filter: -1, ArgType: bt, Type: bt},
			{Kind: AggMax, Arg: 3, Filter: -1, ArgType: bt, Type: bt},
		}}
}

// colWinSteps makes batches over windows [e-10, e) not yet fired, and
// watermarks that fire the oldest.
func colWinSteps(rng *rand.Rand, n int) []step {
	var steps []step
	wm := int64(0)
	for i := 0; i < n; i++ {
		if rng.IntN(4) == 0 {
			wm += 10
			steps = append(steps, wmark(wm))
			continue
		}
		rows := 1 + rng.IntN(40)
		ws, we, ks, vs := make([]int64, rows), make([]int64, rows), make([]int64, rows), make([]int64, rows)
		kv, vv := make([]bool, rows), make([]bool, rows)
		for r := range rows {
			e := wm + 10*int64(1+rng.IntN(3))
			ws[r], we[r] = e-10, e
			ks[r], kv[r] = int64(rng.IntN(6)), rng.IntN(7) != 0
			vs[r], vv[r] = int64(rng.IntN(100)-50), rng.IntN(5) != 0
		}
		rec := batch.NewRecord(colWinIn, []arrow.Array{batch.Int64Array(ws, nil), batch.Int64Array(we, nil),
			batch.Int64Array(ks, kv), batch.Int64Array(vs, vv)}, rows)
		steps = append(steps, proc(0, batch.New(rec)))
	}
	return append(steps, wmark(exec.MaxWatermark))
}

func TestColumnarWindowsMatchGeneral(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		for _, keyed := range []bool{true, false} {
			steps := colWinSteps(rand.New(rand.NewPCG(seed, 7)), 60)
			var outs [2]collectRows
			for i, noCol := range []bool{false, true} {
				op := openOp(t, colWinAgg(noCol, keyed), 0, 1).(*GroupAgg)
				run(t, op, &outs[i], steps)
				if !noCol && op.cw == nil {
					t.Fatal("the aggregation did not use columnar windows")
				}
				op.Close()
			}
			if len(outs[0].rows) == 0 || !slices.Equal(outs[0].rows, outs[1].rows) {
				t.Fatalf("seed %d, keyed %v: columnar output differs\ncolumnar:\n%s\ngeneral:\n%s", seed, keyed, &outs[0], &outs[1])
			}
		}
	}
}

func TestColumnarWindowsSnapshot(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		steps := colWinSteps(rand.New(rand.NewPCG(seed, 9)), 40)
		half := len(steps) / 2
		snapshotRoundTrip(t, fmt.Sprintf("columnar windows, seed %d", seed), func() exec.Operator {
			return openOp(t, colWinAgg(false, true), 0, 1)
		}, steps[:half], steps[half:])
	}
}
