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

// WindowJoin checkpoints (exec.Stateful).
//
// hashmap: the synchronous phase encodes every open window's buffered rows
// into one buffer (a record per window, join key and side: window end,
// flag, key, rows), with the key group the key's bucket was filed under;
// the asynchronous phase writes wjoin.snap. Windowed state lives only
// until its window fires, so the copy is bounded by the open windows, as
// for window aggregation.
//
// rocksdb: the synchronous phase is a pebble checkpoint, uploaded by the
// asynchronous phase (rocksStore.snapshot).
//
// Both keep the watermark, so rows of windows that fired before the
// checkpoint stay late after a restore. The join emits only when windows
// fire, so it has nothing to flush before a barrier.

const (
	wjSnapFile   = "wjoin.snap"
	wjMagic      = "SSQLWJN1"
	wjRocksMeta  = "wjoin.rocks"
	wjRocksMagic = "SSQLWJR1"
)

// shape identifies what a snapshot's rows mean; restoring into a window
// join of another shape is refused instead of misreading state.
func (w *WindowJoin) shape() []byte {
	b := []byte{byte(w.Kind)}
	for _, s := range []types.Schema{w.Left, w.Right} {
		b = binary.AppendUvarint(b, uint64(s.Len()))
		for _, f := range s.Fields {
			b = append(b, byte(f.Type.Kind))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(w.LeftKeys)))
	for i := range w.LeftKeys {
		b = binary.AppendUvarint(b, uint64(w.LeftKeys[i]))
		b = binary.AppendUvarint(b, uint64(w.RightKeys[i]))
	}
	b = binary.AppendUvarint(b, uint64(w.LeftEnd))
	return binary.AppendUvarint(b, uint64(w.RightEnd))
}

func (w *WindowJoin) snapMeta() []byte {
	shape := w.shape()
	b := binary.AppendUvarint(nil, uint64(len(shape)))
	b = append(b, shape...)
	return binary.AppendVarint(b, w.watermark)
}

// checkSnapMeta compares a snapshot's shape with this operator's and
// returns its watermark.
func (w *WindowJoin) checkSnapMeta(meta []byte) (int64, error) {
	d := &decoder{b: meta}
	shape := d.bytes()
	wm := d.varint()
	if err := d.finish(); err != nil {
		return 0, fmt.Errorf("window join snapshot metadata: %w", errCorrupt)
	}
	if !bytes.Equal(shape, w.shape()) {
		return 0, errors.New("the snapshot is of a different window join (its kind, inputs or keys changed)")
	}
	return wm, nil
}

// SnapshotState implements exec.Stateful.
func (w *WindowJoin) SnapshotState(sc exec.SnapshotContext) (exec.AsyncSnapshot, error) {
	meta := w.snapMeta()
	if w.store != nil {
		if _, err := w.store.value(); err != nil { // a restore needs the state's metadata
			return nil, err
		}
		return w.store.rocksStore.snapshot(sc, wjRocksMeta, wjRocksMagic, meta)
	}
	c := newSnapCapture(w.snapBytes, w.snapCount)
	var kgs []int
	ends := make([]int64, 0, len(w.windows))
	for end := range w.windows {
		ends = append(ends, end)
	}
	slices.Sort(ends)
	for _, end := range ends {
		for _, bk := range w.windows[end].order {
			for side := range bk.rows {
				if len(bk.rows[side]) == 0 {
					continue
				}
				flag := byte(side)
				if bk.never {
					flag |= 2
				}
				c.buf = binary.AppendVarint(c.buf, end)
				c.buf = append(c.buf, flag)
				c.buf = binary.AppendUvarint(c.buf, uint64(len(bk.key)))
				c.buf = append(c.buf, bk.key...)
				for _, r := range bk.rows[side] {
					c.buf = appendRowBytes(c.buf, r)
				}
				c.end()
				kgs = append(kgs, bk.kg)
			}
		}
	}
	w.snapBytes, w.snapCount = c.size(), c.len()
	return func(sw exec.SnapshotWriter) error {
		f, err := newSnapFile(sw, wjSnapFile, wjMagic, meta)
		if err != nil {
			return err
		}
		for i := 0; i < c.len(); i++ {
			f.record(kgs[i], c.record(i))
		}
		return f.close()
	}, nil
}

// RestoreState implements exec.Stateful: records of this subtask's key
// groups are kept (any parallelism), and the smallest watermark of the
// snapshots, which drops no row any of them would have kept.
func (w *WindowJoin) RestoreState(rc exec.RestoreContext) error {
	if w.store != nil {
		return w.restoreStored(rc)
	}
	wm, haveWM := int64(0), false
	ncols := [2]int{w.Left.Len(), w.Right.Len()}
	for _, snap := range rc.Snapshots {
		r, err := readSnapFile(snap.Dir, wjSnapFile, wjMagic)
		if errors.Is(err, fs.ErrNotExist) && fileExists(snap.Dir, wjRocksMeta) {
			return errors.New("not supported yet: restoring 'state.backend' = 'rocksdb' window join state into 'hashmap'")
		}
		if err != nil {
			return err
		}
		m, err := w.checkSnapMeta(r.meta)
		if err != nil {
			return err
		}
		if !haveWM || m < wm {
			wm, haveWM = m, true
		}
		for {
			kg, payload, ok, err := r.next()
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
			end := d.varint()
			if len(d.b) < 1 {
				return fmt.Errorf("window join snapshot: %w", errCorrupt)
			}
			flag := d.b[0]
			d.b = d.b[1:]
			key := d.bytes()
			if d.err != nil || flag > 3 {
				return fmt.Errorf("window join snapshot: %w", errCorrupt)
			}
			side, never := int(flag&1), flag&2 != 0
			rows, err := decodeRows(d.b, ncols[side])
			if err != nil {
				return err
			}
			win := w.windows[end]
			if win == nil {
				win = &wjWindow{byKey: map[string]*wjBucket{}}
				w.windows[end] = win
			}
			mk := string(key) + "\x00"
			if never {
				mk = string(key) + "\x01"
			}
			bk := win.byKey[mk]
			if bk == nil {
				bk = &wjBucket{kg: kg, key: string(key), never: never}
				win.byKey[mk] = bk
				win.order = append(win.order, bk)
			}
			bk.rows[side] = append(bk.rows[side], rows...)
		}
	}
	if haveWM {
		w.watermark = wm
	}
	return nil
}

// restoreStored loads pebble snapshots into the (still unused) backend
// and finds the open windows among its namespaces.
func (w *WindowJoin) restoreStored(rc exec.RestoreContext) error {
	s := w.store
	if s.vs != nil {
		return errors.New("restore into rocksdb state that is already in use")
	}
	wm, haveWM := int64(0), false
	err := s.rocksStore.restore(rc, wjRocksMeta, wjRocksMagic, wjSnapFile, func(meta []byte) error {
		m, err := w.checkSnapMeta(meta)
		if err != nil {
			return err
		}
		if !haveWM || m < wm {
			wm, haveWM = m, true
		}
		return nil
	})
	if err != nil {
		return err
	}
	if haveWM {
		w.watermark = wm
	}
	vs, err := s.value()
	if err != nil {
		return err
	}
	return vs.Namespaces(func(ns []byte) error {
		end, err := windowOfNS(ns)
		if err != nil {
			return err
		}
		w.openEnds[end] = true
		return nil
	})
}
