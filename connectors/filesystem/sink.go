package filesystem

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec/batch"
)

// flushBytes is how much encoded output is buffered before a write.
const flushBytes = 256 << 10

// sink writes one subtask's part files. A part file is written as a hidden
// in-progress file (".part-<uuid>-<subtask>-<n>.<ext>.inprogress", skipped
// by directory readers) and renamed to "part-<uuid>-<subtask>-<n>.<ext>"
// when the sink finishes: only then is the output committed. Rolled files
// stay in progress until that commit, so a failed job leaves nothing
// visible.
type sink struct {
	cfg *config
	enc format.Encoder
	now func() time.Time

	prefix  string // "part-<uuid>-<subtask>-"
	counter int

	f        *os.File
	cur      string // in-progress path of the open part file
	curSize  int64
	curSince time.Time
	buf      []byte

	pending  []string // in-progress files closed but not yet committed
	opened   bool
	finished bool
}

func newSink(c *config, t connectors.Table) *sink {
	return &sink{cfg: c, enc: c.format.NewEncoder(), now: clock(t)}
}

// Open creates the output directory and picks this subtask's file prefix.
func (s *sink) Open(_ context.Context, subtask, parallelism int) error {
	if parallelism < 1 || subtask < 0 || subtask >= parallelism {
		return fmt.Errorf("filesystem '%s': invalid subtask %d of %d", s.cfg.table, subtask, parallelism)
	}
	if err := os.MkdirAll(s.cfg.path, 0o755); err != nil {
		return fmt.Errorf("filesystem '%s': cannot create output directory: %w", s.cfg.table, err)
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
	}
	s.prefix = "part-" + hex.EncodeToString(id[:]) + "-" + strconv.Itoa(subtask) + "-"
	s.opened = true
	return nil
}

// Write appends the batch's rows to the current part file, rolling over to
// a new file by size and age.
func (s *sink) Write(_ context.Context, b batch.Batch) error {
	if !s.opened || s.finished {
		return fmt.Errorf("filesystem '%s': write to a sink that is not open", s.cfg.table)
	}
	if !b.InsertOnly() {
		return fmt.Errorf("filesystem '%s': the filesystem sink accepts only inserts (+I), not updates or deletes", s.cfg.table)
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
		n := len(s.buf)
		s.buf = s.enc.Encode(s.buf, b, r)
		s.buf = append(s.buf, '\n')
		s.curSize += int64(len(s.buf) - n)
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

func (s *sink) openPart() error {
	name := s.prefix + strconv.Itoa(s.counter) + s.cfg.format.Extension()
	s.counter++
	path := filepath.Join(s.cfg.path, "."+name+".inprogress")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
	}
	s.f, s.cur, s.curSize, s.curSince = f, path, 0, s.now()
	return nil
}

func (s *sink) flush() error {
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

// roll closes the current part file; it stays in progress until commit.
func (s *sink) roll() error {
	if err := s.flush(); err != nil {
		return err
	}
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.pending = append(s.pending, s.cur)
	s.f, s.cur = nil, ""
	if err != nil {
		return fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
	}
	return nil
}

// Finish commits: every in-progress file is renamed to its visible name.
func (s *sink) Finish(context.Context) error {
	if !s.opened || s.finished {
		return fmt.Errorf("filesystem '%s': finish of a sink that is not open", s.cfg.table)
	}
	if s.f != nil {
		if err := s.roll(); err != nil {
			return err
		}
	}
	for len(s.pending) > 0 {
		p := s.pending[0]
		if err := os.Rename(p, committedName(p)); err != nil {
			return fmt.Errorf("filesystem '%s': commit: %w", s.cfg.table, err)
		}
		s.pending = s.pending[1:]
	}
	s.finished = true
	return syncDir(s.cfg.path)
}

// committedName maps ".part-x.csv.inprogress" to "part-x.csv".
func committedName(inProgress string) string {
	dir, base := filepath.Split(inProgress)
	base = base[1 : len(base)-len(".inprogress")]
	return filepath.Join(dir, base)
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

// Close discards uncommitted output: without Finish, in-progress files are
// removed so nothing partial becomes visible.
func (s *sink) Close() error {
	var errs []error
	if s.f != nil {
		if err := s.f.Close(); err != nil {
			errs = append(errs, err)
		}
		s.pending = append(s.pending, s.cur)
		s.f = nil
	}
	for _, p := range s.pending {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	s.pending = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("filesystem '%s': discard uncommitted files: %w", s.cfg.table, err)
	}
	return nil
}

var _ connectors.Sink = (*sink)(nil)
