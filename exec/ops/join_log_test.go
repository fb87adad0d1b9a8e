package ops

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/checkpoint"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
)

// Incremental snapshots of logged join sides (join_log.go), driven
// through the real checkpoint storage (the SharedSnapshotWriter): what a
// checkpoint uploads and references, and that every checkpoint restores
// exactly the state of its barrier. Only observable behaviour is checked
// (files, byte counts, restored rows), not the log's internals.

const jlogOpID = "join"

// jlogCase is a join whose insert-only inner sides are logged.
type jlogCase struct {
	kind     JoinKind
	intKeyed bool
	bounds   bool // an interval join: v (left) and w (right) are event times
}

func (c jlogCase) String() string {
	s := fmt.Sprintf("%v/int=%v", c.kind, c.intKeyed)
	if c.bounds {
		s += "/bounds"
	}
	return s
}

func (c jlogCase) join() *Join {
	j := testJoin(c.kind, c.intKeyed)
	j.LeftInsertOnly, j.RightInsertOnly = true, true
	if c.bounds {
		j.Bounds = &TimeBounds{LeftCol: 2, RightCol: 1, Lo: -2 * sec, Hi: sec}
	}
	return j
}

// open opens subtask s of par.
func (c jlogCase) open(t *testing.T, s, par int) *Join {
	t.Helper()
	j := openOp(t, c.join(), s, par).(*Join)
	t.Cleanup(func() { j.Close() })
	for side := range j.sides {
		// Every insert-only inner side is logged; an outer one is not.
		if want := !j.outer[side]; (j.sides[side].log != nil) != want {
			t.Fatalf("%v: side %d logged %v, want %v", c, side, j.sides[side].log != nil, want)
		}
	}
	return j
}

// jlogGen makes insert-only rows with long strings (so that segments are
// much bigger than the rest of a checkpoint) over a few hundred keys.
type jlogGen struct {
	rng *rand.Rand
	seq int64
}

var jlogTags = func() []string {
	var out []string
	for i := range 4 {
		out = append(out, fmt.Sprintf("tag%d-%s", i, strings.Repeat("x", 60)))
	}
	return out
}()

// rows makes n rows; with times, v (w on the right) is drawn from
// [from, to) (µs), else it numbers the rows.
func (g *jlogGen) rows(n int, from, to int64) []jrow {
	rows := make([]jrow, n)
	for i := range rows {
		k := int64(g.rng.IntN(300))
		tg := jlogTags[g.rng.IntN(len(jlogTags))]
		g.seq++
		v := g.seq
		if to > from {
			v = from + g.rng.Int64N(to-from)
		}
		rows[i] = jrow{k: &k, t: &tg, v: &v}
		if g.rng.IntN(50) == 0 {
			rows[i].k = nil // never stored
		}
	}
	return rows
}

func jlogBatch(side int, rows []jrow) batch.Batch {
	return sideBatch(side, rows, make([]batch.RowKind, len(rows)))
}

// feed sends rows to one join, in batches of up to 500.
func jlogFeed(t *testing.T, j *Join, side int, rows []jrow) {
	t.Helper()
	for len(rows) > 0 {
		n := min(len(rows), 500)
		if err := j.Process(side, jlogBatch(side, rows[:n]), &countRows{}); err != nil {
			t.Fatal(err)
		}
		rows = rows[n:]
	}
}

// jlogFeedRouted sends rows to parallel joins, routed by key as the hash
// exchange does.
func jlogFeedRouted(t *testing.T, js []*Join, side int, rows []jrow) {
	t.Helper()
	keys := js[0].LeftKeys
	if side == 1 {
		keys = js[0].RightKeys
	}
	for len(rows) > 0 {
		n := min(len(rows), 500)
		for s, part := range routeBatch(jlogBatch(side, rows[:n]), keys, len(js)) {
			if part.Rec == nil {
				continue
			}
			if err := js[s].Process(side, part, &countRows{}); err != nil {
				t.Fatal(err)
			}
		}
		rows = rows[n:]
	}
}

func jlogWatermark(t *testing.T, js []*Join, wm int64) {
	t.Helper()
	for _, j := range js {
		if err := j.ProcessWatermark(wm, &countRows{}); err != nil {
			t.Fatal(err)
		}
	}
}

// jlogStore is a job's checkpoint storage (1 checkpoint retained).
type jlogStore struct {
	t  *testing.T
	st *checkpoint.Storage
}

