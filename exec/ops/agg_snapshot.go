package ops

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql/types"
)

// GroupAgg checkpoints (exec.Stateful, exec.PreBarrierFlusher).
//
// hashmap: the synchronous phase encodes every group into one buffer (a
// record per group: last write time, session bounds, then the group as
// pebble stores it); the asynchronous phase hashes the key cells into key
// groups and writes agg.snap. Windowed aggregates also keep their
// watermark, so rows of windows that fired before the checkpoint stay late
// after a restore (they would otherwise fire their window a second time).
//
// rocksdb: the synchronous phase is a pebble checkpoint (hard links and the
// flushed memtable) into the scratch directory; the asynchronous phase
// uploads it, SST files shared between incremental checkpoints.
//
// Nothing mini-batched is snapshotted: PrepareSnapshotPreBarrier flushes it
// first, so its output belongs to the checkpoint's epoch.

const (
	aggSnapFile   = "agg.snap"
	aggMagic      = "SSQLAGG1"
	aggRocksMeta  = "agg.rocks"
	aggRocksMagic = "SSQLAGR1"
)

// PrepareSnapshotPreBarrier emits the buffered mini-batch.
func (a *GroupAgg) PrepareSnapshotPreBarrier(_ int64, out exec.Collector) error {
	if a.Windowed {
		return nil // windows emit only when the watermark fires them
	}
	return a.flush(out)
}

// aggShape identifies what a snapshot's groups mean; restoring into an
// aggregate of another shape is refused instead of misreading state.
func (a *GroupAgg) aggShape() []byte {
	b := binary.AppendUvarint(nil, uint64(len(a.Keys)))
	for i := range a.Keys {
		if i < a.Out.Len() {
			b = append(b, byte(a.Out.Fields[i].Type.Kind))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(a.Aggs)))
	for _, s := range a.Aggs {
		b = append(b, byte(s.Kind), byte(s.ArgType.Kind))
	}
	var flags byte
	if a.Windowed {
		flags |= 1
	}
	if a.Session {
		flags |= 2
	}
	if a.InputUpdating {
		flags |= 4
	}
	b = append(b, flags)
	if a.Windowed {
		b = binary.AppendUvarint(b, uint64(a.WindowStart))
		b = binary.AppendUvarint(b, uint64(a.WindowEnd))
	}
	return b
}

func (a *GroupAgg) snapMeta() []byte {
	shape := a.aggShape()
	b := binary.AppendUvarint(nil, uint64(len(shape)))
	b = append(b, shape...)
	return binary.AppendVarint(b, a.watermark)
}

// checkSnapMeta compares a snapshot's shape with this operator's and
// returns its watermark.
func (a *GroupAgg) checkSnapMeta(meta []byte) (int64, error) {
	d := &decoder{b: meta}
	shape := d.bytes()
	wm := d.varint()
	if err := d.finish(); err != nil {
		return 0, fmt.Errorf("snapshot metadata: %w", errCorrupt)
	}
	if !bytes.Equal(shape, a.aggShape()) {
		return 0, errors.New("the snapshot is of a different aggregate (its keys, aggregates or mode changed)")
	}
	return wm, nil
}

// aggSnapConfig is what the asynchronous phase needs: copies of settings,
// never the live state.
type aggSnapConfig struct {
	keyTypes []types.Type // the key columns' types
	hashKeys []int        // the key columns that make the key group
	session  bool
	maxPar   int
}

func (a *GroupAgg) snapConfig() aggSnapConfig {
	cfg := aggSnapConfig{session: a.Session, maxPar: a.maxPar}
	for i := range a.Keys {
		cfg.keyTypes = append(cfg.keyTypes, a.Out.Fields[i].Type)
		// Sessions are keyed by the non-window keys: the provisional
		// window of a row is not part of its session's identity.
		if !a.Session || (i != a.WindowStart && i != a.WindowEnd) {
			cfg.hashKeys = append(cfg.hashKeys, i)
		}
	}
	return cfg
}

