package ops

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec/batch"
)

// txSink is a two-phase-commit sink that logs its calls.
type txSink struct {
	log []string
}

func (s *txSink) Open(context.Context, int, int) error { return nil }
func (s *txSink) Write(_ context.Context, b batch.Batch) error {
	s.log = append(s.log, fmt.Sprint("write ", b.Len()))
	return nil
}
func (s *txSink) Finish(context.Context) error { return nil }
func (s *txSink) Close() error                 { return nil }
func (s *txSink) Flush(context.Context) error  { s.log = append(s.log, "flush"); return nil }
func (s *txSink) Commit(_ context.Context, id int64) error {
	s.log = append(s.log, fmt.Sprint("commit ", id))
	return nil
}
func (s *txSink) PreCommit(_ context.Context, id int64) ([]byte, error) {
	s.log = append(s.log, fmt.Sprint("pre-commit ", id))
	return []byte(fmt.Sprint("txn-", id)), nil
}
func (s *txSink) Recover(_ context.Context, pending []byte) error {
	s.log = append(s.log, fmt.Sprintf("recover %q", pending))
	return nil
}

func TestSinkCheckpoints(t *testing.T) {
	tx := &txSink{}
	op := openOp(t, &Sink{Sink: tx}, 0, 1).(*Sink)
	var c collectRows
	run(t, op, &c, []step{proc(0, intBatch(1, 2))})
	dir := snapshotSync(t, op, &c, false)()
	if err := op.NotifyCheckpointComplete(1); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(tx.log, "; "), "write 2; flush; pre-commit 1; commit 1"; got != want {
		t.Fatalf("sink calls: %s, want %s", got, want)
	}

	// Restored: Recover gets what PreCommit returned, and only once.
	tx2 := &txSink{}
	op2 := openOp(t, &Sink{Sink: tx2}, 0, 1).(*Sink)
	if err := op2.RestoreState(restoreOne(dir)); err != nil {
		t.Fatal(err)
	}
	if err := op2.InitializeState(true); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(tx2.log, "; "), `recover "txn-1"`; got != want {
		t.Fatalf("restored sink calls: %s, want %s", got, want)
	}
	if err := op2.RestoreState(restoreContexts([]string{dir, dir}, 1)[0]); err == nil || !strings.Contains(err.Error(), "not supported yet") {
		t.Fatalf("two-phase-commit sink restored at another parallelism: %v", err)
	}

	// Not restored: Recover(nil) cleans up earlier attempts.
	tx3 := &txSink{}
	op3 := openOp(t, &Sink{Sink: tx3}, 0, 1).(*Sink)
	if err := op3.InitializeState(false); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(tx3.log, "; "), `recover ""`; got != want {
		t.Fatalf("fresh sink calls: %s, want %s", got, want)
	}
}