func newJlogStore(t *testing.T) *jlogStore {
	st, err := checkpoint.OpenStorage(t.TempDir(), "job", nil)
	if err != nil {
		t.Fatal(err)
	}
	st.SetRetained(1)
	return &jlogStore{t: t, st: st}
}

// snapshot runs the synchronous phase of subtask js[i] for checkpoint
// id; the returned function runs the asynchronous phases, each into a
// writer of the storage.
func (s *jlogStore) snapshot(id int64, savepoint bool, js ...*Join) func() ([]*checkpoint.Writer, error) {
	s.t.Helper()
	if !savepoint { // as the coordinator does, before any barrier
		if err := s.st.BeginCheckpoint(id); err != nil {
			s.t.Fatal(err)
		}
	}
	fns := make([]exec.AsyncSnapshot, len(js))
	for i, j := range js {
		fn, err := j.SnapshotState(exec.SnapshotContext{CheckpointID: id, Savepoint: savepoint, ScratchDir: s.t.TempDir()})
		if err != nil {
			s.t.Fatal(err)
		}
		fns[i] = fn
	}
	return func() ([]*checkpoint.Writer, error) {
		ws := make([]*checkpoint.Writer, len(js))
		for i, fn := range fns {
			ws[i] = s.st.Writer(id, savepoint, jlogOpID, i)
			if fn == nil {
				continue
			}
			if err := fn(ws[i]); err != nil {
				return ws, fmt.Errorf("subtask %d: %w", i, err)
			}
		}
		return ws, nil
	}
}

// complete writes checkpoint id's metadata.
func (s *jlogStore) complete(id int64, savepoint bool, ws []*checkpoint.Writer) *checkpoint.Metadata {
	s.t.Helper()
	m := &checkpoint.Metadata{ID: id, Savepoint: savepoint, TriggerTime: 1000 * id, CompletionTime: 1000*id + 5}
	op := checkpoint.OperatorState{ID: jlogOpID, Name: "Join", Parallelism: len(ws), MaxParallelism: testMaxPar}
	for i, w := range ws {
		lo, hi := exec.KeyGroupRange(i, testMaxPar, len(ws))
		op.Subtasks = append(op.Subtasks, checkpoint.SubtaskState{Subtask: i, KeyGroupStart: lo, KeyGroupEnd: hi, Files: w.Files()})
	}
	m.Operators = []checkpoint.OperatorState{op}
	if err := s.st.Complete(m); err != nil {
		s.t.Fatal(err)
	}
	return m
}

// checkpoint takes and completes checkpoint id of the joins (subtasks).
func (s *jlogStore) checkpoint(id int64, js ...*Join) (*checkpoint.Metadata, []*checkpoint.Writer) {
	s.t.Helper()
	ws, err := s.snapshot(id, false, js...)()
	if err != nil {
		s.t.Fatalf("checkpoint %d: %v", id, err)
	}
	return s.complete(id, false, ws), ws
}

// savepoint takes and completes savepoint id.
func (s *jlogStore) savepoint(id int64, js ...*Join) (*checkpoint.Metadata, []*checkpoint.Writer) {
	s.t.Helper()
	if err := s.st.BeginSavepoint(id, filepath.Join(s.t.TempDir(), "sp")); err != nil {
		s.t.Fatal(err)
	}
	ws, err := s.snapshot(id, true, js...)()
	if err != nil {
		s.t.Fatalf("savepoint %d: %v", id, err)
	}
	return s.complete(id, true, ws), ws
}

