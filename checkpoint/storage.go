package checkpoint

import (
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Storage is one job's checkpoint directory:
//
//	<dir>/<job>/chk-<n>/_metadata           written last, atomically
//	<dir>/<job>/chk-<n>/<operator>-<subtask>/ operator files
//	<dir>/<job>/chk-<n>/channels/<vertex>-<subtask>/ in-flight data
//	<dir>/<job>/shared/                     incremental SST files
//
// Shared files are reference counted in memory: every checkpoint, pending
// or completed, that references one holds it, and it is deleted when the
// last holder goes. The counts are rebuilt from the metadata on disk when
// the storage is opened. Savepoints live in directories of their own and
// never reference shared files.
type Storage struct {
	dir   string
	jobID string
	log   *slog.Logger

	mu       sync.Mutex
	retained int
	shared   map[string]*sharedFile
	// holds lists, per checkpoint id, the shared files it holds.
	holds map[int64]map[string]struct{}
	// pending are checkpoints and savepoints being written.
	pending map[int64]pendingDir
	// completed are the retained completed checkpoints, ascending.
	completed []int64
	// maxID is the highest id begun, finished or found on disk: a writer
	// for an unknown id above it begins that checkpoint implicitly, one at
	// or below it is late (its checkpoint was aborted).
	maxID int64
}

type pendingDir struct {
	dir       string
	savepoint bool
	// guard is read-held while a writer creates a file, and write-held by
	// Abort while it deletes: no file appears after an abort.
	guard *sync.RWMutex
}

type sharedFile struct {
	size    int64
	crc     uint32
	holders map[int64]struct{}
	// done is set (under Storage.mu) and ready closed when the upload
	// ended; err says whether it failed.
	done  bool
	ready chan struct{}
	err   error
}

// OpenStorage opens (creating it if needed) the checkpoint storage of job
// jobID under dir. It cleans up after a crash: chk-* directories without
// valid metadata are deleted, and so are shared files that no completed
// checkpoint references.
func OpenStorage(dir, jobID string, logger *slog.Logger) (*Storage, error) {
	if dir == "" {
		return nil, errors.New("checkpoint storage: no directory ('checkpoint.dir' is not set)")
	}
	if err := checkComponent(jobID); err != nil {
		return nil, fmt.Errorf("checkpoint storage: job id: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Storage{
		dir:      filepath.Join(dir, jobID),
		jobID:    jobID,
		log:      logger,
		retained: 1,
		shared:   map[string]*sharedFile{},
		holds:    map[int64]map[string]struct{}{},
		pending:  map[int64]pendingDir{},
	}
	if err := os.MkdirAll(s.sharedDir(), 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint storage: %w", err)
	}
	if err := s.recover(); err != nil {
		return nil, fmt.Errorf("checkpoint storage %s: %w", s.dir, err)
	}
	return s, nil
}

// recover rebuilds the reference counts from disk and removes crash
// leftovers.
func (s *Storage) recover() error {
	ids, err := checkpointIDs(s.dir)
	if err != nil {
		return err
	}
	for _, id := range ids {
		s.maxID = max(s.maxID, id)
		dir := s.chkDir(id)
		m, err := readMetadata(dir)
		if err == nil && m.ID != id {
			err = fmt.Errorf("metadata is of checkpoint %d", m.ID)
		}
		if err != nil {
			s.log.Warn("removing incomplete checkpoint", "dir", dir, "reason", err)
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			continue
		}
		s.completed = append(s.completed, id)
		for _, f := range m.Files() {
			if !f.Shared {
				continue
			}
			name := strings.TrimPrefix(f.Path, sharedRel)
			sf := s.shared[name]
			if sf == nil {
				// A missing or damaged file must not be deduplicated
				// against: leaving it unregistered makes the next
				// checkpoint upload it afresh.
				fi, err := os.Stat(filepath.Join(s.sharedDir(), name))
				if err != nil || fi.Size() != f.Size {
					s.log.Warn("checkpoint references a missing or damaged shared file", "dir", dir, "file", name)
					continue
				}
				sf = &sharedFile{size: f.Size, crc: f.CRC32C, holders: map[int64]struct{}{}, done: true, ready: closedChan()}
				s.shared[name] = sf
			}
			s.holdLocked(id, name, sf)
		}
	}
	ents, err := os.ReadDir(s.sharedDir())
	if err != nil {
		return err
	}
	for _, e := range ents {
		if _, ok := s.shared[e.Name()]; ok {
			continue
		}
		p := filepath.Join(s.sharedDir(), e.Name())
		s.log.Info("removing unreferenced shared file", "file", p)
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// Dir is the job's checkpoint directory.
func (s *Storage) Dir() string { return s.dir }

// JobID is the job the storage belongs to.
func (s *Storage) JobID() string { return s.jobID }

// SetRetained sets how many completed checkpoints are kept (at least 1).
func (s *Storage) SetRetained(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retained = max(n, 1)
}

// NextID is an id above every checkpoint the storage has seen.
func (s *Storage) NextID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxID + 1
}

// Completed returns the ids of the retained completed checkpoints,
// ascending.
func (s *Storage) Completed() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.completed)
}

func (s *Storage) sharedDir() string { return filepath.Join(s.dir, "shared") }

func (s *Storage) chkDir(id int64) string {
	return filepath.Join(s.dir, "chk-"+strconv.FormatInt(id, 10))
}

// BeginCheckpoint creates the directory of checkpoint id.
func (s *Storage) BeginCheckpoint(id int64) error {
	return s.begin(id, s.chkDir(id), false)
}

// BeginSavepoint starts savepoint id in dir, which must not exist yet.
func (s *Storage) BeginSavepoint(id int64, dir string) error {
	if dir == "" {
		return errors.New("savepoint: no directory")
	}
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("savepoint: %s already exists", dir)
	}
	return s.begin(id, dir, true)
}

