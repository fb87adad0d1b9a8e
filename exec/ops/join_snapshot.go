package ops

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql/types"
)

// Join checkpoints (exec.Stateful). In memory, the synchronous phase
// collects each side's buckets and the asynchronous phase encodes them
// (one record per join key: its distinct rows with their multiplicity
// and, on outer sides, their match counts; copy-on-write keeps them as
// they were at the barrier), hashes each bucket's key, as the hash
// exchange hashes that side's rows, and writes join.snap. An interval join also
// keeps the event time of its last state sweep, so expiry goes on exactly
// as before. Join emits while it processes, so it has nothing to flush
// before a barrier.

const (
	joinSnapFile = "join.snap"
	joinMagic    = "SSQLJON3" // a logged side's rows are in segments (join_log.go)
	joinMagicV2  = "SSQLJON2" // still read: rows carry their write time (TTL)
	joinMagicV1  = "SSQLJON1" // still read: rows without write times
)

func (j *Join) shape() []byte {
	b := []byte{byte(j.Kind)}
	for _, s := range []types.Schema{j.Left, j.Right} {
		b = binary.AppendUvarint(b, uint64(s.Len()))
		for _, f := range s.Fields {
			b = append(b, byte(f.Type.Kind))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(j.LeftKeys)))
	for i := range j.LeftKeys {
		b = binary.AppendUvarint(b, uint64(j.LeftKeys[i]))
		b = binary.AppendUvarint(b, uint64(j.RightKeys[i]))
		if j.nullEqual(i) {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

// keyTypes are a side's key column types.
func (j *Join) keyTypes(side int) []types.Type {
	s := &j.sides[side]
	ts := make([]types.Type, len(s.keys))
	for i, k := range s.keys {
		ts[i] = s.schema.Fields[k].Type
	}
	return ts
}

// appendBucket encodes a bucket's rows: the record of join.snap, and the
// value pebble holds per join key (rocksdb).
func appendBucket(dst []byte, bk *joinBucket) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(bk.rows)))
	for i := range bk.rows {
		r := &bk.rows[i]
		dst = binary.AppendVarint(dst, r.count)
		dst = binary.AppendVarint(dst, r.assoc)
		dst = binary.AppendVarint(dst, r.written)
		for _, v := range r.cells {
			dst = appendCellBytes(dst, v)
		}
	}
	return dst
}

