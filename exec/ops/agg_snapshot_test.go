package ops

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// aggGen makes random changelogs over (k, v BIGINT, f BOOLEAN): inserts,
// and retractions of rows inserted earlier; k is a nullable BIGINT (int64
// map, NULL in the bytes map) or a STRING.
type aggGen struct {
	rng       *rand.Rand
	live      []aggRow
	stringKey bool
}

type aggRow struct {
	k            int64
	knull, vnull bool
	v            int64
	f            bool
}

func (g *aggGen) schema() types.Schema {
	kt := types.TypeBigInt
	if g.stringKey {
		kt = types.TypeString
	}
	return types.NewSchema(types.Field{Name: "k", Type: kt}, types.Field{Name: "v", Type: types.TypeBigInt},
		types.Field{Name: "f", Type: types.TypeBoolean})
}

func (g *aggGen) batch(n int) batch.Batch {
	var rows []aggRow
	var kinds []batch.RowKind
	for i := 0; i < n; i++ {
		if len(g.live) > 0 && g.rng.IntN(3) == 0 {
			j := g.rng.IntN(len(g.live))
			rows = append(rows, g.live[j])
			g.live = slices.Delete(g.live, j, j+1)
			kinds = append(kinds, batch.Delete)
			continue
		}
		r := aggRow{k: int64(g.rng.IntN(40)), knull: g.rng.IntN(15) == 0, v: int64(g.rng.IntN(20) - 5),
			vnull: g.rng.IntN(8) == 0, f: g.rng.IntN(2) == 0}
		g.live = append(g.live, r)
		rows = append(rows, r)
		kinds = append(kinds, batch.Insert)
	}
	ks, ss, vs := make([]int64, n), make([]string, n), make([]int64, n)
	kv, vv, fs := make([]bool, n), make([]bool, n), make([]bool, n)
	for i, r := range rows {
		ks[i], ss[i], kv[i] = r.k, fmt.Sprint("key", r.k), !r.knull
		vs[i], vv[i], fs[i] = r.v, !r.vnull, r.f
	}
	var k arrow.Array = batch.Int64Array(ks, kv)
	if g.stringKey {
		k = batch.StringArray(ss, kv)
	}
	rec := batch.NewRecord(g.schema(), []arrow.Array{k, batch.Int64Array(vs, vv), batch.BooleanArray(fs, nil)}, n)
	return batch.Batch{Rec: rec, Kinds: kinds}
}

// testAgg is GROUP BY k with COUNT(*), COUNT(v), SUM(v), MIN(v), MAX(v),
// COUNT(DISTINCT v), COUNT(*) FILTER (WHERE f) over a retracting input (so
// MIN/MAX keep multisets).
func testAgg(in types.Schema, rocksdb bool, mini int) *GroupAgg {
	out := types.NewSchema(types.Field{Name: "k", Type: in.Fields[0].Type},
		types.Field{Name: "c", Type: types.TypeBigInt}, types.Field{Name: "cv", Type: types.TypeBigInt},
		types.Field{Name: "s", Type: types.TypeBigInt}, types.Field{Name: "mn", Type: types.TypeBigInt},
		types.Field{Name: "mx", Type: types.TypeBigInt}, types.Field{Name: "cd", Type: types.TypeBigInt},
		types.Field{Name: "cf", Type: types.TypeBigInt}, types.Field{Name: "cdf", Type: types.TypeBigInt})
	return &GroupAgg{Keys: []int{0}, Out: out, InputUpdating: true, MiniBatch: mini, RocksDB: rocksdb, Aggs: []AggSpec{
		{Kind: AggCountStar, Arg: -1, Filter: -1, Type: types.TypeBigInt},
		{Kind: AggCount, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggSum, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggMin, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggMax, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggCountDistinct, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggCountStar, Arg: -1, Filter: 2, Type: types.TypeBigInt},
		{Kind: AggCountDistinct, Arg: 1, Filter: 2, ArgType: types.TypeBigInt, Type: types.TypeBigInt}, // shares cd's multiset
	}}
}

