package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/connectors"
)

func openSink(t *testing.T, tb connectors.Table, subtask, parallelism int) connectors.TransactionalSink {
	t.Helper()
	s, err := New().NewSink(tb)
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := s.(connectors.TransactionalSink)
	if !ok {
		t.Fatal("the filesystem sink is not a TransactionalSink")
	}
	if err := ts.Open(context.Background(), subtask, parallelism); err != nil {
		t.Fatal(err)
	}
	return ts
}

// writeIDs writes one row per id.
func writeIDs(t *testing.T, s connectors.Sink, ids ...int64) {
	t.Helper()
	names, amounts := make([]string, len(ids)), make([]int64, len(ids))
	for i := range ids {
		names[i] = "row"
	}
	b := makeBatch(ids, names, amounts)
	defer b.Release()
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// visible reads the directory as a reader would: the ids of every row.
func visible(t *testing.T, dir string) string {
	t.Helper()
	rows, err := readAll(t, table(dir, map[string]string{"path": "out", "format": "csv"}), 1)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = strings.TrimPrefix(strings.Split(r, ",")[0], "+I[")
	}
	sort.Slice(ids, func(i, j int) bool {
		if len(ids[i]) != len(ids[j]) {
			return len(ids[i]) < len(ids[j])
		}
		return ids[i] < ids[j]
	})
	return strings.Join(ids, " ")
}

