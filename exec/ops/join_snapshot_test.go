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

// backendJoin sets j's backend.
func backendJoin(j *Join, backend string) *Join {
	j.RocksDB = backend == "rocksdb"
	return j
}

func TestJoinSnapshotRestore(t *testing.T) {
	for _, backend := range joinBackends {
		for _, kind := range []JoinKind{JoinInner, JoinLeft, JoinFull} {
			for _, intKeyed := range []bool{true, false} {
				testJoinSnapshotRestore(t, backend, kind, intKeyed)
			}
		}
	}
}

func testJoinSnapshotRestore(t *testing.T, backend string, kind JoinKind, intKeyed bool) {
	what := fmt.Sprintf("%s: %v join, int-keyed %v", backend, kind, intKeyed)
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
	snapshotRoundTrip(t, what, func() exec.Operator { return openOp(t, backendJoin(testJoin(kind, intKeyed), backend), 0, 1) }, pre, more)
	rescaleRoundTrip(t, what, func(s, p int) exec.Operator {
		return openOp(t, backendJoin(testJoin(kind, intKeyed), backend), s, p)
	}, kpre, kmore)
}

// TestInsertOnlyJoinSnapshotRestore: the state of append-only sides
// (chunked cells, per-batch strings, large indexed buckets) restores.
func TestInsertOnlyJoinSnapshotRestore(t *testing.T) {
	for _, backend := range joinBackends {
		for _, kind := range []JoinKind{JoinInner, JoinLeft, JoinFull} {
			for _, intKeyed := range []bool{true, false} {
				testInsertOnlyJoinSnapshotRestore(t, backend, kind, intKeyed)
			}
		}
	}
}

func testInsertOnlyJoinSnapshotRestore(t *testing.T, backend string, kind JoinKind, intKeyed bool) {
	what := fmt.Sprintf("%s: insert-only %v join, int-keyed %v", backend, kind, intKeyed)
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
		j := backendJoin(testJoin(kind, intKeyed), backend)
		j.LeftInsertOnly, j.RightInsertOnly = true, true
		return openOp(t, j, 0, 1)
	}, pre, more)
}

// TestThetaJoinSnapshotRestore: a join without keys keeps one bucket.
func TestThetaJoinSnapshotRestore(t *testing.T) {
	for _, backend := range joinBackends {
		testThetaJoinSnapshotRestore(t, backend)
	}
}

func testThetaJoinSnapshotRestore(t *testing.T, backend string) {
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
	snapshotRoundTrip(t, backend+": theta join", func() exec.Operator {
		j := backendJoin(testJoin(JoinLeft, true), backend)
		j.LeftKeys, j.RightKeys = nil, nil
		return openOp(t, j, 0, 1)
	}, pre, more)
}

// TestIntervalJoinSnapshotKeepsSweepTime: the event time of the last sweep
// is restored, so a late row meets exactly the rows it would have met.
func TestIntervalJoinSnapshotKeepsSweepTime(t *testing.T) {
	for _, backend := range joinBackends {
		testIntervalJoinSnapshotKeepsSweepTime(t, backend)
	}
}

func testIntervalJoinSnapshotKeepsSweepTime(t *testing.T, backend string) {
	sch := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "ts", Type: types.TimestampOf(3)})
	out := types.NewSchema(append(append([]types.Field{}, sch.Fields...), sch.Fields...)...)
	mk := func() exec.Operator {
		// Bounds L - R in [-5 s, 0]: sweeps at most every 2.5 s of event time.
		return openOp(t, backendJoin(&Join{Kind: JoinInner, LeftKeys: []int{0}, RightKeys: []int{0}, Left: sch, Right: sch, Out: out,
			Bounds: &TimeBounds{LeftCol: 1, RightCol: 1, Lo: -5 * sec, Hi: 0}}, backend), 0, 1)
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
	snapshotRoundTrip(t, backend+": interval join", mk, pre, more)
}

// TestJoinSnapshotBackendMismatch: a snapshot of one backend restored into
// the other is refused with a clear error, not misread.
func TestJoinSnapshotBackendMismatch(t *testing.T) {
	for _, from := range joinBackends {
		to := "rocksdb"
		if from == to {
			to = "hashmap"
		}
		a := openOp(t, backendJoin(testJoin(JoinLeft, true), from), 0, 1).(*Join)
		g := &joinGen{rng: rand.New(rand.NewPCG(1, 2))}
		if err := a.Process(0, g.batch(0), &collectRows{}); err != nil {
			t.Fatal(err)
		}
		dir := snapshotSync(t, a, &collectRows{}, false)()
		a.Close()
		b := openOp(t, backendJoin(testJoin(JoinLeft, true), to), 0, 1).(*Join)
		err := b.RestoreState(restoreOne(dir))
		if err == nil || !strings.Contains(err.Error(), "not supported yet") {
			t.Fatalf("%s snapshot into %s: %v", from, to, err)
		}
		b.Close()
	}
}

// TestIntervalJoinSnapshotRescale: an interval join's rows and expiry
// (on rocksdb its time index) restore at another parallelism: restored
// subtasks free and match exactly what one subtask did.
func TestIntervalJoinSnapshotRescale(t *testing.T) {
	sch := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "ts", Type: types.TimestampOf(3)})
	out := types.NewSchema(append(append([]types.Field{}, sch.Fields...), sch.Fields...)...)
	rng := rand.New(rand.NewPCG(3, 4))
	rows := func(side int, from, to int64) keyedInput {
		n := 20
		ks, us := make([]int64, n), make([]int64, n)
		for i := range ks {
			ks[i], us[i] = int64(rng.IntN(8)), (from+rng.Int64N(to-from))*sec
		}
		return keyedInput{input: side, keys: []int{0}, b: batch.New(batch.NewRecord(sch, []arrow.Array{batch.Int64Array(ks, nil), batch.Int64Array(us, nil)}, n))}
	}
	wm := func(s int64) keyedInput { return keyedInput{isWM: true, wm: s * sec} }
	pre := []keyedInput{rows(0, 0, 30), rows(1, 0, 30), wm(12), rows(0, 10, 40), rows(1, 10, 40), wm(20)}
	more := []keyedInput{rows(1, 0, 50), wm(31), rows(0, 0, 50), wm(45), rows(1, 30, 60), rows(0, 30, 60)}
	for _, backend := range joinBackends {
		rescaleRoundTrip(t, backend+": interval join", func(s, p int) exec.Operator {
			return openOp(t, backendJoin(&Join{Kind: JoinInner, LeftKeys: []int{0}, RightKeys: []int{0}, Left: sch, Right: sch, Out: out,
				Bounds: &TimeBounds{LeftCol: 1, RightCol: 1, Lo: -5 * sec, Hi: 0}}, backend), s, p)
		}, pre, more)
	}
}
