package filesystem

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec/batch"
)

const (
	maxBatchRows = 4096
	// maxRecordBytes bounds one record (a CSV record may span lines), so
	// a file with an unterminated quote cannot eat all memory.
	maxRecordBytes = 64 << 20
)

// source reads this subtask's share of the files, one after another.
type source struct {
	cfg    *config
	logger *slog.Logger
	rb     *format.RowBuilder
	dec    format.Decoder

	subtask, parallelism int
	files                []string
	next                 int // index into files of the next file to open

	f       *os.File
	r       *bufio.Reader           // line formats
	cr      *format.ContainerReader // container formats (avro)
	path    string
	line    int   // line number of the last line read
	offset  int64 // bytes of the current file consumed (the position)
	long    []byte
	pending []byte

	skipped   int64 // malformed records ignored (ignore-parse-errors)
	opened    bool
	logged    bool
	exhausted bool
}

func newSource(c *config, t connectors.Table) *source {
	logger := t.Env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &source{cfg: c, logger: logger, rb: format.NewRowBuilder(t.Schema, t.Env.Location), dec: c.format.NewDecoder()}
}

// Bounded implements connectors.Source: files are read once.
func (s *source) Bounded() bool { return true }

// Open lists the input and takes every parallelism-th file, starting at
// subtask, of the sorted list.
func (s *source) Open(_ context.Context, subtask, parallelism int) error {
	if parallelism < 1 || subtask < 0 || subtask >= parallelism {
		return fmt.Errorf("filesystem '%s': invalid subtask %d of %d", s.cfg.table, subtask, parallelism)
	}
	all, err := listFiles(s.cfg)
	if err != nil {
		return fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
	}
	for i := subtask; i < len(all); i += parallelism {
		s.files = append(s.files, all[i])
	}
	s.subtask, s.parallelism = subtask, parallelism
	s.opened = true
	return nil
}

// listFiles returns the table's path itself if it is a file, or every visible file
// below it (names starting with '.' or '_' are hidden, as in Flink: they
// are in-progress or metadata files), sorted.
func listFiles(c *config) ([]string, error) {
	path := c.path
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read input: %w", c.shortenErr(err))
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == path {
			return nil
		}
		if hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list input directory: %w", c.shortenErr(err))
	}
	sort.Strings(files)
	return files, nil
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") }

// Next implements connectors.Source.
func (s *source) Next(ctx context.Context) (batch.Batch, error) {
	if !s.opened {
		return batch.Batch{}, fmt.Errorf("filesystem '%s': Next before Open", s.cfg.table)
	}
	for s.rb.Len() < maxBatchRows && !s.exhausted {
		if err := ctx.Err(); err != nil {
			return batch.Batch{}, fmt.Errorf("filesystem '%s': %w", s.cfg.table, err)
		}
		if s.f == nil {
			if s.next == len(s.files) {
				s.exhausted = true
				s.logSkipped()
				break
			}
			if err := s.openFile(s.files[s.next], 0, 0); err != nil {
				return batch.Batch{}, err
			}
			s.next++
		}
		if err := s.readRecords(maxBatchRows - s.rb.Len()); err != nil {
			return batch.Batch{}, err
		}
	}
	if s.rb.Len() == 0 && s.exhausted {
		return batch.Batch{}, io.EOF
	}
	return s.rb.Build(), nil
}

// openFile opens path to read from byte offset, which starts line line+1.
// A container file (avro) is read from its header; offset is then the
// block to resume at and line the records of it already read.
func (s *source) openFile(path string, offset int64, line int) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("filesystem '%s': cannot read input: %w", s.cfg.table, s.cfg.shortenErr(err))
	}
	if s.cfg.format.Container() {
		return s.openContainer(f, path, offset, line)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return fmt.Errorf("filesystem '%s': %s: %w", s.cfg.table, s.cfg.display(path), err)
		}
	}
	s.f, s.path, s.line, s.offset = f, s.cfg.display(path), line, offset
	s.r = bufio.NewReaderSize(f, 256<<10)
	if offset == 0 && s.cfg.format.SkipFirstLine() {
		if _, err := s.readLine(); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	return nil
}

