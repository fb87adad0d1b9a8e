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

// testJoin joins the join tests' schemas on (k, t) = (k, t), t NULL-safe,
// or on k alone (an int64-keyed join).
func testJoin(kind JoinKind, intKeyed bool) *Join {
	j := &Join{Kind: kind, LeftKeys: []int{0, 1}, RightKeys: []int{2, 0}, NullEqual: []bool{false, true},
		Left: joinLeftSchema, Right: joinRightSchema, Out: joinOutSchema()}
	if intKeyed {
		j.LeftKeys, j.RightKeys, j.NullEqual = []int{0}, []int{2}, nil
	}
	return j
}

// joinGen makes random changelogs for both sides, with duplicates and
// retractions of earlier rows.
type joinGen struct {
	rng  *rand.Rand
	live [2][]jrow
}

func (g *joinGen) batch(side int) batch.Batch {
	n := 1 + g.rng.IntN(30)
	rows := make([]jrow, n)
	kinds := make([]batch.RowKind, n)
	for i := range rows {
		if len(g.live[side]) > 0 && g.rng.IntN(4) == 0 {
			j := g.rng.IntN(len(g.live[side]))
			rows[i] = g.live[side][j]
			g.live[side] = slices.Delete(g.live[side], j, j+1)
			kinds[i] = batch.Delete
			continue
		}
		var r jrow
		if g.rng.IntN(10) > 0 {
			k := int64(g.rng.IntN(12))
			r.k = &k
		}
		if g.rng.IntN(6) > 0 {
			s := fmt.Sprint("t", g.rng.IntN(2))
			r.t = &s
		}
		v := int64(g.rng.IntN(4))
		r.v = &v
		rows[i] = r
		g.live[side] = append(g.live[side], r)
	}
	return sideBatch(side, rows, kinds)
}

func TestJoinSnapshotRestore(t *testing.T) {
	for _, kind := range []JoinKind{JoinInner, JoinLeft, JoinFull} {
		for _, intKeyed := range []bool{true, false} {
			what := fmt.Sprintf("%v join, int-keyed %v", kind, intKeyed)
			g := &joinGen{rng: rand.New(rand.NewPCG(uint64(kind), 9))}
			keys := func(side int) []int {
				j := testJoin(kind, intKeyed)
				if side == 0 {
					return j.LeftKeys
				}
				return j.RightKeys
			}
			var pre, more []step
			var kpre, kmore []keyedInput
			for i := 0; i < 24; i++ {
				side := g.rng.IntN(2)
				b := g.batch(side)
				in := keyedInput{input: side, b: b, keys: keys(side)}
				if i < 12 {
					pre, kpre = append(pre, proc(side, b)), append(kpre, in)
				} else {
					more, kmore = append(more, proc(side, b)), append(kmore, in)
				}
			}
			snapshotRoundTrip(t, what, func() exec.Operator { return openOp(t, testJoin(kind, intKeyed), 0, 1) }, pre, more)
			rescaleRoundTrip(t, what, func(s, p int) exec.Operator { return openOp(t, testJoin(kind, intKeyed), s, p) }, kpre, kmore)
		}
	}
}

// TestInsertOnlyJoinSnapshotRestore: the state of append-only sides
// (chunked cells, per-batch strings, large indexed buckets) restores.
func TestInsertOnlyJoinSnapshotRestore(t *testing.T) {
	for _, kind := range []JoinKind{JoinInner, JoinLeft, JoinFull} {
		for _, intKeyed := range []bool{true, false} {
			what := fmt.Sprintf("insert-only %v join, int-keyed %v", kind, intKeyed)
			rng := rand.New(rand.NewPCG(uint64(kind), 11))
			var pre, more []step
			for i := 0; i < 24; i++ {
				side := rng.IntN(2)
				if b := insertOnlyBatch(rng, side); i < 12 {
					pre = append(pre, proc(side, b))
				} else {
					more = append(more, proc(side, b))
				}
			}
			snapshotRoundTrip(t, what, func() exec.Operator {
				j := testJoin(kind, intKeyed)
				j.LeftInsertOnly, j.RightInsertOnly = true, true
				return openOp(t, j, 0, 1)
			}, pre, more)
		}
	}
}

// TestThetaJoinSnapshotRestore: a join without keys keeps one bucket.
func TestThetaJoinSnapshotRestore(t *testing.T) {
	g := &joinGen{rng: rand.New(rand.NewPCG(5, 5))}
	var pre, more []step
	for i := 0; i < 12; i++ {
		side := i % 2
		if i < 6 {
			pre = append(pre, proc(side, g.batch(side)))
		} else {
			more = append(more, proc(side, g.batch(side)))
		}
	}
	snapshotRoundTrip(t, "theta join", func() exec.Operator {
		j := testJoin(JoinLeft, true)
		j.LeftKeys, j.RightKeys = nil, nil
		return openOp(t, j, 0, 1)
	}, pre, more)
}

// TestIntervalJoinSnapshotKeepsSweepTime: the event time of the last sweep
// is restored, so a late row meets exactly the rows it would have met.
func TestIntervalJoinSnapshotKeepsSweepTime(t *testing.T) {
	sch := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "ts", Type: types.TimestampOf(3)})
	out := types.NewSchema(append(append([]types.Field{}, sch.Fields...), sch.Fields...)...)
	mk := func() exec.Operator {
		// Bounds L - R in [-5 s, 0]: sweeps at most every 2.5 s of event time.
		return openOp(t, &Join{Kind: JoinInner, LeftKeys: []int{0}, RightKeys: []int{0}, Left: sch, Right: sch, Out: out,
			Bounds: &TimeBounds{LeftCol: 1, RightCol: 1, Lo: -5 * sec, Hi: 0}}, 0, 1)
	}
	rows := func(side int, ts ...int64) step {
		ks, us := make([]int64, len(ts)), make([]int64, len(ts))
		for i, x := range ts {
			ks[i], us[i] = 1, x*sec
		}
		return proc(side, batch.New(batch.NewRecord(sch, []arrow.Array{batch.Int64Array(ks, nil), batch.Int64Array(us, nil)}, len(ts))))
	}
	pre := []step{rows(0, 0, 10, 30), wmark(20 * sec)} // sweeps at 20: left 0 and 10 go
	more := []step{
		rows(0, 10),     // late, stored
		wmark(21 * sec), // too soon after the sweep at 20: left 10 stays
		rows(1, 12),     // meets the late left 10
		wmark(40 * sec), // sweeps
		rows(1, 12),     // meets nothing
		rows(0, 41), rows(1, 42),
	}
	snapshotRoundTrip(t, "interval join", mk, pre, more)
}