// jlogDirs materializes every subtask's files of m (loaded again from
// disk, as a restore does).
func jlogDirs(t *testing.T, m *checkpoint.Metadata) []string {
	t.Helper()
	lm, err := checkpoint.Load(m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := lm.Verify(); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for i := range lm.Operator(jlogOpID).Subtasks {
		d, err := lm.Materialize(jlogOpID, i, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	return dirs
}

// restoreJoin opens subtask s of par and restores rc into it.
func (c jlogCase) restore(t *testing.T, rc exec.RestoreContext, s, par int) *Join {
	t.Helper()
	j := c.open(t, s, par)
	if err := j.RestoreState(rc); err != nil {
		t.Fatalf("%v: restore subtask %d of %d: %v", c, s, par, err)
	}
	return j
}

// checkRestores restores m (one subtask) and compares with want.
func (c jlogCase) checkRestores(t *testing.T, what string, m *checkpoint.Metadata, want []string) *Join {
	t.Helper()
	b := c.restore(t, restoreOne(jlogDirs(t, m)[0]), 0, 1)
	if got := dumpJoinState(b); !slices.Equal(got, want) {
		t.Fatalf("%v: %s restores %d rows\n%s\nwant the %d rows at its barrier\n%s", c, what, len(got),
			jlogHead(got), len(want), jlogHead(want))
	}
	return b
}

// jlogHead shows the start of a long dump, and where it differs.
func jlogHead(rows []string) string {
	if len(rows) > 20 {
		rows = append(rows[:20:20], "...")
	}
	return strings.Join(rows, "\n")
}

// sharedRefs are the shared files a writer recorded, by path.
func sharedRefs(ws ...*checkpoint.Writer) map[string]checkpoint.FileRef {
	out := map[string]checkpoint.FileRef{}
	for _, w := range ws {
		for _, f := range w.Files() {
			if f.Shared {
				out[f.Path] = f
			}
		}
	}
	return out
}

// segSide tells which side a segment file is of ("join<side>-...").
func segSide(f checkpoint.FileRef) int {
	switch {
	case strings.HasPrefix(f.Name, "join0-") && strings.HasSuffix(f.Name, ".seg"):
		return 0
	case strings.HasPrefix(f.Name, "join1-") && strings.HasSuffix(f.Name, ".seg"):
		return 1
	}
	return -1
}

func sideRows(dump []string, side int) int {
	n := 0
	for _, r := range dump {
		if strings.HasPrefix(r, fmt.Sprintf("side %d ", side)) {
			n++
		}
	}
	return n
}

// TestJoinLogIncremental: checkpoint 2 uploads only the rows since
// checkpoint 1 (and the small join.snap) and references checkpoint 1's
// segments; a savepoint is self-contained; the checkpoint after a
// savepoint stores the savepoint's rows as a shared segment; a restored
// instance goes on checkpointing into the same storage. Every checkpoint
// restores exactly the state of its barrier.
func TestJoinLogIncremental(t *testing.T) {
	for _, c := range []jlogCase{{kind: JoinInner}, {kind: JoinInner, intKeyed: true}, {kind: JoinLeft, intKeyed: true}, {kind: JoinRight}} {
		t.Run(c.String(), func(t *testing.T) { testJoinLogIncremental(t, c) })
	}
}

func testJoinLogIncremental(t *testing.T, c jlogCase) {
	const n, m = 3000, 300
	g := &jlogGen{rng: rand.New(rand.NewPCG(uint64(c.kind)+1, 7))}
	s := newJlogStore(t)
	j := c.open(t, 0, 1)
	logged := 0
	for side := range j.sides {
		if j.sides[side].log != nil {
			logged++
		}
	}
	jlogFeed(t, j, 0, g.rows(n, 0, 0))
	jlogFeed(t, j, 1, g.rows(n, 0, 0))

	m1, w1 := s.checkpoint(1, j)
	want1 := dumpJoinState(j)
	refs1 := sharedRefs(w1...)
	if len(refs1) != logged {
		t.Fatalf("%v: checkpoint 1 holds shared files %v, want one segment per logged side (%d)", c, refs1, logged)
	}
	for _, f := range refs1 {
		if segSide(f) < 0 || j.sides[segSide(f)].log == nil {
			t.Fatalf("%v: shared file %+v is not a segment of a logged side", c, f)
		}
	}
	c.checkRestores(t, "checkpoint 1", m1, want1)

	jlogFeed(t, j, 0, g.rows(m, 0, 0))
	jlogFeed(t, j, 1, g.rows(m, 0, 0))
	want2 := dumpJoinState(j)
	m2, w2 := s.checkpoint(2, j)
	refs2 := sharedRefs(w2...)
	reused := int64(0)
	for p, f := range refs1 {
		if f2, ok := refs2[p]; !ok || f2 != f {
			t.Fatalf("%v: checkpoint 2 does not reference checkpoint 1's segment %+v (references %v)", c, f, refs2)
		}
		reused += f.Size
	}
	newSegs := [2]int{}
	for p, f := range refs2 {
		if _, ok := refs1[p]; !ok {
			if segSide(f) < 0 {
				t.Fatalf("%v: unexpected shared file %+v", c, f)
			}
			newSegs[segSide(f)]++
		}
	}
	for side := range newSegs {
		if want := map[bool]int{true: 1}[j.sides[side].log != nil]; newSegs[side] != want {
			t.Fatalf("%v: checkpoint 2 wrote %d new segments of side %d, want %d", c, newSegs[side], side, want)
		}
	}
	up, full := w2[0].UploadedBytes(), w2[0].FullBytes()
	if full-up != reused {
		t.Fatalf("%v: checkpoint 2 uploaded %d of %d bytes: it copied some of the %d bytes of checkpoint 1's segments", c, up, full, reused)
	}
	if c.kind == JoinInner && up*4 > full {
		t.Fatalf("%v: checkpoint 2 uploaded %d of %d bytes after %d new rows of %d: not incremental", c, up, full, 2*m, 2*(n+m))
	}
	c.checkRestores(t, "checkpoint 2", m2, want2)

	// A savepoint: everything in it, nothing shared.
	jlogFeed(t, j, 0, g.rows(m, 0, 0))
	jlogFeed(t, j, 1, g.rows(m, 0, 0))
	want3 := dumpJoinState(j)
	m3, w3 := s.savepoint(3, j)
	if r := sharedRefs(w3...); len(r) != 0 {
		t.Fatalf("%v: savepoint references shared files %v", c, r)
	}
	if up, full := w3[0].UploadedBytes(), w3[0].FullBytes(); up != full || full <= w2[0].FullBytes() {
		t.Fatalf("%v: savepoint uploaded %d of %d bytes (checkpoint 2 had %d)", c, up, full, w2[0].FullBytes())
	}
	c.checkRestores(t, "savepoint 3", m3, want3)

	// The rows since checkpoint 2, which only the savepoint wrote, are
	// in a shared segment of checkpoint 4.
	jlogFeed(t, j, 0, g.rows(m, 0, 0))
	jlogFeed(t, j, 1, g.rows(m, 0, 0))
	want4 := dumpJoinState(j)
	m4, w4 := s.checkpoint(4, j)
	if r := sharedRefs(w4...); len(r) != len(refs2)+2*logged {
		t.Fatalf("%v: checkpoint 4 references %d shared files, want checkpoint 2's %d and 2 per logged side", c, len(r), len(refs2))
	}
	b := c.checkRestores(t, "checkpoint 4", m4, want4)

	// The restored instance checkpoints into the same storage.
	jlogFeed(t, b, 0, g.rows(m, 0, 0))
	jlogFeed(t, b, 1, g.rows(m, 0, 0))
	want5 := dumpJoinState(b)
	m5, _ := s.checkpoint(5, b)
	c.checkRestores(t, "checkpoint 5 of the restored join", m5, want5)
}

// TestJoinLogFailedCheckpoint: a checkpoint that wrote a new segment and
// was aborted, or whose asynchronous phase never ran, leaves no gap: the
// next checkpoint writes that segment again and restores the full state.
func TestJoinLogFailedCheckpoint(t *testing.T) {
	for _, c := range []jlogCase{{kind: JoinInner}, {kind: JoinInner, intKeyed: true, bounds: true}} {
		for _, how := range []string{"aborted after writing", "asynchronous phase never ran", "asynchronous phase failed"} {
			t.Run(c.String()+"/"+how, func(t *testing.T) {
				g := &jlogGen{rng: rand.New(rand.NewPCG(3, 7))}
				s := newJlogStore(t)
				j := c.open(t, 0, 1)
				ev := int64(100 * sec)
				rows := func(side, n int) []jrow {
					if c.bounds {
						return g.rows(n, ev, ev+sec)
					}
					return g.rows(n, 0, 0)
				}
				jlogFeed(t, j, 0, rows(0, 2000))
				jlogFeed(t, j, 1, rows(1, 2000))
				_, w1 := s.checkpoint(1, j)

				jlogFeed(t, j, 0, rows(0, 500))
				jlogFeed(t, j, 1, rows(1, 500))
				async2 := s.snapshot(2, false, j)
				switch how {
				case "aborted after writing":
					w2, err := async2()
					if err != nil {
						t.Fatal(err)
					}
					if len(sharedRefs(w2...)) <= len(sharedRefs(w1...)) {
						t.Fatalf("checkpoint 2 wrote no new segment: %v", sharedRefs(w2...))
					}
				case "asynchronous phase failed":
					// Its writer refuses files: the checkpoint was aborted
					// before the asynchronous phase ran.
					if err := s.st.Abort(2); err != nil {
						t.Fatal(err)
					}
					if _, err := async2(); err == nil {
						t.Fatal("checkpoint 2's asynchronous phase wrote into an aborted checkpoint")
					}
				}
				if err := s.st.Abort(2); err != nil {
					t.Fatal(err)
				}
				jlogFeed(t, j, 0, rows(0, 500))
				jlogFeed(t, j, 1, rows(1, 500))
				if c.bounds {
					jlogWatermark(t, []*Join{j}, ev-10*sec) // sweeps nothing
				}
				want3 := dumpJoinState(j)
				m3, w3 := s.checkpoint(3, j)
				// Checkpoint 1's segments, checkpoint 2's again and its own.
				if got, want := len(sharedRefs(w3...)), 3*len(sharedRefs(w1...)); got != want {
					t.Fatalf("checkpoint 3 references %d shared files, want %d: %v", got, want, sharedRefs(w3...))
				}
				c.checkRestores(t, "checkpoint 3", m3, want3)

				// And the one after it still builds on it.
				jlogFeed(t, j, 0, rows(0, 100))
				want4 := dumpJoinState(j)
				m4, _ := s.checkpoint(4, j)
				c.checkRestores(t, "checkpoint 4", m4, want4)
			})
		}
	}
}

// TestJoinLogConcurrentCheckpoints: with several checkpoints in flight,
// their asynchronous phases run on goroutines of their own, in any order.
// A later checkpoint whose asynchronous phase runs first stores the
// earlier one's new segment itself; both must still complete and
// restore their barriers' states.
func TestJoinLogConcurrentCheckpoints(t *testing.T) {
	c := jlogCase{kind: JoinInner, intKeyed: true}
	g := &jlogGen{rng: rand.New(rand.NewPCG(4, 7))}
	s := newJlogStore(t)
	s.st.SetRetained(3)
	j := c.open(t, 0, 1)
	jlogFeed(t, j, 0, g.rows(2000, 0, 0))
	jlogFeed(t, j, 1, g.rows(2000, 0, 0))
	s.checkpoint(1, j)
	jlogFeed(t, j, 0, g.rows(300, 0, 0))
	want2 := dumpJoinState(j)
	async2 := s.snapshot(2, false, j)
	jlogFeed(t, j, 1, g.rows(300, 0, 0))
	want3 := dumpJoinState(j)
	async3 := s.snapshot(3, false, j)

	w3, err3 := async3()
	w2, err2 := async2()
	if err3 != nil {
		t.Fatalf("checkpoint 3 (asynchronous phase first): %v", err3)
	}
	if err2 != nil {
		t.Fatalf("checkpoint 2 (asynchronous phase after checkpoint 3's, which stored its segment): %v", err2)
	}
	m2 := s.complete(2, false, w2)
	m3 := s.complete(3, false, w3)
	c.checkRestores(t, "checkpoint 2", m2, want2)
	c.checkRestores(t, "checkpoint 3", m3, want3)
}

// jlogInterval runs rounds of an interval join on parallel subtasks: each
// round the watermark passes the previous round's time (a sweep every
// other round), then on-time rows and rows far behind the watermark
// (late: stored until the next sweep) arrive on both sides. Chunks fill
// in about two rounds. after(round) runs after each round.
func jlogInterval(t *testing.T, js []*Join, g *jlogGen, rounds int, after func(round int)) {
	t.Helper()
	for r := 0; r < rounds; r++ {
		ev := int64(100+r) * sec
		jlogWatermark(t, js, ev-sec)
		for side := range 2 {
			jlogFeedRouted(t, js, side, g.rows(700, ev, ev+sec))
			jlogFeedRouted(t, js, side, g.rows(20, ev-20*sec, ev-10*sec))
		}
		after(r)
	}
}

// TestJoinLogIntervalExpiry: once the watermark has expired every row of
// a segment's chunks, later checkpoints no longer reference it (and the
// storage deletes it), and every checkpoint restores the rows at its
// barrier: not those its last sweep dropped, but the late rows that
// arrived after it.
func TestJoinLogIntervalExpiry(t *testing.T) {
	for _, c := range []jlogCase{{kind: JoinInner, bounds: true}, {kind: JoinInner, intKeyed: true, bounds: true}} {
		t.Run(c.String(), func(t *testing.T) {
			g := &jlogGen{rng: rand.New(rand.NewPCG(5, 7))}
			s := newJlogStore(t)
			j := c.open(t, 0, 1)
			var (
				id       int64
				first    map[string]checkpoint.FileRef // checkpoint 1's segments
				lastRefs map[string]checkpoint.FileRef
				lastFull int64
				uploaded int64
				late     int // rows stored behind the watermark at a barrier
			)
			jlogInterval(t, []*Join{j}, g, 30, func(r int) {
				if r%5 != 4 && r%7 != 3 {
					return
				}
				id++
				want := dumpJoinState(j)
				late += jlogExpired(t, want, int64(100+r)*sec-sec)
				m, ws := s.checkpoint(id, j)
				refs := sharedRefs(ws...)
				if id == 1 {
					first = refs
				}
				lastRefs, lastFull = refs, ws[0].FullBytes()
				uploaded += ws[0].UploadedBytes()
				c.checkRestores(t, fmt.Sprintf("checkpoint %d (round %d)", id, r), m, want)
			})
			if late == 0 {
				t.Fatal("no barrier found late rows stored (arrived since the last sweep): the test proves nothing")
			}
			if len(first) != 2 {
				t.Fatalf("checkpoint 1 wrote %d segments, want 2", len(first))
			}
			for p := range first {
				if _, ok := lastRefs[p]; ok {
					t.Fatalf("checkpoint %d still references checkpoint 1's segment %s, all of whose rows expired", id, p)
				}
				if _, err := os.Stat(filepath.Join(s.st.Dir(), "shared", strings.TrimPrefix(p, "../shared/"))); err == nil {
					t.Fatalf("checkpoint 1's segment %s is still stored", p)
				}
			}
			// A few rounds of rows are live: the last checkpoint is much
			// smaller than all rows checkpointed.
			if len(lastRefs) > 2*4 || lastFull*3 > uploaded {
				t.Fatalf("checkpoint %d references %d segments, %d bytes (%d uploaded in all): expired chunks are kept", id, len(lastRefs), lastFull, uploaded)
			}

			// A restored join goes on like the original one.
			b := c.checkRestores(t, "the last checkpoint", mustLatest(t, s), dumpJoinState(j))
			var ca, cb collectRows
			g2, g3 := &jlogGen{rng: rand.New(rand.NewPCG(6, 7))}, &jlogGen{rng: rand.New(rand.NewPCG(6, 7))}
			for i, x := range []struct {
				j   *Join
				g   *jlogGen
				out *collectRows
			}{{j, g2, &ca}, {b, g3, &cb}} {
				for r := 30; r < 34; r++ {
					ev := int64(100+r) * sec
					if err := x.j.ProcessWatermark(ev-sec, x.out); err != nil {
						t.Fatal(err)
					}
					for side := range 2 {
						for _, rows := range [][]jrow{x.g.rows(50, ev-3*sec, ev+sec), x.g.rows(5, ev-20*sec, ev-10*sec)} {
							if err := x.j.Process(side, jlogBatch(side, rows), x.out); err != nil {
								t.Fatalf("join %d: %v", i, err)
							}
						}
					}
				}
			}
			if got, want := cb.changes(), ca.changes(); !slices.Equal(got, want) || len(want) == 0 {
				t.Fatalf("the restored join emits %d changes, the original %d", len(got), len(want))
			}
			if a, b := dumpJoinState(j), dumpJoinState(b); !slices.Equal(a, b) {
				t.Fatalf("after the same input the restored join holds %d rows, the original %d", len(b), len(a))
			}
		})
	}
}

// jlogExpired counts the rows of a dump of an interval join (jlogCase)
// that watermark wm has expired: late rows not swept yet.
func jlogExpired(t *testing.T, dump []string, wm int64) int {
	t.Helper()
	n := 0
	for _, row := range dump {
		side, col, off := 0, 2, 2*sec // left v, Lo = -2 s
		if strings.HasPrefix(row, "side 1 ") {
			side, col, off = 1, 1, sec // right w, Hi = 1 s
		}
		body := row[strings.LastIndex(row, ": ")+2:]
		body = body[:strings.Index(body, " ×")]
		cells := strings.Split(body, "|")
		ts, err := strconv.ParseInt(strings.TrimSuffix(cells[col], "'"), 10, 64)
		if err != nil {
			t.Fatalf("side %d row %q: %v", side, row, err)
		}
		if wm >= ts+off {
			n++
		}
	}
	return n
}

func mustLatest(t *testing.T, s *jlogStore) *checkpoint.Metadata {
	t.Helper()
	m, err := s.st.Latest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestJoinLogRescale: logged joins at parallelism 2, checkpointed twice
// (the second incrementally), restore into 1, 2 and 3 subtasks: each
// holds exactly what a join of that parallelism fed the same input holds
// (its own key groups only), and together what the 2 subtasks held.
func TestJoinLogRescale(t *testing.T) {
	for _, c := range []jlogCase{{kind: JoinInner}, {kind: JoinInner, intKeyed: true}, {kind: JoinLeft, intKeyed: true}, {kind: JoinInner, bounds: true}} {
		t.Run(c.String(), func(t *testing.T) {
			type input struct {
				side int
				rows []jrow
				wm   int64
			}
			var ins []input
			g := &jlogGen{rng: rand.New(rand.NewPCG(6, 7))}
			for r := 0; r < 6; r++ {
				ev := int64(100+r) * sec
				if c.bounds {
					ins = append(ins, input{side: -1, wm: ev - sec})
				}
				for side := range 2 {
					if c.bounds {
						ins = append(ins, input{side: side, rows: g.rows(800, ev, ev+sec)}, input{side: side, rows: g.rows(20, ev-20*sec, ev-10*sec)})
					} else {
						ins = append(ins, input{side: side, rows: g.rows(800, 0, 0)})
					}
				}
			}
			feed := func(js []*Join, ins []input) {
				for _, in := range ins {
					if in.side < 0 {
						jlogWatermark(t, js, in.wm)
					} else {
						jlogFeedRouted(t, js, in.side, in.rows)
					}
				}
			}
			s := newJlogStore(t)
			old := []*Join{c.open(t, 0, 2), c.open(t, 1, 2)}
			half := len(ins) / 2
			feed(old, ins[:half])
			_, w1 := s.checkpoint(1, old...)
			feed(old, ins[half:])
			m2, w2 := s.checkpoint(2, old...)
			r1, r2 := sharedRefs(w1...), sharedRefs(w2...)
			kept := 0
			for p := range r1 {
				if _, ok := r2[p]; ok {
					kept++
				}
			}
			if kept == 0 && !c.bounds {
				t.Fatalf("checkpoint 2 references none of checkpoint 1's segments %v", r1)
			}
			var union []string
			for _, j := range old {
				union = append(union, dumpJoinState(j)...)
			}
			slices.Sort(union)
			dirs := jlogDirs(t, m2)
			for _, newPar := range []int{1, 2, 3} {
				ref := make([]*Join, newPar)
				for i := range ref {
					ref[i] = c.open(t, i, newPar)
				}
				feed(ref, ins)
				var got []string
				for i, rc := range restoreContexts(dirs, newPar) {
					b := c.restore(t, rc, i, newPar)
					d, want := dumpJoinState(b), dumpJoinState(ref[i])
					if !slices.Equal(d, want) {
						t.Fatalf("2 subtasks restored into %d: subtask %d holds %d rows\n%s\nwant the %d of its key groups\n%s", newPar, i, len(d), jlogHead(d), len(want), jlogHead(want))
					}
					if newPar > 1 && len(d) == 0 {
						t.Fatalf("subtask %d of %d restored nothing: the test proves nothing", i, newPar)
					}
					got = append(got, d...)
				}
				slices.Sort(got)
				if !slices.Equal(got, union) {
					t.Fatalf("2 subtasks restored into %d hold %d rows, the 2 held %d", newPar, len(got), len(union))
				}
			}
		})
	}
}

// TestJoinLogEndInput: once an input has ended, the other side's rows are
// gone from later snapshots (and no longer referenced), while the side
// that is kept still restores; a snapshot taken before the end still
// writes the rows of its barrier.
func TestJoinLogEndInput(t *testing.T) {
	for _, c := range []jlogCase{{kind: JoinInner}, {kind: JoinInner, intKeyed: true, bounds: true}} {
		for _, ended := range []int{0, 1} {
			t.Run(fmt.Sprintf("%v/input %d ends", c, ended), func(t *testing.T) {
				g := &jlogGen{rng: rand.New(rand.NewPCG(7, 7))}
				ev := int64(100 * sec)
				rows := func(n int) []jrow {
					if c.bounds {
						return g.rows(n, ev, ev+sec)
					}
					return g.rows(n, 0, 0)
				}
				dropped, kept := 1-ended, ended
				s := newJlogStore(t)
				j := c.open(t, 0, 1)
				jlogFeed(t, j, 0, rows(2000))
				jlogFeed(t, j, 1, rows(2000))
				_, w1 := s.checkpoint(1, j)
				jlogFeed(t, j, 0, rows(300))
				jlogFeed(t, j, 1, rows(300))
				before := dumpJoinState(j)
				if sideRows(before, dropped) == 0 || sideRows(before, kept) == 0 {
					t.Fatal("a side holds no rows: the test proves nothing")
				}
				pending := s.snapshot(2, false, j)

				if err := j.EndInput(ended, &countRows{}); err != nil {
					t.Fatal(err)
				}
				// The input still running sends more; it is not stored.
				jlogFeed(t, j, dropped, rows(300))
				after := dumpJoinState(j)
				if sideRows(after, dropped) != 0 {
					t.Fatalf("side %d still holds %d rows after input %d ended", dropped, sideRows(after, dropped), ended)
				}

				w2, err := pending()
				if err != nil {
					t.Fatal(err)
				}
				m2 := s.complete(2, false, w2)
				c.checkRestores(t, "checkpoint 2 (taken before the end)", m2, before)

				m3, w3 := s.checkpoint(3, j)
				for _, f := range sharedRefs(w3...) {
					if segSide(f) == dropped {
						t.Fatalf("checkpoint 3 references segment %s of side %d, which is empty", f.Name, dropped)
					}
				}
				if r1, r3 := sharedRefs(w1...), sharedRefs(w3...); len(r3) != 2 { // side kept: checkpoints 1 and 2's
					t.Fatalf("checkpoint 3 references %v (checkpoint 1: %v)", r3, r1)
				}
				b := c.checkRestores(t, "checkpoint 3", m3, after)
				if sideRows(dumpJoinState(b), kept) != sideRows(before, kept) {
					t.Fatal("the side that is kept lost rows")
				}
				// A snapshot without the storage's shared files too.
				dir := snapshotSync(t, j, &countRows{}, false)()
				if segs, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("join%d-*.seg", dropped))); len(segs) != 0 {
					t.Fatalf("snapshot writes segments %v of the empty side", segs)
				}
				b2 := c.restore(t, restoreOne(dir), 0, 1)
				if got := dumpJoinState(b2); !slices.Equal(got, after) {
					t.Fatalf("restores %d rows, want %d", len(got), len(after))
				}
			})
		}
	}
}

// TestJoinLogCorruptSegment: a damaged or missing segment makes
// RestoreState fail with an error, never a panic or a silently smaller
// state.
func TestJoinLogCorruptSegment(t *testing.T) {
	c := jlogCase{kind: JoinInner}
	g := &jlogGen{rng: rand.New(rand.NewPCG(8, 7))}
	j := c.open(t, 0, 1)
	jlogFeed(t, j, 0, g.rows(2000, 0, 0))
	jlogFeed(t, j, 1, g.rows(500, 0, 0))
	snapshotSync(t, j, &countRows{}, false)() // a first segment per side
	jlogFeed(t, j, 0, g.rows(300, 0, 0))
	dir := snapshotSync(t, j, &countRows{}, false)()
	want := dumpJoinState(j)
	if got := dumpJoinState(c.restore(t, restoreOne(dir), 0, 1)); !slices.Equal(got, want) {
		t.Fatalf("the intact snapshot restores %d rows, want %d", len(got), len(want))
	}
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(segs) != 3 {
		t.Fatalf("segments %v (%v), want 2 of the left side and 1 of the right", segs, err)
	}
	damage := map[string]func([]byte) []byte{
		"truncated to half":     func(b []byte) []byte { return b[:len(b)/2] },
		"last byte cut":         func(b []byte) []byte { return b[:len(b)-1] },
		"empty":                 func([]byte) []byte { return nil },
		"header only":           func(b []byte) []byte { return b[:10] },
		"byte flipped (middle)": func(b []byte) []byte { b[len(b)/2] ^= 0x20; return b },
		"byte flipped (meta)":   func(b []byte) []byte { b[9] ^= 1; return b },
		"byte flipped (crc)":    func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b },
		"bytes appended":        func(b []byte) []byte { return append(b, 0, 0, 0, 0) },
		"missing":               nil,
	}
	for i, seg := range segs {
		other, err := os.ReadFile(segs[(i+1)%len(segs)])
		if err != nil {
			t.Fatal(err)
		}
		// Intact (its CRC holds), but of other rows.
		damage["another segment's file"] = func([]byte) []byte { return slices.Clone(other) }
		for what, f := range damage {
			t.Run(filepath.Base(seg)+"/"+what, func(t *testing.T) {
				d := t.TempDir()
				ents, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ents {
					b, err := os.ReadFile(filepath.Join(dir, e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					if e.Name() == filepath.Base(seg) {
						if f == nil {
							continue
						}
						b = f(b)
					}
					if err := os.WriteFile(filepath.Join(d, e.Name()), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				b := c.open(t, 0, 1)
				var rerr error
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("RestoreState panics on a segment %s: %v", what, p)
						}
					}()
					rerr = b.RestoreState(restoreOne(d))
				}()
				if rerr == nil {
					t.Fatalf("a segment %s restores without an error (%d rows of %d)", what, len(dumpJoinState(b)), len(want))
				}
			})
		}
	}
}