// SnapshotState implements exec.Stateful.
func (a *GroupAgg) SnapshotState(sc exec.SnapshotContext) (exec.AsyncSnapshot, error) {
	if len(a.touched) > 0 {
		return nil, errors.New("snapshot with an unflushed mini-batch (PrepareSnapshotPreBarrier must run first)")
	}
	if a.store != nil {
		return a.store.snapshot(sc, a.snapMeta())
	}
	if !a.Session && !a.Windowed {
		return a.snapshotCOW(), nil
	}
	// Windows and sessions: the groups are encoded here, in the
	// synchronous phase (windowed state lives only until its window fires).
	c := newSnapCapture(a.snapBytes, a.snapCount)
	add := func(g *group, start, end int64) {
		c.buf = binary.AppendVarint(c.buf, g.lastWrite)
		if a.Session {
			c.buf = binary.AppendVarint(c.buf, start)
			c.buf = binary.AppendVarint(c.buf, end)
		}
		c.buf = a.encodeGroup(c.buf, g)
		c.end()
	}
	switch {
	case a.Session:
		ss := make([]*session, 0, len(a.sessions))
		for _, list := range a.sessions {
			ss = append(ss, list...)
		}
		inMemoryOrder(ss)
		for _, s := range ss {
			add(s.g, s.start, s.end)
		}
	case a.Windowed:
		// Window order is kept (it is the firing order within a window).
		a.colGroups(func(g *group) { add(g, 0, 0) })
		for _, w := range a.windows {
			for _, g := range w.order {
				add(g, 0, 0)
			}
		}
		for _, gs := range a.byEnd {
			for _, g := range gs {
				add(g, 0, 0)
			}
		}
	}
	a.snapBytes, a.snapCount = c.size(), c.len()
	meta, cfg := a.snapMeta(), a.snapConfig()
	return func(w exec.SnapshotWriter) error { return writeAggSnapshot(w, c, meta, cfg) }, nil
}

// snapshotCOW is the synchronous phase of a plain (not windowed) in-memory
// aggregate: it only collects the groups' pointers and starts a new epoch.
// The asynchronous phase encodes them; until it is done, touch copies a
// group of an earlier epoch before changing it, so what it reads stays as
// it was at the barrier (copy-on-write, as Flink's heap backend does).
func (a *GroupAgg) snapshotCOW() exec.AsyncSnapshot {
	gs := make([]*group, 0, len(a.intGroups)+len(a.groups))
	for _, g := range a.intGroups {
		gs = append(gs, g)
	}
	for _, g := range a.groups {
		gs = append(gs, g)
	}
	a.epoch++
	a.cowRunning.Add(1)
	running := &a.cowRunning
	sizeHint := a.snapBytes
	meta, cfg := a.snapMeta(), a.snapConfig()
	return func(w exec.SnapshotWriter) error {
		defer running.Add(-1)
		inMemoryOrder(gs)
		c := newSnapCapture(sizeHint, len(gs))
		for _, g := range gs {
			c.buf = binary.AppendVarint(c.buf, g.lastWrite)
			c.buf = a.encodeGroup(c.buf, g)
			c.end()
		}
		return writeAggSnapshot(w, c, meta, cfg)
	}
}

// writeAggSnapshot is the asynchronous phase: key groups are computed here,
// off the task's path, from the key cells at the head of each record.
func writeAggSnapshot(w exec.SnapshotWriter, c *snapCapture, meta []byte, cfg aggSnapConfig) error {
	f, err := newSnapFile(w, aggSnapFile, aggMagic, meta)
	if err != nil {
		return err
	}
	hashTypes := make([]types.Type, len(cfg.hashKeys))
	for j, k := range cfg.hashKeys {
		hashTypes[j] = cfg.keyTypes[k]
	}
	kc := newKeyChunk(hashTypes)
	key := make([]cell, len(cfg.keyTypes))
	for from := 0; from < c.len(); from += keyChunkSize {
		to := min(c.len(), from+keyChunkSize)
		kc.reset()
		for i := from; i < to; i++ {
			d := cfg.keyCells(c.record(i), key)
			if d.err != nil {
				f.abort()
				return fmt.Errorf("snapshot: %w", d.err)
			}
			for j, k := range cfg.hashKeys {
				kc.cols[j] = append(kc.cols[j], key[k])
			}
		}
		kgs := kc.keyGroups(to-from, cfg.maxPar)
		for i := from; i < to; i++ {
			f.record(kgs[i-from], c.record(i))
		}
	}
	return f.close()
}

