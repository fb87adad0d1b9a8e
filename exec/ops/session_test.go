package ops

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// TestSessionsMergeAcrossABridge: two separate sessions of a key become one
// when a row falls between them, with their accumulators merged; another
// key's session stays apart; the watermark fires them in end order.
func TestSessionsMergeAcrossABridge(t *testing.T) {
	for _, rocksdb := range []bool{false, true} {
		t.Run(fmt.Sprintf("rocksdb=%v", rocksdb), func(t *testing.T) { testSessionsMergeAcrossABridge(t, rocksdb) })
	}
}

func testSessionsMergeAcrossABridge(t *testing.T, rocksdb bool) {
	const s = int64(1_000_000) // one second in µs
	ts := types.TimestampOf(3)
	in := types.NewSchema(types.Field{Name: "ws", Type: ts}, types.Field{Name: "we", Type: ts},
		types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeBigInt})
	out := types.NewSchema(types.Field{Name: "ws", Type: ts}, types.Field{Name: "we", Type: ts},
		types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "n", Type: types.TypeBigInt},
		types.Field{Name: "mx", Type: types.TypeBigInt})
	op := &GroupAgg{Keys: []int{0, 1, 2}, Out: out, Windowed: true, Session: true, WindowStart: 0, WindowEnd: 1,
		Aggs: []AggSpec{
			{Kind: AggCountStar, Arg: -1, Filter: -1, Type: types.TypeBigInt},
			{Kind: AggMax, Arg: 3, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		}, RocksDB: rocksdb}
	if err := op.Open(&exec.OpContext{WorkDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	var c collectRows
	feed := func(times, keys, vals []int64) {
		ws := make([]int64, len(times))
		we := make([]int64, len(times))
		for i, x := range times {
			ws[i], we[i] = x*s, (x+5)*s // gap 5 s
		}
		rec := batch.NewRecord(in, []arrow.Array{batch.Int64Array(ws, nil), batch.Int64Array(we, nil),
			batch.Int64Array(keys, nil), batch.Int64Array(vals, nil)}, len(times))
		if err := op.Process(0, batch.New(rec), &c); err != nil {
			t.Fatal(err)
		}
	}
	feed([]int64{0, 8, 3}, []int64{1, 1, 2}, []int64{10, 30, 5}) // key 1: [0,5) and [8,13); key 2: [3,8)
	feed([]int64{4}, []int64{1}, []int64{99})                    // [4,9) touches both: key 1 is one session [0,13)
	if err := op.ProcessWatermark(100*s, &c); err != nil {
		t.Fatal(err)
	}
	row := func(start, end, k, n, mx int64) string {
		return fmt.Sprint(cell{i: start * s}) + "|" + fmt.Sprint(cell{i: end * s}) + "|" + fmt.Sprint(cell{i: k}) + "|" +
			fmt.Sprint(cell{i: n}) + "|" + fmt.Sprint(cell{i: mx})
	}
	want := fmt.Sprint([]string{row(3, 8, 2, 1, 5), row(0, 13, 1, 3, 99)})
	if got := fmt.Sprint(c.rows); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// A row for a session that has fired is late: dropped.
	feed([]int64{1}, []int64{2}, []int64{1})
	if err := op.ProcessWatermark(200*s, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.rows) != 2 || op.late.n != 1 {
		t.Fatalf("late row: %d rows, %d late", len(c.rows), op.late.n)
	}
}

// sessionAgg is windowAgg's session aggregate (COUNT(*), MAX(v),
// COUNT(DISTINCT v)) plus SUM(v) and MIN(v), on either backend.
func sessionAgg(rocksdb bool) *GroupAgg {
	a := windowAgg(true, types.TypeBigInt)
	a.RocksDB = rocksdb
	a.Out.Fields = append(a.Out.Fields, types.Field{Name: "s", Type: types.TypeBigInt}, types.Field{Name: "mn", Type: types.TypeBigInt})
	a.Aggs = append(a.Aggs,
		AggSpec{Kind: AggSum, Arg: 3, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		AggSpec{Kind: AggMin, Arg: 3, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt})
	return a
}

// TestSessionRocksMatchesHashmap: random event times (dense enough that
// rows bridge two, three or more sessions, and some rows are late) give
// the same sessions, at the same watermarks, on both backends.
func TestSessionRocksMatchesHashmap(t *testing.T) {
	late, sessions := int64(0), 0
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 9))
		// Times in quarter seconds: sessions end inside index buckets
		// (one second wide), not only at their edges.
		const unit = sec / 4
		rows := func(rs ...string) step { return proc(0, windowRowsIn(unit, rs...)) }
		gap := int64(1 + rng.IntN(16))
		// Three sessions of key 1, then one batch bridging them all.
		steps := []step{
			rows("0 5 1 1", "10 15 1 2", "20 25 1 3", "40 45 1 4"),
			rows("5 10 1 5", "15 20 1 6", "3 8 2 7"),
		}
		wm := int64(60) // random rows start after the sessions above
		for i := 0; i < 60; i++ {
			if rng.IntN(4) == 0 {
				wm += int64(rng.IntN(30))
				steps = append(steps, wmark(wm*unit))
				continue
			}
			var batchRows []string
			for j := 0; j < 1+rng.IntN(30); j++ {
				ts := wm - 30 + int64(rng.IntN(150)) // some before the watermark: late unless they join an open session
				k := fmt.Sprint(rng.IntN(20))
				if rng.IntN(20) == 0 {
					k = "_"
				}
				batchRows = append(batchRows, fmt.Sprintf("%d %d %s %d", ts, ts+gap, k, rng.IntN(10)))
			}
			steps = append(steps, rows(batchRows...))
		}
		steps = append(steps, wmark(exec.MaxWatermark))
		h, r := openOp(t, sessionAgg(false), 0, 1).(*GroupAgg), openOp(t, sessionAgg(true), 0, 1).(*GroupAgg)
		var ch, cr collectRows
		for i, st := range steps {
			run(t, h, &ch, []step{st})
			run(t, r, &cr, []step{st})
			// Ties (sessions of equal bounds) come in map order in memory.
			if got, want := cr.changes(), ch.changes(); !slices.Equal(got, want) {
				t.Fatalf("seed %d, step %d: rocksdb emitted\n%v\nhashmap\n%v", seed, i, got, want)
			}
			if r.late.n != h.late.n {
				t.Fatalf("seed %d, step %d: %d late rows on rocksdb, %d in memory", seed, i, r.late.n, h.late.n)
			}
			checkSessionIndex(t, r)
		}
		if len(r.openEnds) != 0 {
			t.Fatalf("seed %d: index buckets left after the last watermark: %v", seed, r.openEnds)
		}
		// Key 1's three sessions became one [0, 25) of 5 rows.
		if !slices.ContainsFunc(ch.rows, func(row string) bool {
			return strings.HasPrefix(row, fmt.Sprintf("%v|%v|%v|%v|", cell{i: 0}, cell{i: 25 * unit}, cell{i: 1}, cell{i: 5}))
		}) {
			t.Fatalf("seed %d: no three-way merge in %v", seed, ch.rows)
		}
		late += h.late.n
		sessions += len(ch.rows)
		h.Close()
		r.Close()
	}
	if late == 0 || sessions < 100 {
		t.Fatalf("the input did not exercise late rows and many sessions (%d late, %d sessions)", late, sessions)
	}
	t.Logf("%d sessions, %d late rows", sessions, late)
}

