package ops

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/state"
)

// aggStore keeps GroupAgg state in the pebble backend ('state.backend' =
// 'rocksdb'). Between mini-batches nothing stays in memory: a group is
// loaded when a mini-batch first touches it, folded in memory, and written
// back (or deleted) when the mini-batch is flushed. The backend's own
// write-back cache makes that one pebble read and one write per key and
// mini-batch.
type aggStore struct {
	*rocksStore
	agg *GroupAgg        // encodes groups
	vs  state.ValueState // nil until first used (see value)
	idx state.ValueState // session windows: the end index (sessIndex)
	buf []byte
	// kbuf and nsbuf pass a group's key and window to the backend without
	// an allocation per call ([]byte(string) escapes into the interface
	// call; the backend copies what it keeps).
	kbuf, nsbuf []byte
}

func openAggStore(ctx *exec.OpContext, ttl time.Duration) (*aggStore, error) {
	rs, err := openRocksStore(ctx, "agg", ttl)
	if err != nil {
		return nil, err
	}
	return &aggStore{rocksStore: rs}, nil
}

// load fills g from the stored state of its key, if any. ns is the
// group's window (windowNS) in a window aggregation, else nil.
func (s *aggStore) load(g *group, ns []byte) error {
	vs, err := s.value()
	if err != nil {
		return err
	}
	v, ok, err := vs.Get(g.kg, s.keyBytes(g.k), ns)
	if err != nil || !ok {
		return err
	}
	d := &decoder{b: v}
	decodeGroup(d, g)
	return d.finish()
}

func (s *aggStore) save(g *group, ns []byte) error {
	vs, err := s.value()
	if err != nil {
		return err
	}
	s.buf = s.agg.encodeGroup(s.buf[:0], g)
	return vs.Put(g.kg, s.keyBytes(g.k), ns, s.buf)
}

func (s *aggStore) remove(g *group, ns []byte) error {
	vs, err := s.value()
	if err != nil {
		return err
	}
	return vs.Delete(g.kg, s.keyBytes(g.k), ns)
}

func (s *aggStore) keyBytes(k string) []byte {
	s.kbuf = append(s.kbuf[:0], k...)
	return s.kbuf
}

// windowNS is the package's windowNS in a reused buffer, valid until the
// next call.
func (s *aggStore) windowNS(end int64) []byte {
	s.nsbuf = binary.BigEndian.AppendUint64(s.nsbuf[:0], uint64(end)^(1<<63))
	return s.nsbuf
}

// windowNS is the state namespace of the groups of the window ending at
// end: big-endian with the sign bit flipped, so namespaces sort by end.
func windowNS(end int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(end)^(1<<63))
}

func windowOfNS(ns []byte) (int64, error) {
	if len(ns) != 8 {
		return 0, fmt.Errorf("window state: namespace of %d bytes: %w", len(ns), errCorrupt)
	}
	return int64(binary.BigEndian.Uint64(ns) ^ (1 << 63)), nil
}

// value returns the aggregate state, creating it on first use: a backend
// can only be restored before any state is created, and Open does not know
// whether a restore follows.
func (s *aggStore) value() (state.ValueState, error) {
	if s.vs == nil {
		vs, err := s.be.ValueState("agg")
		if err != nil {
			return nil, fmt.Errorf("rocksdb state: %w", err)
		}
		s.vs = vs
	}
	return s.vs, nil
}

// Group encoding: rows, then the last emitted row's cells, then each
// accumulator (n, i, f, ext, and its multiset if any). Fixed layouts and
// varints; no reflection. The same encoding goes into pebble and into
// snapshot files.