func (s *Storage) begin(id int64, dir string, savepoint bool) error {
	s.mu.Lock()
	if _, ok := s.pending[id]; ok || id <= s.maxID {
		s.mu.Unlock()
		return fmt.Errorf("checkpoint %d: id already used", id)
	}
	s.maxID = id
	s.pending[id] = pendingDir{dir: dir, savepoint: savepoint, guard: &sync.RWMutex{}}
	s.mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint %d: %w", id, err)
	}
	return nil
}

// targetLocked returns pending checkpoint id. A checkpoint id never seen
// before is begun implicitly (writers used without a coordinator); an id
// already finished is refused, so a late writer of an aborted checkpoint
// cannot leave files behind.
func (s *Storage) targetLocked(id int64, savepoint bool) (pendingDir, error) {
	p, ok := s.pending[id]
	if !ok {
		if savepoint || id <= s.maxID {
			return p, fmt.Errorf("checkpoint %d is not in progress", id)
		}
		p = pendingDir{dir: s.chkDir(id), guard: &sync.RWMutex{}}
		s.pending[id] = p
		s.maxID = id
	}
	if p.savepoint != savepoint {
		return p, fmt.Errorf("checkpoint %d: savepoint is %v, writer says %v", id, p.savepoint, savepoint)
	}
	return p, nil
}

// create makes file sub/name of pending checkpoint id.
func (s *Storage) create(id int64, savepoint bool, sub, name string) (*os.File, error) {
	s.mu.Lock()
	p, err := s.targetLocked(id, savepoint)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	// Never blocks: Abort write-locks only after it removed p from
	// pending, which it cannot have done yet.
	p.guard.RLock()
	s.mu.Unlock()
	defer p.guard.RUnlock()
	dir := filepath.Join(p.dir, filepath.FromSlash(sub))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint %d: %w", id, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %d: %w", id, err)
	}
	return f, nil
}

func (s *Storage) holdLocked(id int64, name string, sf *sharedFile) {
	sf.holders[id] = struct{}{}
	h := s.holds[id]
	if h == nil {
		h = map[string]struct{}{}
		s.holds[id] = h
	}
	h[name] = struct{}{}
}

