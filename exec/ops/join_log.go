package ops

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
)

// The log of an insert-only inner join side (in memory), and its
// incremental snapshots.
//
// Such a side's stored rows never change: nothing retracts them, no outer
// match count is kept on them and, without a TTL, no write time moves.
// They only arrive, and go when the watermark expires them (interval
// joins) or the other input ends. joinLog stores them in arrival order,
// in chunks, numbered (sequence numbers), each linked to the previous row
// of its key. A snapshot writes only the rows that arrived since the
// previous one, as a segment file stored once in the job's shared
// directory (exec.SharedSnapshotWriter), and references the segments of
// earlier checkpoints that still hold live rows. Segments are named by
// their row range, so a segment whose checkpoint failed is written again
// from the rows in memory. Nexmark q7 re-encoded every stored bid at each
// checkpoint (32 % of its CPU), and appending each bid to its price's
// bucket was another 40 %.
//
// A sweep does not unlink expired rows: it records its watermark and how
// many rows it saw, and those rows count as dropped when expired at it
// (what removing them would have done). Leading chunks whose rows all
// expired are freed, and keys without a row left leave the map. A
// segment keeps the rows that expired after it was written; a restore
// drops them again, along with the rows of other subtasks' key groups,
// and files the rest under their keys in arrival order, as before. A
// segment none of whose rows is left in memory is no longer referenced.

const (
	joinLogMagic = "SSQLJLG1"
	// joinLogRecord is the size at which a segment record is cut.
	joinLogRecord = 64 << 10
)

// joinLog holds a logged side's rows in arrival order, and finds them by
// key: each row links to the previous row of its key, and a map holds
// each key's newest row. A row is thus stored with sequential writes
// only (a bucket per key, appended to at random, was Nexmark q7's main
// cost), and a probe walks its key's chain (q7 and q9 probe such a side
// with few rows).
type joinLog struct {
	ncol int
	// timeCol >= 0: the side expires (interval join): a row at time t is
	// dropped once the watermark reaches t + off.
	timeCol int
	off     int64
	// chunks hold rows [chunks[0].first, next), logChunkRows each; only
	// a prefix of them is ever dropped.
	chunks []logChunk
	next   uint64 // sequence number of the next row
	// byInt or byBytes: a key's newest row (sequence number + 1).
	byInt   map[int64]uint64
	byBytes map[string]uint64
	segs    []logSeg // written by earlier snapshots, in order
	snapped uint64   // rows before it are in segs (or gone)
	// The last sweep (expire) was at watermark sweptWm and saw the rows
	// before swept: those of them it found expired count as dropped.
	swept   uint64
	sweptWm int64
	scratch []*joinRow
}

// logChunkRows is the number of rows of a chunk.
const logChunkRows = 1024

// logChunk is logChunkRows rows: row first+i has the cells
// cells[i*ncol:(i+1)*ncol] and its key's previous row prev[i] (sequence
// number + 1, 0 for none). A probe makes joinRows of them (rowArena):
// keeping one per stored row cost 48 bytes and a pointer for the
// garbage collector to follow, per row.
type logChunk struct {
	cells []cell
	prev  []uint64
	first uint64
	n     int
	// tmax is the latest row time; keep: a row has a NULL time, which
	// never expires.
	tmax int64
	keep bool
}

// logSeg is a segment file: rows [lo, hi).
type logSeg struct{ lo, hi uint64 }

func (g logSeg) name(side int) string { return fmt.Sprintf("join%d-%d-%d.seg", side, g.lo, g.hi) }

func newJoinLog(ncol int) *joinLog {
	return &joinLog{ncol: ncol, timeCol: -1, byInt: map[int64]uint64{}, byBytes: map[string]uint64{}}
}