// keyCells decodes the key cells at the head of a group record into key,
// returning the decoder positioned after them.
func (cfg *aggSnapConfig) keyCells(rec []byte, key []cell) *decoder {
	d := &decoder{b: rec}
	d.varint() // last write
	if cfg.session {
		d.varint()
		d.varint()
	}
	d.varint() // rows
	for i := range key {
		key[i] = d.cell()
	}
	return d
}

// RestoreState implements exec.Stateful.
func (a *GroupAgg) RestoreState(rc exec.RestoreContext) error {
	if a.store != nil {
		return a.store.restore(rc, a)
	}
	cfg := a.snapConfig()
	kc := newKeyChunk(cfg.keyTypes)
	var chunk [][]byte
	wm, haveWM := int64(0), false
	for _, snap := range rc.Snapshots {
		r, err := readSnapFile(snap.Dir, aggSnapFile, aggMagic)
		if errors.Is(err, fs.ErrNotExist) && fileExists(snap.Dir, aggRocksMeta) {
			return errors.New("not supported yet: restoring 'state.backend' = 'rocksdb' aggregate state into 'hashmap'")
		}
		if err != nil {
			return err
		}
		w, err := a.checkSnapMeta(r.meta)
		if err != nil {
			return err
		}
		// Subtasks checkpoint at aligned barriers, so they normally agree;
		// the smallest one drops no row any of them would have kept.
		if !haveWM || w < wm {
			wm, haveWM = w, true
		}
		for {
			kg, payload, ok, err := r.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			// Sessions are filed under their non-window keys' key group,
			// which is how the planner routes them now; a snapshot from
			// when it routed by every group key may hold sessions of other
			// key groups, so only a rescaled restore filters them (at the
			// same parallelism the snapshot is ours).
			if !inRange(&rc, kg) && (!a.Session || rc.Rescaled) {
				continue
			}
			if chunk = append(chunk, payload); len(chunk) == keyChunkSize {
				if err := a.restoreGroups(chunk, kc, &cfg); err != nil {
					return err
				}
				chunk = chunk[:0]
			}
		}
	}
	if err := a.restoreGroups(chunk, kc, &cfg); err != nil {
		return err
	}
	if a.Windowed && haveWM {
		a.watermark = wm
	}
	return nil
}