func openOp(t *testing.T, op exec.Operator, subtask, par int) exec.Operator {
	t.Helper()
	if err := op.Open(&exec.OpContext{WorkDir: t.TempDir(), Subtask: subtask, Parallelism: par, MaxParallelism: testMaxPar}); err != nil {
		t.Fatal(err)
	}
	return op
}

func TestGroupAggSnapshotRestore(t *testing.T) {
	for _, backend := range []string{"hashmap", "rocksdb"} {
		for _, stringKey := range []bool{false, true} {
			for _, mini := range []int{1, 7, 1 << 20} {
				what := fmt.Sprintf("%s, string key %v, mini-batch %d", backend, stringKey, mini)
				g := &aggGen{rng: rand.New(rand.NewPCG(uint64(mini), 5)), stringKey: stringKey}
				var pre, more []step
				for i := 0; i < 8; i++ {
					pre = append(pre, proc(0, g.batch(1+g.rng.IntN(60))))
				}
				for i := 0; i < 8; i++ {
					more = append(more, proc(0, g.batch(1+g.rng.IntN(60))))
				}
				in := g.schema()
				snapshotRoundTrip(t, what, func() exec.Operator {
					return openOp(t, testAgg(in, backend == "rocksdb", mini), 0, 1)
				}, pre, more)
			}
		}
	}
}

func TestGroupAggSnapshotRescale(t *testing.T) {
	for _, backend := range []string{"hashmap", "rocksdb"} {
		for _, stringKey := range []bool{false, true} {
			what := fmt.Sprintf("%s, string key %v", backend, stringKey)
			g := &aggGen{rng: rand.New(rand.NewPCG(11, 5)), stringKey: stringKey}
			var pre, more []keyedInput
			for i := 0; i < 8; i++ {
				pre = append(pre, keyedInput{b: g.batch(1 + g.rng.IntN(80)), keys: []int{0}})
			}
			for i := 0; i < 8; i++ {
				more = append(more, keyedInput{b: g.batch(1 + g.rng.IntN(80)), keys: []int{0}})
			}
			in := g.schema()
			// One mini-batch between barrier and end: every key's change
			// is then the same whichever subtask holds it.
			rescaleRoundTrip(t, what, func(subtask, par int) exec.Operator {
				return openOp(t, testAgg(in, backend == "rocksdb", 1<<20), subtask, par)
			}, pre, more)
		}
	}
}

// windowInput is (ws, we TIMESTAMP, k BIGINT, v BIGINT).
var windowInput = types.NewSchema(types.Field{Name: "ws", Type: types.TimestampOf(3)}, types.Field{Name: "we", Type: types.TimestampOf(3)},
	types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeBigInt})

