package ops

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/state"
)

// joinStore keeps a Join's rows in pebble ('state.backend' = 'rocksdb').
//
// Layout: per side a ValueState ("join.left", "join.right") holding, per
// (key group, join key), the whole bucket of that key, encoded as a
// join.snap record (appendBucket: each distinct row with its multiplicity,
// its match count on outer sides, and its write time for the TTL). One
// value per key rather than a MapState entry per row, because a probe
// needs every row of its key: the rocks MapState's Iterate flushes the
// write-back cache, opens a pebble iterator and waits for a running
// checkpoint on every call, while a value is one Get, served by the cache
// when hot. The price is that a batch touching a key rewrites its whole
// bucket: O(bucket) per batch, which probing that key costs anyway.
//
// A batch first loads the buckets of its join keys on both sides into the
// sides' maps (each key read at most once), the in-memory code then joins
// exactly as on 'hashmap', and the changed buckets are written back and
// the maps cleared: memory is bounded by the batch, not by the state.
//
// Interval joins index their rows by expiry time: per side a ValueState
// ("join.left.expiry", ...) whose namespace is a time bucket (the
// watermark at which a row stops matching, divided by the sweep step) and
// whose entries are the (key group, join key) of the rows added with an
// expiry in it, with an empty value. A sweep reads only the buckets the
// watermark has reached, drops the expired rows of their keys with the
// in-memory predicate, and clears (one range deletion) each bucket the
// watermark has passed entirely. Namespaces rather than a time prefix in
// the key, so a passed bucket goes without reading it again and the
// buckets are listed by Namespaces on restore; there are few open at a
// time (the interval over the step, about three), kept in memory.
type joinStore struct {
	*rocksStore
	rows   [2]state.ValueState
	expiry [2]state.ValueState // interval joins only
	// open are the time buckets of each side's expiry index.
	open [2]map[int64]bool
	// ttlLimit (Unix ns, 0: none) is the last TTL sweep's limit: rows
	// written before it are dropped whenever their bucket is read, which
	// is what the in-memory sweep would have done to them.
	ttlLimit int64
	created  bool

	keyCols           []arrow.Array
	kbuf, vbuf, nsbuf []byte
}

const (
	joinRocksMeta  = "join.rocks"
	joinRocksMagic = "SSQLJOR1"
)

var joinStateNames = [2]string{"join.left", "join.right"}

func openJoinStore(ctx *exec.OpContext, j *Join) (*joinStore, error) {
	var ttl time.Duration
	if j.TTL > 0 {
		// The backend's own TTL only collects buckets no batch reads any
		// more; the rows' TTL is applied by ttlLimit. With two sweep
		// periods of slack it never drops a row the sweep would have
		// kept.
		ttl = j.TTL + 2*j.ttlSweepEvery()
	}
	rs, err := openRocksStore(ctx, "join", ttl)
	if err != nil {
		return nil, err
	}
	return &joinStore{rocksStore: rs, open: [2]map[int64]bool{{}, {}}}, nil
}

// states creates the states on first use: a backend can only be restored
// before any state exists, and Open does not know whether a restore
// follows.
func (st *joinStore) states(j *Join) error {
	if st.created {
		return nil
	}
	for side, name := range joinStateNames {
		vs, err := st.be.ValueState(name)
		if err != nil {
			return fmt.Errorf("rocksdb state: %w", err)
		}
		st.rows[side] = vs
		if j.expiring() {
			xs, err := st.be.ValueState(name + ".expiry")
			if err != nil {
				return fmt.Errorf("rocksdb state: %w", err)
			}
			st.expiry[side] = xs
		}
	}
	st.created = true
	return nil
}

// intKeyBytes is an int-keyed join's key as stored.
func (st *joinStore) intKeyBytes(k int64) []byte {
	st.kbuf = binary.BigEndian.AppendUint64(st.kbuf[:0], uint64(k))
	return st.kbuf
}

