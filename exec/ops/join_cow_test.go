package ops

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Copy-on-write snapshots of the in-memory join: the synchronous phase
// only collects bucket pointers, so everything the join changes before
// the asynchronous phase has run must leave those buckets as they were.

// cowCase is one configuration of TestJoinSnapshotCopyOnWrite.
type cowCase struct {
	kind       JoinKind
	intKeyed   bool
	insertOnly [2]bool // the side is declared insert-only (and gets only +I)
	appendOnly [2]bool // the side gets only +I (retractions otherwise)
	residual   bool
	bounds     bool // an interval join swept by watermarks (inner only)
	ttl        bool // state TTL swept by a timer
	endInput   bool // one input ends while a snapshot is pending
}

// String names the case as a subtest, e.g. LEFT/int/insert-only=10/residual.
func (c cowCase) String() string {
	bit := func(b [2]bool) string {
		return fmt.Sprintf("%d%d", map[bool]int{true: 1}[b[0]], map[bool]int{true: 1}[b[1]])
	}
	parts := []string{c.kind.String(), "bytes"}
	if c.intKeyed {
		parts[1] = "int"
	}
	parts = append(parts, "insert-only="+bit(c.insertOnly), "append-only="+bit(c.appendOnly))
	for _, f := range []struct {
		on   bool
		name string
	}{{c.residual, "residual"}, {c.bounds, "bounds"}, {c.ttl, "ttl"}, {c.endInput, "end-input"}} {
		if f.on {
			parts = append(parts, f.name)
		}
	}
	return strings.Join(parts, "/")
}

// cowHarness drives one join of a case: random batches, watermarks, a
// processing-time clock and the TTL timer.
type cowHarness struct {
	t      *testing.T
	c      cowCase
	rng    *rand.Rand
	live   [2][]jrow
	now    time.Time
	evTime int64 // event time the generated rows are around (µs)
	wm     int64
	timers []func(exec.Collector) error
}

func (h *cowHarness) open() *Join {
	h.t.Helper()
	j := testJoin(h.c.kind, h.c.intKeyed)
	j.LeftInsertOnly, j.RightInsertOnly = h.c.insertOnly[0], h.c.insertOnly[1]
	if h.c.residual {
		// v <= w (left v against right w: Out columns 2 and 4).
		j.Residual = &expr.Call{Fn: "<=", T: types.TypeBoolean, Args: []expr.Expr{
			expr.NewColumn(2, types.TypeBigInt, "v"), expr.NewColumn(4, types.TypeBigInt, "w")}}
	}
	if h.c.bounds {
		// Rows' v (left) and w (right) are their event times.
		j.Bounds = &TimeBounds{LeftCol: 2, RightCol: 1, Lo: -2 * sec, Hi: sec}
	}
	if h.c.ttl {
		j.TTL = time.Minute
	}
	ctx := &exec.OpContext{Now: func() time.Time { return h.now },
		Every: func(_ time.Duration, f func(exec.Collector) error) { h.timers = append(h.timers, f) }}
	return openJoin(h.t, j, "hashmap", ctx)
}