// slot returns the cells of the next row (push stores it).
func (l *joinLog) slot() []cell {
	n := len(l.chunks)
	if n == 0 || l.chunks[n-1].n == logChunkRows {
		l.chunks = append(l.chunks, logChunk{
			cells: make([]cell, logChunkRows*l.ncol),
			prev:  make([]uint64, logChunkRows),
			first: l.next,
		})
		n++
	}
	c := &l.chunks[n-1]
	return c.cells[c.n*l.ncol : (c.n+1)*l.ncol : (c.n+1)*l.ncol]
}

// store stores row under its key, copying it into the next slot unless
// it was read there (slot).
func (l *joinLog) store(intKeyed bool, ik int64, bk []byte, row []cell) {
	if owned := l.slot(); &owned[0] != &row[0] {
		copy(owned, row)
		row = owned
	}
	l.push(intKeyed, ik, bk, row)
}

// push stores the row in the cells slot returned, under its key.
func (l *joinLog) push(intKeyed bool, ik int64, bk []byte, row []cell) {
	c := &l.chunks[len(l.chunks)-1]
	if l.timeCol >= 0 {
		if t := row[l.timeCol]; t.null {
			c.keep = true
		} else if c.n == 0 || t.i > c.tmax {
			c.tmax = t.i
		}
	}
	l.next++
	if intKeyed {
		c.prev[c.n] = l.byInt[ik]
		l.byInt[ik] = l.next
	} else {
		c.prev[c.n] = l.byBytes[string(bk)]
		l.byBytes[string(bk)] = l.next
	}
	c.n++
}

// at returns row seq's chunk and index, or nil if it was dropped.
func (l *joinLog) at(seq uint64) (*logChunk, int) {
	if len(l.chunks) == 0 || seq < l.chunks[0].first {
		return nil, 0
	}
	d := seq - l.chunks[0].first
	return &l.chunks[d/logChunkRows], int(d % logChunkRows)
}

// cells returns row i's cells.
func (l *joinLog) cells(c *logChunk, i int) []cell {
	return c.cells[i*l.ncol : (i+1)*l.ncol : (i+1)*l.ncol]
}

// dropped says a stored row (its cells) counts as gone: the last sweep
// saw it and found it expired.
func (l *joinLog) dropped(seq uint64, cells []cell) bool {
	if l.timeCol < 0 || seq >= l.swept {
		return false
	}
	t := cells[l.timeCol]
	return !t.null && l.sweptWm >= t.i+l.off
}

// matches appends the rows of head's chain (a map value) that have not
// been dropped to dst, oldest first (the order buckets keep), as joinRows
// of the arena.
func (l *joinLog) matches(dst []*joinRow, head uint64, a *rowArena) []*joinRow {
	from := len(dst)
	for head != 0 {
		c, i := l.at(head - 1)
		if c == nil {
			break
		}
		if cells := l.cells(c, i); !l.dropped(head-1, cells) {
			dst = append(dst, a.add(cells))
		}
		head = c.prev[i]
	}
	slices.Reverse(dst[from:])
	return dst
}

// rowArena holds the joinRows probes of logged sides return, until the
// output that points at them is emitted (Join.probe resets it then).
type rowArena struct {
	chunks [][]joinRow
	cur, n int // chunks[cur][:n] is the last used
}

const rowArenaChunk = 4096

func (a *rowArena) add(cells []cell) *joinRow {
	if a.cur == len(a.chunks) || a.n == rowArenaChunk {
		if a.cur < len(a.chunks) {
			a.cur++
		}
		if a.cur == len(a.chunks) {
			a.chunks = append(a.chunks, make([]joinRow, rowArenaChunk))
		}
		a.n = 0
	}
	r := &a.chunks[a.cur][a.n]
	*r = joinRow{cells: cells, count: 1}
	a.n++
	return r
}

// reset makes the arena's rows free for reuse (no pointer to them is
// left), dropping what they point at.
func (a *rowArena) reset() {
	for i := 0; i < a.cur && i < len(a.chunks); i++ {
		clear(a.chunks[i])
	}
	if a.cur < len(a.chunks) {
		clear(a.chunks[a.cur][:a.n])
	}
	a.cur, a.n = 0, 0
}