// rowKey is input row r's join key as stored (valid until the next call).
func (st *joinStore) rowKey(j *Join, r int) []byte {
	if j.intKeyed {
		return st.intKeyBytes(j.keys.ints[r])
	}
	return j.keys.buf[j.keys.offs[r]:j.keys.offs[r+1]]
}

// loadBatch loads the buckets of the batch's join keys on both sides, and
// indexes the expiry of its new rows (interval joins).
func (st *joinStore) loadBatch(j *Join, input int, b batch.Batch) error {
	if err := st.states(j); err != nil {
		return err
	}
	n := b.Len()
	cols := st.keyCols[:0]
	for _, c := range j.sides[input].keys {
		cols = append(cols, b.Column(c))
	}
	st.keyCols = cols
	st.keyGroups(cols, n)
	var tcol arrow.Array
	var off, step int64
	if j.expiring() {
		var c int
		c, off = j.expiryCol(input)
		tcol, step = b.Column(c), j.sweepStep()
	}
	for r := 0; r < n; r++ {
		if j.keys.never[r] {
			continue
		}
		kg := st.kgs[r]
		for _, side := range [2]int{1 - input, input} {
			if side == input && j.ended[1-input] {
				continue // this side keeps no rows any more (EndInput)
			}
			bk := j.sides[side].get(&j.keys, j.intKeyed, r)
			if bk == nil {
				var err error
				if bk, err = st.load(j, side, kg, st.rowKey(j, r)); err != nil {
					return err
				}
				j.sides[side].put(&j.keys, j.intKeyed, r, bk)
			}
			// This side's row changes its bucket; an outer other side
			// counts its matches in its rows.
			if side == input || j.outer[side] {
				bk.dirty = true
			}
		}
		if tcol != nil && !j.ended[1-input] && !b.Kind(r).IsRetract() {
			if t := readCell(tcol, r); !t.null {
				tb := floorDiv(t.i+off, step)
				st.nsbuf = state.NamespaceInt64(st.nsbuf[:0], tb)
				if err := st.expiry[input].Put(kg, st.rowKey(j, r), st.nsbuf, nil); err != nil {
					return fmt.Errorf("join: rocksdb state: %w", err)
				}
				st.open[input][tb] = true
			}
		}
	}
	return nil
}

// put files a loaded bucket under row r's key.
func (s *joinSide) put(k *rowKeys, intKeyed bool, r int, bk *joinBucket) {
	if intKeyed {
		s.byInt[k.ints[r]] = bk
	} else {
		s.byBytes[string(k.buf[k.offs[r]:k.offs[r+1]])] = bk
	}
}

// load reads the bucket of (kg, key) of a side; an absent one loads empty.
func (st *joinStore) load(j *Join, side, kg int, key []byte) (*joinBucket, error) {
	v, ok, err := st.rows[side].Get(kg, key, nil)
	if err != nil {
		return nil, fmt.Errorf("join: rocksdb state: %w", err)
	}
	var bk *joinBucket
	if ok {
		if bk, err = decodeBucket(v, j.sides[side].schema.Len(), true); err != nil {
			return nil, fmt.Errorf("join: rocksdb state: %w", err)
		}
		bk.existed = true
		if limit := st.ttlLimit; limit != 0 && j.TTL > 0 &&
			j.sides[side].dropRows(bk, func(r *joinRow) bool { return r.written < limit }) {
			bk.dirty = true
		}
		if len(bk.rows) >= bucketIndexAt && bk.index == nil {
			bk.buildIndex(j.seed)
		}
	} else {
		bk = &joinBucket{}
		bk.rows = bk.one[:0:1]
	}
	bk.kg = int32(kg)
	return bk, nil
}

