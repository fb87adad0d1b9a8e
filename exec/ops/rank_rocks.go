package ops

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
	"github.com/streamsql/streamsql/state"
)

// Top-N state in pebble ('state.backend' = 'rocksdb'). Each partition
// (key group of its partition key's hash, key appendKey of it) has
//
//	rank-top   ValueState: uvarint tail rows, uvarint n, n rows
//	rank-tail  MapState: user key = the ORDER BY values, order-preserving
//	           (appendOrderKey); value = uvarint n, n rows
//
// where a row is its varint arrival number and its cells
// (appendCellBytes). The head (rank-top) holds the partition's first rows
// in rank order: after every batch at least min(N, rows), at most
// headCap. The tail holds the others, grouped by ORDER BY values, each
// group in arrival order (ties rank by arrival, as in memory), so
// iterating it is rank order. A batch loads the head of each partition it
// touches (one Get) and applies its rows there: a row ranking after the
// head goes to the tail, a row the head pushes out goes to the tail's
// front. Only when retractions left fewer than N head rows does the batch
// iterate the tail, stopping once the head is full again (MapState
// iteration flushes the backend's cache, so it is kept off the common
// path). Everything is written back at the end of the batch and dropped
// from memory: memory is bounded by the partitions a batch touches. An
// insert-only input has no tail: rows that do not make the top N are
// dropped, as in memory.

// rankHeadSlack is how many rows beyond N an updating Top-N keeps in the
// head, so that retractions from the top rarely need a tail iteration.
const rankHeadSlack = 16

// rankStore is Rank's pebble state.
type rankStore struct {
	*rocksStore
	top  state.ValueState // nil until first used (see states)
	tail state.MapState
	buf  []byte
	kbuf []byte
	sk   []byte
}

func openRankStore(ctx *exec.OpContext, ttl time.Duration) (*rankStore, error) {
	rs, err := openRocksStore(ctx, "rank", ttl)
	if err != nil {
		return nil, err
	}
	return &rankStore{rocksStore: rs}, nil
}

// states creates the states on first use: a backend can only be restored
// before any state is created, and Open does not know whether a restore
// follows.
func (s *rankStore) states() error {
	if s.top != nil {
		return nil
	}
	top, err := s.be.ValueState("rank-top")
	if err != nil {
		return fmt.Errorf("rocksdb state: %w", err)
	}
	tail, err := s.be.MapState("rank-tail")
	if err != nil {
		return fmt.Errorf("rocksdb state: %w", err)
	}
	s.top, s.tail = top, tail
	return nil
}

// keyBytes passes a partition key to the backend without an allocation
// per call (the backend copies what it keeps).
func (s *rankStore) keyBytes(k string) []byte {
	s.kbuf = append(s.kbuf[:0], k...)
	return s.kbuf
}

func (s *rankStore) skBytes(k string) []byte {
	s.sk = append(s.sk[:0], k...)
	return s.sk
}

// rocksPart is a partition while a batch works on it.
type rocksPart struct {
	kg      int
	key     string
	head    []rankRow
	emitted []rankRow // the top N of the head as loaded: what was emitted last
	// tailN counts the tail's rows; with a TTL an upper bound (entries
	// expire silently), corrected when a refill finds fewer.
	tailN int64
	// lists holds the tail entries this batch changed (empty: deleted).
	lists map[string][]rankRow
	dirty bool
}

// headCap is the most rows a head keeps.
func (r *Rank) headCap() int {
	n := max(r.Limit, 0)
	if !r.InputUpdating {
		return int(n)
	}
	return int(n + min(n, rankHeadSlack))
}