// batch makes a random batch of a side: new rows over few keys (so
// buckets hold several rows), duplicates, and unless the side is
// append-only retractions of earlier rows.
func (h *cowHarness) batch(side int) batch.Batch {
	rng := h.rng
	n := 1 + rng.IntN(25)
	rows := make([]jrow, n)
	kinds := make([]batch.RowKind, n)
	for i := range rows {
		if !h.c.appendOnly[side] && len(h.live[side]) > 0 && rng.IntN(4) == 0 {
			k := rng.IntN(len(h.live[side]))
			rows[i] = h.live[side][k]
			h.live[side] = slices.Delete(h.live[side], k, k+1)
			kinds[i] = [2]batch.RowKind{batch.Delete, batch.UpdateBefore}[rng.IntN(2)]
			continue
		}
		var r jrow
		if len(h.live[side]) > 0 && rng.IntN(5) == 0 {
			r = h.live[side][rng.IntN(len(h.live[side]))] // a duplicate
		} else {
			if rng.IntN(12) > 0 {
				k := int64(rng.IntN(6))
				r.k = &k
			}
			if rng.IntN(6) > 0 {
				s := fmt.Sprint("t", rng.IntN(2))
				r.t = &s
			}
			v := int64(rng.IntN(10)) // int keys reach bucketIndexAt distinct rows
			if h.c.bounds {
				v = h.evTime + rng.Int64N(3*sec) - sec
			}
			r.v = &v
		}
		rows[i] = r
		h.live[side] = append(h.live[side], r)
		kinds[i] = [2]batch.RowKind{batch.Insert, batch.UpdateAfter}[rng.IntN(2)]
		if h.c.insertOnly[side] {
			kinds[i] = batch.Insert
		}
	}
	return sideBatch(side, rows, kinds)
}

// steps runs n random steps on j: mostly batches, and per case
// watermarks, clock advances with TTL sweeps, and (at step endAt) the end
// of input 0.
func (h *cowHarness) steps(j *Join, out exec.Collector, n, endAt int) {
	h.t.Helper()
	for i := 0; i < n; i++ {
		if h.c.endInput && i == endAt && !j.ended[0] {
			if err := j.EndInput(0, out); err != nil {
				h.t.Fatal(err)
			}
		}
		switch x := h.rng.IntN(10); {
		case x < 2 && h.c.bounds:
			h.evTime += sec
			h.wm = h.evTime - 2*sec
			if err := j.ProcessWatermark(h.wm, out); err != nil {
				h.t.Fatal(err)
			}
		case x == 1 && h.c.ttl:
			h.now = h.now.Add(time.Duration(h.rng.IntN(40)) * time.Second)
			for _, f := range h.timers {
				if err := f(out); err != nil {
					h.t.Fatal(err)
				}
			}
		default:
			side := h.rng.IntN(2)
			if j.ended[0] {
				side = 1 // an ended input sends nothing more
			}
			if err := j.Process(side, h.batch(side), out); err != nil {
				h.t.Fatalf("%v: %v", h.c, err)
			}
		}
	}
}

// countRows counts output rows.
type countRows struct{ n int }

func (c *countRows) Collect(b batch.Batch) error { c.n += b.Len(); return nil }
func (c *countRows) EmitWatermark(int64) error   { return nil }

// dumpJoinState renders every stored row of an in-memory join with its
// side, join key, multiplicity, match count and write time, sorted.
func dumpJoinState(j *Join) []string {
	var out []string
	for side := range j.sides {
		s := &j.sides[side]
		row := func(key string, bk *joinBucket) {
			for _, r := range bk.rows {
				var cells []string
				for _, c := range r.cells {
					cells = append(cells, cellText(c))
				}
				out = append(out, fmt.Sprintf("side %d key %s: %s ×%d assoc %d written %d",
					side, key, strings.Join(cells, "|"), r.count, r.assoc, r.written))
			}
		}
		for k, bk := range s.byInt {
			row(fmt.Sprint(k), bk)
		}
		for k, bk := range s.byBytes {
			row(fmt.Sprintf("%q", k), bk)
		}
		if l := s.log; l != nil {
			// A logged side's rows, as buckets would hold them.
			chain := func(head uint64) *joinBucket {
				bk := &joinBucket{}
				for _, r := range l.matches(nil, head, &rowArena{}) {
					bk.rows = append(bk.rows, *r)
				}
				return bk
			}
			for k, head := range l.byInt {
				row(fmt.Sprint(k), chain(head))
			}
			for k, head := range l.byBytes {
				row(fmt.Sprintf("%q", k), chain(head))
			}
		}
	}
	slices.Sort(out)
	return out
}