// releaseLocked drops one hold; the file goes when nobody holds it. The
// removal happens under the lock so that no writer can re-upload the same
// name in between.
func (s *Storage) releaseLocked(id int64, name string) {
	if h := s.holds[id]; h != nil {
		delete(h, name)
		if len(h) == 0 {
			delete(s.holds, id)
		}
	}
	sf := s.shared[name]
	if sf == nil {
		return
	}
	delete(sf.holders, id)
	if len(sf.holders) > 0 || !sf.done {
		// An upload in progress checks for holders when it ends.
		return
	}
	delete(s.shared, name)
	if err := os.Remove(filepath.Join(s.sharedDir(), name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("removing shared checkpoint file", "file", name, "err", err)
	}
}

func (s *Storage) releaseAllLocked(id int64) {
	for name := range s.holds[id] {
		s.releaseLocked(id, name)
	}
	delete(s.holds, id)
}

// addShared stores src as shared file name for checkpoint id, unless it is
// already stored (or being stored by another writer, which it waits for).
func (s *Storage) addShared(id int64, name, src string) (size int64, crc uint32, uploaded bool, err error) {
	fi, err := os.Stat(src)
	if err != nil {
		return 0, 0, false, err
	}
	sf, existing, err := s.claimShared(id, name, true)
	if err != nil {
		return 0, 0, false, err
	}
	if existing {
		<-sf.ready
		if sf.err != nil {
			return 0, 0, false, fmt.Errorf("shared file %s: %w", name, sf.err)
		}
		if sf.size != fi.Size() {
			return 0, 0, false, fmt.Errorf("shared file %s is stored with %d bytes but %s has %d: the prefix must identify the DB instance", name, sf.size, src, fi.Size())
		}
		return sf.size, sf.crc, false, nil
	}
	size, crc, err = copyAtomic(src, filepath.Join(s.sharedDir(), name))
	if err := s.finishShared(id, name, sf, size, crc, err); err != nil {
		return 0, 0, false, err
	}
	return size, crc, true, nil
}

// claimShared holds shared file name for checkpoint id. existing: it is
// stored, or being stored (wait for sf.ready), and held only if
// holdExisting; otherwise the caller must store it and call finishShared.
func (s *Storage) claimShared(id int64, name string, holdExisting bool) (sf *sharedFile, existing bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.targetLocked(id, false); err != nil {
		return nil, false, err
	}
	if sf := s.shared[name]; sf != nil {
		// Holding it first keeps it alive even if its last completed
		// user is dropped meanwhile.
		if holdExisting {
			s.holdLocked(id, name, sf)
		}
		return sf, true, nil
	}
	sf = &sharedFile{holders: map[int64]struct{}{}, ready: make(chan struct{})}
	s.shared[name] = sf
	s.holdLocked(id, name, sf)
	return sf, false, nil
}

// finishShared ends the storing of a claimed shared file: err is how it
// went. A file that failed, or that every checkpoint holding it gave up
// on meanwhile, is forgotten and removed.
func (s *Storage) finishShared(id int64, name string, sf *sharedFile, size int64, crc uint32, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sf.size, sf.crc, sf.err, sf.done = size, crc, err, true
	close(sf.ready)
	if err == nil && len(sf.holders) > 0 {
		return nil
	}
	// Failed, or every checkpoint that wanted it was aborted meanwhile.
	if s.shared[name] == sf {
		delete(s.shared, name)
	}
	for h := range sf.holders {
		if hs := s.holds[h]; hs != nil {
			delete(hs, name)
		}
	}
	if err == nil {
		os.Remove(filepath.Join(s.sharedDir(), name))
		err = fmt.Errorf("checkpoint %d was aborted", id)
	}
	return err
}

// reuseShared holds shared file name, already stored, for checkpoint id;
// ok is false when it is not stored (never, or its storing failed).
func (s *Storage) reuseShared(id int64, name string) (size int64, crc uint32, ok bool, err error) {
	s.mu.Lock()
	if _, err := s.targetLocked(id, false); err != nil {
		s.mu.Unlock()
		return 0, 0, false, err
	}
	sf := s.shared[name]
	if sf == nil {
		s.mu.Unlock()
		return 0, 0, false, nil
	}
	s.holdLocked(id, name, sf)
	s.mu.Unlock()
	<-sf.ready
	if sf.err != nil {
		return 0, 0, false, nil // finishShared dropped the holds
	}
	return sf.size, sf.crc, true, nil
}

// Complete makes meta's checkpoint complete: it writes _metadata
// atomically, then drops the completed checkpoints beyond the retained
// number. On error the checkpoint is still pending; the caller aborts it.
func (s *Storage) Complete(meta *Metadata) error {
	if meta == nil {
		return errors.New("complete checkpoint: no metadata")
	}
	if meta.Version == 0 {
		meta.Version = MetadataVersion
	}
	if meta.JobID == "" {
		meta.JobID = s.jobID
	}
	id := meta.ID
	s.mu.Lock()
	p, ok := s.pending[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("complete checkpoint %d: not in progress", id)
	}
	if p.savepoint != meta.Savepoint {
		s.mu.Unlock()
		return fmt.Errorf("complete checkpoint %d: savepoint flag differs from its start", id)
	}
	want := map[string]struct{}{}
	if !meta.Savepoint {
		for _, name := range meta.sharedNames() {
			want[name] = struct{}{}
			if _, held := s.holds[id][name]; held {
				continue
			}
			// Referenced without having been written through this
			// storage's writers: accept only a file that is there.
			sf := s.shared[name]
			if sf == nil {
				if _, err := os.Stat(filepath.Join(s.sharedDir(), name)); err != nil {
					s.mu.Unlock()
					return fmt.Errorf("complete checkpoint %d: shared file: %w", id, err)
				}
				sf = &sharedFile{holders: map[int64]struct{}{}, done: true, ready: closedChan()}
				s.shared[name] = sf
			} else if !sf.done {
				s.mu.Unlock()
				return fmt.Errorf("complete checkpoint %d: shared file %s is still being written", id, name)
			}
			s.holdLocked(id, name, sf)
		}
	}
	s.mu.Unlock()

	b, err := meta.encode()
	if err != nil {
		return fmt.Errorf("complete checkpoint %d: %w", id, err)
	}
	if err := writeAtomic(filepath.Join(p.dir, MetadataFile), b); err != nil {
		return fmt.Errorf("complete checkpoint %d: %w", id, err)
	}
	meta.Dir = p.dir

	s.mu.Lock()
	if _, ok := s.pending[id]; !ok {
		// Aborted while the metadata was written.
		s.mu.Unlock()
		os.RemoveAll(p.dir)
		return fmt.Errorf("complete checkpoint %d: aborted meanwhile", id)
	}
	delete(s.pending, id)
	for name := range s.holds[id] {
		if _, ok := want[name]; !ok {
			s.releaseLocked(id, name)
		}
	}
	if meta.Savepoint {
		s.mu.Unlock()
		return nil
	}
	i, _ := slices.BinarySearch(s.completed, id)
	s.completed = slices.Insert(s.completed, i, id)
	var drop []int64
	for len(s.completed) > s.retained {
		old := s.completed[0]
		s.completed = s.completed[1:]
		s.releaseAllLocked(old)
		drop = append(drop, old)
	}
	s.mu.Unlock()
	for _, old := range drop {
		if err := os.RemoveAll(s.chkDir(old)); err != nil {
			s.log.Warn("removing subsumed checkpoint", "id", old, "err", err)
		}
	}
	return nil
}

// Abort deletes what checkpoint id wrote and lets go of its shared files.
// A completed checkpoint is left alone.
func (s *Storage) Abort(id int64) error {
	s.mu.Lock()
	if _, ok := slices.BinarySearch(s.completed, id); ok {
		s.mu.Unlock()
		return nil
	}
	dir := s.chkDir(id)
	var guard *sync.RWMutex
	if p, ok := s.pending[id]; ok {
		dir, guard = p.dir, p.guard
		delete(s.pending, id)
	}
	s.releaseAllLocked(id)
	s.mu.Unlock()
	if guard != nil {
		// Wait for files being created; later ones are refused.
		guard.Lock()
		defer guard.Unlock()
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("abort checkpoint %d: %w", id, err)
	}
	return nil
}

// Discard deletes every checkpoint of the job (a job cancelled without
// 'checkpoint.retain-on-cancellation'). Savepoints that are complete are
// kept.
func (s *Storage) Discard() error {
	s.mu.Lock()
	var dirs []string
	var guards []*sync.RWMutex
	for id, p := range s.pending {
		dirs = append(dirs, p.dir)
		guards = append(guards, p.guard)
		delete(s.pending, id)
	}
	for _, id := range s.completed {
		dirs = append(dirs, s.chkDir(id))
	}
	s.completed = nil
	s.shared = map[string]*sharedFile{}
	s.holds = map[int64]map[string]struct{}{}
	s.mu.Unlock()
	for _, g := range guards {
		g.Lock()
		defer g.Unlock()
	}
	ids, err := checkpointIDs(s.dir)
	if err != nil {
		return fmt.Errorf("discard checkpoints: %w", err)
	}
	for _, id := range ids {
		dirs = append(dirs, s.chkDir(id))
	}
	dirs = append(dirs, s.sharedDir())
	var errs []error
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	// Only if nothing else (a savepoint root, say) lives there.
	os.Remove(s.dir)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("discard checkpoints: %w", err)
	}
	return nil
}

