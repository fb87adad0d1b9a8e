package ops

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// Operator snapshot files. An in-memory operator's synchronous snapshot
// phase encodes its state into one flat buffer (no per-entry allocation);
// the asynchronous phase computes key groups and writes this file:
//
//	magic    8 bytes: "SSQL", an operator tag, a version digit
//	meta     uvarint(len) bytes: the operator's shape and scalars
//	records  uvarint(key group + 1) uvarint(len) payload, ...; a 0 ends them
//	trailer  CRC32C (Castagnoli) of everything above, u32 little-endian
//
// Keyed records carry their key group, so a restore at another parallelism
// keeps its own without hashing keys again. A reader checks the CRC of the
// whole file before it decodes anything.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks snapshot content that does not decode.
var errCorrupt = errors.New("corrupt operator snapshot")

// snapFileWriter writes one snapshot file through a SnapshotWriter.
type snapFileWriter struct {
	f   io.WriteCloser
	bw  *bufio.Writer
	crc hash.Hash32
	hdr []byte
	err error
}

func newSnapFile(w exec.SnapshotWriter, name, magic string, meta []byte) (*snapFileWriter, error) {
	f, err := w.Create(name)
	if err != nil {
		return nil, err
	}
	return newSnapFileOn(f, magic, meta), nil
}

// newSnapFileOn writes a snapshot file into f.
func newSnapFileOn(f io.WriteCloser, magic string, meta []byte) *snapFileWriter {
	crc := crc32.New(castagnoli)
	s := &snapFileWriter{f: f, crc: crc, bw: bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<16)}
	s.hdr = append(s.hdr, magic...)
	s.hdr = binary.AppendUvarint(s.hdr, uint64(len(meta)))
	s.write(s.hdr)
	s.write(meta)
	return s
}

func (s *snapFileWriter) write(b []byte) {
	if s.err == nil {
		_, s.err = s.bw.Write(b)
	}
}

// record appends one record of key group kg (0 for state that is not
// keyed).
func (s *snapFileWriter) record(kg int, payload []byte) {
	s.hdr = binary.AppendUvarint(s.hdr[:0], uint64(kg)+1)
	s.hdr = binary.AppendUvarint(s.hdr, uint64(len(payload)))
	s.write(s.hdr)
	s.write(payload)
}

// close ends the records, appends the CRC and makes the file durable.
func (s *snapFileWriter) close() error {
	s.write([]byte{0})
	if s.err == nil {
		s.err = s.bw.Flush()
	}
	if s.err == nil {
		_, s.err = s.f.Write(binary.LittleEndian.AppendUint32(nil, s.crc.Sum32()))
	}
	if err := s.f.Close(); s.err == nil {
		s.err = err
	}
	if s.err != nil {
		return fmt.Errorf("write snapshot: %w", s.err)
	}
	return nil
}

// abort closes the file after a failure (it is not durable); a shared
// file is discarded.
func (s *snapFileWriter) abort() {
	if a, ok := s.f.(interface{ Abort() }); ok {
		a.Abort()
		return
	}
	_ = s.f.Close()
}

// snapFileReader reads a snapshot file that passed its CRC check.
type snapFileReader struct {
	name string
	meta []byte
	b    []byte // the records still to read
	done bool
}

// readSnapFile loads dir/name, checks its magic and CRC and returns a reader
// positioned at the first record. A missing file is an error wrapping
// fs.ErrNotExist.
func readSnapFile(dir, name, magic string) (*snapFileReader, error) {
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if len(data) < len(magic)+4 || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%s: not a %s snapshot file: %w", path, magic, errCorrupt)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, fmt.Errorf("%s: checksum mismatch: %w", path, errCorrupt)
	}
	b := body[len(magic):]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, fmt.Errorf("%s: bad header: %w", path, errCorrupt)
	}
	return &snapFileReader{name: path, meta: b[k : k+int(n)], b: b[k+int(n):]}, nil
}

