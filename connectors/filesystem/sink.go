package filesystem

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec/batch"
)

// flushBytes is how much encoded output is buffered before a write.
const flushBytes = 256 << 10

// sink writes one subtask's part files with Flink's FileSink protocol. A
// part file is written as a hidden in-progress file
// (".part-<token>-<subtask>-<n>.<ext>.inprogress", skipped by directory
// readers) and renamed to "part-<token>-<subtask>-<n>.<ext>" when it is
// committed:
//
//   - without checkpoints, at Finish;
//   - with checkpoints, PreCommit closes the open file and records it (with
//     files rolled since the last barrier) as pending for the checkpoint,
//     and Commit renames the pending files once the checkpoint completes.
//
// So a reader never sees rows of an uncommitted checkpoint, and the rows of
// a checkpoint appear exactly once. token is derived from the table name
// and its directory: a restarted job finds its own files (and nobody
// else's) by name, and n, kept across restarts, never repeats a name.
type sink struct {
	cfg *config
	enc format.Encoder
	now func() time.Time

	token   string // 8 hex digits, from the table name and path
	subtask int
	prefix  string // "part-<token>-<subtask>-"
	counter int64  // number of the next part file

	f        *os.File
	cw       *format.ContainerWriter // container formats (avro)
	cur      string                  // visible name of the open part file
	curSize  int64
	curSince time.Time
	buf      []byte

	rolled   []string      // closed since the last PreCommit
	pending  []pendingPart // pre-committed, waiting for Commit
	opened   bool
	finished bool
}

// pendingPart is a closed in-progress file that checkpoint commits.
type pendingPart struct {
	checkpoint int64
	name       string // visible name, without the directory
}

func newSink(c *config, t connectors.Table) *sink {
	return &sink{cfg: c, enc: c.format.NewEncoder(), now: clock(t), token: fileToken(c)}
}

// fileToken names a table's files: the same on every run of a job, so
// Recover can find what an earlier attempt left, and different for other
// tables writing the same directory.
func fileToken(c *config) string {
	return fmt.Sprintf("%08x", uint32(fnv64(c.table, c.path)))
}

// Open creates the output directory and starts numbering part files after
// every one of this subtask already there.
func (s *sink) Open(_ context.Context, subtask, parallelism int) error {
	if parallelism < 1 || subtask < 0 || subtask >= parallelism {
		return fmt.Errorf("filesystem '%s': invalid subtask %d of %d", s.cfg.table, subtask, parallelism)
	}
	if err := os.MkdirAll(s.cfg.path, 0o755); err != nil {
		return fmt.Errorf("filesystem '%s': cannot create output directory: %w", s.cfg.table, err)
	}
	s.subtask = subtask
	s.prefix = partPrefix(s.token, subtask)
	entries, err := os.ReadDir(s.cfg.path)
	if err != nil {
		return fmt.Errorf("filesystem '%s': cannot list output directory: %w", s.cfg.table, err)
	}
	for _, e := range entries {
		if n, ok := partNumber(e.Name(), s.prefix); ok && n >= s.counter {
			s.counter = n + 1
		}
	}
	s.opened = true
	return nil
}

func partPrefix(token string, subtask int) string {
	return "part-" + token + "-" + strconv.Itoa(subtask) + "-"
}

// partNumber returns n of a visible or in-progress part file named with
// prefix ("part-<token>-<subtask>-").
func partNumber(name, prefix string) (int64, bool) {
	name = strings.TrimPrefix(name, ".")
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	digits, _, _ := strings.Cut(rest, ".")
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n >= 0 && n < math.MaxInt64
}