// Latest returns the newest completed checkpoint that verifies.
func (s *Storage) Latest() (*Metadata, error) {
	return loadLatest(s.dir, s.log)
}

// Writer returns the writer of one operator subtask's files for checkpoint
// (or savepoint) id. Operator files go to "<operatorID>-<subtask>/".
func (s *Storage) Writer(checkpointID int64, savepoint bool, operatorID string, subtask int) *Writer {
	w := &Writer{st: s, id: checkpointID, savepoint: savepoint, names: map[string]bool{}}
	w.sub = fmt.Sprintf("%s-%d", operatorID, subtask)
	if err := checkComponent(operatorID); err != nil {
		w.err = fmt.Errorf("operator id: %w", err)
	} else if subtask < 0 {
		w.err = fmt.Errorf("subtask %d", subtask)
	}
	return w
}

// ChannelWriter returns the writer of one task's in-flight data, stored
// under "channels/<vertex>-<subtask>/".
func (s *Storage) ChannelWriter(checkpointID int64, savepoint bool, vertex, subtask int) *Writer {
	w := &Writer{st: s, id: checkpointID, savepoint: savepoint, names: map[string]bool{}}
	w.sub = fmt.Sprintf("channels/%d-%d", vertex, subtask)
	if vertex < 0 || subtask < 0 {
		w.err = fmt.Errorf("channel state of task %d/%d", vertex, subtask)
	}
	return w
}

