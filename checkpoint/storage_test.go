package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// snapshotWriter is exec.SnapshotWriter (exec imports this package).
type snapshotWriter interface {
	Create(name string) (io.WriteCloser, error)
	AddDir(dir string, sharedPrefix string) error
}

var _ snapshotWriter = (*Writer)(nil)

// writeDB fills a local directory standing for a DB instance's files.
func writeDB(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func openTestStorage(t *testing.T, root string) (*Storage, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	st, err := OpenStorage(root, "job", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return st, &logs
}

// metaOf is checkpoint id holding one operator subtask written by w.
func metaOf(id int64, savepoint bool, ws ...*Writer) *Metadata {
	m := &Metadata{ID: id, Savepoint: savepoint, TriggerTime: 1000 * id, CompletionTime: 1000*id + 5}
	op := OperatorState{ID: "agg", Name: "GroupAgg", Parallelism: len(ws), MaxParallelism: 128}
	for i, w := range ws {
		op.Subtasks = append(op.Subtasks, SubtaskState{Subtask: i, KeyGroupStart: i, KeyGroupEnd: i + 1, Files: w.Files()})
		m.Stats = append(m.Stats, TaskStats{Vertex: "agg", Subtask: i, StateBytes: w.FullBytes(), UploadedBytes: w.UploadedBytes()})
	}
	m.Operators = []OperatorState{op}
	return m
}

func sharedFiles(t *testing.T, st *Storage) []string {
	t.Helper()
	ents, err := os.ReadDir(st.sharedDir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func writeFileTo(t *testing.T, w *Writer, name, body string) {
	t.Helper()
	f, err := w.Create(name)
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

func TestIncrementalCheckpointsShareFiles(t *testing.T) {
	root := t.TempDir()
	st, _ := openTestStorage(t, root)
	st.SetRetained(1)
	db := filepath.Join(t.TempDir(), "db")
	writeDB(t, db, map[string]string{"000001.sst": "one", "000002.sst": "two!", "MANIFEST": "m1"})

	if err := st.BeginCheckpoint(1); err != nil {
		t.Fatal(err)
	}
	w1 := st.Writer(1, false, "agg", 0)
	if err := w1.AddDir(db, "db0-"); err != nil {
		t.Fatal(err)
	}
	if got, want := w1.UploadedBytes(), int64(3+4+2); got != want {
		t.Fatalf("first checkpoint uploaded %d bytes, want %d", got, want)
	}
	if err := st.Complete(metaOf(1, false, w1)); err != nil {
		t.Fatal(err)
	}

	// The DB compacted 000001 away, wrote 000003 and a new MANIFEST.
	os.Remove(filepath.Join(db, "000001.sst"))
	writeDB(t, db, map[string]string{"000003.sst": "three", "MANIFEST": "m2"})
	if err := st.BeginCheckpoint(2); err != nil {
		t.Fatal(err)
	}
	w2 := st.Writer(2, false, "agg", 0)
	if err := w2.AddDir(db, "db0-"); err != nil {
		t.Fatal(err)
	}
	if got, want := w2.UploadedBytes(), int64(5+2); got != want {
		t.Fatalf("second checkpoint uploaded %d bytes, want %d (only 000003.sst and MANIFEST)", got, want)
	}
	if got, want := w2.FullBytes(), int64(4+5+2); got != want {
		t.Fatalf("second checkpoint references %d bytes, want %d", got, want)
	}
	if err := st.Complete(metaOf(2, false, w2)); err != nil {
		t.Fatal(err)
	}

	// Retained = 1: checkpoint 1 is gone, and with it only the file no one
	// else uses.
	if exists(st.chkDir(1)) {
		t.Fatal("chk-1 still exists")
	}
	if got, want := sharedFiles(t, st), []string{"db0-000002.sst", "db0-000003.sst"}; !slices.Equal(got, want) {
		t.Fatalf("shared = %v, want %v", got, want)
	}
	m, err := st.Latest()
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 2 {
		t.Fatalf("latest = %d", m.ID)
	}
	dir, err := m.Materialize("agg", 0, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"000002.sst": "two!", "000003.sst": "three", "MANIFEST": "m2"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != want {
			t.Fatalf("materialized %s = %q, %v; want %q", name, b, err, want)
		}
	}
	if exists(filepath.Join(dir, "000001.sst")) {
		t.Fatal("materialized a file the checkpoint does not hold")
	}
}

func TestSharedFileOfPendingCheckpointSurvives(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.SetRetained(1)
	db := filepath.Join(t.TempDir(), "db")
	writeDB(t, db, map[string]string{"a.sst": "aaaa"})
	other := filepath.Join(t.TempDir(), "other")
	writeDB(t, other, map[string]string{"b.sst": "bb"})

	st.BeginCheckpoint(1)
	w1 := st.Writer(1, false, "agg", 0)
	if err := w1.AddDir(db, "x-"); err != nil {
		t.Fatal(err)
	}
	if err := st.Complete(metaOf(1, false, w1)); err != nil {
		t.Fatal(err)
	}
	// Checkpoint 2 references a.sst (without uploading it) but is not
	// complete when checkpoint 3, which does not use a.sst, drops 1.
	st.BeginCheckpoint(2)
	w2 := st.Writer(2, false, "agg", 0)
	if err := w2.AddDir(db, "x-"); err != nil {
		t.Fatal(err)
	}
	if w2.UploadedBytes() != 0 {
		t.Fatalf("re-uploaded a stored shared file: %d bytes", w2.UploadedBytes())
	}
	st.BeginCheckpoint(3)
	w3 := st.Writer(3, false, "agg", 0)
	if err := w3.AddDir(other, "y-"); err != nil {
		t.Fatal(err)
	}
	if err := st.Complete(metaOf(3, false, w3)); err != nil {
		t.Fatal(err)
	}
	if !exists(filepath.Join(st.sharedDir(), "x-a.sst")) {
		t.Fatal("shared file of pending checkpoint 2 deleted when checkpoint 1 was dropped")
	}
	// Aborting 2 lets go of the last reference.
	if err := st.Abort(2); err != nil {
		t.Fatal(err)
	}
	if got, want := sharedFiles(t, st), []string{"y-b.sst"}; !slices.Equal(got, want) {
		t.Fatalf("shared = %v, want %v", got, want)
	}
	if exists(st.chkDir(2)) {
		t.Fatal("aborted chk-2 still exists")
	}
}

func TestConcurrentWritersUploadSharedFileOnce(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.SetRetained(3)
	db := filepath.Join(t.TempDir(), "db")
	writeDB(t, db, map[string]string{"1.sst": "0123456789", "2.sst": "abc"})
	const ids, subtasks = 3, 4
	for id := int64(1); id <= ids; id++ {
		st.BeginCheckpoint(id)
	}
	var wg sync.WaitGroup
	ws := make([][]*Writer, ids)
	for id := range ids {
		ws[id] = make([]*Writer, subtasks)
		for sub := range subtasks {
			w := st.Writer(int64(id+1), false, "agg", sub)
			ws[id][sub] = w
			wg.Go(func() {
				if err := w.AddDir(db, "same-"); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	var uploaded int64
	for id := range ids {
		for _, w := range ws[id] {
			uploaded += w.UploadedBytes()
			if w.FullBytes() != 13 {
				t.Fatalf("writer references %d bytes, want 13", w.FullBytes())
			}
		}
	}
	if uploaded != 13 {
		t.Fatalf("uploaded %d bytes in all, want each shared file once (13)", uploaded)
	}
	for id := int64(1); id <= ids; id++ {
		if err := st.Complete(metaOf(id, false, ws[id-1]...)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := st.Latest()
	if err != nil || m.ID != ids {
		t.Fatalf("latest = %v, %v", m, err)
	}
}

func TestOpenStorageCleansCrashLeftovers(t *testing.T) {
	root := t.TempDir()
	st, _ := openTestStorage(t, root)
	db := filepath.Join(t.TempDir(), "db")
	writeDB(t, db, map[string]string{"k.sst": "kept"})
	st.BeginCheckpoint(1)
	w := st.Writer(1, false, "agg", 0)
	if err := w.AddDir(db, "p-"); err != nil {
		t.Fatal(err)
	}
	if err := st.Complete(metaOf(1, false, w)); err != nil {
		t.Fatal(err)
	}
	// A crash during checkpoint 2: task files and a shared file written,
	// no metadata; a half-copied temporary file in shared/.
	st.BeginCheckpoint(2)
	w2 := st.Writer(2, false, "agg", 0)
	writeFileTo(t, w2, "state", "partial")
	writeDB(t, st.sharedDir(), map[string]string{"p-orphan.sst": "x", ".p-z.sst.tmp123": "half"})

	st2, logs := openTestStorage(t, root)
	if exists(st2.chkDir(2)) {
		t.Fatal("incomplete chk-2 survived reopening")
	}
	if !exists(st2.chkDir(1)) {
		t.Fatal("complete chk-1 removed")
	}
	if got, want := sharedFiles(t, st2), []string{"p-k.sst"}; !slices.Equal(got, want) {
		t.Fatalf("shared = %v, want %v", got, want)
	}
	if !strings.Contains(logs.String(), "chk-2") {
		t.Fatalf("no log naming the removed checkpoint:\n%s", logs)
	}
	if n := st2.NextID(); n != 3 {
		t.Fatalf("NextID = %d after chk-2 existed, want 3", n)
	}
	// The rebuilt reference counts are right: dropping chk-1 deletes k.sst.
	st2.SetRetained(1)
	st2.BeginCheckpoint(3)
	w3 := st2.Writer(3, false, "agg", 0)
	writeFileTo(t, w3, "state", "s")
	if err := st2.Complete(metaOf(3, false, w3)); err != nil {
		t.Fatal(err)
	}
	if got := sharedFiles(t, st2); len(got) != 0 {
		t.Fatalf("shared = %v after the last user was dropped", got)
	}
}

func TestReopenReuploadsMissingSharedFile(t *testing.T) {
	root := t.TempDir()
	st, _ := openTestStorage(t, root)
	st.SetRetained(2)
	db := filepath.Join(t.TempDir(), "db")
	writeDB(t, db, map[string]string{"a.sst": "aaaa"})
	st.BeginCheckpoint(1)
	w := st.Writer(1, false, "agg", 0)
	if err := w.AddDir(db, "p-"); err != nil {
		t.Fatal(err)
	}
	if err := st.Complete(metaOf(1, false, w)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(st.sharedDir(), "p-a.sst"))

	st2, logs := openTestStorage(t, root)
	if !strings.Contains(logs.String(), "p-a.sst") {
		t.Fatalf("no warning about the missing shared file:\n%s", logs)
	}
	st2.BeginCheckpoint(2)
	w2 := st2.Writer(2, false, "agg", 0)
	if err := w2.AddDir(db, "p-"); err != nil {
		t.Fatal(err)
	}
	if w2.UploadedBytes() != 4 {
		t.Fatalf("uploaded %d bytes; the missing file must be stored again", w2.UploadedBytes())
	}
	if err := st2.Complete(metaOf(2, false, w2)); err != nil {
		t.Fatal(err)
	}
	if m, err := st2.Latest(); err != nil || m.ID != 2 {
		t.Fatalf("latest = %v, %v", m, err)
	}
}

func TestCompleteRefusesBadMetadataAndLeavesNoFile(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.BeginCheckpoint(1)
	w := st.Writer(1, false, "agg", 0)
	writeFileTo(t, w, "state", "s")
	m := metaOf(1, false, w)
	m.Operators[0].Subtasks[0].Files[0].Path = "../../escape"
	if err := st.Complete(m); err == nil {
		t.Fatal("Complete accepted a path leaving the checkpoint")
	}
	ents, _ := os.ReadDir(st.chkDir(1))
	for _, e := range ents {
		if !e.IsDir() {
			t.Fatalf("file %s left in chk-1 by a failed Complete", e.Name())
		}
	}
	// Still pending: a good metadata completes it, atomically.
	if err := st.Complete(metaOf(1, false, w)); err != nil {
		t.Fatal(err)
	}
	ents, _ = os.ReadDir(st.chkDir(1))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{"_metadata", "agg-0"}; !slices.Equal(names, want) {
		t.Fatalf("chk-1 holds %v, want %v", names, want)
	}
}

func TestLoadLatestSkipsBrokenCheckpoints(t *testing.T) {
	root := t.TempDir()
	st, _ := openTestStorage(t, root)
	st.SetRetained(3)
	for id := int64(1); id <= 3; id++ {
		st.BeginCheckpoint(id)
		w := st.Writer(id, false, "agg", 0)
		writeFileTo(t, w, "state", fmt.Sprintf("state of %d", id))
		if err := st.Complete(metaOf(id, false, w)); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	// Truncated state file in chk-3.
	if err := os.Truncate(filepath.Join(st.chkDir(3), "agg-0", "state"), 3); err != nil {
		t.Fatal(err)
	}
	m, err := LoadLatest(root, "job", logger)
	if err != nil || m.ID != 2 {
		t.Fatalf("LoadLatest = %v, %v; want checkpoint 2", m, err)
	}
	if !strings.Contains(logs.String(), "chk-3") || !strings.Contains(logs.String(), "expected") {
		t.Fatalf("no warning naming chk-3 and the problem:\n%s", logs.String())
	}

	// Same size, other bytes: only the checksum tells.
	if err := os.WriteFile(filepath.Join(st.chkDir(2), "agg-0", "state"), []byte("STATE OF 2"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	m, err = LoadLatest(root, "job", logger)
	if err != nil || m.ID != 1 {
		t.Fatalf("LoadLatest = %v, %v; want checkpoint 1", m, err)
	}
	if !strings.Contains(logs.String(), "checksum") {
		t.Fatalf("no checksum warning:\n%s", logs.String())
	}

	// Garbled metadata of the last one left.
	if err := os.WriteFile(filepath.Join(st.chkDir(1), MetadataFile), []byte(`{"version":1,"checkpoint_id":`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadLatest(root, "job", logger)
	if !errors.Is(err, ErrNoCheckpoint) || !strings.Contains(err.Error(), "no completed checkpoint in "+filepath.Join(root, "job")) {
		t.Fatalf("LoadLatest with nothing usable: %v", err)
	}
	if _, err := Load(st.chkDir(1)); err == nil {
		t.Fatal("Load accepted garbled metadata")
	}
	if _, err := Load(filepath.Join(st.chkDir(3), MetadataFile)); err == nil {
		t.Fatal("Load accepted a truncated file")
	}
}

func TestLoadRejectsBadMetadata(t *testing.T) {
	dir := t.TempDir()
	good := `{"version":1,"job_id":"j","checkpoint_id":4,"operators":[{"id":"op","parallelism":1,"subtasks":[{"subtask":0,"files":[{"path":"op-0/f","name":"f","size":0,"crc32c":0}]}]}]}`
	writeDB(t, filepath.Join(dir, "op-0"), map[string]string{"f": ""})
	cases := map[string]string{
		"not json":         "\x00\x01garbage",
		"null":             "null",
		"newer version":    strings.Replace(good, `"version":1`, `"version":99`, 1),
		"escaping path":    strings.Replace(good, `"op-0/f"`, `"../f"`, 1),
		"absolute path":    strings.Replace(good, `"op-0/f"`, `"/etc/passwd"`, 1),
		"slash in name":    strings.Replace(good, `"name":"f"`, `"name":"a/b"`, 1),
		"bad subtask":      strings.Replace(good, `"subtask":0`, `"subtask":3`, 1),
		"bad shared path":  strings.Replace(good, `"crc32c":0`, `"crc32c":0,"shared":true`, 1),
		"no parallelism":   strings.Replace(good, `"parallelism":1`, `"parallelism":0`, 1),
		"negative size":    strings.Replace(good, `"size":0`, `"size":-1`, 1),
		"missing file":     strings.Replace(good, `"op-0/f"`, `"op-0/g"`, 1),
		"wrong checkpoint": strings.Replace(good, `"checkpoint_id":4`, `"checkpoint_id":0`, 1),
	}
	for name, body := range cases {
		os.WriteFile(filepath.Join(dir, MetadataFile), []byte(body), 0o644)
		if _, err := Load(dir); err == nil {
			t.Errorf("%s: Load accepted %s", name, body)
		}
	}
	os.WriteFile(filepath.Join(dir, MetadataFile), []byte(good), 0o644)
	if _, err := Load(dir); err != nil {
		t.Fatalf("good metadata: %v", err)
	}
	// No prefix of a valid file makes the decoder panic or succeed.
	for i := range len(good) {
		if _, err := decodeMetadata([]byte(good[:i])); err == nil {
			t.Fatalf("prefix %q decoded", good[:i])
		}
	}
}

func TestSavepointIsSelfContainedAndRelocatable(t *testing.T) {
	root := t.TempDir()
	st, _ := openTestStorage(t, root)
	db := filepath.Join(t.TempDir(), "db")
	writeDB(t, db, map[string]string{"1.sst": "sst one", "CURRENT": "c"})
	// A checkpoint already holds 1.sst in shared/.
	st.BeginCheckpoint(1)
	w := st.Writer(1, false, "agg", 0)
	if err := w.AddDir(db, "d-"); err != nil {
		t.Fatal(err)
	}
	if err := st.Complete(metaOf(1, false, w)); err != nil {
		t.Fatal(err)
	}

	spDir := filepath.Join(t.TempDir(), "savepoints", "sp-2-12345")
	if err := st.BeginSavepoint(2, spDir); err != nil {
		t.Fatal(err)
	}
	ws := st.Writer(2, true, "agg", 0)
	if err := ws.AddDir(db, "d-"); err != nil {
		t.Fatal(err)
	}
	if ws.UploadedBytes() != ws.FullBytes() {
		t.Fatalf("savepoint uploaded %d of %d bytes: it must copy everything", ws.UploadedBytes(), ws.FullBytes())
	}
	cw := st.ChannelWriter(2, true, 1, 0)
	writeFileTo(t, cw, "channel-0", "in flight")
	m := metaOf(2, true, ws)
	m.Channels = []ChannelState{{Vertex: 1, Subtask: 0, Channel: 0, Files: cw.Files()}}
	if err := st.Complete(m); err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files() {
		if f.Shared || strings.HasPrefix(f.Path, "..") {
			t.Fatalf("savepoint references %s outside itself", f.Path)
		}
	}
	if got := sharedFiles(t, st); !slices.Equal(got, []string{"d-1.sst"}) {
		t.Fatalf("shared = %v", got)
	}

	// Move it elsewhere; the original and the job's checkpoints go.
	moved := filepath.Join(t.TempDir(), "elsewhere")
	copyTree(t, spDir, moved)
	os.RemoveAll(spDir)
	if err := st.Discard(); err != nil {
		t.Fatal(err)
	}
	if exists(st.Dir()) {
		t.Fatal("Discard left the job directory")
	}
	lm, err := Load(moved)
	if err != nil {
		t.Fatal(err)
	}
	if !lm.Savepoint || lm.ID != 2 || lm.InFlightBytes() != int64(len("in flight")) {
		t.Fatalf("loaded %+v", lm)
	}
	dir, err := lm.Materialize("agg", 0, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"1.sst": "sst one", "CURRENT": "c"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Fatalf("%s = %q, %v", name, b, err)
		}
	}
	b, err := os.ReadFile(lm.Path(lm.Channels[0].Files[0]))
	if err != nil || string(b) != "in flight" {
		t.Fatalf("channel state = %q, %v", b, err)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		return copyFile(p, filepath.Join(to, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAbortRemovesFilesAndRefusesLateWriters(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	db := filepath.Join(t.TempDir(), "db")
	writeDB(t, db, map[string]string{"new.sst": "n"})
	st.BeginCheckpoint(1)
	w := st.Writer(1, false, "agg", 0)
	writeFileTo(t, w, "state", "s")
	if err := w.AddDir(db, "q-"); err != nil {
		t.Fatal(err)
	}
	if err := st.Abort(1); err != nil {
		t.Fatal(err)
	}
	if exists(st.chkDir(1)) || len(sharedFiles(t, st)) != 0 {
		t.Fatalf("abort left files: dir %v, shared %v", exists(st.chkDir(1)), sharedFiles(t, st))
	}
	late := st.Writer(1, false, "agg", 1)
	if _, err := late.Create("state"); err == nil {
		t.Fatal("a writer of an aborted checkpoint created a file")
	}
	if err := late.AddDir(db, "q-"); err == nil {
		t.Fatal("a writer of an aborted checkpoint added a shared file")
	}
	if exists(st.chkDir(1)) || len(sharedFiles(t, st)) != 0 {
		t.Fatal("late writer left files")
	}
	// Completing an aborted checkpoint fails.
	if err := st.Complete(metaOf(1, false, w)); err == nil {
		t.Fatal("completed an aborted checkpoint")
	}
}

func TestWriterRejectsBadNames(t *testing.T) {
	st, _ := openTestStorage(t, t.TempDir())
	st.BeginCheckpoint(1)
	w := st.Writer(1, false, "agg", 0)
	for _, name := range []string{"", ".", "..", "a/b", `a\b`} {
		if _, err := w.Create(name); err == nil {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
	writeFileTo(t, w, "x", "1")
	if _, err := w.Create("x"); err == nil {
		t.Error("created x twice")
	}
	if _, err := st.Writer(1, false, "../evil", 0).Create("f"); err == nil {
		t.Error("operator id with a slash accepted")
	}
	if _, err := st.Writer(1, true, "agg", 1).Create("f"); err == nil {
		t.Error("savepoint writer for a checkpoint accepted")
	}
	if _, err := OpenStorage("", "job", nil); err == nil {
		t.Error("OpenStorage without a directory")
	}
	if _, err := OpenStorage(t.TempDir(), "../x", nil); err == nil {
		t.Error("OpenStorage with a job id escaping the directory")
	}
}

func TestListAndFormatTable(t *testing.T) {
	root := t.TempDir()
	st, _ := openTestStorage(t, root)
	st.SetRetained(2)
	for id := int64(1); id <= 2; id++ {
		st.BeginCheckpoint(id)
		w := st.Writer(id, false, "agg", 0)
		writeFileTo(t, w, "state", "0123456789")
		if err := st.Complete(metaOf(id, false, w)); err != nil {
			t.Fatal(err)
		}
	}
	st.BeginCheckpoint(3) // in progress
	os.Truncate(filepath.Join(st.chkDir(2), "agg-0", "state"), 1)

	for _, dir := range []string{root, st.Dir()} {
		sums, err := List(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range sums {
			got = append(got, fmt.Sprintf("%s/%d:%s", s.JobID, s.ID, s.Status))
		}
		want := []string{"job/1:COMPLETED", "job/2:CORRUPT", "job/3:INCOMPLETE"}
		if !slices.Equal(got, want) {
			t.Fatalf("List(%s) = %v, want %v", dir, got, want)
		}
		if sums[0].StateBytes != 10 || len(sums[0].Tasks) != 1 {
			t.Fatalf("summary %+v", sums[0])
		}
	}
	sums, _ := List(st.Dir())
	var out bytes.Buffer
	if err := FormatTable(&out, sums); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"ID", "STATUS", "IN-FLIGHT", "COMPLETED", "CORRUPT", "INCOMPLETE", "checkpoint", "10 B", "checkpoint 1 tasks:", "    TASK", "START DELAY"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if s, err := List(st.chkDir(1)); err != nil || len(s) != 1 || s[0].ID != 1 {
		t.Fatalf("List of one checkpoint = %v, %v", s, err)
	}
}