// writeBack writes the changed buckets of both sides to the backend (a
// bucket left without rows is deleted) and empties the sides' maps.
func (st *joinStore) writeBack(j *Join) error {
	defer st.discard(j)
	for side := range j.sides {
		s := &j.sides[side]
		for k, bk := range s.byInt {
			if err := st.save(side, bk, st.intKeyBytes(k)); err != nil {
				return err
			}
		}
		for k, bk := range s.byBytes {
			st.kbuf = append(st.kbuf[:0], k...)
			if err := st.save(side, bk, st.kbuf); err != nil {
				return err
			}
		}
	}
	if err := st.be.WriteBack(); err != nil {
		return fmt.Errorf("join: flush rocksdb state: %w", err)
	}
	return nil
}

func (st *joinStore) save(side int, bk *joinBucket, key []byte) error {
	if !bk.dirty {
		return nil
	}
	var err error
	switch {
	case len(bk.rows) > 0:
		st.vbuf = appendBucket(st.vbuf[:0], bk)
		err = st.rows[side].Put(int(bk.kg), key, nil, st.vbuf)
	case bk.existed:
		err = st.rows[side].Delete(int(bk.kg), key, nil)
	}
	if err != nil {
		return fmt.Errorf("join: write rocksdb state: %w", err)
	}
	return nil
}

// discard forgets the loaded buckets (after writeBack, or after an error:
// pebble then still holds the state as of the last complete batch).
func (st *joinStore) discard(j *Join) {
	for side := range j.sides {
		clear(j.sides[side].byInt)
		clear(j.sides[side].byBytes)
	}
}

// expire is the interval join's sweep at watermark wm (see joinStore).
func (st *joinStore) expire(j *Join, wm int64) error {
	if err := st.states(j); err != nil {
		return err
	}
	defer st.discard(j)
	step := j.sweepStep()
	type ref struct {
		kg       int
		from, to int // the key in arena
	}
	var arena []byte
	for side := range j.sides {
		var due []int64
		for tb := range st.open[side] {
			if tb*step <= wm {
				due = append(due, tb)
			}
		}
		slices.Sort(due)
		var refs []ref
		for _, tb := range due {
			ns := state.NamespaceInt64(nil, tb)
			if err := st.expiry[side].Entries(ns, func(kg int, key, _ []byte) error {
				refs = append(refs, ref{kg: kg, from: len(arena), to: len(arena) + len(key)})
				arena = append(arena, key...)
				return nil
			}); err != nil {
				return fmt.Errorf("read rocksdb expiry index: %w", err)
			}
			if tb*step+step-1 <= wm { // every expiry in it has passed
				if err := st.expiry[side].ClearNamespace(ns); err != nil {
					return fmt.Errorf("free rocksdb expiry index: %w", err)
				}
				delete(st.open[side], tb)
			}
		}
		s := &j.sides[side]
		drop := j.expiredAt(side, wm)
		for _, rf := range refs {
			key := arena[rf.from:rf.to]
			var bk *joinBucket
			var ik int64
			if j.intKeyed {
				if len(key) != 8 {
					return fmt.Errorf("rocksdb expiry index: key of %d bytes: %w", len(key), errCorrupt)
				}
				ik = int64(binary.BigEndian.Uint64(key))
				bk = s.byInt[ik]
			} else {
				bk = s.byBytes[string(key)]
			}
			if bk == nil {
				var err error
				if bk, err = st.load(j, side, rf.kg, key); err != nil {
					return err
				}
				if j.intKeyed {
					s.byInt[ik] = bk
				} else {
					s.byBytes[string(key)] = bk
				}
			}
			if s.dropRows(bk, drop) {
				bk.dirty = true
			}
		}
	}
	return st.writeBack(j)
}

// expireTTL is the TTL sweep on rocksdb: rows older than limit are dropped
// when next read; buckets past the backend's TTL leave the disk through the
// incremental cleanup ticks (rocksStore.scheduleCleanup).
func (st *joinStore) expireTTL(j *Join, limit int64) error {
	st.ttlLimit = limit
	return nil
}

