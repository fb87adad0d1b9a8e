package ops

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Sort and Limit checkpoints (exec.Stateful). Both run at parallelism 1
// and their state is not keyed, so a restore at another parallelism is
// refused.
//
// Sort's state is the input it buffered. Batches are immutable once
// emitted, so the synchronous phase just copies the list of batches; the
// asynchronous phase encodes their rows column by column into sort.snap.
// Limit's state is how many rows it has seen, in limit.snap.

const (
	sortSnapFile  = "sort.snap"
	sortMagic     = "SSQLSRT1"
	limitSnapFile = "limit.snap"
	limitMagic    = "SSQLLIM1"
)

// physicalTypes maps the Arrow layouts operators see to a types.Type of
// that layout (for buildColumn).
func physicalType(dt arrow.DataType) (types.Type, error) {
	switch dt.ID() {
	case arrow.INT64:
		return types.TypeBigInt, nil
	case arrow.INT32:
		return types.TypeInt, nil
	case arrow.FLOAT64:
		return types.TypeDouble, nil
	case arrow.STRING:
		return types.TypeString, nil
	case arrow.BOOL:
		return types.TypeBoolean, nil
	case arrow.NULL:
		return types.TypeNull, nil
	}
	return types.Type{}, fmt.Errorf("not supported yet: a snapshot of a %s column", dt)
}

func (s *Sort) shape() ([]byte, []types.Type, error) {
	b := binary.AppendUvarint(nil, uint64(s.Schema.NumFields()))
	ts := make([]types.Type, s.Schema.NumFields())
	for i, f := range s.Schema.Fields() {
		t, err := physicalType(f.Type)
		if err != nil {
			return nil, nil, err
		}
		ts[i] = t
		b = append(b, byte(t.Kind))
	}
	return b, ts, nil
}

// SnapshotState implements exec.Stateful.
func (s *Sort) SnapshotState(exec.SnapshotContext) (exec.AsyncSnapshot, error) {
	meta, _, err := s.shape()
	if err != nil {
		return nil, err
	}
	bufs := slices.Clone(s.buf)
	return func(w exec.SnapshotWriter) error {
		f, err := newSnapFile(w, sortSnapFile, sortMagic, meta)
		if err != nil {
			return err
		}
		var rec []byte
		for _, b := range bufs {
			rec = binary.AppendUvarint(rec[:0], uint64(b.Len()))
			for c := 0; c < int(b.Rec.NumCols()); c++ {
				col := b.Column(c)
				for r := 0; r < b.Len(); r++ {
					rec = appendCellBytes(rec, readCell(col, r))
				}
			}
			f.record(0, rec)
		}
		return f.close()
	}, nil
}

// RestoreState implements exec.Stateful.
func (s *Sort) RestoreState(rc exec.RestoreContext) error {
	snap, err := restoreSingle(rc, "ORDER BY")
	if err != nil {
		return err
	}
	shape, ts, err := s.shape()
	if err != nil {
		return err
	}
	f, err := readSnapFile(snap.Dir, sortSnapFile, sortMagic)
	if err != nil {
		return err
	}
	if string(f.meta) != string(shape) {
		return errors.New("the snapshot is of a different ORDER BY (its columns changed)")
	}
	var cells []cell
	for {
		_, payload, ok, err := f.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		d := &decoder{b: payload}
		n := d.count()
		cols := make([]arrow.Array, len(ts))
		for c, t := range ts {
			cells = cells[:0]
			for r := 0; r < n; r++ {
				cells = append(cells, d.cell())
			}
			cols[c] = buildColumn(t, cells)
		}
		if err := d.finish(); err != nil {
			return fmt.Errorf("sort snapshot: %w", err)
		}
		s.buf = append(s.buf, batch.New(batch.NewRecordArrow(s.Schema, cols, n)))
	}
}

// SnapshotState implements exec.Stateful.
func (l *Limit) SnapshotState(exec.SnapshotContext) (exec.AsyncSnapshot, error) {
	meta := binary.AppendVarint(nil, l.seen)
	if l.done {
		meta = append(meta, 1)
	} else {
		meta = append(meta, 0)
	}
	return func(w exec.SnapshotWriter) error {
		f, err := newSnapFile(w, limitSnapFile, limitMagic, meta)
		if err != nil {
			return err
		}
		return f.close()
	}, nil
}

// RestoreState implements exec.Stateful. A limit that was already reached
// reports it again, so that a SELECT over an unbounded source ends.
func (l *Limit) RestoreState(rc exec.RestoreContext) error {
	snap, err := restoreSingle(rc, "LIMIT")
	if err != nil {
		return err
	}
	f, err := readSnapFile(snap.Dir, limitSnapFile, limitMagic)
	if err != nil {
		return err
	}
	if len(f.meta) == 0 {
		return fmt.Errorf("limit snapshot: %w", errCorrupt)
	}
	d := &decoder{b: f.meta[:len(f.meta)-1]}
	seen := d.varint()
	done := f.meta[len(f.meta)-1]
	if err := d.finish(); err != nil || seen < 0 || done > 1 {
		return fmt.Errorf("limit snapshot: %w", errCorrupt)
	}
	if _, _, ok, err := f.next(); ok || err != nil {
		return fmt.Errorf("limit snapshot: unexpected records: %w", errCorrupt)
	}
	l.seen, l.done = seen, done == 1
	if l.done && l.Reached != nil {
		l.Reached()
	}
	return nil
}