// live says head's chain holds a row not dropped.
func (l *joinLog) live(head uint64) bool {
	for head != 0 {
		c, i := l.at(head - 1)
		if c == nil {
			return false
		}
		if !l.dropped(head-1, l.cells(c, i)) {
			return true
		}
		head = c.prev[i]
	}
	return false
}

// expire is a sweep at watermark wm: the rows stored so far that it
// finds expired count as dropped from now on, the leading chunks all of
// whose rows are go (not the last one: the side is still filling it),
// and so do the keys none of whose rows is left.
func (l *joinLog) expire(wm int64) {
	l.swept, l.sweptWm = l.next, wm
	if l.timeCol < 0 {
		return
	}
	k := 0
	for k < len(l.chunks)-1 && !l.chunks[k].keep && wm >= l.chunks[k].tmax+l.off {
		k++
	}
	if k > 0 {
		clear(l.chunks[:k])
		l.chunks = slices.Delete(l.chunks, 0, k)
	}
	dropDeadKeys(l, l.byInt)
	dropDeadKeys(l, l.byBytes)
}

// dropDeadKeys removes the keys of one of the log's maps that have no row
// left.
func dropDeadKeys[K comparable](l *joinLog, m map[K]uint64) {
	for key, head := range m {
		if !l.live(head) {
			delete(m, key)
		}
	}
}

// reset forgets every row (the other input ended: the side is empty for
// good).
func (l *joinLog) reset() {
	l.chunks, l.segs, l.snapped = nil, nil, l.next
	clear(l.byInt)
	clear(l.byBytes)
}

// rows counts the rows not dropped.
func (l *joinLog) rowCount() int {
	n := 0
	for ci := range l.chunks {
		c := &l.chunks[ci]
		for i := range c.n {
			if !l.dropped(c.first+uint64(i), l.cells(c, i)) {
				n++
			}
		}
	}
	return n
}

// logView is what a snapshot's asynchronous phase reads of a log: the
// chunks as they were at the barrier (their cells below n*ncol never
// change) and the segments the snapshot is made of.
type logView struct {
	ncol   int
	chunks []logChunk
	segs   []logSeg
	swept  uint64
}

// capture is the synchronous phase: the rows since the last snapshot
// become a new segment, and segments without a live row are dropped.
func (l *joinLog) capture() logView {
	if l.next > l.snapped {
		l.segs = append(l.segs, logSeg{l.snapped, l.next})
		l.snapped = l.next
	}
	kept, ci := l.segs[:0], 0
	for _, g := range l.segs {
		for ci < len(l.chunks) && l.chunks[ci].first+uint64(l.chunks[ci].n) <= g.lo {
			ci++
		}
		if ci < len(l.chunks) && l.chunks[ci].first < g.hi && l.chunks[ci].n > 0 {
			kept = append(kept, g)
		}
	}
	l.segs = kept
	return logView{ncol: l.ncol, chunks: append([]logChunk(nil), l.chunks...), segs: append([]logSeg(nil), kept...), swept: l.swept}
}

// write stores the view's segments: each one an earlier checkpoint
// stored is referenced, the others are written from the rows in memory.
func (v *logView) write(w exec.SnapshotWriter, side int, prefix string) error {
	sw, shared := w.(exec.SharedSnapshotWriter)
	for _, g := range v.segs {
		name := g.name(side)
		if shared {
			ok, err := sw.ReuseShared(name, prefix+name)
			if err != nil {
				return err
			}
			if ok {
				continue
			}
		}
		var f io.WriteCloser
		var err error
		if shared {
			f, err = sw.CreateShared(name, prefix+name)
		} else {
			f, err = w.Create(name)
		}
		if err != nil {
			return err
		}
		if err := v.writeSeg(f, g); err != nil {
			return err
		}
	}
	return nil
}