func (s *source) openContainer(f *os.File, path string, offset int64, index int) error {
	fail := func(err error) error {
		f.Close()
		return fmt.Errorf("filesystem '%s': %s: %w", s.cfg.table, s.cfg.display(path), err)
	}
	cr, err := s.cfg.format.NewContainerReader(f)
	if err != nil {
		return fail(err)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return fail(err)
		}
		if err := cr.Resume(f, offset, int64(index)); err != nil {
			return fail(err)
		}
	}
	s.f, s.cr, s.path = f, cr, s.cfg.display(path)
	s.offset, s.line = offset, index
	return nil
}

// readContainer decodes up to n records of the current container file,
// closing it at its end. With ignore-parse-errors, a record that fails
// drops the rest of its block (its record boundaries are lost), and all
// of them count as skipped.
func (s *source) readContainer(n int) error {
	_, err := s.cr.Read(s.rb, n)
	if errors.Is(err, io.EOF) {
		return s.closeFile()
	}
	var pe *format.ParseError
	if err != nil && errors.As(err, &pe) && s.cfg.format.IgnoreParseErrors() {
		s.skipped += s.cr.SkipBlock()
		err = nil
	}
	off, idx := s.cr.Position()
	s.offset, s.line = off, int(idx)
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return nil
}

// readRecords decodes up to n records of the current file, closing it at
// its end.
func (s *source) readRecords(n int) error {
	if s.cr != nil {
		return s.readContainer(n)
	}
	for start := s.rb.Len(); s.rb.Len()-start < n; {
		line, err := s.readLine()
		if errors.Is(err, io.EOF) {
			return s.closeFile()
		}
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		first := s.line
		err = s.dec.Decode(line, s.rb)
		// A CSV record may continue on the next lines inside quotes.
		for errors.Is(err, format.ErrIncompleteRecord) {
			s.pending = append(append(s.pending[:0], line...), '\n')
			more, rerr := s.readLine()
			if rerr != nil || len(s.pending)+len(more) > maxRecordBytes {
				break // report the unterminated quote below
			}
			line = append(s.pending, more...)
			err = s.dec.Decode(line, s.rb)
		}
		if err != nil {
			if !s.cfg.format.IgnoreParseErrors() {
				return fmt.Errorf("%s:%d: %w", s.path, first, err)
			}
			s.skipped++
		}
	}
	return nil
}

// readLine returns the next line without its line break; the slice is
// valid until the next call.
func (s *source) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		s.long = append(s.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(s.long) > maxRecordBytes {
				return nil, fmt.Errorf("%s:%d: line longer than %d bytes", s.path, s.line+1, maxRecordBytes)
			}
			line, err = s.r.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		line = s.long
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s:%d: %w", s.path, s.line+1, err)
	}
	if len(line) == 0 && errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	s.line++
	s.offset += int64(len(line))
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

func (s *source) closeFile() error {
	f := s.f
	s.f, s.r, s.cr = nil, nil, nil
	if err := f.Close(); err != nil {
		return fmt.Errorf("filesystem '%s': %s: %w", s.cfg.table, s.path, err)
	}
	return nil
}

// logSkipped reports how many records ignore-parse-errors dropped.
func (s *source) logSkipped() {
	if s.skipped > 0 && !s.logged {
		s.logger.Warn("skipped malformed records", "table", s.cfg.table, "path", s.cfg.rawPath, "count", s.skipped)
	}
	s.logged = true
}

// Close implements connectors.Source.
func (s *source) Close() error {
	s.logSkipped()
	if s.f != nil {
		return s.closeFile()
	}
	return nil
}

var _ connectors.CheckpointedSource = (*source)(nil)

// clock returns the table's clock, or the real one.
func clock(t connectors.Table) func() time.Time {
	if t.Env.Now != nil {
		return t.Env.Now
	}
	return time.Now
}

const sourcePositionVersion = 1