// Writer stores one operator subtask's files of a checkpoint and records
// them. It implements exec.SnapshotWriter.
type Writer struct {
	st        *Storage
	id        int64
	savepoint bool
	sub       string // slash-separated directory inside the checkpoint
	err       error  // a bad operator id or subtask, reported on use

	mu       sync.Mutex
	names    map[string]bool
	files    []FileRef
	uploaded int64
	full     int64
}

// Files returns the files written so far, in order.
func (w *Writer) Files() []FileRef {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.files)
}

// UploadedBytes is what this writer actually copied (shared files already
// stored do not count).
func (w *Writer) UploadedBytes() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.uploaded
}

// FullBytes is the size of every file the writer references.
func (w *Writer) FullBytes() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.full
}

// reserve claims a file name, so that one subtask never has two files of
// the same name.
func (w *Writer) reserve(name string) error {
	if w.err != nil {
		return fmt.Errorf("checkpoint %d: %w", w.id, w.err)
	}
	if err := checkComponent(name); err != nil {
		return fmt.Errorf("checkpoint %d: file: %w", w.id, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.names[name] {
		return fmt.Errorf("checkpoint %d: %s/%s written twice", w.id, w.sub, name)
	}
	w.names[name] = true
	return nil
}

func (w *Writer) record(f FileRef, uploaded int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.files = append(w.files, f)
	w.uploaded += uploaded
	w.full += f.Size
}

// Create makes file name in the subtask's directory; Close makes it
// durable and records it.
func (w *Writer) Create(name string) (io.WriteCloser, error) {
	if err := w.reserve(name); err != nil {
		return nil, err
	}
	f, err := w.st.create(w.id, w.savepoint, w.sub, name)
	if err != nil {
		return nil, err
	}
	return &fileWriter{w: w, f: f, name: name, crc: newCRC()}, nil
}

// AddDir copies the regular files of dir. With sharedPrefix set (and not a
// savepoint) *.sst files go to the job's shared directory, once.
func (w *Writer) AddDir(dir string, sharedPrefix string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("checkpoint %d: %w", w.id, err)
	}
	share := sharedPrefix != "" && !w.savepoint
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		name, src := e.Name(), filepath.Join(dir, e.Name())
		if !share || !strings.HasSuffix(name, ".sst") {
			if err := w.copyIn(src, name); err != nil {
				return err
			}
			continue
		}
		sharedName := sharedPrefix + name
		if err := checkComponent(sharedName); err != nil {
			return fmt.Errorf("checkpoint %d: shared file: %w", w.id, err)
		}
		if err := w.reserve(name); err != nil {
			return err
		}
		size, crc, uploaded, err := w.st.addShared(w.id, sharedName, src)
		if err != nil {
			return fmt.Errorf("checkpoint %d: %w", w.id, err)
		}
		var up int64
		if uploaded {
			up = size
		}
		w.record(FileRef{Path: sharedRel + sharedName, Name: name, Size: size, CRC32C: crc, Shared: true}, up)
	}
	return nil
}