// processRocks is process for rocksdb state.
func (r *Rank) processRocks(b batch.Batch, out exec.Collector) error {
	s := r.store
	if err := s.states(); err != nil {
		return err
	}
	if cap(r.keyCols) < len(r.PartitionKeys) {
		r.keyCols = make([]arrow.Array, len(r.PartitionKeys))
	}
	keyCols := r.keyCols[:len(r.PartitionKeys)]
	for i, k := range r.PartitionKeys {
		keyCols[i] = b.Column(k)
	}
	s.keyGroups(keyCols, b.Len())
	ncol := r.In.Len()
	probe := rankRow{cells: r.probe}
	for row := 0; row < b.Len(); row++ {
		retract := b.Kind(row).IsRetract()
		if !r.InputUpdating {
			if retract {
				return fmt.Errorf("retraction into a Top-N whose input was planned as insert-only")
			}
			if r.Limit <= 0 {
				continue
			}
		}
		r.keyBuf = appendKey(r.keyBuf[:0], keyCols, row)
		p := r.rparts[string(r.keyBuf)]
		if p == nil {
			var err error
			if p, err = r.loadPart(string(r.keyBuf), s.kgs[row]); err != nil {
				return err
			}
			r.rparts[p.key] = p
			r.rtouched = append(r.rtouched, p)
		}
		if !r.InputUpdating {
			// As in memory: a row that does not beat the N-th is dropped
			// before anything of it is read.
			for _, k := range r.OrderKeys {
				probe.cells[k.Col] = readCell(b.Column(k.Col), row)
			}
			if n := len(p.head); int64(n) >= r.Limit && r.less(probe, p.head[n-1]) >= 0 {
				continue
			}
		}
		// The cells' strings alias b: nothing of this batch outlives it.
		rr := rankRow{cells: make([]cell, ncol)}
		for c := range ncol {
			rr.cells[c] = readCell(b.Column(c), row)
		}
		var err error
		if retract {
			err = r.retractRocks(p, rr)
		} else {
			r.seq++
			rr.seq = r.seq
			err = r.insertRocks(p, rr)
		}
		if err != nil {
			return err
		}
	}
	for _, k := range r.OrderKeys {
		r.probe[k.Col] = cell{}
	}
	return r.flushRocks(out)
}

// loadPart reads a partition's head.
func (r *Rank) loadPart(key string, kg int) (*rocksPart, error) {
	s := r.store
	p := &rocksPart{kg: kg, key: key}
	v, ok, err := s.top.Get(kg, s.keyBytes(key), nil)
	if err != nil {
		return nil, fmt.Errorf("load Top-N state: %w", err)
	}
	if ok {
		d := &decoder{b: v}
		p.tailN = int64(d.uvarint())
		p.head = decodeRankRows(d, r.In.Len())
		if err := d.finish(); err != nil {
			return nil, fmt.Errorf("load Top-N state: %w", err)
		}
	}
	if !r.InputUpdating {
		// Restored state of a run whose input was updating: an
		// insert-only input keeps the top N only.
		if p.tailN > 0 {
			if err := s.tail.Clear(kg, s.keyBytes(key), nil); err != nil {
				return nil, fmt.Errorf("write Top-N state: %w", err)
			}
			p.tailN, p.dirty = 0, true
		}
		if len(p.head) > r.headCap() {
			p.head, p.dirty = p.head[:r.headCap()], true
		}
	}
	p.emitted = slices.Clone(p.head[:min(len(p.head), int(max(r.Limit, 0)))])
	return p, nil
}

// headPos is where row goes in head: after every row that orders before
// or equal to it (it arrived last).
func (r *Rank) headPos(head []rankRow, row rankRow) int {
	i, _ := slices.BinarySearchFunc(head, row, func(x, t rankRow) int {
		if c := r.less(x, t); c != 0 {
			return c
		}
		return -1
	})
	return i
}

func (r *Rank) insertRocks(p *rocksPart, row rankRow) error {
	n, hc := len(p.head), r.headCap()
	switch {
	case p.tailN == 0 && n < hc:
		p.head = slices.Insert(p.head, r.headPos(p.head, row), row)
	case n > 0 && r.less(row, p.head[n-1]) < 0:
		p.head = slices.Insert(p.head, r.headPos(p.head, row), row)
		if len(p.head) > hc {
			last := p.head[len(p.head)-1]
			p.head = p.head[:len(p.head)-1]
			if r.InputUpdating { // else it is forgotten
				if err := r.toTail(p, last, true); err != nil {
					return err
				}
			}
		}
	case r.InputUpdating:
		// Ranks after the head (an insert-only input dropped it above).
		if err := r.toTail(p, row, false); err != nil {
			return err
		}
	}
	p.dirty = true
	return nil
}

// toTail adds row to its tail entry: at the front when the head pushed it
// out (it ranks before the entry's rows), else at the end (it arrived
// last).
func (r *Rank) toTail(p *rocksPart, row rankRow, front bool) error {
	sk := string(r.appendOrderKey(nil, row.cells))
	list, err := r.tailList(p, sk)
	if err != nil {
		return err
	}
	if front {
		list = slices.Insert(list, 0, row)
	} else {
		list = append(list, row)
	}
	p.lists[sk] = list
	p.tailN++
	return nil
}