// next returns the next record; ok is false after the last one.
func (r *snapFileReader) next() (kg int, payload []byte, ok bool, err error) {
	if r.done {
		return 0, nil, false, nil
	}
	g, k := binary.Uvarint(r.b)
	if k <= 0 || g > state.MaxKeyGroups {
		return 0, nil, false, fmt.Errorf("%s: bad record: %w", r.name, errCorrupt)
	}
	r.b = r.b[k:]
	if g == 0 {
		r.done = true
		if len(r.b) != 0 {
			return 0, nil, false, fmt.Errorf("%s: %d bytes after the last record: %w", r.name, len(r.b), errCorrupt)
		}
		return 0, nil, false, nil
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		return 0, nil, false, fmt.Errorf("%s: bad record: %w", r.name, errCorrupt)
	}
	payload = r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return int(g - 1), payload, true, nil
}

// snapCapture is a synchronous phase's copy of in-memory state: records
// encoded back to back into fixed-size chunks. Chunks rather than one
// buffer because a growing gigabyte buffer copies itself over and over:
// growslice was a third of Nexmark q7's CPU with 0.7 GB of join state.
// A record never spans chunks: callers append to buf, and end starts a
// new chunk when the current one is nearly full (a record larger than
// what is left grows only its own chunk).
type snapCapture struct {
	buf    []byte   // the current chunk
	chunks [][]byte // the full chunks before it
	base   int      // bytes in chunks
	ends   []int    // record i ends at byte ends[i] of its chunk
	chunk  []int32  // record i is in chunks[chunk[i]] (or buf when == len(chunks))
}

const (
	snapChunkSize  = 4 << 20
	snapChunkSlack = 64 << 10 // start a new chunk when less is left
)

func newSnapCapture(sizeHint, countHint int) *snapCapture {
	return &snapCapture{
		buf:   make([]byte, 0, min(max(sizeHint, 4<<10), snapChunkSize)),
		ends:  make([]int, 0, countHint),
		chunk: make([]int32, 0, countHint),
	}
}

// end closes the record appended to buf since the previous one.
func (c *snapCapture) end() {
	c.ends = append(c.ends, len(c.buf))
	c.chunk = append(c.chunk, int32(len(c.chunks)))
	if n := len(c.buf); n >= snapChunkSize-snapChunkSlack || (cap(c.buf)-n < snapChunkSlack && n >= snapChunkSlack) {
		c.chunks = append(c.chunks, c.buf)
		c.base += len(c.buf)
		c.buf = make([]byte, 0, snapChunkSize)
	}
}

func (c *snapCapture) len() int { return len(c.ends) }

// size is the number of bytes captured.
func (c *snapCapture) size() int { return c.base + len(c.buf) }

func (c *snapCapture) record(i int) []byte {
	k := c.chunk[i]
	start := 0
	if i > 0 && c.chunk[i-1] == k {
		start = c.ends[i-1]
	}
	b := c.buf
	if int(k) < len(c.chunks) {
		b = c.chunks[k]
	}
	return b[start:c.ends[i]]
}

// keyChunk turns key cells of up to keyChunkSize records into Arrow
// columns, so that keys are encoded (appendKey) and hashed
// (batch.HashColumns) exactly as they are from input batches: the key
// group of a restored entry is the one the hash exchange gives its rows.
type keyChunk struct {
	types  []types.Type
	cols   [][]cell
	hashes []uint64
}

const keyChunkSize = 1024

func newKeyChunk(ts []types.Type) *keyChunk {
	k := &keyChunk{types: ts, cols: make([][]cell, len(ts))}
	for i := range k.cols {
		k.cols[i] = make([]cell, 0, keyChunkSize)
	}
	return k
}

func (k *keyChunk) reset() {
	for i := range k.cols {
		k.cols[i] = k.cols[i][:0]
	}
}