// CreateShared implements exec.SharedSnapshotWriter: the file is written
// straight into the job's shared directory (in a savepoint, into the
// checkpoint like Create) and recorded when Close has made it durable.
func (w *Writer) CreateShared(name, sharedName string) (io.WriteCloser, error) {
	if w.savepoint {
		return w.Create(name)
	}
	if err := checkComponent(sharedName); err != nil {
		return nil, fmt.Errorf("checkpoint %d: shared file: %w", w.id, err)
	}
	if err := w.reserve(name); err != nil {
		return nil, err
	}
	sf, existing, err := w.st.claimShared(w.id, sharedName, false)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %d: %w", w.id, err)
	}
	if existing {
		// Names say what a file holds: another writer storing the same
		// one is a bug of its operator, not something to wait for. No
		// hold was taken: releasing one could drop a hold this
		// checkpoint already had (a ReuseShared, an earlier CreateShared).
		return nil, fmt.Errorf("checkpoint %d: shared file %s is already stored", w.id, sharedName)
	}
	f, err := os.CreateTemp(w.st.sharedDir(), "."+sharedName+".tmp*")
	if err != nil {
		err = fmt.Errorf("checkpoint %d: %w", w.id, err)
		w.st.finishShared(w.id, sharedName, sf, 0, 0, err)
		return nil, err
	}
	return &sharedWriter{w: w, sf: sf, f: f, name: name, sharedName: sharedName, crc: newCRC()}, nil
}

// ReuseShared implements exec.SharedSnapshotWriter.
func (w *Writer) ReuseShared(name, sharedName string) (bool, error) {
	if w.savepoint {
		return false, nil
	}
	if err := checkComponent(sharedName); err != nil {
		return false, fmt.Errorf("checkpoint %d: shared file: %w", w.id, err)
	}
	size, crc, ok, err := w.st.reuseShared(w.id, sharedName)
	if err != nil {
		return false, fmt.Errorf("checkpoint %d: %w", w.id, err)
	}
	if !ok {
		return false, nil
	}
	if err := w.reserve(name); err != nil {
		return false, err
	}
	w.record(FileRef{Path: sharedRel + sharedName, Name: name, Size: size, CRC32C: crc, Shared: true}, 0)
	return true, nil
}

// sharedWriter writes a new shared file through a temporary file in the
// shared directory. A write error, or Abort, discards it.
type sharedWriter struct {
	w                *Writer
	sf               *sharedFile
	f                *os.File
	name, sharedName string
	crc              hash.Hash32
	n                int64
	err              error
	closed           bool
}

