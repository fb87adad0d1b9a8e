package ops

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
)

// Incremental snapshots of an insert-only inner join side (in memory).
//
// Such a side's stored rows never change: nothing retracts them, no outer
// match count is kept on them and, without a TTL, no write time moves.
// They only arrive, in order, into the side's cell chunks (slab), and go
// when the watermark expires them (interval joins) or the other input
// ends. joinLog lists those chunks in arrival order and numbers the rows
// (sequence numbers). A snapshot writes only the rows that arrived since
// the previous one, as a segment file stored once in the job's shared
// directory (exec.SharedSnapshotWriter), and references the segments of
// earlier checkpoints that still hold live rows. Segments are named by
// their row range, so a segment whose checkpoint failed is written again
// from the rows in memory. Nexmark q7 re-encoded every stored bid at each
// checkpoint: 32 % of its CPU.
//
// A segment keeps the rows that expired after it was written; a restore
// drops them again (those the snapshot's last sweep found expired: the
// rows that arrived before it) along with the rows of other subtasks' key
// groups, and files the rest under their keys, in arrival order as
// before. Chunks whose rows have all expired leave the
// log, so their memory goes, and a segment none of whose rows is left in
// the log is no longer referenced.

const (
	joinLogMagic = "SSQLJLG1"
	// joinLogRecord is the size at which a segment record is cut.
	joinLogRecord = 64 << 10
)

// joinLog is the arrival order of a logged side's rows.
type joinLog struct {
	ncol int
	// timeCol >= 0: the side expires (interval join): a row at time t is
	// dropped once the watermark reaches t + off.
	timeCol int
	off     int64
	chunks  []logChunk
	next    uint64   // sequence number of the next row
	segs    []logSeg // written by earlier snapshots, in order
	snapped uint64   // rows before it are in segs (or gone)
	// swept: rows before it were there at the last sweep (expire).
	swept uint64
}

// logChunk is one slab chunk of the side: rows first, first+1, ... take
// ncol cells each from the start of cells.
type logChunk struct {
	cells []cell
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

// newChunk starts a chunk: cells is the slab the side cuts its next rows
// from.
func (l *joinLog) newChunk(cells []cell) {
	if n := len(l.chunks); n > 0 && l.chunks[n-1].n == 0 {
		l.chunks = l.chunks[:n-1] // never used
	}
	l.chunks = append(l.chunks, logChunk{cells: cells, first: l.next})
}

// append records the row just cut from the last chunk.
func (l *joinLog) append(row []cell) {
	c := &l.chunks[len(l.chunks)-1]
	if l.timeCol >= 0 {
		if t := row[l.timeCol]; t.null {
			c.keep = true
		} else if c.n == 0 || t.i > c.tmax {
			c.tmax = t.i
		}
	}
	c.n++
	l.next++
}

// expire drops the chunks every row of which the watermark has expired
// (the last one stays: the side is still filling it).
func (l *joinLog) expire(wm int64) {
	l.swept = l.next
	if l.timeCol < 0 || len(l.chunks) < 2 {
		return
	}
	last := len(l.chunks) - 1
	kept := l.chunks[:0]
	for i, c := range l.chunks {
		if i == last || c.keep || wm < c.tmax+l.off {
			kept = append(kept, c)
		}
	}
	clear(l.chunks[len(kept):])
	l.chunks = kept
}

// reset forgets every row (the other input ended: the side is empty for
// good).
func (l *joinLog) reset() {
	l.chunks, l.segs, l.snapped = nil, nil, l.next
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

// newLogPrefix names this join instance's segments in the shared
// directory: another instance (a restart, another subtask) numbers its
// rows from 0 again.
func newLogPrefix() (string, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", fmt.Errorf("join: %w", err)
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
		s.log = &joinLog{ncol: s.schema.Len(), timeCol: -1}
		if j.expiring() {
			s.log.timeCol, s.log.off = j.expiryCol(side)
		}
		if j.logPrefix == "" {
			p, err := newLogPrefix()
			if err != nil {
				return err
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
	var bk *joinBucket
	if intKeyed {
		k := row[s.keys[0]]
		if k.null {
			return fmt.Errorf("join snapshot: NULL key: %w", errCorrupt)
		}
		if bk = s.byInt[k.i]; bk == nil {
			bk = s.newBucket()
			s.byInt[k.i] = bk
		}
	} else if bk = s.byBytes[string(key)]; bk == nil {
		bk = s.newBucket()
		s.byBytes[string(key)] = bk
	}
	owned := s.reserve(len(row))
	copy(owned, row)
	s.slab = s.slab[len(owned):]
	if s.log != nil {
		s.log.append(owned)
	}
	bk.rows = append(bk.rows, joinRow{cells: owned, count: 1, written: written})
	return nil
}

// newBucket is an empty bucket of the current epoch.
func (s *joinSide) newBucket() *joinBucket {
	bk := &joinBucket{epoch: s.cow.epoch}
	bk.rows = bk.one[:0:1]
	return bk
}