// cowCases are the configurations: every kind, both keyings, declared
// insert-only sides, residuals, and inner joins with expiry by watermark
// and by TTL.
func cowCases() []cowCase {
	var cs []cowCase
	for _, kind := range []JoinKind{JoinInner, JoinLeft, JoinRight, JoinFull} {
		for _, intKeyed := range []bool{true, false} {
			for _, io := range [][2]bool{{false, false}, {true, true}, {true, false}, {false, true}} {
				for _, residual := range []bool{false, true} {
					cs = append(cs, cowCase{kind: kind, intKeyed: intKeyed, insertOnly: io, appendOnly: io, residual: residual})
				}
			}
			cs = append(cs,
				cowCase{kind: kind, intKeyed: intKeyed, ttl: true},
				cowCase{kind: kind, intKeyed: intKeyed, endInput: true},
				cowCase{kind: kind, intKeyed: intKeyed, insertOnly: [2]bool{true, false}, appendOnly: [2]bool{true, false}, endInput: true})
		}
	}
	for _, intKeyed := range []bool{true, false} {
		for _, io := range [][2]bool{{false, false}, {true, true}} {
			cs = append(cs,
				cowCase{kind: JoinInner, intKeyed: intKeyed, insertOnly: io, appendOnly: [2]bool{true, true}, bounds: true},
				cowCase{kind: JoinInner, intKeyed: intKeyed, insertOnly: io, appendOnly: [2]bool{true, true}, bounds: true, residual: true, ttl: true})
		}
	}
	return cs
}

// TestJoinSnapshotCopyOnWrite: a snapshot's asynchronous phase writes the
// state of its barrier however much the join changed since its
// synchronous phase: rows added to and retracted from its buckets, match
// counts of outer rows changed by the other side, rows swept by the
// watermark or the TTL, a side dropped at the end of the other input.
//
// Snapshot 1's synchronous phase is followed by random steps, snapshot
// 2's synchronous phase, more steps, snapshot 2's asynchronous phase (on
// another goroutine, while yet more steps run: -race checks it reads
// nothing the task writes), and only then snapshot 1's asynchronous
// phase. Each file must restore exactly the rows (multiplicities, match
// counts, write times) the join held at its barrier, and a join restored
// from snapshot 1 must then emit what one restored from a snapshot
// written at once at the same barrier emits.
func TestJoinSnapshotCopyOnWrite(t *testing.T) {
	indexed := 0
	for ci, c := range cowCases() {
		t.Run(c.String(), func(t *testing.T) {
			for seed := uint64(1); seed <= 3; seed++ {
				indexed += testJoinSnapshotCopyOnWrite(t, c, uint64(ci)*16+seed)
			}
		})
	}
	if indexed == 0 {
		t.Fatal("no snapshot held an indexed bucket: the test misses copies of indexed buckets")
	}
}