// writeSeg writes segment g's rows still in memory: records of
// uvarint(sequence number of the first row), then consecutive rows back
// to back, each its ncol cells.
func (v *logView) writeSeg(f io.WriteCloser, g logSeg) error {
	meta := binary.AppendUvarint(nil, uint64(v.ncol))
	meta = binary.AppendUvarint(meta, g.lo)
	meta = binary.AppendUvarint(meta, g.hi)
	sf := newSnapFileOn(f, joinLogMagic, meta)
	buf := make([]byte, 0, joinLogRecord+4096)
	for _, c := range v.chunks {
		lo, hi := max(c.first, g.lo), min(c.first+uint64(c.n), g.hi)
		for s := lo; s < hi; s++ {
			if len(buf) == 0 {
				buf = binary.AppendUvarint(buf, s)
			}
			off := int(s-c.first) * v.ncol
			for _, x := range c.cells[off : off+v.ncol] {
				buf = appendCellBytes(buf, x)
			}
			if len(buf) >= joinLogRecord || s+1 == hi {
				sf.record(0, buf)
				buf = buf[:0]
			}
		}
	}
	if sf.err != nil {
		sf.abort()
		return fmt.Errorf("write snapshot: %w", sf.err)
	}
	return sf.close()
}

// newInstancePrefix names an operator instance's files in the shared
// directory of incremental checkpoints: random, since another instance
// (a restart, another subtask) numbers its files (pebble's SSTs, a join
// log's rows) from the start again.
func newInstancePrefix() (string, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(id[:]) + "-", nil
}

// openLogs gives every insert-only inner side of an in-memory join
// without a TTL its log.
func (j *Join) openLogs() error {
	for side := range j.sides {
		s := &j.sides[side]
		if !s.insertOnly || j.outer[side] || j.TTL > 0 || s.schema.Len() == 0 {
			continue
		}
		s.log = newJoinLog(s.schema.Len())
		if j.expiring() {
			s.log.timeCol, s.log.off = j.expiryCol(side)
		}
		if j.logPrefix == "" {
			p, err := newInstancePrefix()
			if err != nil {
				return fmt.Errorf("join: %w", err)
			}
			j.logPrefix = p
		}
	}
	return nil
}

