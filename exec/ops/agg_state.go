package ops

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/state"
	"github.com/streamsql/streamsql/state/rocks"
)

// aggStore keeps GroupAgg state in the pebble backend ('state.backend' =
// 'rocksdb'). Between mini-batches nothing stays in memory: a group is
// loaded when a mini-batch first touches it, folded in memory, and written
// back (or deleted) when the mini-batch is flushed. The backend's own
// write-back cache makes that one pebble read and one write per key and
// mini-batch.
type aggStore struct {
	be     *rocks.Backend
	vs     state.ValueState
	maxPar int
	hashes []uint64
	kgs    []int
	buf    []byte
}

func openAggStore(ctx *exec.OpContext, ttl time.Duration) (*aggStore, error) {
	if ctx.WorkDir == "" {
		return nil, errors.New("rocksdb state needs a work directory")
	}
	if err := os.MkdirAll(ctx.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	dir, err := os.MkdirTemp(ctx.WorkDir, "agg-")
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	maxPar := ctx.MaxParallelism
	if maxPar <= 0 {
		maxPar = exec.DefaultMaxParallelism
	}
	par := max(ctx.Parallelism, 1)
	lo, hi := exec.KeyGroupRange(ctx.Subtask, maxPar, par)
	be, err := rocks.New(rocks.Options{Options: state.Options{KeyGroupStart: lo, KeyGroupEnd: hi, Logger: ctx.Logger, TTL: ttl, Now: ctx.Now}, Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("open rocksdb state: %w", err)
	}
	vs, err := be.ValueState("agg")
	if err != nil {
		be.Close()
		return nil, err
	}
	return &aggStore{be: be, vs: vs, maxPar: maxPar}, nil
}

// keyGroups computes each row's key group, exactly as the hash exchange
// that routed the row here did.
func (s *aggStore) keyGroups(keyCols []arrow.Array, n int) {
	if cap(s.hashes) < n {
		s.hashes = make([]uint64, n)
		s.kgs = make([]int, n)
	}
	s.hashes, s.kgs = s.hashes[:n], s.kgs[:n]
	batch.HashColumns(keyCols, s.hashes)
	for i, h := range s.hashes {
		s.kgs[i] = exec.KeyGroupOf(h, s.maxPar)
	}
}

// load fills g from the stored state of its key, if any.
func (s *aggStore) load(g *group) error {
	v, ok, err := s.vs.Get(g.kg, []byte(g.k), nil)
	if err != nil || !ok {
		return err
	}
	return decodeGroup(v, g)
}

func (s *aggStore) save(g *group) error {
	s.buf = encodeGroup(s.buf[:0], g)
	return s.vs.Put(g.kg, []byte(g.k), nil, s.buf)
}

func (s *aggStore) remove(g *group) error { return s.vs.Delete(g.kg, []byte(g.k), nil) }

func (s *aggStore) close() error { return s.be.Close() }

// Group encoding: rows, then the last emitted row's cells, then each
// accumulator (n, i, f, ext, and its multiset if any). Fixed layouts and
// varints; no reflection.

func appendCellBytes(dst []byte, c cell) []byte {
	if c.null {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.AppendVarint(dst, c.i)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(c.f))
	dst = binary.AppendUvarint(dst, uint64(len(c.s)))
	return append(dst, c.s...)
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errors.New("corrupt aggregate state")
	}
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) cell() cell {
	if len(d.b) < 1 {
		d.fail()
		return cell{}
	}
	tag := d.b[0]
	d.b = d.b[1:]
	if tag == 0 {
		return cell{null: true}
	}
	c := cell{i: d.varint()}
	if len(d.b) < 8 {
		d.fail()
		return cell{}
	}
	c.f = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	n := d.uvarint()
	if uint64(len(d.b)) < n {
		d.fail()
		return cell{}
	}
	c.s = string(d.b[:n])
	d.b = d.b[n:]
	return c
}

func encodeGroup(dst []byte, g *group) []byte {
	dst = binary.AppendVarint(dst, g.rows)
	for _, c := range g.prev {
		dst = appendCellBytes(dst, c)
	}
	for i := range g.accs {
		a := &g.accs[i]
		dst = binary.AppendVarint(dst, a.n)
		dst = binary.AppendVarint(dst, a.i)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.f))
		dst = appendCellBytes(dst, a.ext)
		dst = binary.AppendUvarint(dst, uint64(len(a.set)))
		for v, cnt := range a.set {
			dst = appendCellBytes(dst, v)
			dst = binary.AppendVarint(dst, cnt)
		}
	}
	return dst
}

func decodeGroup(b []byte, g *group) error {
	d := &decoder{b: b}
	g.rows = d.varint()
	for i := range g.prev {
		g.prev[i] = d.cell()
	}
	for i := range g.accs {
		a := &g.accs[i]
		a.n, a.i = d.varint(), d.varint()
		if len(d.b) < 8 {
			d.fail()
			break
		}
		a.f = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		a.ext = d.cell()
		if n := d.uvarint(); n > 0 {
			a.set = make(map[cell]int64, n)
			for j := uint64(0); j < n && d.err == nil; j++ {
				v := d.cell()
				a.set[v] = d.varint()
			}
		}
	}
	return d.err
}