// testJoinSnapshotCopyOnWrite returns how many buckets of snapshot 1 were
// indexed.
func testJoinSnapshotCopyOnWrite(t *testing.T, c cowCase, seed uint64) (indexed int) {
	what := fmt.Sprintf("%v, seed %d", c, seed)
	h := &cowHarness{t: t, c: c, rng: rand.New(rand.NewPCG(seed, 21)), now: time.Unix(1000, 0), evTime: 100 * sec}
	a := h.open()
	var out countRows
	h.steps(a, &out, 30, -1)

	// Snapshot 1 and, at the same barrier, a reference written at once.
	want1 := dumpJoinState(a)
	for side := range a.sides {
		for _, bk := range a.sides[side].byInt {
			if bk.index != nil {
				indexed++
			}
		}
		for _, bk := range a.sides[side].byBytes {
			if bk.index != nil {
				indexed++
			}
		}
	}
	refDir := snapshotSync(t, a, &out, false)()
	async1 := snapshotSync(t, a, &out, false)
	if a.cow.running.Load() != 1 {
		t.Fatalf("%s: %d snapshots reading buckets, want 1", what, a.cow.running.Load())
	}
	h.steps(a, &out, 25, 10)
	want2 := dumpJoinState(a)
	async2 := snapshotSyncE(t, a, &out, false)
	h.steps(a, &out, 25, 5)
	type result struct {
		dir string
		err error
	}
	done := make(chan result, 1)
	go func() {
		dir, err := async2()
		done <- result{dir, err}
	}()
	h.steps(a, &out, 25, 0)
	r2 := <-done
	if r2.err != nil {
		t.Fatalf("%s: %v", what, r2.err)
	}
	h.steps(a, &out, 10, 0)
	dir1 := async1()
	if n := a.cow.running.Load(); n != 0 {
		t.Fatalf("%s: %d snapshots still reading buckets after their asynchronous phases", what, n)
	}
	if slices.Equal(dumpJoinState(a), want1) {
		t.Fatalf("%s: the steps after the barrier changed nothing: the test proves nothing", what)
	}

	ref, err := os.ReadFile(filepath.Join(refDir, joinSnapFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []struct {
		dir  string
		want []string
	}{{dir1, want1}, {r2.dir, want2}} {
		b := h.open()
		if err := b.RestoreState(restoreOne(s.dir)); err != nil {
			t.Fatalf("%s: restore snapshot %d: %v", what, i+1, err)
		}
		if got := dumpJoinState(b); !slices.Equal(got, s.want) {
			t.Fatalf("%s: snapshot %d restores\n%s\nwant the state at its barrier\n%s", what, i+1, strings.Join(got, "\n"), strings.Join(s.want, "\n"))
		}
		b.Close()
	}
	// The buckets snapshot 1 encodes are the reference's, unchanged.
	if got, err := os.ReadFile(filepath.Join(dir1, joinSnapFile)); err != nil {
		t.Fatal(err)
	} else if !bytes.Equal(got, ref) {
		t.Fatalf("%s: snapshot 1's file differs from the one written at its barrier", what)
	}

	// Restored from snapshot 1 or from the reference, joins go on alike.
	if c.endInput || c.bounds || c.ttl {
		return indexed // covered by the state comparison; their steps depend on the harness's clock and watermark
	}
	var logs [2]debugLog
	for i, dir := range []string{dir1, refDir} {
		b := h.open()
		if err := b.RestoreState(restoreOne(dir)); err != nil {
			t.Fatal(err)
		}
		// Append-only from here: the generator knows no rows to retract.
		g := &cowHarness{t: t, c: c, rng: rand.New(rand.NewPCG(seed, 22))}
		g.c.appendOnly = [2]bool{true, true}
		g.steps(b, &logs[i], 20, -1)
		b.Close()
	}
	if l0, l1 := logs[0].take(), logs[1].take(); l0 != l1 || l0 == "" {
		t.Fatalf("%s: restored joins emit differently (or nothing)\nfrom snapshot 1:\n%s\nfrom the reference:\n%s", what, l0, l1)
	}
	return indexed
}

// TestJoinSnapshotCopyOnWriteDropped: a snapshot whose asynchronous phase
// never runs (another operator's synchronous phase failed) stops counting
// as a reader once it is collected, so buckets are no longer copied.
func TestJoinSnapshotCopyOnWriteDropped(t *testing.T) {
	h := &cowHarness{t: t, c: cowCase{kind: JoinLeft, intKeyed: true}, rng: rand.New(rand.NewPCG(1, 1)), now: time.Unix(1000, 0)}
	a := h.open()
	h.steps(a, &countRows{}, 20, -1)
	func() {
		fn, err := a.SnapshotState(exec.SnapshotContext{CheckpointID: 1, ScratchDir: t.TempDir()})
		if err != nil || fn == nil {
			t.Fatal(err)
		}
	}()
	for i := 0; i < 100 && a.cow.running.Load() != 0; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if n := a.cow.running.Load(); n != 0 {
		t.Fatalf("a dropped snapshot still counts as reading buckets (%d)", n)
	}
}
