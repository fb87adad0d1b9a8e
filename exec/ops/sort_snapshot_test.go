package ops

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

func intBatch(vals ...int64) batch.Batch {
	s := types.NewSchema(types.Field{Name: "x", Type: types.TypeBigInt}, types.Field{Name: "s", Type: types.TypeString})
	strs := make([]string, len(vals))
	valid := make([]bool, len(vals))
	for i, v := range vals {
		strs[i], valid[i] = fmt.Sprint("s", v), v%3 != 0
	}
	return batch.New(batch.NewRecord(s, []arrow.Array{batch.Int64Array(vals, nil), batch.StringArray(strs, valid)}, len(vals)))
}

func TestSortSnapshotRestore(t *testing.T) {
	schema := intBatch(1).Rec.Schema()
	mk := func() exec.Operator {
		return openOp(t, &Sort{Keys: []SortKey{{Col: 0, Desc: true}}, Offset: 1, Limit: 5, Schema: schema}, 0, 1)
	}
	pre := []step{proc(0, intBatch(5, 3, 9)), proc(0, intBatch(1, 12))}
	more := []step{proc(0, intBatch(7, 2))}
	snapshotRoundTrip(t, "ORDER BY", mk, pre, more)
	checkRescaleRefused(t, mk(), pre, "ORDER BY")
}

func TestLimitSnapshotRestore(t *testing.T) {
	reached := 0
	mk := func() exec.Operator {
		return openOp(t, &Limit{Offset: 1, Limit: 4, Reached: func() { reached++ }}, 0, 1)
	}
	pre := []step{proc(0, intBatch(1, 2, 3))}
	more := []step{proc(0, intBatch(4, 5)), proc(0, intBatch(6, 7))}
	snapshotRoundTrip(t, "LIMIT", mk, pre, more)
	checkRescaleRefused(t, mk(), pre, "LIMIT")

	// A limit reached before the checkpoint is reported again on restore.
	a := mk()
	var c collectRows
	run(t, a, &c, append(pre, more...))
	dir := snapshotSync(t, a, &c, false)()
	reached = 0
	b := mk()
	if err := b.(exec.Stateful).RestoreState(restoreOne(dir)); err != nil {
		t.Fatal(err)
	}
	var cb collectRows
	run(t, b, &cb, more)
	if reached != 1 || len(cb.rows) != 0 {
		t.Fatalf("restored finished limit: Reached called %d times, emitted %v", reached, cb.rows)
	}
}

func checkRescaleRefused(t *testing.T, op exec.Operator, pre []step, name string) {
	t.Helper()
	var c collectRows
	run(t, op, &c, pre)
	dir := snapshotSync(t, op, &c, false)()
	rcs := restoreContexts([]string{dir, dir}, 1)
	err := op.(exec.Stateful).RestoreState(rcs[0])
	if err == nil || !strings.Contains(err.Error(), "not supported yet: restoring "+name+" at a different parallelism") {
		t.Fatalf("%s restored at another parallelism: %v", name, err)
	}
}