// joinRocksMetaBytes is the metadata file's payload: the join's shape, the
// last interval sweep, the TTL limit and the expiry index's step.
func (j *Join) joinRocksMetaBytes() []byte {
	shape := j.shape()
	meta := binary.AppendUvarint(nil, uint64(len(shape)))
	meta = append(meta, shape...)
	meta = binary.AppendVarint(meta, j.lastSweep)
	meta = binary.AppendVarint(meta, j.store.ttlLimit)
	return binary.AppendVarint(meta, j.indexStep())
}

// indexStep is the width of the expiry index's time buckets (0: none).
func (j *Join) indexStep() int64 {
	if !j.expiring() {
		return 0
	}
	return j.sweepStep()
}

// snapshot is the rocksdb synchronous phase (rocksStore.snapshot): every
// batch has written its buckets back, so the backend holds everything.
func (st *joinStore) snapshot(sc exec.SnapshotContext, j *Join) (exec.AsyncSnapshot, error) {
	if err := st.states(j); err != nil { // a restore needs their metadata
		return nil, fmt.Errorf("join: %w", err)
	}
	return st.rocksStore.snapshot(sc, joinRocksMeta, joinRocksMagic, j.joinRocksMetaBytes())
}

// restore loads pebble snapshots into the still unused backend, which
// keeps its own key groups (rescaling), and lists the expiry index's
// buckets.
func (st *joinStore) restore(rc exec.RestoreContext, j *Join) error {
	if st.created {
		return errors.New("join: restore into rocksdb state that is already in use")
	}
	haveMeta := false
	err := st.rocksStore.restore(rc, joinRocksMeta, joinRocksMagic, joinSnapFile, func(meta []byte) error {
		d := &decoder{b: meta}
		shape := d.bytes()
		lastSweep, ttlLimit, step := d.varint(), d.varint(), d.varint()
		if err := d.finish(); err != nil {
			return fmt.Errorf("join snapshot metadata: %w", errCorrupt)
		}
		if !bytes.Equal(shape, j.shape()) {
			return errors.New("the snapshot is of a different join (its kind, columns or keys changed)")
		}
		if step != j.indexStep() {
			return errors.New("the snapshot is of a different join (its time bounds changed)")
		}
		// As in memory, the earliest sweep and TTL limit of the old
		// subtasks drop nothing any of them kept.
		if !haveMeta || lastSweep < j.lastSweep {
			j.lastSweep = lastSweep
		}
		if !haveMeta || ttlLimit < st.ttlLimit {
			st.ttlLimit = ttlLimit
		}
		haveMeta = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if err := st.states(j); err != nil {
		return err
	}
	if !j.expiring() {
		return nil
	}
	for side := range st.expiry {
		if err := st.expiry[side].Namespaces(func(ns []byte) error {
			tb, ok := state.Int64OfNamespace(ns)
			if !ok {
				return fmt.Errorf("rocksdb expiry index: namespace of %d bytes: %w", len(ns), errCorrupt)
			}
			st.open[side][tb] = true
			return nil
		}); err != nil {
			return fmt.Errorf("join: %w", err)
		}
	}
	return nil
}

// storedRows counts a side's stored rows with their multiplicity (tests and metrics),
// leaving out those the TTL has expired.
func (j *Join) storedRows(side int) (int, error) {
	st := j.store
	if st == nil {
		return j.sides[side].stateRows(), nil
	}
	if err := st.states(j); err != nil {
		return 0, err
	}
	n := 0
	err := st.rows[side].Entries(nil, func(_ int, _, v []byte) error {
		bk, err := decodeBucket(v, j.sides[side].schema.Len(), true)
		if err != nil {
			return err
		}
		for i := range bk.rows {
			if st.ttlLimit == 0 || j.TTL == 0 || bk.rows[i].written >= st.ttlLimit {
				n += int(bk.rows[i].count)
			}
		}
		return nil
	})
	return n, err
}