// tailList returns the tail entry sk as this batch sees it.
func (r *Rank) tailList(p *rocksPart, sk string) ([]rankRow, error) {
	if l, ok := p.lists[sk]; ok {
		return l, nil
	}
	if p.lists == nil {
		p.lists = map[string][]rankRow{}
	}
	if p.tailN == 0 {
		return nil, nil // the tail is empty: no read
	}
	s := r.store
	v, ok, err := s.tail.Get(p.kg, s.keyBytes(p.key), nil, s.skBytes(sk))
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("load Top-N state: %w", err)
		}
		return nil, err
	}
	d := &decoder{b: v}
	list := decodeRankRows(d, r.In.Len())
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("load Top-N state: %w", err)
	}
	return list, nil
}

// retractRocks removes the first row equal to row in rank order, as in
// memory: the head holds the partition's first rows, so it is searched
// first.
func (r *Rank) retractRocks(p *rocksPart, row rankRow) error {
	same := func(x rankRow) bool { return sameRankRow(x.cells, row.cells) }
	if i := slices.IndexFunc(p.head, same); i >= 0 {
		p.head = slices.Delete(p.head, i, i+1)
		p.dirty = true
		return nil
	}
	if p.tailN > 0 {
		sk := string(r.appendOrderKey(nil, row.cells))
		list, err := r.tailList(p, sk)
		if err != nil {
			return err
		}
		if j := slices.IndexFunc(list, same); j >= 0 {
			p.lists[sk] = slices.Delete(list, j, j+1)
			p.tailN--
			p.dirty = true
			return nil
		}
	}
	if r.TTL > 0 {
		return nil // its state may have expired
	}
	return errors.New("retraction of a row that was never added")
}

// refill moves the first tail rows into the head until it holds headCap
// rows or the tail is empty: pebble's entries in order, each replaced by
// this batch's version if it changed it, merged with the entries the
// batch created.
func (r *Rank) refill(p *rocksPart) error {
	s := r.store
	need := r.headCap() - len(p.head)
	if p.lists == nil {
		p.lists = map[string][]rankRow{}
	}
	keys := make([]string, 0, len(p.lists))
	for k := range p.lists {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	take := func(sk string, list []rankRow) {
		k := min(need, len(list))
		p.head = append(p.head, list[:k]...)
		p.lists[sk] = list[k:]
		p.tailN -= int64(k)
		need -= k
	}
	oi := 0
	ncol := r.In.Len()
	err := s.tail.Iterate(p.kg, s.keyBytes(p.key), nil, func(uk, v []byte) error {
		for ; oi < len(keys) && keys[oi] < string(uk) && need > 0; oi++ {
			take(keys[oi], p.lists[keys[oi]])
		}
		if need == 0 {
			return state.Stop
		}
		if oi < len(keys) && keys[oi] == string(uk) {
			take(keys[oi], p.lists[keys[oi]])
			oi++
		} else {
			d := &decoder{b: v}
			list := decodeRankRows(d, ncol)
			if err := d.finish(); err != nil {
				return err
			}
			take(string(uk), list)
		}
		if need == 0 {
			return state.Stop
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load Top-N state: %w", err)
	}
	for ; oi < len(keys) && need > 0; oi++ {
		take(keys[oi], p.lists[keys[oi]])
	}
	if need > 0 || p.tailN < 0 {
		p.tailN = 0 // all of the tail is in the head now (or expired)
	}
	p.dirty = true
	return nil
}

// flushRocks emits each touched partition's change, writes the changed
// partitions back and forgets them.
func (r *Rank) flushRocks(out exec.Collector) error {
	r.cells.reset()
	r.kinds = r.kinds[:0]
	n := int(max(r.Limit, 0))
	// Refills iterate pebble, which flushes the backend's cache: all of
	// them before this batch writes anything.
	for _, p := range r.rtouched {
		if r.InputUpdating && len(p.head) < n && p.tailN > 0 {
			if err := r.refill(p); err != nil {
				return err
			}
		}
	}
	for _, p := range r.rtouched {
		r.emitChanges(p.emitted, p.head[:min(len(p.head), n)])
		if p.dirty {
			if err := r.writePart(p); err != nil {
				return fmt.Errorf("write Top-N state: %w", err)
			}
		}
	}
	clear(r.rparts)
	clear(r.rtouched)
	r.rtouched = r.rtouched[:0]
	if err := r.store.be.WriteBack(); err != nil {
		return fmt.Errorf("flush Top-N state: %w", err)
	}
	return r.collect(out)
}

func (r *Rank) writePart(p *rocksPart) error {
	s := r.store
	for sk, list := range p.lists {
		var err error
		if len(list) == 0 {
			err = s.tail.Delete(p.kg, s.keyBytes(p.key), nil, s.skBytes(sk))
		} else {
			s.buf = appendRankRows(s.buf[:0], list)
			err = s.tail.Put(p.kg, s.keyBytes(p.key), nil, s.skBytes(sk), s.buf)
		}
		if err != nil {
			return err
		}
	}
	if len(p.head) == 0 && p.tailN == 0 {
		return s.top.Delete(p.kg, s.keyBytes(p.key), nil)
	}
	s.buf = binary.AppendUvarint(s.buf[:0], uint64(p.tailN))
	s.buf = appendRankRows(s.buf, p.head)
	return s.top.Put(p.kg, s.keyBytes(p.key), nil, s.buf)
}

func appendRankRows(dst []byte, rows []rankRow) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(rows)))
	for _, row := range rows {
		dst = binary.AppendVarint(dst, row.seq)
		for _, c := range row.cells {
			dst = appendCellBytes(dst, c)
		}
	}
	return dst
}