func windowAgg(session bool, kt types.Type) *GroupAgg {
	ts := types.TimestampOf(3)
	out := types.NewSchema(types.Field{Name: "ws", Type: ts}, types.Field{Name: "we", Type: ts},
		types.Field{Name: "k", Type: kt}, types.Field{Name: "n", Type: types.TypeBigInt},
		types.Field{Name: "mx", Type: types.TypeBigInt}, types.Field{Name: "cd", Type: types.TypeBigInt})
	return &GroupAgg{Keys: []int{0, 1, 2}, Out: out, Windowed: true, Session: session, WindowStart: 0, WindowEnd: 1,
		Aggs: []AggSpec{
			{Kind: AggCountStar, Arg: -1, Filter: -1, Type: types.TypeBigInt},
			{Kind: AggMax, Arg: 3, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
			{Kind: AggCountDistinct, Arg: 3, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		}}
}

const sec = int64(1_000_000)

// windowRows builds rows "start end k v" in seconds; k "_" is NULL.
func windowRows(rows ...string) batch.Batch { return windowRowsIn(sec, rows...) }

// windowRowsIn is windowRows with times in units of unit µs.
func windowRowsIn(unit int64, rows ...string) batch.Batch {
	n := len(rows)
	ws, we, ks, vs := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	kv := make([]bool, n)
	for i, r := range rows {
		var k string
		fmt.Sscan(r, &ws[i], &we[i], &k, &vs[i])
		ws[i] *= unit
		we[i] *= unit
		if k != "_" {
			fmt.Sscan(k, &ks[i])
			kv[i] = true
		}
	}
	return batch.New(batch.NewRecord(windowInput, []arrow.Array{batch.Int64Array(ws, nil), batch.Int64Array(we, nil),
		batch.Int64Array(ks, kv), batch.Int64Array(vs, nil)}, n))
}

// TestWindowAggSnapshotRestore: open windows (int-keyed and NULL-keyed
// groups) and the watermark survive a restore: a row of a window that
// fired before the checkpoint is still late afterwards, before any new
// watermark arrives.
func TestWindowAggSnapshotRestore(t *testing.T) {
	for _, rocksdb := range []bool{false, true} {
		t.Run(fmt.Sprintf("rocksdb=%v", rocksdb), func(t *testing.T) { testWindowAggSnapshotRestore(t, rocksdb) })
	}
}

func testWindowAggSnapshotRestore(t *testing.T, rocksdb bool) {
	mk := func() exec.Operator {
		a := windowAgg(false, types.TypeBigInt)
		a.RocksDB = rocksdb
		return openOp(t, a, 0, 1)
	}
	pre := []step{
		proc(0, windowRows("0 10 1 5", "0 10 2 6", "10 20 1 7", "10 20 _ 8", "0 10 _ 1")),
		wmark(12 * sec), // fires [0, 10)
		proc(0, windowRows("10 20 1 9", "20 30 3 1", "10 20 2 2")),
	}
	more := []step{
		proc(0, windowRows("0 10 1 100", "10 20 1 9", "10 20 _ 3")), // the first row is late
		wmark(25 * sec), // fires [10, 20)
		proc(0, windowRows("20 30 3 4", "30 40 1 1")),
		wmark(exec.MaxWatermark),
	}
	snapshotRoundTrip(t, "tumbling windows", mk, pre, more)

	// The restored operator counts the late row, as the original did.
	a, b := mk().(*GroupAgg), mk().(*GroupAgg)
	var c collectRows
	run(t, a, &c, pre)
	dir := snapshotSync(t, a, &c, false)()
	if err := b.RestoreState(restoreOne(dir)); err != nil {
		t.Fatal(err)
	}
	run(t, b, &c, more[:1])
	if b.late.n != 1 {
		t.Fatalf("restored window aggregate dropped %d late rows, want 1", b.late.n)
	}
}

func TestSessionAggSnapshotRestore(t *testing.T) {
	for _, rocksdb := range []bool{false, true} {
		t.Run(fmt.Sprintf("rocksdb=%v", rocksdb), func(t *testing.T) { testSessionAggSnapshotRestore(t, rocksdb) })
	}
}

func testSessionAggSnapshotRestore(t *testing.T, rocksdb bool) {
	mk := func() exec.Operator {
		a := windowAgg(true, types.TypeBigInt)
		a.RocksDB = rocksdb
		return openOp(t, a, 0, 1)
	}
	// Gap 5 s: each row's provisional window is [t, t+5).
	pre := []step{
		proc(0, windowRows("0 5 1 10", "8 13 1 30", "3 8 2 5", "20 25 3 1")),
		wmark(9 * sec), // fires key 2's [3, 8)
	}
	more := []step{
		proc(0, windowRows("4 9 2 7")),  // late: key 2's session fired
		proc(0, windowRows("4 9 1 99")), // bridges key 1's sessions into [0, 13)
		proc(0, windowRows("22 27 3 2", "40 45 1 3")),
		wmark(30 * sec),
		wmark(exec.MaxWatermark),
	}
	snapshotRoundTrip(t, "session windows", mk, pre, more)
}

// TestGroupAggSnapshotIsolated: the asynchronous phase writes the state of
// the barrier, however the operator changed since.
// TestGroupAggSnapshotIsolated: rows after the barrier do not leak into
// the snapshot. The asynchronous phase runs on another goroutine while they
// are processed (in memory it reads groups that copy-on-write protects; run
// with -race), and the rows change every key of the snapshot.
func TestGroupAggSnapshotIsolated(t *testing.T) {
	for _, rocksdb := range []bool{false, true} {
		for _, stringKey := range []bool{false, true} {
			g := &aggGen{rng: rand.New(rand.NewPCG(3, 3)), stringKey: stringKey}
			op := openOp(t, testAgg(g.schema(), rocksdb, 1<<20), 0, 1).(*GroupAgg)
			var c collectRows
			run(t, op, &c, []step{proc(0, g.batch(50))})
			async := snapshotSyncE(t, op, &c, false)
			atBarrier := c.materialize(t)
			type result struct {
				dir string
				err error
			}
			done := make(chan result, 1)
			go func() {
				dir, err := async()
				done <- result{dir, err}
			}()
			for i := 0; i < 5; i++ {
				run(t, op, &c, []step{proc(0, g.batch(50))})
				if f, ok := exec.Operator(op).(exec.PreBarrierFlusher); ok {
					if err := f.PrepareSnapshotPreBarrier(2, &c); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := op.Finish(&c); err != nil {
				t.Fatal(err)
			}
			if slices.Equal(c.materialize(t), atBarrier) {
				t.Fatal("the later batches changed nothing: the test proves nothing")
			}
			res := <-done
			if res.err != nil {
				t.Fatal(res.err)
			}
			b := openOp(t, testAgg(g.schema(), rocksdb, 1<<20), 0, 1).(*GroupAgg)
			if err := b.RestoreState(restoreOne(res.dir)); err != nil {
				t.Fatal(err)
			}
			// Retracting every row of the barrier's result from the restored
			// state must leave nothing: it holds exactly that result.
			var r collectRows
			if err := b.Finish(&r); err != nil {
				t.Fatal(err)
			}
			got := dumpAgg(t, b)
			if !slices.Equal(got, atBarrier) {
				t.Fatalf("rocksdb=%v string key=%v: restored state\n%v\nwant the state at the barrier\n%v", rocksdb, stringKey, got, atBarrier)
			}
			op.Close()
			b.Close()
		}
	}
}

// dumpAgg renders every group's current result (what it last emitted).
func dumpAgg(t *testing.T, a *GroupAgg) []string {
	t.Helper()
	var rows []string
	render := func(g *group) {
		var parts []string
		for _, c := range g.prev {
			parts = append(parts, fmt.Sprint(c))
		}
		rows = append(rows, strings.Join(parts, "|"))
	}
	if a.store != nil {
		vs, err := a.store.value()
		if err != nil {
			t.Fatal(err)
		}
		err = vs.Keys(nil, func(kg int, key []byte) error {
			v, _, err := vs.Get(kg, key, nil)
			if err != nil {
				return err
			}
			g := &group{prev: make([]cell, len(a.Keys)+len(a.Aggs)), accs: make([]accum, len(a.Aggs))}
			d := &decoder{b: v}
			decodeGroup(d, g)
			render(g)
			return d.finish()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range a.intGroups {
		render(g)
	}
	for _, g := range a.groups {
		render(g)
	}
	slices.Sort(rows)
	return rows
}

// TestGroupAggSnapshotTTL: write times are kept; a key idle for longer than
// the TTL at restore time starts over, as it would have live.
func TestGroupAggSnapshotTTL(t *testing.T) {
	in := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt})
	out := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "c", Type: types.TypeBigInt})
	one := batch.New(batch.NewRecord(in, []arrow.Array{batch.Int64Array([]int64{7}, nil)}, 1))
	for _, rocksdb := range []bool{false, true} {
		now := time.Unix(1000, 0)
		mk := func() *GroupAgg {
			op := &GroupAgg{Keys: []int{0}, Out: out, MiniBatch: 1, TTL: time.Minute, RocksDB: rocksdb,
				Aggs: []AggSpec{{Kind: AggCountStar, Arg: -1, Filter: -1, Type: types.TypeBigInt}}}
			if err := op.Open(&exec.OpContext{WorkDir: t.TempDir(), Parallelism: 1, Now: func() time.Time { return now }}); err != nil {
				t.Fatal(err)
			}
			return op
		}
		a := mk()
		var c collectRows
		run(t, a, &c, []step{proc(0, one)})
		dir := snapshotSync(t, a, &c, false)()
		for _, tc := range []struct {
			after time.Duration
			want  string
		}{{30 * time.Second, "[-U +U]"}, {2 * time.Minute, "[+I]"}} {
			now = time.Unix(1000, 0).Add(tc.after)
			b := mk()
			if err := b.RestoreState(restoreOne(dir)); err != nil {
				t.Fatal(err)
			}
			var cb collectRows
			run(t, b, &cb, []step{proc(0, one)})
			if got := fmt.Sprint(cb.kind); got != tc.want {
				t.Fatalf("rocksdb=%v, restored %v later: %s %v, want %s", rocksdb, tc.after, got, cb.rows, tc.want)
			}
			b.Close()
		}
		a.Close()
	}
}

func TestGroupAggSnapshotNeedsFlush(t *testing.T) {
	g := &aggGen{rng: rand.New(rand.NewPCG(1, 1))}
	op := openOp(t, testAgg(g.schema(), false, 1<<20), 0, 1).(*GroupAgg)
	var c collectRows
	run(t, op, &c, []step{proc(0, g.batch(10))})
	if _, err := op.SnapshotState(exec.SnapshotContext{ScratchDir: t.TempDir()}); err == nil {
		t.Fatal("snapshot with a buffered mini-batch: want an error")
	}
}

// TestGroupAggSnapshotMismatch: state of another backend or another
// aggregate is refused.
func TestGroupAggSnapshotMismatch(t *testing.T) {
	g := &aggGen{rng: rand.New(rand.NewPCG(1, 2))}
	in := g.schema()
	dirs := map[bool]string{}
	for _, rocksdb := range []bool{false, true} {
		g := &aggGen{rng: rand.New(rand.NewPCG(1, 2))}
		op := openOp(t, testAgg(in, rocksdb, 5), 0, 1)
		var c collectRows
		run(t, op, &c, []step{proc(0, g.batch(20))})
		dirs[rocksdb] = snapshotSync(t, op, &c, false)()
		op.Close()
	}
	for _, rocksdb := range []bool{false, true} {
		op := openOp(t, testAgg(in, rocksdb, 5), 0, 1).(*GroupAgg)
		err := op.RestoreState(restoreOne(dirs[!rocksdb]))
		if err == nil || !strings.Contains(err.Error(), "not supported yet") {
			t.Fatalf("rocksdb=%v: restoring the other backend's state: %v", rocksdb, err)
		}
		op.Close()
		other := testAgg(in, rocksdb, 5)
		other.Aggs = other.Aggs[:3]
		other.Out.Fields = other.Out.Fields[:4]
		openOp(t, other, 0, 1)
		if err := other.RestoreState(restoreOne(dirs[rocksdb])); err == nil || !strings.Contains(err.Error(), "different aggregate") {
			t.Fatalf("rocksdb=%v: restoring another aggregate's state: %v", rocksdb, err)
		}
		other.Close()
	}
}

// recordingWriter records AddDir's shared prefix.
type recordingWriter struct {
	exec.DirSnapshotWriter
	prefixes []string
}

func (w *recordingWriter) AddDir(dir, prefix string) error {
	w.prefixes = append(w.prefixes, prefix)
	return w.DirSnapshotWriter.AddDir(dir, prefix)
}

// TestGroupAggRocksSharedPrefix: checkpoints share SST files under a
// prefix unique to the DB; savepoints share nothing.
func TestGroupAggRocksSharedPrefix(t *testing.T) {
	var prefixes []string
	for i := 0; i < 2; i++ {
		g := &aggGen{rng: rand.New(rand.NewPCG(4, 4))}
		op := openOp(t, testAgg(g.schema(), true, 5), 0, 1).(*GroupAgg)
		var c collectRows
		run(t, op, &c, []step{proc(0, g.batch(20))})
		for _, savepoint := range []bool{false, true} {
			if err := op.PrepareSnapshotPreBarrier(1, &c); err != nil {
				t.Fatal(err)
			}
			fn, err := op.SnapshotState(exec.SnapshotContext{CheckpointID: 1, ScratchDir: t.TempDir(), Savepoint: savepoint})
			if err != nil {
				t.Fatal(err)
			}
			w := &recordingWriter{DirSnapshotWriter: exec.DirSnapshotWriter{Dir: t.TempDir()}}
			if err := fn(w); err != nil {
				t.Fatal(err)
			}
			if len(w.prefixes) != 1 || (w.prefixes[0] == "") != savepoint {
				t.Fatalf("savepoint=%v: shared prefixes %q", savepoint, w.prefixes)
			}
			prefixes = append(prefixes, w.prefixes[0])
		}
		op.Close()
	}
	if prefixes[0] == prefixes[2] {
		t.Fatalf("two DBs share the prefix %q", prefixes[0])
	}
}

// TestGroupAggRocksSnapshotCorrupt: a broken rocksdb snapshot is an error.
func TestGroupAggRocksSnapshotCorrupt(t *testing.T) {
	g := &aggGen{rng: rand.New(rand.NewPCG(4, 5))}
	op := openOp(t, testAgg(g.schema(), true, 5), 0, 1)
	var c collectRows
	run(t, op, &c, []step{proc(0, g.batch(20))})
	dir := snapshotSync(t, op, &c, false)()
	op.Close()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "MANIFEST") && !strings.HasPrefix(name, "marker.") && name != aggRocksMeta {
			continue
		}
		broken := t.TempDir()
		for _, f := range ents {
			if f.Name() == name {
				continue // missing
			}
			data, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(broken, f.Name()), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b := openOp(t, testAgg(g.schema(), true, 5), 0, 1).(*GroupAgg)
		if err := b.RestoreState(restoreOne(broken)); err == nil {
			t.Fatalf("restore without %s: no error", name)
		}
		b.Close()
	}
	// A flipped byte in the metadata file.
	data, err := os.ReadFile(filepath.Join(dir, aggRocksMeta))
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x10
	if err := os.WriteFile(filepath.Join(dir, aggRocksMeta), data, 0o644); err != nil {
		t.Fatal(err)
	}
	b := openOp(t, testAgg(g.schema(), true, 5), 0, 1).(*GroupAgg)
	defer b.Close()
	if err := b.RestoreState(restoreOne(dir)); !errors.Is(err, errCorrupt) {
		t.Fatalf("restore with a corrupt metadata file: %v", err)
	}
}

// TestWindowAggSnapshotRescale: open windows move with their key groups
// (the hash exchange routes by every group key, window columns included).
func TestWindowAggSnapshotRescale(t *testing.T) {
	keys := []int{0, 1, 2}
	rows := func(rs ...string) keyedInput { return keyedInput{b: windowRows(rs...), keys: keys} }
	wm := func(w int64) keyedInput { return keyedInput{isWM: true, wm: w} }
	var pre, more []keyedInput
	for k := 0; k < 30; k++ {
		pre = append(pre, rows(fmt.Sprintf("0 10 %d %d", k, k), fmt.Sprintf("10 20 %d 1", k), fmt.Sprintf("20 30 %d 2", k%7)))
	}
	pre = append(pre, rows("10 20 _ 4"), wm(12*sec))
	for k := 0; k < 30; k++ {
		more = append(more, rows(fmt.Sprintf("0 10 %d 1", k), fmt.Sprintf("10 20 %d %d", k%5, k), fmt.Sprintf("30 40 %d 2", k)))
	}
	more = append(more, rows("10 20 _ 5"), wm(25*sec), wm(exec.MaxWatermark))
	rescaleRoundTrip(t, "tumbling windows", func(s, p int) exec.Operator {
		return openOp(t, windowAgg(false, types.TypeBigInt), s, p)
	}, pre, more)
}

// TestSessionAggSnapshotRescale: open sessions move with the key group of
// their non-window key (what the planner routes session rows by), and
// merge after the restore with rows of the same key.
func TestSessionAggSnapshotRescale(t *testing.T) {
	for _, rocksdb := range []bool{false, true} {
		t.Run(fmt.Sprintf("rocksdb=%v", rocksdb), func(t *testing.T) {
			keys := []int{2}
			rows := func(rs ...string) keyedInput { return keyedInput{b: windowRowsIn(sec/4, rs...), keys: keys} }
			wm := func(w int64) keyedInput { return keyedInput{isWM: true, wm: w * sec / 4} }
			var pre, more []keyedInput
			for k := 0; k < 30; k++ {
				// Per key: [k, k+5) and [k+10, k+15), apart; key%3 == 0 also
				// [2, 7), which the watermark fires before the barrier.
				pre = append(pre, rows(fmt.Sprintf("%d %d %d 1", 10+k, 15+k, k), fmt.Sprintf("%d %d %d %d", 20+k, 25+k, k, k)))
				if k%3 == 0 {
					pre = append(pre, rows(fmt.Sprintf("2 7 %d 9", k)))
				}
			}
			pre = append(pre, rows("12 17 _ 4"), wm(8))
			for k := 0; k < 30; k++ {
				// Bridges the two sessions of even keys; a late row for
				// key%3 == 0 (its [2, 7) fired).
				if k%2 == 0 {
					more = append(more, rows(fmt.Sprintf("%d %d %d 2", 15+k, 20+k, k)))
				}
				if k%3 == 0 {
					more = append(more, rows(fmt.Sprintf("3 8 %d 9", k)))
				}
			}
			more = append(more, rows("14 19 _ 5"), wm(30), wm(exec.MaxWatermark))
			rescaleRoundTrip(t, "session windows", func(s, p int) exec.Operator {
				a := windowAgg(true, types.TypeBigInt)
				a.RocksDB = rocksdb
				return openOp(t, a, s, p)
			}, pre, more)
		})
	}
}

// TestSessionSnapshotSameParallelism: at an unchanged parallelism a
// subtask gets back every session it had, even one whose non-window key
// hashes to another subtask's key groups (as in a snapshot from when the
// planner routed session rows by all group keys, provisional window
// included).
func TestSessionSnapshotSameParallelism(t *testing.T) {
	a := openOp(t, windowAgg(true, types.TypeBigInt), 0, 2).(*GroupAgg)
	var c collectRows
	var rows []string
	for k := 0; k < 20; k++ {
		rows = append(rows, fmt.Sprintf("%d %d %d 1", k, k+5, k))
	}
	run(t, a, &c, []step{proc(0, windowRows(rows...))})
	dir := snapshotSync(t, a, &c, false)()
	rc := restoreContexts([]string{dir, t.TempDir()}, 2)[0]
	b := openOp(t, windowAgg(true, types.TypeBigInt), 0, 2).(*GroupAgg)
	if err := b.RestoreState(rc); err != nil {
		t.Fatal(err)
	}
	var cb collectRows
	run(t, b, &cb, []step{wmark(exec.MaxWatermark)})
	if len(cb.rows) != 20 {
		t.Fatalf("restored %d of 20 sessions", len(cb.rows))
	}
}

// TestGlobalAggSnapshotRestore: an aggregate without keys (one group).
func TestGlobalAggSnapshotRestore(t *testing.T) {
	g := &aggGen{rng: rand.New(rand.NewPCG(6, 6))}
	in := g.schema()
	mk := func() exec.Operator {
		op := testAgg(in, false, 3)
		op.Keys = nil
		op.Out.Fields = op.Out.Fields[1:]
		return openOp(t, op, 0, 1)
	}
	var pre, more []step
	for i := 0; i < 4; i++ {
		pre = append(pre, proc(0, g.batch(10)))
		more = append(more, proc(0, g.batch(10)))
	}
	// more was generated after pre's rows, so its retractions refer to
	// rows of either.
	snapshotRoundTrip(t, "global aggregate", mk, pre, more)
}
