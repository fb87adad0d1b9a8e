package ops

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql/types"
)

// Rank checkpoints (exec.Stateful). In memory, the synchronous phase
// collects the partitions and the asynchronous phase encodes each one's
// sorted rows (with their arrival numbers, which break ties; copy-on-write
// keeps them as they were at the barrier), hashes each partition's key
// into its key group and writes rank.snap. What was emitted last is not stored:
// after every batch it is the partition's top N, so a restore recomputes
// it. Rank emits after each batch, so it has no buffer to flush before a
// barrier. Each partition's record ends with its last write time (TTL).
// On rocksdb the snapshot is the pebble checkpoint (rocksStore) and a
// metadata file; rescaling filters pebble entries by key group. With an insert-only input a partition holds at most N rows; a
// restore into it keeps the first N of a snapshot that holds more.

const (
	rankSnapFile = "rank.snap"
	rankMagic    = "SSQLRNK1"
	// rocksdb: the metadata file next to the pebble checkpoint.
	rankRocksMeta  = "rank.rocks"
	rankRocksMagic = "SSQLRNR1"
)

func (r *Rank) shape() []byte {
	b := binary.AppendUvarint(nil, uint64(r.In.Len()))
	for _, f := range r.In.Fields {
		b = append(b, byte(f.Type.Kind))
	}
	b = binary.AppendUvarint(b, uint64(len(r.PartitionKeys)))
	for _, k := range r.PartitionKeys {
		b = binary.AppendUvarint(b, uint64(k))
	}
	b = binary.AppendUvarint(b, uint64(len(r.OrderKeys)))
	for _, k := range r.OrderKeys {
		b = binary.AppendUvarint(b, uint64(k.Col))
		if k.Desc {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return binary.AppendVarint(b, r.Limit)
}

// snapMeta is a snapshot's metadata: the operator's shape and the last
// arrival number.
func (r *Rank) snapMeta() []byte {
	shape := r.shape()
	meta := binary.AppendUvarint(nil, uint64(len(shape)))
	meta = append(meta, shape...)
	return binary.AppendVarint(meta, r.seq)
}

// checkSnapMeta refuses another Top-N's snapshot and continues the
// arrival numbers after the snapshot's.
func (r *Rank) checkSnapMeta(meta []byte) error {
	d := &decoder{b: meta}
	shape := d.bytes()
	seq := d.varint()
	if err := d.finish(); err != nil {
		return fmt.Errorf("rank snapshot metadata: %w", errCorrupt)
	}
	if !bytes.Equal(shape, r.shape()) {
		return errors.New("the snapshot is of a different Top-N (its columns, partition, order or N changed)")
	}
	r.seq = max(r.seq, seq)
	return nil
}

// SnapshotState implements exec.Stateful. In memory it is copy-on-write
// (rankCOW): the synchronous phase only collects the partitions' pointers
// and starts a new epoch; the asynchronous phase encodes them (sorted by
// address, for locality) and writes the file, while the task replaces a
// partition of an earlier epoch by a copy before changing it.
func (r *Rank) SnapshotState(sc exec.SnapshotContext) (exec.AsyncSnapshot, error) {
	if r.store != nil {
		if err := r.store.states(); err != nil { // a restore needs their metadata
			return nil, err
		}
		return r.store.snapshot(sc, rankRocksMeta, rankRocksMagic, r.snapMeta())
	}
	parts := slices.DeleteFunc(r.allParts(), func(p *rankPartition) bool { return len(p.rows) == 0 })
	r.cow.snapSeq = r.seq
	meta := r.snapMeta()
	keys, maxPar := r.PartitionKeys, r.maxPar
	keyTypes := make([]types.Type, len(keys))
	for i, k := range keys {
		keyTypes[i] = r.In.Fields[k].Type
	}
	sizeHint, snapBytes := int(r.snapBytes.Load()), &r.snapBytes
	state := &rankSnapState{parts: parts}
	release := beginCOW(&r.cow.cowEpochs, state)
	return func(w exec.SnapshotWriter) error {
		defer release()
		c := newSnapCapture(sizeHint, len(state.parts))
		inMemoryOrder(state.parts)
		// Key groups from the partitions' keys, as the hash exchange
		// computes them (not by decoding the records again).
		kgs := itemKeyGroups(keyTypes, len(state.parts), maxPar, func(i, k int) cell {
			return state.parts[i].rows[0].cells[keys[k]]
		})
		for _, p := range state.parts {
			c.buf = binary.AppendUvarint(c.buf, uint64(len(p.rows)))
			for _, row := range p.rows {
				c.buf = binary.AppendVarint(c.buf, row.seq)
				for _, v := range row.cells {
					c.buf = appendCellBytes(c.buf, v)
				}
			}
			// The last write (TTL), after the rows: snapshots written
			// before it existed end there.
			c.buf = binary.AppendVarint(c.buf, p.lastWrite)
			c.end()
		}
		// Done reading partitions: copying stops, and the old ones may go.
		state.parts = nil
		release()
		snapBytes.Store(int64(c.size()))
		f, err := newSnapFile(w, rankSnapFile, rankMagic, meta)
		if err != nil {
			return err
		}
		for i := range c.len() {
			f.record(int(kgs[i]), c.record(i))
		}
		return f.close()
	}, nil
}

// rankSnapState is what an in-memory snapshot's asynchronous phase reads:
// the partitions at the barrier.
type rankSnapState struct {
	parts []*rankPartition
}

// RestoreState implements exec.Stateful.
func (r *Rank) RestoreState(rc exec.RestoreContext) error {
	if r.store != nil {
		if r.store.top != nil {
			return errors.New("restore into rocksdb state that is already in use")
		}
		return r.store.restore(rc, rankRocksMeta, rankRocksMagic, rankSnapFile, r.checkSnapMeta)
	}
	ncol := r.In.Len()
	keyTypes := make([]types.Type, len(r.PartitionKeys))
	for i, k := range r.PartitionKeys {
		keyTypes[i] = r.In.Fields[k].Type
	}
	kc := newKeyChunk(keyTypes)
	var chunk []*rankPartition
	// Snapshots without write times restart the TTL clock.
	now := r.now().UnixNano()
	skip := make([]cell, ncol)
	add := func() error {
		keyCols := kc.arrays()
		for i, p := range chunk {
			r.setKey(keyCols, i)
			if r.part() != nil {
				return fmt.Errorf("rank snapshot holds a partition twice: %w", errCorrupt)
			}
			n := min(int64(len(p.rows)), r.Limit)
			p.emitted = append([]rankRow(nil), p.rows[:n]...)
			r.setPart(p)
		}
		chunk = chunk[:0]
		kc.reset()
		return nil
	}
	for _, snap := range rc.Snapshots {
		f, err := readSnapFile(snap.Dir, rankSnapFile, rankMagic)
		if errors.Is(err, fs.ErrNotExist) && fileExists(snap.Dir, rankRocksMeta) {
			return errors.New("not supported yet: restoring 'state.backend' = 'rocksdb' Top-N state into 'hashmap'")
		}
		if err != nil {
			return err
		}
		if err := r.checkSnapMeta(f.meta); err != nil {
			return err
		}
		for {
			kg, payload, ok, err := f.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if !inRange(&rc, kg) {
				continue
			}
			d := &decoder{b: payload}
			n := d.count()
			if n == 0 {
				return fmt.Errorf("rank snapshot: empty partition: %w", errCorrupt)
			}
			// An insert-only input keeps the top N only (a snapshot taken
			// with all rows kept holds more): the rest is read past.
			keep := n
			if !r.InputUpdating {
				keep = int(min(int64(n), max(r.Limit, 1)))
			}
			cells := make([]cell, keep*ncol)
			p := &rankPartition{rows: make([]rankRow, keep)}
			for i := 0; i < n; i++ {
				seq := d.varint()
				row := skip
				if i < keep {
					p.rows[i].seq = seq
					p.rows[i].cells = cells[i*ncol : (i+1)*ncol : (i+1)*ncol]
					row = p.rows[i].cells
				}
				for j := range row {
					row[j] = d.cell()
				}
				r.seq = max(r.seq, seq)
			}
			p.lastWrite = now
			if len(d.b) > 0 {
				p.lastWrite = d.varint()
			}
			if err := d.finish(); err != nil {
				return fmt.Errorf("rank snapshot: %w", err)
			}
			for j, k := range r.PartitionKeys {
				kc.cols[j] = append(kc.cols[j], p.rows[0].cells[k])
			}
			if chunk = append(chunk, p); len(chunk) == keyChunkSize {
				if err := add(); err != nil {
					return err
				}
			}
		}
	}
	return add()
}