// SnapshotState implements exec.Stateful. In memory it is copy-on-write
// (cowEpochs): the synchronous phase only collects the buckets' pointers
// and starts a new epoch; the asynchronous phase encodes them (sorted by
// address, for locality) and writes the file, while the task replaces a
// bucket of an earlier epoch by a copy before changing it.
func (j *Join) SnapshotState(sc exec.SnapshotContext) (exec.AsyncSnapshot, error) {
	if j.store != nil {
		return j.store.snapshot(sc, j)
	}
	var bks [2][]*joinBucket
	var views [2]*logView
	for side := range j.sides {
		s := &j.sides[side]
		if s.log != nil {
			v := s.log.capture()
			views[side] = &v
			continue
		}
		b := make([]*joinBucket, 0, len(s.byInt)+len(s.byBytes))
		for _, bk := range s.byInt {
			b = append(b, bk)
		}
		for _, bk := range s.byBytes {
			b = append(b, bk)
		}
		bks[side] = b
	}
	split := len(bks[0]) // records [0, split) are the left side's
	shape := j.shape()
	meta := binary.AppendUvarint(nil, uint64(len(shape)))
	meta = append(meta, shape...)
	meta = binary.AppendVarint(meta, j.lastSweep)
	meta = binary.AppendUvarint(meta, uint64(split))
	for _, v := range views {
		if v == nil {
			meta = append(meta, 0)
			continue
		}
		meta = append(meta, 1)
		meta = binary.AppendUvarint(meta, v.swept)
		meta = binary.AppendUvarint(meta, uint64(len(v.segs)))
		for _, g := range v.segs {
			meta = binary.AppendUvarint(meta, g.lo)
			meta = binary.AppendUvarint(meta, g.hi)
		}
	}
	logPrefix := j.logPrefix
	type sideCfg struct {
		keys  []int
		types []types.Type
	}
	var cfg [2]sideCfg
	for side := range cfg {
		cfg[side] = sideCfg{keys: j.sides[side].keys, types: j.keyTypes(side)}
	}
	maxPar := j.maxPar
	sizeHint, snapBytes := int(j.snapBytes.Load()), &j.snapBytes
	state := &joinSnapState{bks: bks}
	release := beginCOW(&j.cow, state)
	return func(w exec.SnapshotWriter) error {
		defer release()
		for side, v := range views {
			if v != nil {
				if err := v.write(w, side, logPrefix); err != nil {
					return fmt.Errorf("join snapshot: %w", err)
				}
			}
		}
		c := newSnapCapture(sizeHint, split+len(state.bks[1]))
		// Key groups from the buckets' keys (their first row's), as the
		// hash exchange computes them for that side's rows.
		var kgs []int32
		for side := range state.bks {
			bks, keys := state.bks[side], cfg[side].keys
			inMemoryOrder(bks)
			kgs = append(kgs, itemKeyGroups(cfg[side].types, len(bks), maxPar, func(i, k int) cell {
				return bks[i].rows[0].cells[keys[k]]
			})...)
			for _, bk := range bks {
				c.buf = appendBucket(c.buf, bk)
				c.end()
			}
		}
		// Done reading buckets: copying stops, and the old ones may go.
		state.bks = [2][]*joinBucket{}
		release()
		snapBytes.Store(int64(c.size()))
		f, err := newSnapFile(w, joinSnapFile, joinMagic, meta)
		if err != nil {
			return err
		}
		for i := range c.len() {
			f.record(int(kgs[i]), c.record(i))
		}
		return f.close()
	}, nil
}

// joinSnapState is what an in-memory snapshot's asynchronous phase reads:
// the buckets of both sides at the barrier.
type joinSnapState struct {
	bks [2][]*joinBucket
}

