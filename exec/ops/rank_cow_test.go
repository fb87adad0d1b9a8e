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
)

// Copy-on-write snapshots of the in-memory Top-N: the synchronous phase
// only collects partition pointers, so everything the operator changes
// before the asynchronous phase has run (rows inserted, shifted, pushed
// out and their cells recycled, retractions, write times, TTL expiry)
// must leave what those partitions hold as it was.

// rankCowCase is one configuration of TestRankSnapshotCopyOnWrite.
type rankCowCase struct {
	updating bool // a retracting input (else insert-only: the append path)
	limit    int64
	rankCol  bool
	order    []SortKey
	ttl      bool // state TTL, swept by a timer and on lookup
	mini     int
}

func (c rankCowCase) String() string {
	return fmt.Sprintf("updating=%v/N=%d/rn=%v/order=%v/ttl=%v/mini=%d", c.updating, c.limit, c.rankCol, c.order, c.ttl, c.mini)
}

// rankCowHarness drives one Top-N: random batches, a processing-time
// clock and the TTL timer.
type rankCowHarness struct {
	t      *testing.T
	c      rankCowCase
	rng    *rand.Rand
	ag     *appendGen
	rg     *retractGen
	now    time.Time
	timers []func(exec.Collector) error
}

func newRankCowHarness(t *testing.T, c rankCowCase, seed uint64) *rankCowHarness {
	rng := rand.New(rand.NewPCG(seed, 31))
	return &rankCowHarness{t: t, c: c, rng: rng, now: time.Unix(1000, 0),
		ag: &appendGen{rng: rng, parts: 20}, rg: &retractGen{rng: rng, parts: 20}}
}