// restoreGroups recreates the groups of a chunk of records, finding each
// one's place (int64 map, bytes map, window, session) the way fold does.
func (a *GroupAgg) restoreGroups(recs [][]byte, kc *keyChunk, cfg *aggSnapConfig) error {
	if len(recs) == 0 {
		return nil
	}
	kc.reset()
	key := make([]cell, len(cfg.keyTypes))
	for _, rec := range recs {
		if d := cfg.keyCells(rec, key); d.err != nil {
			return fmt.Errorf("aggregate snapshot: %w", errCorrupt)
		}
		for i, c := range key {
			kc.cols[i] = append(kc.cols[i], c)
		}
	}
	keyCols := kc.arrays()
	var limit int64
	if a.TTL > 0 && !a.Windowed {
		limit = a.now().UnixNano() - int64(a.TTL)
	}
	dup := fmt.Errorf("aggregate snapshot holds a key twice: %w", errCorrupt)
	var others []arrow.Array
	if a.Session {
		for i, c := range keyCols {
			if i != a.WindowStart && i != a.WindowEnd {
				others = append(others, c)
			}
		}
	}
	ends, other, winKeyed := a.winKey(keyCols)
	ik, intKeyed := intKey(keyCols)
	for r, rec := range recs {
		d := &decoder{b: rec}
		lastWrite := d.varint()
		var start, end int64
		if a.Session {
			start, end = d.varint(), d.varint()
		}
		if limit != 0 && lastWrite < limit {
			continue // expired, as a live group would be on its next row
		}
		var g *group
		switch {
		case a.Session:
			a.keyBuf = appendKey(a.keyBuf[:0], others, r)
			g = a.newGroup(keyCols, r)
			a.sessions[string(a.keyBuf)] = append(a.sessions[string(a.keyBuf)], &session{start: start, end: end, g: g})
		case winKeyed && (other.Array == nil || !other.IsNull(r)):
			var k int64
			if other.Array != nil {
				k = other.at(r)
			}
			w := a.windows[ends[r]]
			if w == nil {
				w = &windowGroups{byKey: map[int64]*group{}}
				a.windows[ends[r]] = w
			}
			if w.byKey[k] != nil {
				return dup
			}
			g = a.newGroup(keyCols, r)
			g.winKeyed, g.existed = true, true
			w.byKey[k] = g
			w.order = append(w.order, g)
		case !a.Windowed && intKeyed && !ik.IsNull(r):
			if a.intGroups[ik.at(r)] != nil {
				return dup
			}
			g = a.newGroup(keyCols, r)
			g.ik = ik.at(r)
			a.intGroups[g.ik] = g
		default:
			a.keyBuf = appendKey(a.keyBuf[:0], keyCols, r)
			if a.groups[string(a.keyBuf)] != nil {
				return dup
			}
			g = a.newGroup(keyCols, r)
			g.k = string(a.keyBuf)
			a.groups[g.k] = g
			if a.Windowed {
				e := g.prev[a.WindowEnd].i
				a.byEnd[e] = append(a.byEnd[e], g)
				g.existed = true // registered, as foldWindowed marks it
			}
		}
		decodeGroup(d, g)
		if err := d.finish(); err != nil {
			return fmt.Errorf("aggregate snapshot: %w", err)
		}
		if g.rows <= 0 {
			return fmt.Errorf("aggregate snapshot holds a group without rows: %w", errCorrupt)
		}
		g.lastWrite = lastWrite
	}
	return nil
}

func fileExists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// snapshot is the rocksdb synchronous phase (rocksStore.snapshot).
func (s *aggStore) snapshot(sc exec.SnapshotContext, meta []byte) (exec.AsyncSnapshot, error) {
	if _, err := s.value(); err != nil { // a restore needs the state's metadata
		return nil, err
	}
	if s.agg.Session {
		if _, err := s.sessIndex(); err != nil {
			return nil, err
		}
	}
	return s.rocksStore.snapshot(sc, aggRocksMeta, aggRocksMagic, meta)
}

// restore loads pebble snapshots into the (still unused) backend.
func (s *aggStore) restore(rc exec.RestoreContext, a *GroupAgg) error {
	if s.vs != nil {
		return errors.New("restore into rocksdb state that is already in use")
	}
	var wm int64
	haveWM := false
	err := s.rocksStore.restore(rc, aggRocksMeta, aggRocksMagic, aggSnapFile, func(meta []byte) error {
		w, err := a.checkSnapMeta(meta)
		if err != nil {
			return err
		}
		if !haveWM || w < wm { // as in memory: the smallest drops nothing
			wm, haveWM = w, true
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !a.Windowed {
		return nil
	}
	if haveWM {
		a.watermark = wm
	}
	if a.Session {
		return a.restoreSessionIndex()
	}
	// The open windows are the namespaces with state.
	vs, err := s.value()
	if err != nil {
		return err
	}
	return vs.Namespaces(func(ns []byte) error {
		end, err := windowOfNS(ns)
		if err != nil {
			return err
		}
		a.openEnds[end] = true
		return nil
	})
}