// hiddenFiles lists the in-progress files in dir/out.
func hiddenFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestSinkTwoPhaseCommit(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	// Small files: rows written between two barriers roll into several
	// part files, all pending for the next checkpoint.
	opts := map[string]string{"path": "out", "format": "csv", "sink.rolling-policy.file-size": "30"}
	tb := table(dir, opts)

	s := openSink(t, tb, 0, 2)
	writeIDs(t, s, 1, 2, 3)
	p1, err := s.PreCommit(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	writeIDs(t, s, 4, 5, 6, 7)
	if _, err := s.PreCommit(ctx, 2); err != nil {
		t.Fatal(err)
	}
	writeIDs(t, s, 8)
	if got := visible(t, dir); got != "" {
		t.Fatalf("before any commit, readers see %q", got)
	}
	if err := s.Commit(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, 1); err != nil {
		t.Fatalf("a repeated commit: %v", err)
	}
	if got := visible(t, dir); got != "1 2 3" {
		t.Fatalf("after Commit(1), readers see %q, want the rows of checkpoint 1", got)
	}

	// Bystanders: subtask 1 of the same table, and another table writing
	// the same directory, each with uncommitted output.
	other := openSink(t, tb, 1, 2)
	writeIDs(t, other, 100)
	if _, err := other.PreCommit(ctx, 1); err != nil {
		t.Fatal(err)
	}
	otherTable := table(dir, opts)
	otherTable.Name = "fs2"
	foreign := openSink(t, otherTable, 0, 2)
	writeIDs(t, foreign, 200)
	if _, err := foreign.PreCommit(ctx, 1); err != nil {
		t.Fatal(err)
	}

	// Crash: Close without Finish. The open file (row 8) is dropped; what
	// checkpoint 2 pre-committed stays hidden. A stray of a harder crash
	// (no Close at all) is there too.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(dir, "out", "."+partPrefix(fileToken(mustParse(t, tb)), 0)+"99.csv.inprogress")
	writeFile(t, stray, "99,stray,0\n")
	if got := visible(t, dir); got != "1 2 3" {
		t.Fatalf("after the crash, readers see %q", got)
	}

	// Restart from checkpoint 1: its rows once, checkpoint 2's files and
	// the stray gone, the bystanders untouched.
	bystanders := func() []string {
		var names []string
		for _, n := range hiddenFiles(t, dir) {
			if !strings.Contains(n, partPrefix(fileToken(mustParse(t, tb)), 0)) {
				names = append(names, n)
			}
		}
		return names
	}
	before := bystanders()
	if len(before) != 2 {
		t.Fatalf("bystander files %v, want 2", before)
	}
	if own := len(hiddenFiles(t, dir)) - len(before); own < 3 {
		t.Fatalf("%d hidden files of subtask 0, want checkpoint 2's (rolled: two or more) and the stray", own)
	}
	r := openSink(t, tb, 0, 2)
	for i := 0; i < 2; i++ { // Recover is idempotent
		if err := r.Recover(ctx, p1); err != nil {
			t.Fatal(err)
		}
		if got := visible(t, dir); got != "1 2 3" {
			t.Fatalf("after Recover(checkpoint 1), readers see %q", got)
		}
		if got := bystanders(); strings.Join(got, " ") != strings.Join(before, " ") {
			t.Fatalf("Recover touched other files: %v, had %v", got, before)
		}
		if hidden := hiddenFiles(t, dir); len(hidden) != len(before) {
			t.Fatalf("strays left: %v", hidden)
		}
	}
	writeIDs(t, r, 4, 5, 6, 7, 8)
	if _, err := r.PreCommit(ctx, 2); err != nil {
		t.Fatal(err)
	}
	writeIDs(t, r, 9)
	if err := r.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := visible(t, dir); got != "1 2 3 4 5 6 7 8 9" {
		t.Fatalf("after Finish, readers see %q", got)
	}

	// Restart of subtask 1 without a checkpoint: its hidden files go, the
	// other table's stay.
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if err := openSink(t, tb, 1, 2).Recover(ctx, nil); err != nil {
		t.Fatal(err)
	}
	hidden := hiddenFiles(t, dir)
	if len(hidden) != 1 || !strings.Contains(hidden[0], fileToken(mustParse(t, otherTable))) {
		t.Errorf("after Recover(nil) of subtask 1, hidden files %v, want only the other table's", hidden)
	}
	if err := foreign.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSinkRecoverCommitsEarlierCheckpoints: Commit(1) never came before the
// failure; the state of checkpoint 2 carries checkpoint 1's files too.
func TestSinkRecoverCommitsEarlierCheckpoints(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	tb := table(dir, map[string]string{"path": "out", "format": "csv"})
	s := openSink(t, tb, 0, 1)
	writeIDs(t, s, 1)
	if _, err := s.PreCommit(ctx, 1); err != nil {
		t.Fatal(err)
	}
	writeIDs(t, s, 2)
	p2, err := s.PreCommit(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	writeIDs(t, s, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := openSink(t, tb, 0, 1)
	if err := r.Recover(ctx, p2); err != nil {
		t.Fatal(err)
	}
	if got := visible(t, dir); got != "1 2" {
		t.Errorf("after Recover(checkpoint 2), readers see %q", got)
	}
	// New part numbers continue after the recovered ones.
	writeIDs(t, r, 3)
	if err := r.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	if len(entries) != 3 {
		t.Errorf("%d files, want 3 distinct part files", len(entries))
	}
	if got := visible(t, dir); got != "1 2 3" {
		t.Errorf("after Finish, readers see %q", got)
	}
}

// TestSinkCloseAfterPreCommitKeepsOutputInvisible: a job cancelled after a
// barrier shows nothing, and the pre-committed file waits for Recover.
func TestSinkCloseAfterPreCommitKeepsOutputInvisible(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	tb := table(dir, map[string]string{"path": "out", "format": "json"})
	s := openSink(t, tb, 0, 1)
	writeIDs(t, s, 1)
	p1, err := s.PreCommit(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	writeIDs(t, s, 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if hidden := hiddenFiles(t, dir); len(hidden) != 1 {
		t.Fatalf("hidden files %v, want the pre-committed one", hidden)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	if len(entries) != 1 {
		t.Fatalf("%d files, want only the hidden pre-committed one", len(entries))
	}
	r := openSink(t, tb, 0, 1)
	if err := r.Recover(ctx, p1); err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(t, tb, 1)
	if err != nil || len(rows) != 1 {
		t.Errorf("after Recover: %v, %v; want one row", rows, err)
	}
}

func TestSinkRecoverRefusesBadState(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	tb := table(dir, map[string]string{"path": "out", "format": "csv"})
	s := openSink(t, tb, 0, 1)
	writeIDs(t, s, 1)
	p1, err := s.PreCommit(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(p1); i++ {
		if err := openSink(t, tb, 0, 1).Recover(ctx, p1[:i]); err == nil {
			t.Errorf("truncated state %x accepted", p1[:i])
		}
	}
	// A name pointing outside the directory is refused, not renamed.
	evil := (&sink{token: "00000000", pending: []pendingPart{{1, "../part-x.csv"}}}).encodeState()
	if err := openSink(t, tb, 0, 1).Recover(ctx, evil); err == nil || !strings.Contains(err.Error(), "invalid part file name") {
		t.Errorf("state naming ../part-x.csv: %v", err)
	}
	// A pending file that is neither in progress nor committed is lost.
	if err := os.Remove(filepath.Join(dir, "out", hiddenFiles(t, dir)[0])); err != nil {
		t.Fatal(err)
	}
	if err := openSink(t, tb, 0, 1).Recover(ctx, p1); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Recover with a lost file: %v", err)
	}
}

// TestSinkRunsTwiceWithoutCheckpoints: names are derived from the table,
// so a second run must number its files after the first run's.
func TestSinkRunsTwiceWithoutCheckpoints(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	tb := table(dir, map[string]string{"path": "out", "format": "csv"})
	for run := int64(0); run < 2; run++ {
		s := openSink(t, tb, 0, 1)
		writeIDs(t, s, run)
		if err := s.Finish(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if got := visible(t, dir); got != "0 1" {
		t.Errorf("two runs: readers see %q", got)
	}
}

func mustParse(t *testing.T, tb connectors.Table) *config {
	t.Helper()
	c, err := parse(tb)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