// arrays builds the key columns of the n rows added since reset.
func (k *keyChunk) arrays() []arrow.Array {
	arrs := make([]arrow.Array, len(k.cols))
	for i, c := range k.cols {
		arrs[i] = buildColumn(k.types[i], c)
	}
	return arrs
}

// itemKeyGroups returns the key groups of n keyed items (partitions,
// buckets) whose key column k is keyCell(i, k), hashed in chunks as the
// hash exchange hashes rows.
func itemKeyGroups(ts []types.Type, n, maxPar int, keyCell func(i, k int) cell) []int32 {
	kgs := make([]int32, 0, n)
	kc := newKeyChunk(ts)
	for from := 0; from < n; from += keyChunkSize {
		to := min(n, from+keyChunkSize)
		kc.reset()
		for i := from; i < to; i++ {
			for k := range kc.cols {
				kc.cols[k] = append(kc.cols[k], keyCell(i, k))
			}
		}
		for _, kg := range kc.keyGroups(to-from, maxPar) {
			kgs = append(kgs, int32(kg))
		}
	}
	return kgs
}

// keyGroups returns the key group of each of the n rows added since reset.
func (k *keyChunk) keyGroups(n, maxPar int) []int {
	if cap(k.hashes) < n {
		k.hashes = make([]uint64, n)
	}
	h := k.hashes[:n]
	batch.HashColumns(k.arrays(), h)
	kgs := make([]int, n)
	for i, x := range h {
		kgs[i] = exec.KeyGroupOf(x, maxPar)
	}
	return kgs
}

// restoreSingle returns the one snapshot of an operator whose state is not
// keyed, refusing a restore at another parallelism.
func restoreSingle(rc exec.RestoreContext, op string) (exec.RestoredSnapshot, error) {
	if rc.Rescaled {
		return exec.RestoredSnapshot{}, fmt.Errorf("not supported yet: restoring %s at a different parallelism", op)
	}
	if len(rc.Snapshots) != 1 {
		return exec.RestoredSnapshot{}, fmt.Errorf("restore %s: %d snapshots, want 1", op, len(rc.Snapshots))
	}
	return rc.Snapshots[0], nil
}

// inRange reports whether key group kg belongs to the restoring subtask.
func inRange(rc *exec.RestoreContext, kg int) bool {
	return kg >= rc.KeyGroupStart && kg < rc.KeyGroupEnd
}

// maxParOf is the context's maximum parallelism, defaulted.
func maxParOf(ctx *exec.OpContext) int {
	if ctx == nil || ctx.MaxParallelism <= 0 {
		return exec.DefaultMaxParallelism
	}
	return ctx.MaxParallelism
}

// inMemoryOrder sorts pointers by address. Maps yield their entries in
// random order; visiting entries in allocation order instead makes a
// snapshot's memory accesses mostly sequential, several times faster for a
// large state. Addresses only order the visit: nothing depends on them.
// A radix sort, 16 bits a pass, skipping digits all pointers share (the
// high bits of heap addresses): a few linear passes.
func inMemoryOrder[T any](ptrs []*T) {
	addr := func(p *T) uintptr { return uintptr(unsafe.Pointer(p)) }
	if len(ptrs) < 1<<10 {
		slices.SortFunc(ptrs, func(a, b *T) int { return cmp.Compare(addr(a), addr(b)) })
		return
	}
	src, dst := ptrs, make([]*T, len(ptrs))
	count := make([]int, 1<<16)
	for shift := 0; shift < 64; shift += 16 {
		clear(count)
		for _, p := range src {
			count[(addr(p)>>shift)&0xffff]++
		}
		if count[(addr(src[0])>>shift)&0xffff] == len(src) {
			continue // one digit: this pass would not move anything
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, p := range src {
			d := (addr(p) >> shift) & 0xffff
			dst[count[d]] = p
			count[d]++
		}
		src, dst = dst, src
	}
	copy(ptrs, src)
}