// TestSessionProcTime: over PROCTIME() a session ends a gap after its last
// row's processing time and fires on the timer once that end is 200 ms
// past; no row is late (a row after its session fired starts a new one).
func TestSessionProcTime(t *testing.T) {
	for _, rocksdb := range []bool{false, true} {
		t.Run(fmt.Sprintf("rocksdb=%v", rocksdb), func(t *testing.T) { testSessionProcTime(t, rocksdb) })
	}
}

func testSessionProcTime(t *testing.T, rocksdb bool) {
	now := time.Unix(1000, 0)
	var tick func(exec.Collector) error
	a := sessionAgg(rocksdb)
	a.ProcTime = true
	ctx := &exec.OpContext{WorkDir: t.TempDir(), MaxParallelism: testMaxPar, Now: func() time.Time { return now },
		Every: func(d time.Duration, fn func(exec.Collector) error) {
			if d == procTimeTick {
				tick = fn
			}
		}}
	if err := a.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if tick == nil {
		t.Fatal("no processing-time timer")
	}
	const gap = 2 // s
	var c collectRows
	// feed rows of key k at the clock's time, as the SESSION TVF over a
	// PROCTIME() column assigns them.
	feed := func(k int64, v int64) {
		t0 := now.UnixMicro()
		rec := batch.NewRecord(windowInput, []arrow.Array{batch.Int64Array([]int64{t0}, nil), batch.Int64Array([]int64{t0 + gap*sec}, nil),
			batch.Int64Array([]int64{k}, nil), batch.Int64Array([]int64{v}, nil)}, 1)
		if err := a.Process(0, batch.New(rec), &c); err != nil {
			t.Fatal(err)
		}
	}
	advance := func(d time.Duration) {
		now = now.Add(d)
		if err := tick(&c); err != nil {
			t.Fatal(err)
		}
	}
	start := now.UnixMicro()
	feed(1, 10)
	advance(time.Second)
	feed(1, 20) // extends key 1's session to start + 3 s
	feed(2, 5)  // key 2: [start+1, start+3)
	// A watermark does not fire processing-time sessions.
	if err := a.ProcessWatermark(start+100*sec, &c); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Second) // now = start + 3 s: both ends reached, the grace not yet
	if len(c.rows) != 0 {
		t.Fatalf("fired before the grace period: %v", c.rows)
	}
	advance(300 * time.Millisecond)
	row := func(s, e, k, n, mx, cd, sum, mn int64) string {
		var parts []string
		for _, x := range []int64{s, e, k, n, mx, cd, sum, mn} {
			parts = append(parts, fmt.Sprint(cell{i: x}))
		}
		return strings.Join(parts, "|")
	}
	// Equal ends: the earlier start first.
	want := []string{row(start, start+3*sec, 1, 2, 20, 2, 30, 10), row(start+sec, start+3*sec, 2, 1, 5, 1, 5, 5)}
	if !slices.Equal(c.rows, want) {
		t.Fatalf("got  %v\nwant %v", c.rows, want)
	}
	// Key 1 again, after its session fired: a new session, not a late row.
	feed(1, 7)
	if err := a.ProcessWatermark(exec.MaxWatermark, &c); err != nil { // end of a bounded input
		t.Fatal(err)
	}
	t1 := now.UnixMicro()
	want = append(want, row(t1, t1+gap*sec, 1, 1, 7, 1, 7, 7))
	if !slices.Equal(c.rows, want) || a.late.n != 0 {
		t.Fatalf("got  %v (%d late)\nwant %v", c.rows, a.late.n, want)
	}
}

