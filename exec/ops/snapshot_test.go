package ops

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
)

// Shared helpers of the checkpoint tests: run an operator's synchronous
// and asynchronous snapshot phases, route rows to subtasks as the hash
// exchange does, and build restore contexts for any parallelism.

const testMaxPar = exec.DefaultMaxParallelism

// step feeds an operator one element.
type step func(op exec.Operator, out exec.Collector) error

func proc(input int, b batch.Batch) step {
	return func(op exec.Operator, out exec.Collector) error { return op.Process(input, b, out) }
}

func wmark(wm int64) step {
	return func(op exec.Operator, out exec.Collector) error { return op.ProcessWatermark(wm, out) }
}

func run(t *testing.T, op exec.Operator, out exec.Collector, steps []step) {
	t.Helper()
	for i, s := range steps {
		if err := s(op, out); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
}

// snapshotSync runs the barrier's synchronous part (pre-barrier flush into
// out, then SnapshotState) and returns the asynchronous phase, which writes
// into a new directory and returns it.
func snapshotSync(t *testing.T, op exec.Operator, out exec.Collector, savepoint bool) func() string {
	t.Helper()
	async := snapshotSyncE(t, op, out, savepoint)
	return func() string {
		t.Helper()
		dir, err := async()
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
}

// snapshotSyncE is snapshotSync whose asynchronous phase may run on
// another goroutine (it reports errors instead of failing the test).
func snapshotSyncE(t *testing.T, op exec.Operator, out exec.Collector, savepoint bool) func() (string, error) {
	t.Helper()
	if f, ok := op.(exec.PreBarrierFlusher); ok {
		if err := f.PrepareSnapshotPreBarrier(1, out); err != nil {
			t.Fatal(err)
		}
	}
	scratch, dir := t.TempDir(), t.TempDir()
	fn, err := op.(exec.Stateful).SnapshotState(exec.SnapshotContext{CheckpointID: 1, ScratchDir: scratch, Savepoint: savepoint})
	if err != nil {
		t.Fatal(err)
	}
	return func() (string, error) {
		if fn == nil {
			return dir, nil
		}
		return dir, fn(exec.DirSnapshotWriter{Dir: dir})
	}
}

// restoreContexts spreads the snapshots of len(dirs) old subtasks over
// newPar new ones, as the runtime does.
func restoreContexts(dirs []string, newPar int) []exec.RestoreContext {
	oldPar := len(dirs)
	var rcs []exec.RestoreContext
	for s := 0; s < newPar; s++ {
		lo, hi := exec.KeyGroupRange(s, testMaxPar, newPar)
		rc := exec.RestoreContext{KeyGroupStart: lo, KeyGroupEnd: hi, Rescaled: oldPar != newPar}
		for o, d := range dirs {
			olo, ohi := exec.KeyGroupRange(o, testMaxPar, oldPar)
			if olo < hi && lo < ohi {
				rc.Snapshots = append(rc.Snapshots, exec.RestoredSnapshot{Subtask: o, KeyGroupStart: olo, KeyGroupEnd: ohi, Dir: d})
			}
		}
		rcs = append(rcs, rc)
	}
	return rcs
}

func restoreOne(dir string) exec.RestoreContext { return restoreContexts([]string{dir}, 1)[0] }

// routeBatch splits b over par subtasks by the hash of its key columns, as
// the hash exchange does; subtasks without rows get a zero batch.
func routeBatch(b batch.Batch, keys []int, par int) []batch.Batch {
	cols := make([]arrow.Array, len(keys))
	for i, k := range keys {
		cols[i] = b.Column(k)
	}
	hashes := make([]uint64, b.Len())
	batch.HashColumns(cols, hashes)
	idx := make([][]int32, par)
	for r, h := range hashes {
		s := exec.SubtaskForKeyGroup(exec.KeyGroupOf(h, testMaxPar), testMaxPar, par)
		idx[s] = append(idx[s], int32(r))
	}
	out := make([]batch.Batch, par)
	for s := range idx {
		if len(idx[s]) > 0 {
			out[s] = batch.TakeBatch(b, idx[s])
		}
	}
	return out
}

// keyedInput is one input element of a rescaling test: a batch of input
// `input` (routed by keys) or a watermark (to every subtask).
type keyedInput struct {
	input int
	b     batch.Batch
	keys  []int
	wm    int64
	isWM  bool
}

// runRouted feeds inputs to parallel instances of an operator.
func runRouted(t *testing.T, ops []exec.Operator, out exec.Collector, ins []keyedInput) {
	t.Helper()
	for i, in := range ins {
		if in.isWM {
			for _, op := range ops {
				if err := op.ProcessWatermark(in.wm, out); err != nil {
					t.Fatalf("input %d: %v", i, err)
				}
			}
			continue
		}
		for s, part := range routeBatch(in.b, in.keys, len(ops)) {
			if part.Rec == nil {
				continue
			}
			if err := ops[s].Process(in.input, part, out); err != nil {
				t.Fatalf("input %d, subtask %d: %v", i, s, err)
			}
		}
	}
}

// changes renders a changelog as a sorted multiset of "kind row" lines:
// what parallel runs are compared by (their interleaving differs).
func (c *collectRows) changes() []string {
	out := make([]string, len(c.rows))
	for i, r := range c.rows {
		out[i] = c.kind[i].String() + " " + r
	}
	slices.Sort(out)
	return out
}

func (c *collectRows) String() string {
	var sb strings.Builder
	for i, r := range c.rows {
		fmt.Fprintf(&sb, "%s %s\n", c.kind[i], r)
	}
	return sb.String()
}

// checkSameOutput fails unless both changelogs are identical, in order.
func checkSameOutput(t *testing.T, what string, a, b *collectRows) {
	t.Helper()
	if !slices.Equal(a.rows, b.rows) || !slices.Equal(a.kind, b.kind) {
		t.Fatalf("%s: the restored operator's output differs\noriginal:\n%s\nrestored:\n%s", what, a, b)
	}
	if len(a.rows) == 0 {
		t.Fatalf("%s: no output after the snapshot: the test proves nothing", what)
	}
}

// snapshotRoundTrip is the core check for one operator: A gets pre, takes a
// snapshot, gets more. The snapshot's asynchronous phase runs once while A
// processes more (on another goroutine, as in a job: the race detector
// checks that it does not touch live state) and once after A is done (so
// it must hold the state as of the barrier, whatever changed since).
// Operators B restored from either get more; their output must equal A's
// after the barrier.
func snapshotRoundTrip(t *testing.T, what string, mk func() exec.Operator, pre, more []step) {
	t.Helper()
	a := mk()
	defer a.Close()
	var ignore collectRows
	run(t, a, &ignore, pre)
	asyncLater := snapshotSync(t, a, &ignore, false)
	asyncNow := snapshotSyncE(t, a, &ignore, false)
	type result struct {
		dir string
		err error
	}
	concurrent := make(chan result, 1)
	go func() {
		dir, err := asyncNow()
		concurrent <- result{dir, err}
	}()
	var ca collectRows
	run(t, a, &ca, more)
	if err := a.Finish(&ca); err != nil {
		t.Fatal(err)
	}
	r := <-concurrent
	if r.err != nil {
		t.Fatal(r.err)
	}
	for i, dir := range []string{asyncLater(), r.dir} {
		b := mk()
		defer b.Close()
		if err := b.(exec.Stateful).RestoreState(restoreOne(dir)); err != nil {
			t.Fatalf("%s: restore: %v", what, err)
		}
		var cb collectRows
		run(t, b, &cb, more)
		if err := b.Finish(&cb); err != nil {
			t.Fatal(err)
		}
		checkSameOutput(t, fmt.Sprintf("%s (snapshot %d)", what, i), &ca, &cb)
	}
}

// rescaleRoundTrip: a single instance gets pre, a pre-barrier flush, then
// more; two instances get pre (each only its key groups) and snapshot;
// their snapshots restored into 1 and into 3 instances that get more must
// emit the same changes as the single instance did after the barrier.
func rescaleRoundTrip(t *testing.T, what string, mk func(subtask, par int) exec.Operator, pre, more []keyedInput) {
	t.Helper()
	u := mk(0, 1)
	defer u.Close()
	var ignore, cu collectRows
	runRouted(t, []exec.Operator{u}, &ignore, pre)
	if f, ok := u.(exec.PreBarrierFlusher); ok {
		if err := f.PrepareSnapshotPreBarrier(1, &ignore); err != nil {
			t.Fatal(err)
		}
	}
	runRouted(t, []exec.Operator{u}, &cu, more)
	if err := u.Finish(&cu); err != nil {
		t.Fatal(err)
	}
	want := cu.changes()
	if len(want) == 0 {
		t.Fatalf("%s: no output after the barrier: the test proves nothing", what)
	}

	old := []exec.Operator{mk(0, 2), mk(1, 2)}
	runRouted(t, old, &ignore, pre)
	var dirs []string
	for _, op := range old {
		dirs = append(dirs, snapshotSync(t, op, &ignore, false)())
		op.Close()
	}
	for _, newPar := range []int{1, 2, 3} {
		var ops []exec.Operator
		for s, rc := range restoreContexts(dirs, newPar) {
			op := mk(s, newPar)
			defer op.Close()
			if err := op.(exec.Stateful).RestoreState(rc); err != nil {
				t.Fatalf("%s: restore subtask %d of %d: %v", what, s, newPar, err)
			}
			ops = append(ops, op)
		}
		var c collectRows
		runRouted(t, ops, &c, more)
		for _, op := range ops {
			if err := op.Finish(&c); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.changes(); !slices.Equal(got, want) {
			t.Fatalf("%s: 2 subtasks restored into %d: changes differ\ngot  %v\nwant %v", what, newPar, got, want)
		}
	}
}