// appendCellBytes encodes a cell compactly: a tag byte, 0 for NULL, else
// 0x80 | 1 (i != 0) | 2 (f's bits != 0) | 4 (s != ""), then the fields
// present: varint i, f's bits (8 bytes LE), uvarint length + s. A cell
// holds one field for its type, so most cells take 1 to 10 bytes, and the
// round trip is exact (bits of f included).
func appendCellBytes(dst []byte, c cell) []byte {
	if c.null {
		return append(dst, 0)
	}
	fb := math.Float64bits(c.f)
	tag := byte(0x80)
	if c.i != 0 {
		tag |= 1
	}
	if fb != 0 {
		tag |= 2
	}
	if c.s != "" {
		tag |= 4
	}
	dst = append(dst, tag)
	if c.i != 0 {
		dst = binary.AppendVarint(dst, c.i)
	}
	if fb != 0 {
		dst = binary.LittleEndian.AppendUint64(dst, fb)
	}
	if c.s != "" {
		dst = binary.AppendUvarint(dst, uint64(len(c.s)))
		dst = append(dst, c.s...)
	}
	return dst
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
	if tag&^0x87 != 0 || tag&0x80 == 0 {
		d.fail()
		return cell{}
	}
	var c cell
	if tag&1 != 0 {
		c.i = d.varint()
	}
	if tag&2 != 0 {
		c.f = math.Float64frombits(d.uint64())
	}
	if tag&4 != 0 {
		c.s = string(d.bytes())
	}
	return c
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// bytes reads a uvarint length and that many bytes (aliasing the input).
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// count reads a number of items that each take at least one more byte,
// so a corrupt count cannot make a huge allocation.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

// finish fails unless the input was consumed exactly.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return d.err
}

// encodeGroup encodes g; a COUNT(DISTINCT) that shares its owner's map
// (agg_distinct.go) is written as its own multiset with n = 0, so the
// format does not depend on the sharing.
func (a *GroupAgg) encodeGroup(dst []byte, g *group) []byte {
	dst = binary.AppendVarint(dst, g.rows)
	for _, c := range g.prev {
		dst = appendCellBytes(dst, c)
	}
	for i := range g.accs {
		acc := &g.accs[i]
		if a.share != nil && a.share[i].owner >= 0 && g.accs[a.share[i].owner].mset != nil {
			dst = binary.AppendVarint(dst, 0)
			dst = binary.AppendVarint(dst, acc.i)
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(acc.f))
			dst = appendCellBytes(dst, acc.ext)
			// One scan of the shared table per member: the entries go
			// to a scratch buffer first, as their count leads them.
			var tmp []byte
			n := 0
			a.sharedEntries(g, i, func(v, c int64) {
				tmp = appendCellBytes(tmp, cell{i: v})
				tmp = binary.AppendVarint(tmp, c)
				n++
			})
			dst = binary.AppendUvarint(dst, uint64(n))
			dst = append(dst, tmp...)
			continue
		}
		dst = encodeAccum(dst, acc)
	}
	return dst
}

func encodeAccum(dst []byte, a *accum) []byte {
	dst = binary.AppendVarint(dst, a.n)
	dst = binary.AppendVarint(dst, a.i)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.f))
	dst = appendCellBytes(dst, a.ext)
	dst = binary.AppendUvarint(dst, uint64(len(a.set)+len(a.iset)))
	for v, cnt := range a.set {
		dst = appendCellBytes(dst, v)
		dst = binary.AppendVarint(dst, cnt)
	}
	for v, cnt := range a.iset { // as cells: one format for both
		dst = appendCellBytes(dst, cell{i: v})
		dst = binary.AppendVarint(dst, cnt)
	}
	return dst
}

// decodeGroup fills g (whose prev and accs have the operator's shape) from
// b; it leaves the rest of b in d.
func decodeGroup(d *decoder, g *group) {
	g.rows = d.varint()
	for i := range g.prev {
		g.prev[i] = d.cell()
	}
	for i := range g.accs {
		a := &g.accs[i]
		a.n, a.i = d.varint(), d.varint()
		a.f = math.Float64frombits(d.uint64())
		a.ext = d.cell()
		a.set, a.iset = nil, nil
		if n := d.count(); n > 0 {
			a.set = make(map[cell]int64, n)
			for j := 0; j < n && d.err == nil; j++ {
				v := d.cell()
				a.set[v] = d.varint()
			}
		}
	}
}