// Write appends the batch's rows to the current part file, rolling over to
// a new file by size and age.
func (s *sink) Write(_ context.Context, b batch.Batch) error {
	if !s.opened || s.finished {
		return fmt.Errorf("filesystem '%s': write to a sink that is not open", s.cfg.table)
	}
	if !s.cfg.format.Changelog() && !b.InsertOnly() {
		return fmt.Errorf("filesystem '%s': format '%s' takes only inserts (+I), not updates or deletes", s.cfg.table, s.cfg.format.Name())
	}
	if b.Len() == 0 {
		return nil
	}
	if s.f != nil && s.now().Sub(s.curSince) >= s.cfg.rolloverInterval {
		if err := s.roll(); err != nil {
			return err
		}
	}
	for r := 0; r < b.Len(); r++ {
		if s.f == nil {
			if err := s.openPart(); err != nil {
				return err
			}
		}
		if s.cw != nil {
			if err := s.cw.Append(b, r); err != nil {
				return fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
			}
			s.curSize = s.cw.Size()
		} else {
			n := len(s.buf)
			s.buf = s.enc.Encode(s.buf, b, r)
			s.buf = append(s.buf, '\n')
			s.curSize += int64(len(s.buf) - n)
		}
		if s.curSize >= s.cfg.fileSize {
			if err := s.roll(); err != nil {
				return err
			}
		} else if len(s.buf) >= flushBytes {
			if err := s.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *sink) hiddenPath(name string) string {
	return filepath.Join(s.cfg.path, "."+name+".inprogress")
}

func (s *sink) visiblePath(name string) string { return filepath.Join(s.cfg.path, name) }

// openPart creates the next part file. Names already taken (by a job
// writing the same table at the same time) are skipped, never reused.
func (s *sink) openPart() error {
	for range 1000 {
		name := s.prefix + strconv.FormatInt(s.counter, 10) + s.cfg.format.Extension()
		s.counter++
		if _, err := os.Lstat(s.visiblePath(name)); err == nil {
			continue
		}
		f, err := os.OpenFile(s.hiddenPath(name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
		}
		if s.cfg.format.Container() {
			cw, err := s.cfg.format.NewContainerWriter(f)
			if err != nil {
				f.Close()
				os.Remove(s.hiddenPath(name))
				return fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
			}
			s.cw = cw
		}
		s.f, s.cur, s.curSize, s.curSince = f, name, 0, s.now()
		return nil
	}
	return fmt.Errorf("filesystem '%s': no free part file name after %s%d", s.cfg.table, s.prefix, s.counter)
}

// flush writes what is buffered; a container's open block is written
// out, so the file is a complete container.
func (s *sink) flush() error {
	if s.cw != nil {
		if err := s.cw.Flush(); err != nil {
			return fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
		}
		return nil
	}
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.f.Write(s.buf)
	s.buf = s.buf[:0]
	if err != nil {
		return fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
	}
	return nil
}

// roll closes the current part file durably; it stays in progress until
// it is committed.
func (s *sink) roll() error {
	if err := s.flush(); err != nil {
		return err
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.rolled = append(s.rolled, s.cur)
	s.f, s.cw, s.cur = nil, nil, ""
	if err != nil {
		return fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
	}
	return nil
}

// PreCommit implements connectors.TransactionalSink: the open part file is
// closed (the next rows go to a new one), and it and the files rolled
// since the last barrier become pending for checkpointID. The state lists
// every pending file not yet committed, so a restore from this checkpoint
// commits earlier checkpoints' files too if their Commit never came.
func (s *sink) PreCommit(_ context.Context, checkpointID int64) ([]byte, error) {
	if !s.opened {
		return nil, fmt.Errorf("filesystem '%s': pre-commit of a sink that is not open", s.cfg.table)
	}
	if s.f != nil {
		if err := s.roll(); err != nil {
			return nil, err
		}
	}
	if len(s.rolled) > 0 {
		for _, name := range s.rolled {
			s.pending = append(s.pending, pendingPart{checkpoint: checkpointID, name: name})
		}
		s.rolled = nil
		// The files are synced; make their names durable too.
		if err := syncDir(s.cfg.path); err != nil {
			return nil, fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
		}
	}
	return s.encodeState(), nil
}

// Commit implements connectors.TransactionalSink: pending files of
// checkpoints up to checkpointID get their visible names.
func (s *sink) Commit(_ context.Context, checkpointID int64) error {
	if !s.opened {
		return fmt.Errorf("filesystem '%s': commit of a sink that is not open", s.cfg.table)
	}
	keep := s.pending[:0]
	var errs []error
	committed := false
	for _, p := range s.pending {
		if p.checkpoint > checkpointID {
			keep = append(keep, p)
			continue
		}
		if err := s.commitFile(p.name); err != nil {
			errs = append(errs, err)
			keep = append(keep, p) // retried by the next Commit
			continue
		}
		committed = true
	}
	s.pending = keep
	if committed {
		if err := syncDir(s.cfg.path); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("filesystem '%s': commit of checkpoint %d: %w", s.cfg.table, checkpointID, err)
	}
	return nil
}

// commitFile renames a pending file to its visible name. A file that is
// already visible was committed before (Commit and Recover are
// idempotent); one that is neither is lost, and that is an error.
func (s *sink) commitFile(name string) error {
	err := os.Rename(s.hiddenPath(name), s.visiblePath(name))
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, serr := os.Lstat(s.visiblePath(name)); serr == nil {
		return nil
	}
	return fmt.Errorf("pending part file %s is missing", s.cfg.display(s.hiddenPath(name)))
}

// Recover implements connectors.TransactionalSink: commit the files the
// restored checkpoint recorded, and delete every other in-progress file of
// this subtask (rows written after that checkpoint, which the sources will
// replay). With pending empty (a restart without a checkpoint), every
// in-progress file of this subtask is deleted. Files of other subtasks and
// tables are never touched: they are told apart by name.
func (s *sink) Recover(_ context.Context, pending []byte) error {
	if !s.opened {
		return fmt.Errorf("filesystem '%s': recover of a sink that is not open", s.cfg.table)
	}
	tokens := []string{s.token}
	if len(pending) > 0 {
		st, err := decodeSinkState(pending)
		if err != nil {
			return fmt.Errorf("filesystem '%s': invalid pending state: %w", s.cfg.table, err)
		}
		for _, p := range st.pending {
			if err := s.commitFile(p.name); err != nil {
				return fmt.Errorf("filesystem '%s': recover checkpoint %d: %w", s.cfg.table, p.checkpoint, err)
			}
		}
		if st.token != s.token {
			tokens = append(tokens, st.token) // the table's path or name moved
		}
		s.counter = max(s.counter, st.counter)
	}
	mine := map[string]bool{}
	for _, name := range s.ownFiles() {
		mine["."+name+".inprogress"] = true
	}
	entries, err := os.ReadDir(s.cfg.path)
	if err != nil {
		return fmt.Errorf("filesystem '%s': cannot list output directory: %w", s.cfg.table, err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".inprogress") || mine[name] || !e.Type().IsRegular() {
			continue
		}
		for _, tok := range tokens {
			if _, ok := partNumber(name, partPrefix(tok, s.subtask)); ok {
				if err := os.Remove(filepath.Join(s.cfg.path, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
				break
			}
		}
	}
	if err := errors.Join(append(errs, syncDir(s.cfg.path))...); err != nil {
		return fmt.Errorf("filesystem '%s': recover: %w", s.cfg.table, err)
	}
	return nil
}

// ownFiles lists the part files this sink value has created and not
// committed (Recover must not delete them as strays).
func (s *sink) ownFiles() []string {
	names := append([]string(nil), s.rolled...)
	for _, p := range s.pending {
		names = append(names, p.name)
	}
	if s.f != nil {
		names = append(names, s.cur)
	}
	return names
}

// Finish commits: every in-progress file, pending or not, is renamed to
// its visible name.
func (s *sink) Finish(context.Context) error {
	if !s.opened || s.finished {
		return fmt.Errorf("filesystem '%s': finish of a sink that is not open", s.cfg.table)
	}
	if s.f != nil {
		if err := s.roll(); err != nil {
			return err
		}
	}
	for _, name := range s.rolled {
		s.pending = append(s.pending, pendingPart{checkpoint: math.MinInt64, name: name})
	}
	s.rolled = nil
	for len(s.pending) > 0 {
		if err := s.commitFile(s.pending[0].name); err != nil {
			return fmt.Errorf("filesystem '%s': commit: %w", s.cfg.table, err)
		}
		s.pending = s.pending[1:]
	}
	s.finished = true
	return syncDir(s.cfg.path)
}

// syncDir makes the renames durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Close discards output no checkpoint covers: without Finish, the open
// part file and those rolled since the last barrier are removed so nothing
// partial becomes visible. Pre-committed files stay (hidden): their
// checkpoint may complete, and Recover then commits them.
func (s *sink) Close() error {
	var errs []error
	if s.f != nil {
		if err := s.f.Close(); err != nil {
			errs = append(errs, err)
		}
		s.rolled = append(s.rolled, s.cur)
		s.f, s.cw, s.cur = nil, nil, ""
	}
	for _, name := range s.rolled {
		if err := os.Remove(s.hiddenPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	s.rolled = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("filesystem '%s': discard uncommitted files: %w", s.cfg.table, err)
	}
	return nil
}

const sinkStateVersion = 1

// encodeState is the pending state PreCommit returns:
//
//	version byte (1)
//	string  token, uvarint subtask, uvarint next part number
//	uvarint count, then per pending file: varint checkpoint, string name
//
// (strings are a uvarint length and the bytes; names are visible names).
func (s *sink) encodeState() []byte {
	b := []byte{sinkStateVersion}
	b = appendString(b, s.token)
	b = binary.AppendUvarint(b, uint64(s.subtask))
	b = binary.AppendUvarint(b, uint64(s.counter))
	b = binary.AppendUvarint(b, uint64(len(s.pending)))
	for _, p := range s.pending {
		b = binary.AppendVarint(b, p.checkpoint)
		b = appendString(b, p.name)
	}
	return b
}

type sinkState struct {
	token   string
	subtask uint64
	counter int64
	pending []pendingPart
}

func decodeSinkState(b []byte) (sinkState, error) {
	var st sinkState
	r := stateReader{B: b}
	if v := r.Byte(); r.Err == nil && v != sinkStateVersion {
		return st, fmt.Errorf("unknown version %d", v)
	}
	st.token, st.subtask, st.counter = r.String(), r.Uvarint(), r.Int()
	n := r.Uvarint()
	if n > uint64(len(r.B)) { // each entry takes at least two bytes
		return st, errTruncated
	}
	for i := uint64(0); i < n && r.Err == nil; i++ {
		c, name := r.Varint(), r.String()
		if r.Err == nil && !validPartName(name) {
			return st, fmt.Errorf("invalid part file name %q", name)
		}
		st.pending = append(st.pending, pendingPart{checkpoint: c, name: name})
	}
	if err := r.Done(); err != nil {
		return st, err
	}
	if !validPartName("part-" + st.token) {
		return st, fmt.Errorf("invalid token %q", st.token)
	}
	return st, nil
}

// validPartName accepts a visible part file name: no directory, not hidden
// (names come from checkpoint state and must not point elsewhere).
func validPartName(name string) bool {
	return strings.HasPrefix(name, "part-") && !strings.ContainsAny(name, `/\`+"\x00") && name == filepath.Base(name)
}

var _ connectors.TransactionalSink = (*sink)(nil)