// BenchmarkSessionAgg: 4096-row batches of 10 thousand keys, event time
// advancing 0.2 ms per row, gap 5 s (a key's rows about every 2 s, so
// sessions grow and merge), a watermark after each batch firing sessions
// idle for 5 s; COUNT(*), MAX(v), COUNT(DISTINCT v), SUM(v), MIN(v).
func BenchmarkSessionAgg(b *testing.B) {
	for _, rocksdb := range []bool{false, true} {
		b.Run(map[bool]string{false: "hashmap", true: "rocksdb"}[rocksdb], func(b *testing.B) {
			a := sessionAgg(rocksdb)
			if err := a.Open(&exec.OpContext{WorkDir: b.TempDir(), MaxParallelism: testMaxPar}); err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			const n, gap = 4096, 5 * sec
			x := uint64(1)
			ws, we, ks, vs := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
			var c countingCollector
			ts := int64(0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for r := 0; r < n; r++ {
					x = x*6364136223846793005 + 1442695040888963407
					ts += 200
					ws[r], we[r] = ts, ts+gap
					ks[r], vs[r] = int64(x>>33)%10000, int64(x>>20)%100
				}
				rec := batch.NewRecord(windowInput, []arrow.Array{batch.Int64Array(ws, nil), batch.Int64Array(we, nil),
					batch.Int64Array(ks, nil), batch.Int64Array(vs, nil)}, n)
				if err := a.Process(0, batch.New(rec), &c); err != nil {
					b.Fatal(err)
				}
				if err := a.ProcessWatermark(ts, &c); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(c.rows)/float64(b.N*n), "sessions/row")
		})
	}
}

// checkSessionIndex: the index of a rocksdb session aggregate holds
// exactly one entry per key and end bucket of its stored sessions (no
// stale entries), and only in buckets the operator knows are open.
func checkSessionIndex(t *testing.T, a *GroupAgg) {
	t.Helper()
	vs, err := a.store.value()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	if err := vs.Entries(nil, func(kg int, key, _ []byte) error {
		list, err := a.readSessions(kg, key)
		for _, b := range sessionBuckets(nil, list) {
			want[fmt.Sprint(kg, string(key), b)] = true
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	idx, err := a.store.sessIndex()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	if err := idx.Namespaces(func(ns []byte) error {
		b, err := windowOfNS(ns)
		if err != nil {
			return err
		}
		if !a.openEnds[b] {
			t.Errorf("index bucket %d is not among the open ones", b)
		}
		return idx.Entries(ns, func(kg int, key, _ []byte) error {
			got[fmt.Sprint(kg, string(key), b)] = true
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("session index holds %d entries, the sessions need %d:\n%v\n%v", len(got), len(want), got, want)
	}
}