// decodeRankRows reads what appendRankRows wrote. The rows' strings are
// substrings of one copy of the input: one allocation, not one per
// string (decoding heads is most of a batch's work).
func decodeRankRows(d *decoder, ncol int) []rankRow {
	all := string(d.b)
	d.b = unsafe.Slice(unsafe.StringData(all), len(all)) // read only
	n := d.count()
	rows := make([]rankRow, n)
	cells := make([]cell, n*ncol)
	for i := range rows {
		rows[i].seq = d.varint()
		rows[i].cells = cells[i*ncol : (i+1)*ncol : (i+1)*ncol]
		for j := range ncol {
			rows[i].cells[j] = d.cellIn(all)
		}
		if d.err != nil {
			return nil
		}
	}
	return rows
}

// cellIn is d.cell for a d.b that views all: a string is a substring of
// all instead of a copy.
func (d *decoder) cellIn(all string) cell {
	if len(d.b) < 1 || d.b[0]&4 == 0 {
		return d.cell() // no string
	}
	tag := d.b[0]
	if tag&^0x87 != 0 || tag&0x80 == 0 {
		d.fail()
		return cell{}
	}
	d.b = d.b[1:]
	var c cell
	if tag&1 != 0 {
		c.i = d.varint()
	}
	if tag&2 != 0 {
		c.f = math.Float64frombits(d.uint64())
	}
	if b := d.bytes(); d.err == nil {
		off := len(all) - len(d.b) - len(b)
		c.s = all[off : off+len(b)]
	}
	return c
}

// appendOrderKey encodes a row's ORDER BY values so that byte order is
// rank order (less): per column a tag (0 NULL, first; 1 value), then
// integers 8 bytes big-endian with the sign flipped, doubles as
// order-preserving bits (NaN first, as cmp.Compare has it), strings with
// 0x00 escaped as 0x00 0xFF and ended by 0x00 0x01. A descending column's
// bytes are inverted: every column's encoding is prefix-free, so that
// reverses its order.
func (r *Rank) appendOrderKey(dst []byte, cells []cell) []byte {
	for _, k := range r.OrderKeys {
		start := len(dst)
		c := cells[k.Col]
		if c.null {
			dst = append(dst, 0)
		} else {
			dst = append(dst, 1)
			switch r.In.Fields[k.Col].Type.Kind {
			case types.Double:
				dst = binary.BigEndian.AppendUint64(dst, orderedDoubleBits(c.f))
			case types.String:
				for i := 0; i < len(c.s); i++ {
					if c.s[i] == 0 {
						dst = append(dst, 0, 0xFF)
					} else {
						dst = append(dst, c.s[i])
					}
				}
				dst = append(dst, 0, 1)
			default:
				dst = binary.BigEndian.AppendUint64(dst, uint64(c.i)^(1<<63))
			}
		}
		if k.Desc {
			for i := start; i < len(dst); i++ {
				dst[i] = ^dst[i]
			}
		}
	}
	return dst
}

func orderedDoubleBits(f float64) uint64 {
	if f != f {
		return 0 // below -Inf's encoding
	}
	if f == 0 {
		f = 0 // -0 = +0
	}
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		return ^b
	}
	return b | 1<<63
}