func (sw *sharedWriter) Write(p []byte) (int, error) {
	if sw.closed {
		return 0, fs.ErrClosed
	}
	if sw.err != nil {
		return 0, sw.err
	}
	n, err := sw.f.Write(p)
	sw.crc.Write(p[:n])
	sw.n += int64(n)
	sw.err = err
	return n, err
}

// Close makes the file durable under its shared name and records it.
func (sw *sharedWriter) Close() error {
	if sw.closed {
		return fs.ErrClosed
	}
	sw.closed = true
	err := sw.err
	if err == nil {
		err = sw.f.Sync()
	}
	if cerr := sw.f.Close(); err == nil {
		err = cerr
	}
	dst := filepath.Join(sw.w.st.sharedDir(), sw.sharedName)
	if err == nil {
		err = os.Rename(sw.f.Name(), dst)
	}
	if err == nil {
		err = syncDir(filepath.Dir(dst))
	}
	if err != nil {
		os.Remove(sw.f.Name())
		err = fmt.Errorf("checkpoint %d: shared file %s: %w", sw.w.id, sw.sharedName, err)
	}
	if err := sw.w.st.finishShared(sw.w.id, sw.sharedName, sw.sf, sw.n, sw.crc.Sum32(), err); err != nil {
		return err
	}
	sw.w.record(FileRef{Path: sharedRel + sw.sharedName, Name: sw.name, Size: sw.n, CRC32C: sw.crc.Sum32(), Shared: true}, sw.n)
	return nil
}

// Abort discards the file: it is never stored or recorded.
func (sw *sharedWriter) Abort() {
	if sw.closed {
		return
	}
	sw.closed = true
	sw.f.Close()
	os.Remove(sw.f.Name())
	sw.w.st.finishShared(sw.w.id, sw.sharedName, sw.sf, 0, 0, errors.New("aborted by its writer"))
}

func (w *Writer) copyIn(src, name string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("checkpoint %d: %w", w.id, err)
	}
	defer in.Close()
	out, err := w.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("checkpoint %d: copy %s: %w", w.id, name, err)
	}
	return out.Close()
}

// fileWriter checksums what it writes and records the file on Close.
type fileWriter struct {
	w      *Writer
	f      *os.File
	name   string
	crc    hash.Hash32
	n      int64
	closed bool
}

func (fw *fileWriter) Write(p []byte) (int, error) {
	if fw.closed {
		return 0, fs.ErrClosed
	}
	n, err := fw.f.Write(p)
	fw.crc.Write(p[:n])
	fw.n += int64(n)
	return n, err
}

func (fw *fileWriter) Close() error {
	if fw.closed {
		return fs.ErrClosed
	}
	fw.closed = true
	if err := fw.f.Sync(); err != nil {
		fw.f.Close()
		return fmt.Errorf("checkpoint %d: sync %s: %w", fw.w.id, fw.name, err)
	}
	if err := fw.f.Close(); err != nil {
		return fmt.Errorf("checkpoint %d: %w", fw.w.id, err)
	}
	if err := syncDir(filepath.Dir(fw.f.Name())); err != nil {
		return fmt.Errorf("checkpoint %d: %w", fw.w.id, err)
	}
	fw.w.record(FileRef{Path: fw.w.sub + "/" + fw.name, Name: fw.name, Size: fw.n, CRC32C: fw.crc.Sum32()}, fw.n)
	return nil
}

func newCRC() hash.Hash32 { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }

// copyAtomic copies src to dst through a temporary file, so dst is either
// absent or complete.
func copyAtomic(src, dst string) (int64, uint32, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, 0, err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return 0, 0, err
	}
	h := newCRC()
	n, err := io.Copy(io.MultiWriter(tmp, h), in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, 0, err
	}
	return n, h.Sum32(), syncDir(filepath.Dir(dst))
}

// writeAtomic writes b to name: temporary file, fsync, rename, fsync of the
// directory.
func writeAtomic(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(filepath.Dir(name))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkpointIDs lists the ids of the chk-<n> directories in dir, ascending.
func checkpointIDs(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var ids []int64
	for _, e := range ents {
		if id, ok := parseChkName(e.Name()); ok && e.IsDir() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func parseChkName(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, "chk-")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != rest {
		return 0, false
	}
	return id, true
}