// Position implements connectors.CheckpointedSource: how many files of
// this subtask's share are done (with a hash of their names, to notice a
// changed listing), and the file being read with the byte offset and line
// number after the last record returned:
//
//	version byte (1)
//	uvarint parallelism, uvarint subtask
//	uvarint files done, 8 bytes FNV-64 of their names (relative to 'path')
//	string  current file (relative; empty when between files)
//	uvarint byte offset, uvarint line, uvarint records skipped
//
// (strings are a uvarint length and the bytes). For container files
// (avro) the offset is that of the block being read and "line" the
// number of its records already returned.
func (s *source) Position() ([]byte, error) {
	if !s.opened {
		return nil, fmt.Errorf("filesystem '%s': position before Open", s.cfg.table)
	}
	done, current := s.next, ""
	var offset int64
	var line int
	if s.f != nil {
		done--
		current, offset, line = s.rel(s.files[done]), s.offset, s.line
	}
	b := []byte{sourcePositionVersion}
	b = binary.AppendUvarint(b, uint64(s.parallelism))
	b = binary.AppendUvarint(b, uint64(s.subtask))
	b = binary.AppendUvarint(b, uint64(done))
	b = binary.LittleEndian.AppendUint64(b, s.namesHash(done))
	b = appendString(b, current)
	b = binary.AppendUvarint(b, uint64(offset))
	b = binary.AppendUvarint(b, uint64(line))
	b = binary.AppendUvarint(b, uint64(s.skipped))
	return b, nil
}

// Seek implements connectors.CheckpointedSource: it reopens the file being
// read at the checkpoint at its byte offset. It fails when the input no
// longer matches the position: files were removed or renamed before it,
// or the current file is shorter than the offset.
func (s *source) Seek(pos []byte) error {
	if !s.opened {
		return fmt.Errorf("filesystem '%s': seek before Open", s.cfg.table)
	}
	r := stateReader{B: pos}
	if v := r.Byte(); r.Err == nil && v != sourcePositionVersion {
		return fmt.Errorf("filesystem '%s': invalid position: unknown version %d", s.cfg.table, v)
	}
	parallelism, subtask := r.Uvarint(), r.Uvarint()
	done, hash := r.Int(), r.Uint64()
	current := r.String()
	offset, line, skipped := r.Int(), r.Int(), r.Int()
	if err := r.Done(); err != nil {
		return fmt.Errorf("filesystem '%s': invalid position: %w", s.cfg.table, err)
	}
	if parallelism != uint64(s.parallelism) {
		return fmt.Errorf("filesystem '%s': not supported yet: restoring a filesystem source at a different parallelism (checkpoint %d, now %d)",
			s.cfg.table, parallelism, s.parallelism)
	}
	if subtask != uint64(s.subtask) {
		return fmt.Errorf("filesystem '%s': position of subtask %d restored into subtask %d", s.cfg.table, subtask, s.subtask)
	}
	if done > int64(len(s.files)) || s.namesHash(int(done)) != hash {
		return fmt.Errorf("filesystem '%s': the input changed since the checkpoint: the %d files this subtask had read are no longer the first of its %d files",
			s.cfg.table, done, len(s.files))
	}
	if s.f != nil {
		if err := s.closeFile(); err != nil {
			return err
		}
	}
	s.next, s.skipped, s.exhausted, s.logged = int(done), skipped, false, false
	if current == "" {
		return nil
	}
	if int(done) == len(s.files) || s.rel(s.files[done]) != current {
		return fmt.Errorf("filesystem '%s': the input changed since the checkpoint: %s, which was being read, is not the next file of this subtask",
			s.cfg.table, filepath.Join(s.cfg.rawPath, filepath.FromSlash(current)))
	}
	path := s.files[done]
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("filesystem '%s': cannot read input: %w", s.cfg.table, s.cfg.shortenErr(err))
	}
	if st.Size() < offset {
		return fmt.Errorf("filesystem '%s': %s changed since the checkpoint: it has %d bytes, the checkpoint had read %d",
			s.cfg.table, s.cfg.display(path), st.Size(), offset)
	}
	if line > math.MaxInt32 {
		return fmt.Errorf("filesystem '%s': invalid position: line %d", s.cfg.table, line)
	}
	if err := s.openFile(path, offset, int(line)); err != nil {
		return err
	}
	s.next++
	return nil
}

// rel names a file of the input relative to 'path' ("." when 'path' is the
// file), with forward slashes.
func (s *source) rel(file string) string {
	rel, err := filepath.Rel(s.cfg.path, file)
	if err != nil {
		return file
	}
	return filepath.ToSlash(rel)
}

// namesHash is the hash of the first n files' names.
func (s *source) namesHash(n int) uint64 {
	names := make([]string, n)
	for i, f := range s.files[:n] {
		names[i] = s.rel(f)
	}
	return fnv64(names...)
}