// restoreSeg files the rows of one segment of a snapshot (in dir) that
// belong to this subtask's key groups and were not dropped by the
// snapshot's last sweep (at watermark lastSweep, of the rows before
// sequence number swept).
func (j *Join) restoreSeg(rc *exec.RestoreContext, dir string, side int, g logSeg, lastSweep int64, swept uint64) error {
	s := &j.sides[side]
	ncol := s.schema.Len()
	f, err := readSnapFile(dir, g.name(side), joinLogMagic)
	if err != nil {
		return fmt.Errorf("join snapshot: %w", err)
	}
	d := &decoder{b: f.meta}
	if n, lo, hi := d.uvarint(), d.uvarint(), d.uvarint(); d.finish() != nil || n != uint64(ncol) || lo != g.lo || hi != g.hi {
		return fmt.Errorf("join snapshot: %s is not the segment it should be: %w", g.name(side), errCorrupt)
	}
	var expired func(*joinRow) bool
	if j.expiring() && lastSweep != 0 {
		expired = j.expiredAt(side, lastSweep)
	}
	written := int64(0)
	if j.TTL > 0 {
		written = j.now().UnixNano() // no write times: the TTL starts over
	}
	kc := newKeyChunk(j.keyTypes(side))
	rows := make([]cell, 0, keyChunkSize*ncol)
	seqs := make([]uint64, 0, keyChunkSize)
	hashes := make([]uint64, keyChunkSize)
	var key []byte
	flush := func() error {
		n := len(rows) / ncol
		if n == 0 {
			return nil
		}
		keyCols := kc.arrays()
		h := hashes[:n]
		batch.HashColumns(keyCols, h)
		for i := range n {
			row := rows[i*ncol : (i+1)*ncol : (i+1)*ncol]
			if !inRange(rc, exec.KeyGroupOf(h[i], j.maxPar)) || expired != nil && seqs[i] < swept && expired(&joinRow{cells: row}) {
				continue
			}
			if !j.intKeyed {
				key = appendKey(key[:0], keyCols, i)
			}
			if err := s.restoreRow(j.intKeyed, key, row, written); err != nil {
				return err
			}
		}
		kc.reset()
		rows, seqs = rows[:0], seqs[:0]
		return nil
	}
	for {
		_, payload, ok, err := f.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		all := string(payload) // the rows' strings are views of it
		d := &decoder{b: payload}
		seq := d.uvarint()
		if seq < g.lo || d.err != nil {
			return fmt.Errorf("join snapshot: %s: row %d outside the segment: %w", g.name(side), seq, errCorrupt)
		}
		for ; len(d.b) > 0 && d.err == nil; seq++ {
			if seq >= g.hi {
				return fmt.Errorf("join snapshot: %s: row %d outside the segment: %w", g.name(side), seq, errCorrupt)
			}
			seqs = append(seqs, seq)
			for range ncol {
				rows = append(rows, d.cellIn(all))
			}
			row := rows[len(rows)-ncol:]
			for k, col := range s.keys {
				kc.cols[k] = append(kc.cols[k], row[col])
			}
			if len(rows) == cap(rows) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if d.err != nil {
			return fmt.Errorf("join snapshot: %s: %w", g.name(side), d.err)
		}
	}
	return flush()
}

// relogBuckets files restored buckets' rows on a logged side one by one
// (a snapshot written before the side was logged).
func (j *Join) relogBuckets(side int, bks []*joinBucket, kc *keyChunk) error {
	s := &j.sides[side]
	var keyCols []arrow.Array
	if !j.intKeyed {
		keyCols = kc.arrays()
	}
	var key []byte
	for i, bk := range bks {
		if !j.intKeyed {
			key = appendKey(key[:0], keyCols, i)
		}
		for _, r := range bk.rows {
			if r.assoc != 0 {
				return fmt.Errorf("join snapshot: matches counted on an inner side: %w", errCorrupt)
			}
			for range r.count {
				if err := s.restoreRow(j.intKeyed, key, r.cells, r.written); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// restoreRow stores a restored row of an insert-only side under its key
// (key: the encoded key unless intKeyed), copying its cells.
func (s *joinSide) restoreRow(intKeyed bool, key []byte, row []cell, written int64) error {
	var ik int64
	if intKeyed {
		k := row[s.keys[0]]
		if k.null {
			return fmt.Errorf("join snapshot: NULL key: %w", errCorrupt)
		}
		ik = k.i
	}
	if s.log != nil {
		s.log.store(intKeyed, ik, key, row)
		return nil
	}
	var bk *joinBucket
	if intKeyed {
		if bk = s.byInt[ik]; bk == nil {
			bk = s.newBucket()
			s.byInt[ik] = bk
		}
	} else if bk = s.byBytes[string(key)]; bk == nil {
		bk = s.newBucket()
		s.byBytes[string(key)] = bk
	}
	s.appendNew(bk, row, 0, written)
	return nil
}

// newBucket is an empty bucket of the current epoch.
func (s *joinSide) newBucket() *joinBucket {
	bk := &joinBucket{epoch: s.cow.epoch}
	bk.rows = bk.one[:0:1]
	return bk
}

// head is the map value of row r's key: its newest row (0: none).
func (l *joinLog) head(k *rowKeys, intKeyed bool, r int) uint64 {
	if k.never[r] {
		return 0
	}
	if intKeyed {
		return l.byInt[k.ints[r]]
	}
	return l.byBytes[string(k.buf[k.offs[r]:k.offs[r+1]])]
}