func (h *rankCowHarness) open() *Rank {
	h.t.Helper()
	var r *Rank
	if h.c.updating {
		r = retractRank(h.c.limit, h.c.rankCol, h.c.order, h.c.mini, "hashmap", 0)
	} else {
		r = rankCase{limit: h.c.limit, rankCol: h.c.rankCol, order: h.c.order, mini: h.c.mini}.op(false)
	}
	if h.c.ttl {
		r.TTL = time.Minute
	}
	ctx := &exec.OpContext{WorkDir: h.t.TempDir(), Parallelism: 1, MaxParallelism: testMaxPar,
		Now:   func() time.Time { return h.now },
		Every: func(_ time.Duration, f func(exec.Collector) error) { h.timers = append(h.timers, f) }}
	if err := r.Open(ctx); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// steps runs n random steps on r: mostly batches and, with TTL, clock
// advances with sweeps.
func (h *rankCowHarness) steps(r *Rank, out exec.Collector, n int) {
	h.t.Helper()
	for range n {
		if h.c.ttl && h.rng.IntN(6) == 0 {
			h.now = h.now.Add(time.Duration(h.rng.IntN(40)) * time.Second)
			if h.rng.IntN(2) == 0 {
				for _, f := range h.timers {
					if err := f(out); err != nil {
						h.t.Fatal(err)
					}
				}
			}
			continue
		}
		var b batch.Batch
		if h.c.updating {
			b = h.rg.batch(1 + h.rng.IntN(30))
		} else {
			b = h.ag.batch(1 + h.rng.IntN(30))
		}
		if err := r.Process(0, b, out); err != nil {
			h.t.Fatalf("%v: %v", h.c, err)
		}
	}
}

// dumpRankState renders every in-memory partition: key, rows (arrival
// number and encoded cells) and write time, sorted by key.
func dumpRankState(r *Rank) []string {
	var out []string
	for k, p := range r.parts {
		if len(p.rows) == 0 {
			continue
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%q written %d:", k, p.lastWrite)
		for _, row := range p.rows {
			fmt.Fprintf(&sb, " #%d", row.seq)
			for _, c := range row.cells {
				fmt.Fprintf(&sb, " %x", appendCellBytes(nil, c))
			}
		}
		out = append(out, sb.String())
	}
	slices.Sort(out)
	return out
}

func rankCowCases() []rankCowCase {
	var cs []rankCowCase
	for _, updating := range []bool{false, true} {
		orders := [][]SortKey{{{Col: 1, Desc: true}}, {{Col: 3}, {Col: 1, Desc: true}}}
		if !updating {
			orders = [][]SortKey{{{Col: 1, Desc: true}}, {{Col: 2}, {Col: 1, Desc: true}}, {{Col: 3, Desc: true}}}
		}
		for _, n := range []int64{1, 3} {
			for _, rc := range []bool{false, true} {
				for _, o := range orders {
					for _, ttl := range []bool{false, true} {
						cs = append(cs, rankCowCase{updating: updating, limit: n, rankCol: rc, order: o, ttl: ttl})
					}
				}
			}
		}
		cs = append(cs, rankCowCase{updating: updating, limit: 3, rankCol: true, order: orders[0], mini: 4})
	}
	return cs
}

// TestRankSnapshotCopyOnWrite: a snapshot's asynchronous phase writes the
// state of its barrier however much the Top-N changed since its
// synchronous phase.
//
// Snapshot 1's synchronous phase is followed by random batches (rows
// leave the top N, and on the insert-only path their cells would be
// recycled), snapshot 2's synchronous phase, more batches, snapshot 2's
// asynchronous phase (on another goroutine, while yet more batches run:
// -race checks it reads nothing the task writes), and only then snapshot
// 1's asynchronous phase. Each file must restore exactly the partitions
// of its barrier, snapshot 1's must be byte-identical to one written at
// once at its barrier, and a Top-N restored from either must go on alike.
func TestRankSnapshotCopyOnWrite(t *testing.T) {
	for ci, c := range rankCowCases() {
		t.Run(c.String(), func(t *testing.T) {
			for seed := uint64(1); seed <= 3; seed++ {
				testRankSnapshotCopyOnWrite(t, c, uint64(ci)*16+seed)
			}
		})
	}
}

func testRankSnapshotCopyOnWrite(t *testing.T, c rankCowCase, seed uint64) {
	what := fmt.Sprintf("%v, seed %d", c, seed)
	h := newRankCowHarness(t, c, seed)
	a := h.open()
	defer a.Close()
	var out countRows
	h.steps(a, &out, 30)

	want1 := dumpRankState(a)
	refDir := snapshotSync(t, a, &out, false)()
	async1 := snapshotSync(t, a, &out, false)
	if n := a.cow.running.Load(); n != 1 {
		t.Fatalf("%s: %d snapshots reading partitions, want 1", what, n)
	}
	h.steps(a, &out, 25)
	want2 := dumpRankState(a)
	async2 := snapshotSyncE(t, a, &out, false)
	h.steps(a, &out, 25)
	type result struct {
		dir string
		err error
	}
	done := make(chan result, 1)
	go func() {
		dir, err := async2()
		done <- result{dir, err}
	}()
	h.steps(a, &out, 25)
	r2 := <-done
	if r2.err != nil {
		t.Fatalf("%s: %v", what, r2.err)
	}
	h.steps(a, &out, 10)
	dir1 := async1()
	if n := a.cow.running.Load(); n != 0 {
		t.Fatalf("%s: %d snapshots still reading partitions after their asynchronous phases", what, n)
	}
	if slices.Equal(dumpRankState(a), want1) {
		t.Fatalf("%s: the batches after the barrier changed nothing: the test proves nothing", what)
	}

	for i, s := range []struct {
		dir  string
		want []string
	}{{dir1, want1}, {r2.dir, want2}} {
		b := h.open()
		if err := b.RestoreState(restoreOne(s.dir)); err != nil {
			t.Fatalf("%s: restore snapshot %d: %v", what, i+1, err)
		}
		if got := dumpRankState(b); !slices.Equal(got, s.want) {
			t.Fatalf("%s: snapshot %d restores\n%s\nwant the state at its barrier\n%s", what, i+1, strings.Join(got, "\n"), strings.Join(s.want, "\n"))
		}
		b.Close()
	}
	ref, err := os.ReadFile(filepath.Join(refDir, rankSnapFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir1, rankSnapFile)); err != nil {
		t.Fatal(err)
	} else if !bytes.Equal(got, ref) {
		t.Fatalf("%s: snapshot 1's file differs from the one written at its barrier", what)
	}

	// Restored from snapshot 1 or from the reference, Top-Ns go on alike.
	var logs [2]debugLog
	for i, dir := range []string{dir1, refDir} {
		b := h.open()
		if err := b.RestoreState(restoreOne(dir)); err != nil {
			t.Fatal(err)
		}
		// A fresh generator: it retracts only rows it added itself.
		g := newRankCowHarness(t, c, seed+1000)
		g.now = h.now
		// Later rows come last; the clock stays put: nothing expires.
		g.ag.x, g.rg.x = h.ag.x, h.rg.x
		g.c.ttl = false
		g.steps(b, &logs[i], 15)
		b.Close()
	}
	if l0, l1 := logs[0].sb.String(), logs[1].sb.String(); l0 != l1 || l0 == "" {
		t.Fatalf("%s: restored Top-Ns emit differently (or nothing)\nfrom snapshot 1:\n%s\nfrom the reference:\n%s", what, l0, l1)
	}
}

// TestRankSnapshotCopyOnWriteDropped: a snapshot whose asynchronous phase
// never runs (another operator's synchronous phase failed) stops counting
// as a reader once it is collected, so partitions are no longer copied
// and cells are recycled again.
func TestRankSnapshotCopyOnWriteDropped(t *testing.T) {
	h := newRankCowHarness(t, rankCowCase{limit: 1, order: []SortKey{{Col: 1, Desc: true}}}, 1)
	a := h.open()
	defer a.Close()
	h.steps(a, &countRows{}, 20)
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
		t.Fatalf("a dropped snapshot still counts as reading partitions (%d)", n)
	}
}
