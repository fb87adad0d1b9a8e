package checkpoint

import (
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// sharedSnapshotWriter is exec.SharedSnapshotWriter (exec imports this
// package).
type sharedSnapshotWriter interface {
	snapshotWriter
	CreateShared(name, sharedName string) (io.WriteCloser, error)
	ReuseShared(name, sharedName string) (bool, error)
}

var _ sharedSnapshotWriter = (*Writer)(nil)

// aborter is what a CreateShared writer offers besides io.WriteCloser.
type aborter interface {
	Abort()
}

func crcOf(s string) uint32 {
	return crc32.Checksum([]byte(s), crc32.MakeTable(crc32.Castagnoli))
}

// sharedRef is the FileRef a writer records for shared file sharedName
// holding body, written as name.
func sharedRef(name, sharedName, body string) FileRef {
	return FileRef{Path: "../shared/" + sharedName, Name: name, Size: int64(len(body)), CRC32C: crcOf(body), Shared: true}
}

// createShared writes body as shared file sharedName (name in the
// checkpoint) and closes it.
func createShared(t *testing.T, w *Writer, name, sharedName, body string) {
	t.Helper()
	f, err := w.CreateShared(name, sharedName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func reuseShared(t *testing.T, w *Writer, name, sharedName string, want bool) {
	t.Helper()
	ok, err := w.ReuseShared(name, sharedName)
	if err != nil {
		t.Fatalf("ReuseShared(%q, %q): %v", name, sharedName, err)
	}
	if ok != want {
		t.Fatalf("ReuseShared(%q, %q) = %v, want %v", name, sharedName, ok, want)
	}
}

func completeWith(t *testing.T, st *Storage, id int64, ws ...*Writer) {
	t.Helper()
	if err := st.Complete(metaOf(id, false, ws...)); err != nil {
		t.Fatal(err)
	}
}

func wantShared(t *testing.T, st *Storage, want ...string) {
	t.Helper()
	got := sharedFiles(t, st)
	if want == nil {
		want = []string{}
	}
	if got == nil {
		got = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("shared/ holds %q, want %q", got, want)
	}
}

func wantSharedBody(t *testing.T, st *Storage, sharedName, want string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(st.sharedDir(), sharedName))
	if err != nil || string(b) != want {
		t.Fatalf("shared/%s = %q, %v; want %q", sharedName, b, err, want)
	}
}

// materialized restores operator "agg" subtask 0 of m and returns its
// files by name.
func materialized(t *testing.T, m *Metadata) map[string]string {
	t.Helper()
	dir, err := m.Materialize("agg", 0, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func wantFiles(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("restored %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("restored %q, want %q", got, want)
		}
	}
}

func TestCreateSharedStoresFileOnceInShared(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	if err := st.BeginCheckpoint(1); err != nil {
		t.Fatal(err)
	}
	w := st.Writer(1, false, "agg", 0)
	writeFileTo(t, w, "manifest", "gen 1")
	const body = "rows of generation one"
	f, err := w.CreateShared("rows", "agg-0-gen1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, body[:5]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, body[5:]); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(st.sharedDir(), "agg-0-gen1")) {
		t.Fatal("shared file visible under its name before Close")
	}
	if len(w.Files()) != 1 {
		t.Fatalf("recorded %v before Close", w.Files())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err == nil {
		t.Fatal("second Close succeeded")
	}
	// Only the file itself, no temporary left behind; nothing of it in
	// the checkpoint directory.
	wantShared(t, st, "agg-0-gen1")
	wantSharedBody(t, st, "agg-0-gen1", body)
	if exists(filepath.Join(st.chkDir(1), "agg-0", "rows")) {
		t.Fatal("shared file also written into the checkpoint directory")
	}
	files := w.Files()
	if len(files) != 2 || files[1] != sharedRef("rows", "agg-0-gen1", body) {
		t.Fatalf("Files() = %+v, want manifest and %+v", files, sharedRef("rows", "agg-0-gen1", body))
	}
	if files[0].Shared {
		t.Fatal("an ordinary file recorded as shared")
	}
	if got, want := w.UploadedBytes(), int64(len("gen 1")+len(body)); got != want {
		t.Fatalf("UploadedBytes = %d, want %d", got, want)
	}
	if got, want := w.FullBytes(), int64(len("gen 1")+len(body)); got != want {
		t.Fatalf("FullBytes = %d, want %d", got, want)
	}
	completeWith(t, st, 1, w)

	m, err := st.Latest()
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 1 {
		t.Fatalf("latest = %d", m.ID)
	}
	var shared []FileRef
	for _, f := range m.Files() {
		if f.Shared {
			shared = append(shared, f)
		}
	}
	if len(shared) != 1 || shared[0] != sharedRef("rows", "agg-0-gen1", body) {
		t.Fatalf("metadata references shared %+v", shared)
	}
	if got := m.Path(shared[0]); got != filepath.Join(st.sharedDir(), "agg-0-gen1") {
		t.Fatalf("metadata path resolves to %s", got)
	}
	if _, err := Load(st.chkDir(1)); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, materialized(t, m), map[string]string{"manifest": "gen 1", "rows": body})
}

func TestReuseSharedKeepsFileUntilLastHolderIsDropped(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.SetRetained(1)
	const body = "immutable run"
	st.BeginCheckpoint(1)
	w1 := st.Writer(1, false, "agg", 0)
	createShared(t, w1, "run-7", "agg-0-run7", body)
	completeWith(t, st, 1, w1)

	st.BeginCheckpoint(2)
	w2 := st.Writer(2, false, "agg", 0)
	reuseShared(t, w2, "run-7", "agg-0-run7", true)
	writeFileTo(t, w2, "manifest", "m2")
	if got := w2.UploadedBytes(); got != int64(len("m2")) {
		t.Fatalf("UploadedBytes = %d: the reused file must not count", got)
	}
	if got, want := w2.FullBytes(), int64(len(body)+len("m2")); got != want {
		t.Fatalf("FullBytes = %d, want %d", got, want)
	}
	if files := w2.Files(); len(files) != 2 || files[0] != sharedRef("run-7", "agg-0-run7", body) {
		t.Fatalf("Files() = %+v", files)
	}
	completeWith(t, st, 2, w2)
	// Retain 1: checkpoint 1 is gone, the file it stored is not.
	if exists(st.chkDir(1)) {
		t.Fatal("chk-1 was not dropped")
	}
	wantShared(t, st, "agg-0-run7")
	wantSharedBody(t, st, "agg-0-run7", body)
	m, err := st.Latest()
	if err != nil || m.ID != 2 {
		t.Fatalf("latest = %v, %v", m, err)
	}
	wantFiles(t, materialized(t, m), map[string]string{"run-7": body, "manifest": "m2"})

	// Checkpoint 3 neither reuses nor recreates it: dropping 2 deletes it.
	st.BeginCheckpoint(3)
	w3 := st.Writer(3, false, "agg", 0)
	createShared(t, w3, "run-8", "agg-0-run8", "newer run")
	if exists(filepath.Join(st.sharedDir(), "agg-0-run7")) == false {
		t.Fatal("shared file deleted while checkpoint 2 still holds it")
	}
	completeWith(t, st, 3, w3)
	wantShared(t, st, "agg-0-run8")

	// Released: no longer stored, so not reusable, and storable afresh.
	st.BeginCheckpoint(4)
	w4 := st.Writer(4, false, "agg", 0)
	reuseShared(t, w4, "run-7", "agg-0-run7", false)
	if len(w4.Files()) != 0 {
		t.Fatalf("a failed reuse recorded %v", w4.Files())
	}
	createShared(t, w4, "run-7", "agg-0-run7", body)
	reuseShared(t, w4, "run-8", "agg-0-run8", true)
	completeWith(t, st, 4, w4)
	wantShared(t, st, "agg-0-run7", "agg-0-run8")
}

func TestReuseSharedOfUnknownFileRecordsNothing(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.BeginCheckpoint(1)
	w := st.Writer(1, false, "agg", 0)
	reuseShared(t, w, "rows", "agg-0-never", false)
	if len(w.Files()) != 0 || w.FullBytes() != 0 || w.UploadedBytes() != 0 {
		t.Fatalf("a failed reuse recorded %v (%d/%d bytes)", w.Files(), w.FullBytes(), w.UploadedBytes())
	}
	st.mu.Lock()
	_, registered := st.shared["agg-0-never"]
	_, held := st.holds[1]["agg-0-never"]
	st.mu.Unlock()
	if registered || held {
		t.Fatalf("a failed reuse left state behind: registered %v, held %v", registered, held)
	}
	// The name is still free for the file the operator writes instead.
	writeFileTo(t, w, "rows", "full copy")
	completeWith(t, st, 1, w)
	wantShared(t, st)
	if _, err := w.ReuseShared("x", "../escape"); err == nil {
		t.Fatal("ReuseShared accepted a shared name with a slash")
	}
	if _, err := w.CreateShared("y", "a/b"); err == nil {
		t.Fatal("CreateShared accepted a shared name with a slash")
	}
	// A writer of a checkpoint already finished is refused.
	if _, err := st.Writer(1, false, "agg", 1).ReuseShared("rows", "agg-0-never"); err == nil {
		t.Fatal("ReuseShared for a completed checkpoint succeeded")
	}
}

func TestSavepointDoesNotUseSharedFiles(t *testing.T) {
	root := t.TempDir()
	st, _ := openTestStorage(t, root)
	st.SetRetained(1)
	st.BeginCheckpoint(1)
	w1 := st.Writer(1, false, "agg", 0)
	createShared(t, w1, "rows", "agg-0-gen1", "checkpointed rows")
	completeWith(t, st, 1, w1)

	spDir := filepath.Join(t.TempDir(), "sp-2")
	if err := st.BeginSavepoint(2, spDir); err != nil {
		t.Fatal(err)
	}
	ws := st.Writer(2, true, "agg", 0)
	ok, err := ws.ReuseShared("rows", "agg-0-gen1")
	if err != nil || ok {
		t.Fatalf("ReuseShared in a savepoint = %v, %v; want false, nil", ok, err)
	}
	if len(ws.Files()) != 0 {
		t.Fatalf("savepoint recorded %v", ws.Files())
	}
	// The same (stored) shared name is fine in a savepoint: it is an
	// ordinary file of its own.
	createShared(t, ws, "rows", "agg-0-gen1", "savepoint rows")
	files := ws.Files()
	want := FileRef{Path: "agg-0/rows", Name: "rows", Size: int64(len("savepoint rows")), CRC32C: crcOf("savepoint rows")}
	if len(files) != 1 || files[0] != want {
		t.Fatalf("savepoint Files() = %+v, want %+v", files, want)
	}
	if ws.UploadedBytes() != ws.FullBytes() || ws.FullBytes() != int64(len("savepoint rows")) {
		t.Fatalf("savepoint uploaded %d of %d bytes", ws.UploadedBytes(), ws.FullBytes())
	}
	b, err := os.ReadFile(filepath.Join(spDir, "agg-0", "rows"))
	if err != nil || string(b) != "savepoint rows" {
		t.Fatalf("savepoint file = %q, %v", b, err)
	}
	wantShared(t, st, "agg-0-gen1")
	wantSharedBody(t, st, "agg-0-gen1", "checkpointed rows")
	sp := metaOf(2, true, ws)
	if err := st.Complete(sp); err != nil {
		t.Fatal(err)
	}

	// The savepoint holds nothing in shared/: once checkpoint 1 is dropped
	// the file goes, and the savepoint still restores.
	st.BeginCheckpoint(3)
	w3 := st.Writer(3, false, "agg", 0)
	writeFileTo(t, w3, "rows", "full")
	completeWith(t, st, 3, w3)
	wantShared(t, st)
	lm, err := Load(spDir)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles(t, materialized(t, lm), map[string]string{"rows": "savepoint rows"})
}

func TestAbortedCheckpointForgetsItsSharedFiles(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.BeginCheckpoint(1)
	w := st.Writer(1, false, "agg", 0)
	createShared(t, w, "rows", "agg-0-gen1", "rows")
	// Still open when the checkpoint is aborted.
	open, err := w.CreateShared("more", "agg-0-gen2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(open, "more rows"); err != nil {
		t.Fatal(err)
	}
	if err := st.Abort(1); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(st.sharedDir(), "agg-0-gen1")) {
		t.Fatal("shared file of the aborted checkpoint still exists")
	}
	if err := open.Close(); err == nil {
		t.Fatal("Close of a shared file of an aborted checkpoint succeeded")
	}
	wantShared(t, st)
	if exists(st.chkDir(1)) {
		t.Fatal("aborted chk-1 still exists")
	}
	if len(w.Files()) != 1 {
		t.Fatalf("the late file was recorded: %v", w.Files())
	}
	// A late writer of the aborted checkpoint stores nothing.
	if _, err := st.Writer(1, false, "agg", 1).CreateShared("x", "agg-1-gen1"); err == nil {
		t.Fatal("CreateShared for an aborted checkpoint succeeded")
	}
	wantShared(t, st)

	st.BeginCheckpoint(2)
	w2 := st.Writer(2, false, "agg", 0)
	reuseShared(t, w2, "rows", "agg-0-gen1", false)
	reuseShared(t, w2, "more", "agg-0-gen2", false)
	// Not stored, so storing them again is no error.
	createShared(t, w2, "rows", "agg-0-gen1", "rows")
	createShared(t, w2, "more", "agg-0-gen2", "more rows")
	completeWith(t, st, 2, w2)
	wantShared(t, st, "agg-0-gen1", "agg-0-gen2")
}

func TestAbortedSharedWriterStoresNothing(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.BeginCheckpoint(1)
	w := st.Writer(1, false, "agg", 0)
	f, err := w.CreateShared("rows", "agg-0-gen1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, "half written"); err != nil {
		t.Fatal(err)
	}
	a, ok := f.(aborter)
	if !ok {
		t.Fatalf("%T has no Abort", f)
	}
	a.Abort()
	a.Abort() // idempotent
	wantShared(t, st)
	if err := f.Close(); err == nil {
		t.Fatal("Close after Abort succeeded")
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("Write after Abort succeeded")
	}
	wantShared(t, st)
	if len(w.Files()) != 0 || w.UploadedBytes() != 0 || w.FullBytes() != 0 {
		t.Fatalf("an aborted shared file was recorded: %v", w.Files())
	}
	// Neither this checkpoint nor a later one can reuse it.
	reuseShared(t, st.Writer(1, false, "agg", 1), "rows", "agg-0-gen1", false)
	writeFileTo(t, w, "state", "s")
	completeWith(t, st, 1, w)
	wantShared(t, st)
	st.BeginCheckpoint(2)
	w2 := st.Writer(2, false, "agg", 0)
	reuseShared(t, w2, "rows", "agg-0-gen1", false)
	createShared(t, w2, "rows", "agg-0-gen1", "whole")
	completeWith(t, st, 2, w2)
	wantShared(t, st, "agg-0-gen1")
	wantSharedBody(t, st, "agg-0-gen1", "whole")
}

func TestSharedWriterWriteErrorDiscardsFile(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.BeginCheckpoint(1)
	w := st.Writer(1, false, "agg", 0)
	f, err := w.CreateShared("rows", "agg-0-gen1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, "first part"); err != nil {
		t.Fatal(err)
	}
	// Provoke a write error: the temporary file is swapped for a
	// read-only handle of itself (Sync, Close and rename still work, so
	// only the write error can make Close fail).
	sw, ok := f.(*sharedWriter)
	if !ok {
		t.Fatalf("CreateShared returned %T", f)
	}
	ro, err := os.Open(sw.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	sw.f.Close()
	sw.f = ro
	if _, err := io.WriteString(f, "second part"); err == nil {
		t.Fatal("Write to a read-only file succeeded")
	}
	if _, err := io.WriteString(f, "third part"); err == nil {
		t.Fatal("Write after a write error succeeded")
	}
	if err := f.Close(); err == nil {
		t.Fatal("Close after a write error succeeded")
	}
	wantShared(t, st)
	if len(w.Files()) != 0 {
		t.Fatalf("a failed shared file was recorded: %v", w.Files())
	}
	reuseShared(t, st.Writer(1, false, "agg", 1), "rows", "agg-0-gen1", false)
	st.mu.Lock()
	_, registered := st.shared["agg-0-gen1"]
	st.mu.Unlock()
	if registered {
		t.Fatal("a failed shared file is still registered")
	}
}

func TestCreateSharedRefusesStoredName(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.SetRetained(1)
	st.BeginCheckpoint(1)
	w1 := st.Writer(1, false, "agg", 0)
	createShared(t, w1, "rows", "agg-0-gen1", "original")

	// Stored by the same checkpoint (another file name, another subtask's
	// writer): refused, and the stored file is untouched and still held.
	if _, err := w1.CreateShared("rows-again", "agg-0-gen1"); err == nil {
		t.Fatal("CreateShared of a name this checkpoint stored succeeded")
	}
	if _, err := st.Writer(1, false, "agg", 1).CreateShared("rows", "agg-0-gen1"); err == nil {
		t.Fatal("CreateShared of a stored name succeeded")
	}
	wantShared(t, st, "agg-0-gen1")
	wantSharedBody(t, st, "agg-0-gen1", "original")
	if files := w1.Files(); len(files) != 1 || files[0] != sharedRef("rows", "agg-0-gen1", "original") {
		t.Fatalf("Files() = %+v", files)
	}
	completeWith(t, st, 1, w1)

	// Stored by a completed checkpoint.
	st.BeginCheckpoint(2)
	bad := st.Writer(2, false, "agg", 0)
	if _, err := bad.CreateShared("rows", "agg-0-gen1"); err == nil {
		t.Fatal("CreateShared of a name checkpoint 1 stored succeeded")
	}
	if len(bad.Files()) != 0 || bad.UploadedBytes() != 0 {
		t.Fatalf("a refused CreateShared recorded %v", bad.Files())
	}
	wantShared(t, st, "agg-0-gen1")
	wantSharedBody(t, st, "agg-0-gen1", "original")
	w2 := st.Writer(2, false, "agg", 0)
	reuseShared(t, w2, "rows", "agg-0-gen1", true)
	if _, err := st.Writer(2, false, "agg", 1).CreateShared("rows", "agg-0-gen1"); err == nil {
		t.Fatal("CreateShared of a name this checkpoint reuses succeeded")
	}
	completeWith(t, st, 2, w2)
	if exists(st.chkDir(1)) {
		t.Fatal("chk-1 not dropped")
	}
	wantShared(t, st, "agg-0-gen1")
	m, err := st.Latest()
	if err != nil || m.ID != 2 {
		t.Fatalf("latest = %v, %v", m, err)
	}
	wantFiles(t, materialized(t, m), map[string]string{"rows": "original"})

	// Being stored by another checkpoint: refused at once, not waited
	// for; the one storing it is not disturbed.
	st.BeginCheckpoint(3)
	st.BeginCheckpoint(4)
	w3 := st.Writer(3, false, "agg", 0)
	f, err := w3.CreateShared("next", "agg-0-gen2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Writer(4, false, "agg", 0).CreateShared("next", "agg-0-gen2"); err == nil {
		t.Fatal("CreateShared of a name being stored succeeded")
	}
	if _, err := io.WriteString(f, "gen two"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	reuseShared(t, w3, "rows", "agg-0-gen1", true)
	completeWith(t, st, 3, w3)
	wantShared(t, st, "agg-0-gen1", "agg-0-gen2")
	wantSharedBody(t, st, "agg-0-gen2", "gen two")
	w4 := st.Writer(4, false, "agg", 0)
	reuseShared(t, w4, "next", "agg-0-gen2", true)
	completeWith(t, st, 4, w4)
	wantShared(t, st, "agg-0-gen2")
}

// A refused CreateShared must not drop the hold its checkpoint already has
// on the file: another checkpoint completing meanwhile would delete it.
func TestRefusedCreateSharedKeepsHoldOfItsCheckpoint(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.SetRetained(1)
	st.BeginCheckpoint(1)
	w1 := st.Writer(1, false, "agg", 0)
	createShared(t, w1, "rows", "agg-0-gen1", "original")
	completeWith(t, st, 1, w1)

	st.BeginCheckpoint(2)
	st.BeginCheckpoint(3)
	w2 := st.Writer(2, false, "agg", 0)
	reuseShared(t, w2, "rows", "agg-0-gen1", true)
	if _, err := st.Writer(2, false, "agg", 1).CreateShared("rows", "agg-0-gen1"); err == nil {
		t.Fatal("CreateShared of a stored name succeeded")
	}
	// Checkpoint 3 completes first and drops 1; 2 still holds the file.
	w3 := st.Writer(3, false, "agg", 0)
	writeFileTo(t, w3, "rows", "full")
	completeWith(t, st, 3, w3)
	wantShared(t, st, "agg-0-gen1")
	wantSharedBody(t, st, "agg-0-gen1", "original")
	st.Abort(2)
	wantShared(t, st)
}

func TestReuseSharedWaitsForFileBeingStored(t *testing.T) {
	for _, abort := range []bool{false, true} {
		st, _ := openTestStorage(t, t.TempDir())
		st.BeginCheckpoint(1)
		st.BeginCheckpoint(2)
		w1 := st.Writer(1, false, "agg", 0)
		f, err := w1.CreateShared("rows", "agg-0-gen1")
		if err != nil {
			t.Fatal(err)
		}
		w2 := st.Writer(2, false, "agg", 0)
		type result struct {
			ok  bool
			err error
		}
		done := make(chan result, 1)
		go func() {
			ok, err := w2.ReuseShared("rows", "agg-0-gen1")
			done <- result{ok, err}
		}()
		select {
		case r := <-done:
			t.Fatalf("ReuseShared returned %v, %v while the file was being stored", r.ok, r.err)
		case <-time.After(50 * time.Millisecond):
		}
		io.WriteString(f, "rows")
		if abort {
			f.(aborter).Abort()
		} else if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || r.ok == abort {
			t.Fatalf("abort %v: ReuseShared = %v, %v", abort, r.ok, r.err)
		}
		if abort {
			if len(w2.Files()) != 0 {
				t.Fatalf("recorded %v", w2.Files())
			}
			wantShared(t, st)
			continue
		}
		if files := w2.Files(); len(files) != 1 || files[0] != sharedRef("rows", "agg-0-gen1", "rows") {
			t.Fatalf("Files() = %+v", files)
		}
		// Checkpoint 1 fails; 2, which reused the file, keeps it.
		st.Abort(1)
		wantShared(t, st, "agg-0-gen1")
		completeWith(t, st, 2, w2)
		wantShared(t, st, "agg-0-gen1")
		if _, err := Load(st.chkDir(2)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReopenedStorageReusesSharedFilesOfCompletedCheckpoints(t *testing.T) {
	root := t.TempDir()
	st, _ := openTestStorage(t, root)
	st.SetRetained(2)
	st.BeginCheckpoint(1)
	w1 := st.Writer(1, false, "agg", 0)
	createShared(t, w1, "a", "agg-0-a", "aaaa")
	completeWith(t, st, 1, w1)
	st.BeginCheckpoint(2)
	w2 := st.Writer(2, false, "agg", 0)
	reuseShared(t, w2, "a", "agg-0-a", true)
	createShared(t, w2, "b", "agg-0-b", "bb")
	completeWith(t, st, 2, w2)
	// Crash during checkpoint 3: a shared file stored, no metadata, and a
	// shared file half written.
	st.BeginCheckpoint(3)
	w3 := st.Writer(3, false, "agg", 0)
	createShared(t, w3, "c", "agg-0-c", "ccc")
	half, err := w3.CreateShared("d", "agg-0-d")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(half, "dd")
	t.Cleanup(func() { half.(*sharedWriter).f.Close() }) // never closed: a crash

	st2, _ := openTestStorage(t, root)
	st2.SetRetained(1)
	wantShared(t, st2, "agg-0-a", "agg-0-b")
	if n := st2.NextID(); n != 4 {
		t.Fatalf("NextID = %d, want 4", n)
	}
	st2.BeginCheckpoint(4)
	w4 := st2.Writer(4, false, "agg", 0)
	reuseShared(t, w4, "a", "agg-0-a", true)
	reuseShared(t, w4, "b", "agg-0-b", true)
	reuseShared(t, w4, "c", "agg-0-c", false)
	reuseShared(t, w4, "d", "agg-0-d", false)
	if w4.UploadedBytes() != 0 {
		t.Fatalf("UploadedBytes = %d after reusing", w4.UploadedBytes())
	}
	want := []FileRef{sharedRef("a", "agg-0-a", "aaaa"), sharedRef("b", "agg-0-b", "bb")}
	if got := w4.Files(); !slices.Equal(got, want) {
		t.Fatalf("Files() = %+v, want %+v", got, want)
	}
	// The completed checkpoints still hold them once 4 lets go.
	if err := st2.Abort(4); err != nil {
		t.Fatal(err)
	}
	wantShared(t, st2, "agg-0-a", "agg-0-b")

	// The rebuilt counts let go of them with their last holder: 5 keeps
	// a only, and dropping 1 and 2 deletes b.
	st2.BeginCheckpoint(5)
	w5 := st2.Writer(5, false, "agg", 0)
	reuseShared(t, w5, "a", "agg-0-a", true)
	writeFileTo(t, w5, "state", "s5")
	completeWith(t, st2, 5, w5)
	if exists(st2.chkDir(1)) || exists(st2.chkDir(2)) {
		t.Fatal("old checkpoints not dropped")
	}
	wantShared(t, st2, "agg-0-a")
	m, err := st2.Latest()
	if err != nil || m.ID != 5 {
		t.Fatalf("latest = %v, %v", m, err)
	}
	wantFiles(t, materialized(t, m), map[string]string{"a": "aaaa", "state": "s5"})
}
