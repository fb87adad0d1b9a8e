package ops

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/state"
)

// wjStore keeps a window join's buffered rows in pebble ('state.backend' =
// 'rocksdb'): one value per (key group, join key + side, window), the
// namespace being the window (windowNS, so windows sort by end). The value
// is the side's rows of that key and window, encoded back to back; a batch
// appends to it with one read and one write per key it touches. The state
// key is the encoded join key followed by a flag byte (bit 0: the right
// side; bit 1: a key with a NULL, which matches nothing and is only kept
// for padding), so a key's left and right entries are adjacent in a
// window's iteration.
type wjStore struct {
	*rocksStore
	vs   state.ValueState // nil until first used (see value)
	pend map[string]int   // window namespace + state key -> pending entry
	ents []wjPending
	buf  []byte
}

// wjPending is the rows a batch adds to one state entry.
type wjPending struct {
	kg   int
	end  int64
	key  []byte
	rows []byte
}

func openWJStore(ctx *exec.OpContext) (*wjStore, error) {
	// No TTL: a window's state goes when the window fires.
	rs, err := openRocksStore(ctx, "wjoin", 0)
	if err != nil {
		return nil, err
	}
	return &wjStore{rocksStore: rs, pend: map[string]int{}}, nil
}

// value returns the rows state, creating it on first use: a backend can
// only be restored before any state is created, and Open does not know
// whether a restore follows.
func (s *wjStore) value() (state.ValueState, error) {
	if s.vs == nil {
		vs, err := s.be.ValueState("wjoin")
		if err != nil {
			return nil, fmt.Errorf("rocksdb state: %w", err)
		}
		s.vs = vs
	}
	return s.vs, nil
}

// storeRows appends the kept rows of a batch of one side to pebble (key
// groups are in w.kgs).
func (w *WindowJoin) storeRows(input int, b batch.Batch, keyCols []arrow.Array, keep []int32) error {
	s := w.store
	vs, err := s.value()
	if err != nil {
		return err
	}
	// Strings are encoded at once: no need to own them.
	w.readers = prepareColReaders(w.readers, b, false)
	ends := b.Column(w.end(input)).(*array.Int64)
	row := make([]cell, len(w.readers))
	for _, r32 := range keep {
		r := int(r32)
		never := hasNull(keyCols, r)
		if never && !w.outer[input] {
			continue
		}
		end := ends.Value(r)
		flag := byte(input)
		if never {
			flag |= 2
		}
		// The pending map's key: window (8 bytes), then the state key.
		w.keyBuf = binary.BigEndian.AppendUint64(w.keyBuf[:0], uint64(end))
		w.keyBuf = appendKey(w.keyBuf, keyCols, r)
		w.keyBuf = append(w.keyBuf, flag)
		i, ok := s.pend[string(w.keyBuf)]
		if !ok {
			i = len(s.ents)
			if i < cap(s.ents) {
				s.ents = s.ents[:i+1]
				p := &s.ents[i]
				p.kg, p.end = w.kgs[r], end
				p.key = append(p.key[:0], w.keyBuf[8:]...)
				p.rows = p.rows[:0]
			} else {
				s.ents = append(s.ents, wjPending{kg: w.kgs[r], end: end, key: append([]byte(nil), w.keyBuf[8:]...)})
			}
			s.pend[string(w.keyBuf)] = i
		}
		for c := range w.readers {
			row[c] = w.readers[c].read(r)
		}
		s.ents[i].rows = appendRowBytes(s.ents[i].rows, row)
	}
	for i := range s.ents {
		p := &s.ents[i]
		ns := windowNS(p.end)
		old, ok, err := vs.Get(p.kg, p.key, ns)
		if err != nil {
			return fmt.Errorf("read window join state: %w", err)
		}
		s.buf = s.buf[:0]
		if ok {
			s.buf = append(s.buf, old...)
		}
		s.buf = append(s.buf, p.rows...)
		if err := vs.Put(p.kg, p.key, ns, s.buf); err != nil {
			return fmt.Errorf("write window join state: %w", err)
		}
		w.openEnds[p.end] = true
	}
	clear(s.pend)
	s.ents = s.ents[:0]
	if err := s.be.WriteBack(); err != nil {
		return fmt.Errorf("flush window join state: %w", err)
	}
	return nil
}