// RestoreState implements exec.Stateful.
func (j *Join) RestoreState(rc exec.RestoreContext) error {
	if j.store != nil {
		return j.store.restore(rc, j)
	}
	haveSweep := false
	for _, snap := range rc.Snapshots {
		f, err := readSnapFile(snap.Dir, joinSnapFile, joinMagic)
		withTimes, withLogs := true, true
		if err != nil {
			if f2, err2 := readSnapFile(snap.Dir, joinSnapFile, joinMagicV2); err2 == nil {
				f, err, withLogs = f2, nil, false
			} else if f1, err1 := readSnapFile(snap.Dir, joinSnapFile, joinMagicV1); err1 == nil {
				f, err, withTimes, withLogs = f1, nil, false, false
			}
		}
		if errors.Is(err, fs.ErrNotExist) && fileExists(snap.Dir, joinRocksMeta) {
			return errors.New("not supported yet: restoring 'state.backend' = 'rocksdb' join state into 'hashmap'")
		}
		if err != nil {
			return err
		}
		d := &decoder{b: f.meta}
		shape := d.bytes()
		lastSweep := d.varint()
		split := d.uvarint()
		var segs [2][]logSeg
		var logged [2]bool
		var swept [2]uint64
		for side := range segs {
			if !withLogs || d.err != nil {
				break
			}
			if len(d.b) == 0 {
				d.fail()
				break
			}
			logged[side] = d.b[0] == 1
			d.b = d.b[1:]
			if logged[side] {
				swept[side] = d.uvarint()
				for range d.count() {
					segs[side] = append(segs[side], logSeg{d.uvarint(), d.uvarint()})
				}
			}
		}
		if err := d.finish(); err != nil {
			return fmt.Errorf("join snapshot metadata: %w", errCorrupt)
		}
		if !bytes.Equal(shape, j.shape()) {
			return errors.New("the snapshot is of a different join (its kind, columns or keys changed)")
		}
		for side := range logged {
			if logged[side] && !j.sides[side].insertOnly {
				return fmt.Errorf("the snapshot is of a different join (input %d was insert-only)", side)
			}
		}
		// Subtasks sweep at the same watermarks; the earliest is safe.
		if !haveSweep || lastSweep < j.lastSweep {
			j.lastSweep, haveSweep = lastSweep, true
		}
		var buckets [2][]*joinBucket
		kcs := [2]*keyChunk{newKeyChunk(j.keyTypes(0)), newKeyChunk(j.keyTypes(1))}
		for i := uint64(0); ; i++ {
			kg, payload, ok, err := f.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			side := 0
			if i >= split {
				side = 1
			}
			if !inRange(&rc, kg) {
				continue
			}
			bk, err := decodeBucket(payload, j.sides[side].schema.Len(), withTimes)
			if err != nil {
				return err
			}
			if len(bk.rows) >= bucketIndexAt {
				bk.buildIndex(j.seed)
			}
			if !withTimes && j.TTL > 0 { // no write times: the TTL starts over
				for i := range bk.rows {
					bk.rows[i].written = j.now().UnixNano()
				}
			}
			for k, col := range j.sides[side].keys {
				kcs[side].cols[k] = append(kcs[side].cols[k], bk.rows[0].cells[col])
			}
			if buckets[side] = append(buckets[side], bk); len(buckets[side]) == keyChunkSize {
				if err := j.addBuckets(side, buckets[side], kcs[side]); err != nil {
					return err
				}
				buckets[side] = buckets[side][:0]
			}
		}
		for side := range buckets {
			if err := j.addBuckets(side, buckets[side], kcs[side]); err != nil {
				return err
			}
		}
		for side := range segs {
			for _, g := range segs[side] {
				if err := j.restoreSeg(&rc, snap.Dir, side, g, lastSweep, swept[side]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// decodeBucket decodes one bucket record (withTimes: rows carry their write
// time, SSQLJON2).
func decodeBucket(payload []byte, ncol int, withTimes bool) (*joinBucket, error) {
	d := &decoder{b: payload}
	n := d.count()
	if n == 0 {
		return nil, fmt.Errorf("join snapshot: empty bucket: %w", errCorrupt)
	}
	bk := &joinBucket{}
	if n == 1 {
		bk.rows = bk.one[:1:1]
	} else {
		bk.rows = make([]joinRow, n)
	}
	cells := make([]cell, n*ncol)
	for i := range bk.rows {
		r := &bk.rows[i]
		r.count, r.assoc = d.varint(), d.varint()
		if withTimes {
			r.written = d.varint()
		}
		if r.count <= 0 || r.assoc < 0 {
			d.fail()
		}
		r.cells = cells[i*ncol : (i+1)*ncol : (i+1)*ncol]
		for c := range r.cells {
			r.cells[c] = d.cell()
		}
	}
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("join snapshot: %w", err)
	}
	return bk, nil
}

// addBuckets files restored buckets under their join keys, encoded as
// computeKeys encodes an input row's.
func (j *Join) addBuckets(side int, bks []*joinBucket, kc *keyChunk) error {
	defer kc.reset()
	if len(bks) == 0 {
		return nil
	}
	s := &j.sides[side]
	if s.log != nil {
		return j.relogBuckets(side, bks, kc)
	}
	dup := fmt.Errorf("join snapshot holds a key twice: %w", errCorrupt)
	if j.intKeyed {
		for _, bk := range bks {
			k := bk.rows[0].cells[s.keys[0]]
			if k.null {
				return fmt.Errorf("join snapshot: NULL key: %w", errCorrupt)
			}
			if s.byInt[k.i] != nil {
				return dup
			}
			s.byInt[k.i] = bk
		}
		return nil
	}
	keyCols := kc.arrays()
	var buf []byte
	for i, bk := range bks {
		buf = appendKey(buf[:0], keyCols, i)
		if s.byBytes[string(buf)] != nil {
			return dup
		}
		s.byBytes[string(buf)] = bk
	}
	return nil
}
