package ops

import (
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// AggKind is an aggregate function.
type AggKind uint8

const (
	AggCountStar AggKind = iota
	AggCount
	AggCountDistinct
	AggSum
	AggAvg
	AggMin
	AggMax
)

// AggSpec describes one aggregate over the operator's input columns.
type AggSpec struct {
	Kind    AggKind
	Arg     int // input column, -1 for COUNT(*)
	Filter  int // boolean input column of FILTER (WHERE ...), -1 if none
	ArgType types.Type
	Type    types.Type // result type
	Text    string     // for errors
}

// GroupAgg is a keyed aggregation over a changelog. Rows are folded into
// their key's accumulators (+I/+U add, -U/-D retract). Changes are emitted
// per mini-batch, as Flink does with 'table.exec.mini-batch.enabled': every
// key touched since the last flush emits once — +I for a new key, -U/+U
// when its result changed, -D when its last row was retracted. A flush
// happens after MiniBatch input rows, every Latency of processing time
// (unbounded jobs), and at the end of the input. The final results are the
// same as with per-row emission; there are just fewer intermediate ones.
//
// State lives in memory (the hashmap backend), for the key groups this
// subtask owns.
type GroupAgg struct {
	exec.BaseOperator
	Keys []int
	Aggs []AggSpec
	Out  types.Schema
	// InputUpdating: the input may retract rows (MIN/MAX then keep a
	// multiset of values instead of just the extreme).
	InputUpdating bool
	// MiniBatch is the number of input rows buffered before a flush
	// ('table.exec.mini-batch.size'); 1 emits after every row.
	MiniBatch int
	// Latency, when > 0, also flushes on a processing-time timer
	// ('table.exec.mini-batch.allow-latency').
	Latency time.Duration
	// Windowed makes this a window aggregation: key column WindowEnd is
	// window_end; nothing is emitted until the
	// watermark passes a window's end, then its groups emit one final +I
	// each and their state is freed. Rows of already-fired windows are
	// late: dropped and counted.
	Windowed    bool
	WindowEnd   int
	WindowStart int
	// Session: the windows are session windows, merged per key (see
	// session.go).
	Session bool
	// ProcTime: the windows are over PROCTIME(): they fire by the wall
	// clock (a timer every procTimeTick fires the windows that ended
	// procTimeGrace ago), watermarks are only forwarded, and no row is late:
	// a row whose window already fired (it waited in a queue longer than
	// the grace) opens it again, and it fires again at the next tick.
	ProcTime bool
	// TTL, when > 0, expires a key's state that was not updated for that
	// long (processing time): its next row starts it over, as in Flink's
	// 'table.exec.state.ttl'.
	TTL time.Duration
	// RocksDB keeps the state in the pebble backend ('state.backend' =
	// 'rocksdb') instead of in memory.
	RocksDB bool

	store *aggStore
	// share: COUNT(DISTINCT) aggregates sharing a multiset (agg_distinct.go).
	share []distinctShare

	groups    map[string]*group       // keys of any shape, by encoded bytes
	intGroups map[int64]*group        // a single non-NULL integer key
	windows   map[int64]*windowGroups // window mode: open windows by end
	now       func() time.Time
	slab      []group // groups are allocated in chunks
	cellSlab  []cell
	accSlab   []accum
	schema    *arrow.Schema
	pending   int // input rows since the last flush
	watermark int64
	byEnd     map[int64][]*group // window mode: open groups by window end
	sessions  map[string][]*session
	// sessMinEnd is a lower bound of the open in-memory sessions' ends
	// (when sessMinKnown): a watermark below it fires nothing, so the scan
	// over every key is skipped (Nexmark q11 scanned all bidders per batch).
	sessMinEnd   int64
	sessMinKnown bool
	late         lateRows
	maxPar       int
	// Sizes of the last snapshot, to size the next one's buffer.
	snapBytes, snapCount int
	// Copy-on-write snapshots (in-memory, not windowed): epoch counts
	// snapshots; cowRunning counts those whose asynchronous phase still
	// reads groups of earlier epochs.
	epoch      uint64
	cowRunning atomic.Int64
	// cw is the columnar window state (agg_colwindow.go), decided at the
	// first batch (cwDecided); colSlots and colWins are its per-row scratch.
	cw        *colWindows
	cwDecided bool
	// noColumnar keeps the general path (tests compare the two).
	noColumnar bool
	colSlots   []int32
	colWins    []*colWindow
	// freeGroups are groups of fired windows, reused by newGroup: a
	// window aggregation makes and drops most of its groups once per
	// window, and allocating them (and collecting them) was a third of its
	// time. Window snapshots copy groups synchronously, so none is read
	// after it is freed.
	freeGroups []*group
	// windowSizeHint is the group count of the last fired window.
	windowSizeHint int
	// openEnds: window aggregation on rocksdb, the ends of the windows
	// with state in pebble (namespace windowNS(end)); session windows on
	// rocksdb: the end buckets with index entries (session_rocks.go).
	openEnds map[int64]bool
	// sessLoaded: session windows on rocksdb, the keys loaded from pebble
	// in this batch (written back at its end).
	sessLoaded map[string]sessLoad
	bucketBuf  []int64

	// Scratch, reused.
	keyBuf    []byte
	keyCols   []arrow.Array
	touched   []*group
	rowGroups []*group
	outCells  cellRows
	scratch   []cell
}

// windowGroups are the groups of one open window, keyed by the integer key
// (the other keys being window_start/window_end, which the window fixes).
type windowGroups struct {
	byKey map[int64]*group
	order []*group
}

type group struct {
	mergedInto *group // session mode: the session this one merged into
	kg         int    // key group (rocksdb state)
	lastWrite  int64  // processing time of the last update (TTL), Unix ns
	// winKeyed: the group lives in a windowGroups map, not in groups.
	winKeyed bool
	// k is the encoded key (empty for integer-keyed groups, which use ik).
	k  string
	ik int64
	// touched marks a group changed since the last flush; existed says
	// whether it had rows at its first change after that flush.
	touched bool
	existed bool
	// epoch is GroupAgg.epoch when the group was made: a group of an
	// earlier epoch may be read by a snapshot still being written, and is
	// copied before it changes (copy-on-write).
	epoch uint64
	// prev is the row last emitted for the key: its key cells, then its
	// aggregates (valid while the key existed).
	prev []cell
	rows int64 // net number of rows: 0 means the key is gone
	accs []accum
}

type accum struct {
	n   int64   // values counted (non-NULL, passing FILTER)
	i   int64   // integer / decimal sum
	f   float64 // double sum
	ext cell    // MIN/MAX of an insert-only input
	// set holds COUNT DISTINCT values, and MIN/MAX values of a retracting
	// input (a multiset: value -> multiplicity).
	set map[cell]int64
	// iset is set for COUNT DISTINCT of a BIGINT-backed column: an int64
	// key hashes several times faster than a cell (Nexmark q16). A
	// restored group brings its values in set; the first fold moves them.
	iset map[int64]int64
	// mset: on the owner of distinct aggregates sharing a column, value →
	// multiplicity per member (agg_distinct.go).
	mset *int64Multiset
}

// Open prepares the state and the flush timer.
func (a *GroupAgg) Open(ctx *exec.OpContext) error {
	a.groups = map[string]*group{}
	a.intGroups = map[int64]*group{}
	a.windows = map[int64]*windowGroups{}
	a.now = ctx.Now
	if a.now == nil {
		a.now = time.Now
	}
	a.outCells = newCellRows(a.Out.Len())
	a.schema = a.Out.Arrow()
	a.planDistinctSharing()
	a.watermark = exec.MinWatermark
	a.byEnd = map[int64][]*group{}
	a.sessions = map[string][]*session{}
	a.late = lateRows{logger: ctx.Logger, name: ctx.Name}
	a.maxPar = maxParOf(ctx)
	if a.MiniBatch <= 0 {
		a.MiniBatch = DefaultMiniBatch
	}
	if a.Latency > 0 && ctx.Every != nil {
		ctx.Every(a.Latency, a.flush)
	}
	if a.ProcTime && a.Windowed && ctx.Every != nil {
		ctx.Every(procTimeTick, a.fireProcTime)
	}
	if a.TTL > 0 && !a.Windowed && !a.RocksDB && ctx.Every != nil {
		// Expired keys are reset lazily on their next row; this sweep
		// frees the memory of keys that never come back.
		ctx.Every(max(a.TTL/4, time.Second), func(exec.Collector) error { a.sweepExpired(); return nil })
	}
	if a.RocksDB {
		a.openEnds = map[int64]bool{}
		a.sessLoaded = map[string]sessLoad{}
		ttl := a.TTL
		if a.Windowed {
			ttl = 0 // windows free their state when they fire
		}
		st, err := openAggStore(ctx, ttl)
		if err != nil {
			return err
		}
		a.store = st
		st.agg = a
		st.scheduleCleanup(ctx, ttl)
	}
	return nil
}

// Close releases the state backend.
func (a *GroupAgg) Close() error {
	if a.store != nil {
		return a.store.close()
	}
	return nil
}

// DefaultMiniBatch is the default number of rows per mini-batch.
const DefaultMiniBatch = 100_000

// Process folds a batch, flushing whenever a mini-batch is full.
func (a *GroupAgg) Process(_ int, b batch.Batch, out exec.Collector) error {
	if a.Session {
		return a.foldSessions(b)
	}
	if a.Windowed {
		return a.foldWindowed(b)
	}
	for from := 0; from < b.Len(); {
		to := min(b.Len(), from+a.MiniBatch-a.pending)
		part := b
		if from > 0 || to < b.Len() {
			part = batch.Slice(b, from, to)
		}
		if err := a.fold(part); err != nil {
			return err
		}
		a.pending += to - from
		if a.pending >= a.MiniBatch {
			if err := a.flush(out); err != nil {
				return err
			}
		}
		from = to
	}
	return nil
}

// Finish flushes what the end of the input leaves buffered.
func (a *GroupAgg) Finish(out exec.Collector) error {
	if a.Windowed {
		return nil // the final watermark has fired every window
	}
	return a.flush(out)
}

// ProcessWatermark fires the windows the watermark completes, then forwards
// it; a non-windowed aggregate just forwards it.
func (a *GroupAgg) ProcessWatermark(wm int64, out exec.Collector) error {
	// A restored watermark may be ahead of the first ones after a
	// restart (watermark assigners start over): it never goes back.
	// Processing-time windows ignore watermarks, except the final one of a
	// bounded input: it fires every window left.
	if a.Windowed && (!a.ProcTime || wm == exec.MaxWatermark) && wm > a.watermark {
		a.watermark = wm
		if err := a.fire(wm, out); err != nil {
			return err
		}
	}
	return out.EmitWatermark(wm)
}

const (
	procTimeTick  = 100 * time.Millisecond
	procTimeGrace = 200 * time.Millisecond
)

// fireProcTime fires the processing-time windows that ended a grace
// period ago (the grace covers the time rows spend in queues between the
// window assignment and here).
func (a *GroupAgg) fireProcTime(out exec.Collector) error {
	now := a.now().Add(-procTimeGrace).UnixMicro()
	if now <= a.watermark {
		return nil
	}
	a.watermark = now
	return a.fire(now, out)
}

// windowFired reports whether the window ending at end has fired: its last
// instant (end minus one microsecond) is covered by the watermark.
func (a *GroupAgg) windowFired(end int64) bool {
	return a.watermark != exec.MinWatermark && end-1 <= a.watermark
}

// foldWindowed drops late rows, then folds the rest without emitting.
func (a *GroupAgg) foldWindowed(b batch.Batch) error {
	if !b.InsertOnly() {
		return fmt.Errorf("not supported yet: window aggregation over an updating input")
	}
	ends := b.Column(a.Keys[a.WindowEnd]).(*array.Int64).Int64Values()
	keep := make([]int32, 0, len(ends))
	for r, e := range ends {
		if a.ProcTime || !a.windowFired(e) {
			keep = append(keep, int32(r))
		}
	}
	if dropped := len(ends) - len(keep); dropped > 0 {
		a.late.add(dropped, a.watermark)
		if len(keep) == 0 {
			return nil
		}
		b = batch.TakeBatch(b, keep)
	}
	if !a.cwDecided {
		a.cwDecided = true
		if a.colEligible(b) {
			a.adoptWindows()
		}
	}
	if a.cw != nil {
		rest, err := a.foldColumnar(b)
		if err != nil || rest.Rec == nil {
			return err
		}
		b = rest // NULL keys
	}
	if err := a.fold(b); err != nil {
		return err
	}
	if a.store != nil {
		return a.persistWindows()
	}
	for _, g := range a.touched { // groups keyed by bytes (NULL or composite keys)
		g.touched = false
		if !g.existed {
			end := g.prev[a.WindowEnd].i
			a.byEnd[end] = append(a.byEnd[end], g)
			g.existed = true // registered
		}
	}
	clear(a.touched)
	a.touched = a.touched[:0]
	return nil
}

// groupNS is the state namespace of a stored group: its window in a
// window aggregation, none otherwise.
func (a *GroupAgg) groupNS(g *group) []byte {
	if !a.Windowed {
		return nil
	}
	return a.store.windowNS(g.prev[a.WindowEnd].i)
}

// persistWindows writes the batch's window groups to pebble (window
// aggregation on rocksdb: nothing is emitted before the window fires, so
// there is no mini-batch to keep).
func (a *GroupAgg) persistWindows() error {
	for _, g := range a.touched {
		end := g.prev[a.WindowEnd].i
		if err := a.store.save(g, a.store.windowNS(end)); err != nil {
			return fmt.Errorf("write state: %w", err)
		}
		a.openEnds[end] = true
	}
	clear(a.touched)
	a.touched = a.touched[:0]
	clear(a.groups)
	if err := a.store.be.WriteBack(); err != nil {
		return fmt.Errorf("flush state: %w", err)
	}
	return nil
}

// fireStored is fire for window aggregation on rocksdb: each due window's
// groups are read in one pass in key order (Entries: from the write-back
// cache, and from pebble only for what it may hold), emitted, and the
// window's namespace is cleared.
func (a *GroupAgg) fireStored(out exec.Collector) error {
	var due []int64
	for end := range a.openEnds {
		if a.windowFired(end) {
			due = append(due, end)
		}
	}
	if len(due) == 0 {
		return nil
	}
	slices.Sort(due)
	vs, err := a.store.value()
	if err != nil {
		return err
	}
	a.outCells.reset()
	rows := 0
	g := &group{prev: make([]cell, len(a.Keys)+len(a.Aggs)), accs: make([]accum, len(a.Aggs))}
	for _, end := range due {
		ns := windowNS(end)
		var rangeErr error
		if err := vs.Entries(ns, func(_ int, _, v []byte) error {
			*g = group{prev: g.prev, accs: g.accs}
			clear(g.accs)
			d := &decoder{b: v}
			decodeGroup(d, g)
			if err := d.finish(); err != nil {
				return err
			}
			a.resultInto(g, g.prev)
			if rangeErr = a.checkRange(g.prev); rangeErr != nil {
				return rangeErr
			}
			a.appendRow(g.prev)
			rows++
			return nil
		}); err != nil {
			if rangeErr != nil {
				return rangeErr
			}
			return fmt.Errorf("read window state: %w", err)
		}
		if err := vs.ClearNamespace(ns); err != nil {
			return fmt.Errorf("free window state: %w", err)
		}
		delete(a.openEnds, end)
	}
	if rows == 0 {
		return nil
	}
	return out.Collect(a.outCells.batch(a.schema, a.Out, rows, nil))
}

// fire emits the final result of every window whose end the watermark has
// passed, earliest window first, and frees their state.
func (a *GroupAgg) fire(wm int64, out exec.Collector) error {
	if a.Session {
		return a.fireSessions(out)
	}
	if a.store != nil {
		return a.fireStored(out)
	}
	var due []int64
	for end := range a.byEnd {
		if a.windowFired(end) {
			due = append(due, end)
		}
	}
	for end := range a.windows {
		if a.windowFired(end) {
			if _, dup := a.byEnd[end]; !dup {
				due = append(due, end)
			}
		}
	}
	if a.cw != nil {
		seen := make(map[int64]bool, len(due))
		for _, e := range due {
			seen[e] = true
		}
		due = a.colDue(due, seen)
	}
	if len(due) == 0 {
		return nil
	}
	slices.Sort(due)
	a.outCells.reset()
	rows := 0
	for _, end := range due {
		// Window by window, in order: the columnar rows, then the groups.
		if err := a.emitColumnar(end, out); err != nil {
			return err
		}
		var gs []*group
		if w := a.windows[end]; w != nil {
			gs = w.order
			delete(a.windows, end)
			a.windowSizeHint = min(len(w.byKey), 1<<20)
		}
		for _, g := range append(gs, a.byEnd[end]...) {
			a.resultInto(g, g.prev)
			if err := a.checkRange(g.prev); err != nil {
				return err
			}
			a.appendRow(g.prev)
			rows++
			a.forget(g)
			if len(a.freeGroups) < maxFreeGroups {
				a.freeGroups = append(a.freeGroups, g)
			}
		}
		delete(a.byEnd, end)
		if rows > 0 {
			if err := out.Collect(a.outCells.batch(a.schema, a.Out, rows, nil)); err != nil {
				return err
			}
			a.outCells.reset()
			rows = 0
		}
	}
	return nil
}

func (a *GroupAgg) fold(b batch.Batch) error {
	n := b.Len()
	keyCols := a.keyCols[:0]
	for _, k := range a.Keys {
		keyCols = append(keyCols, b.Column(k))
	}
	a.keyCols = keyCols
	if cap(a.rowGroups) < n {
		a.rowGroups = make([]*group, n)
	}
	rowGroups := a.rowGroups[:n]
	if a.store != nil {
		a.store.keyGroups(keyCols, n)
		for r := 0; r < n; r++ {
			g, err := a.byBytesStored(keyCols, r)
			if err != nil {
				return err
			}
			rowGroups[r] = g
		}
	} else if ends, other, ok := a.winKey(keyCols); ok {
		var cur *windowGroups
		curEnd := int64(0)
		for r := 0; r < n; r++ {
			var k int64
			if other.Array != nil {
				if other.IsNull(r) {
					rowGroups[r] = a.byBytes(keyCols, r)
					continue
				}
				k = other.at(r)
			}
			if cur == nil || ends[r] != curEnd {
				curEnd = ends[r]
				cur = a.windows[curEnd]
				if cur == nil {
					// Sized like the last fired window: growing the map
					// key by key was a tenth of a window aggregation.
					cur = &windowGroups{byKey: make(map[int64]*group, a.windowSizeHint), order: make([]*group, 0, a.windowSizeHint)}
					a.windows[curEnd] = cur
				}
			}
			g := cur.byKey[k]
			if g == nil {
				g = a.newGroup(keyCols, r)
				g.winKeyed, g.existed = true, true
				cur.byKey[k] = g
				cur.order = append(cur.order, g)
			}
			rowGroups[r] = g
		}
	} else if ik, ok := intKey(keyCols); ok {
		for r := 0; r < n; r++ {
			if ik.IsNull(r) {
				rowGroups[r] = a.byBytes(keyCols, r)
				continue
			}
			v := ik.at(r)
			g := a.intGroups[v]
			if g == nil {
				g = a.newGroup(keyCols, r)
				g.ik = v
				a.intGroups[v] = g
			}
			rowGroups[r] = a.touch(g)
		}
	} else {
		for r := 0; r < n; r++ {
			rowGroups[r] = a.byBytes(keyCols, r)
		}
	}
	for r, g := range rowGroups {
		if b.Kinds != nil && b.Kinds[r].IsRetract() {
			g.rows--
		} else {
			g.rows++
		}
	}
	for i := range a.Aggs {
		if err := a.foldAgg(i, b, rowGroups); err != nil {
			return err
		}
	}
	return nil
}

// byBytesStored is byBytes for rocksdb state: a group new to this
// mini-batch is loaded from the backend.
func (a *GroupAgg) byBytesStored(keyCols []arrow.Array, r int) (*group, error) {
	a.keyBuf = appendKey(a.keyBuf[:0], keyCols, r)
	g := a.groups[string(a.keyBuf)]
	if g == nil {
		g = a.newGroup(keyCols, r)
		g.k = string(a.keyBuf)
		g.kg = a.store.kgs[r]
		if err := a.store.load(g, a.groupNS(g)); err != nil {
			return nil, fmt.Errorf("load state: %w", err)
		}
		a.groups[g.k] = g
	}
	return a.touch(g), nil
}

// winKey reports whether window-mode groups can be keyed by
// (window_end, one integer key): window_end determines window_start for
// every window kind, so the other window column adds nothing.
func (a *GroupAgg) winKey(keyCols []arrow.Array) ([]int64, intKeyCol, bool) {
	if !a.Windowed {
		return nil, intKeyCol{}, false
	}
	var rest []arrow.Array
	for i, c := range keyCols {
		if i != a.WindowEnd && i != a.WindowStart {
			rest = append(rest, c)
		}
	}
	ends := keyCols[a.WindowEnd].(*array.Int64).Int64Values()
	switch len(rest) {
	case 0:
		return ends, intKeyCol{}, true
	case 1:
		if ik, ok := intKey(rest); ok {
			return ends, ik, true
		}
	}
	return nil, intKeyCol{}, false
}

// byBytes finds or creates the group of row r by its encoded key.
func (a *GroupAgg) byBytes(keyCols []arrow.Array, r int) *group {
	a.keyBuf = appendKey(a.keyBuf[:0], keyCols, r)
	g := a.groups[string(a.keyBuf)]
	if g == nil {
		g = a.newGroup(keyCols, r)
		g.k = string(a.keyBuf)
		a.groups[g.k] = g
	}
	return a.touch(g)
}

// maxFreeGroups bounds the groups kept for reuse.
const maxFreeGroups = 1 << 20

func (a *GroupAgg) newGroup(keyCols []arrow.Array, r int) *group {
	if n := len(a.freeGroups); n > 0 {
		g := a.freeGroups[n-1]
		a.freeGroups[n-1] = nil
		a.freeGroups = a.freeGroups[:n-1]
		prev, accs := g.prev, g.accs
		clear(accs)
		clear(prev[len(keyCols):])
		*g = group{prev: prev, accs: accs, epoch: a.epoch}
		for c, col := range keyCols {
			g.prev[c] = readCell(col, r)
		}
		return g
	}
	if len(a.slab) == 0 {
		a.slab = make([]group, 256)
	}
	g := &a.slab[0]
	a.slab = a.slab[1:]
	nc, na := len(keyCols)+len(a.Aggs), len(a.Aggs)
	if len(a.cellSlab) < nc {
		a.cellSlab = make([]cell, 256*nc)
	}
	if len(a.accSlab) < na {
		a.accSlab = make([]accum, 256*max(na, 1))
	}
	cells := a.cellSlab[:nc:nc]
	a.cellSlab = a.cellSlab[nc:]
	accs := a.accSlab[:na:na]
	a.accSlab = a.accSlab[na:]
	*g = group{prev: cells, accs: accs, epoch: a.epoch}
	for c, col := range keyCols {
		g.prev[c] = readCell(col, r)
	}
	return g
}

// touch marks g changed in this mini-batch and returns the group to
// change: a copy of g in its map's place when a snapshot being written may
// still read g.
func (a *GroupAgg) touch(g *group) *group {
	if !g.touched {
		if g.epoch < a.epoch && a.cowRunning.Load() > 0 {
			g = a.copyGroup(g)
		}
		if a.TTL > 0 && !a.Windowed && a.store == nil { // pebble expires by itself
			now := a.now().UnixNano()
			if g.rows > 0 && now-g.lastWrite > int64(a.TTL) {
				a.expire(g)
			}
			g.lastWrite = now
		}
		g.touched = true
		g.existed = g.rows > 0
		a.touched = append(a.touched, g)
	}
	return g
}

// copyGroup replaces g in its map by a deep copy of the current epoch.
func (a *GroupAgg) copyGroup(g *group) *group {
	if len(a.slab) == 0 {
		a.slab = make([]group, 256)
	}
	c := &a.slab[0]
	a.slab = a.slab[1:]
	nc, na := len(g.prev), len(g.accs)
	if len(a.cellSlab) < nc {
		a.cellSlab = make([]cell, 256*nc)
	}
	if len(a.accSlab) < na {
		a.accSlab = make([]accum, 256*max(na, 1))
	}
	*c = *g
	c.epoch = a.epoch
	c.prev = a.cellSlab[:nc:nc]
	a.cellSlab = a.cellSlab[nc:]
	copy(c.prev, g.prev)
	c.accs = a.accSlab[:na:na]
	a.accSlab = a.accSlab[na:]
	copy(c.accs, g.accs)
	for i := range c.accs {
		if c.accs[i].set != nil {
			c.accs[i].set = maps.Clone(c.accs[i].set)
		}
		if c.accs[i].iset != nil {
			c.accs[i].iset = maps.Clone(c.accs[i].iset)
		}
		if c.accs[i].mset != nil {
			c.accs[i].mset = c.accs[i].mset.clone()
		}
	}
	if a.intGroups[g.ik] == g { // (k is empty there, and also for a global aggregate's group)
		a.intGroups[g.ik] = c
	} else {
		a.groups[g.k] = c
	}
	return c
}

// expire forgets a group's state (it reads as absent from now on); the key
// is treated as new, as Flink does with expired state.
func (a *GroupAgg) expire(g *group) {
	g.rows = 0
	for i := range g.accs {
		g.accs[i] = accum{}
	}
}

// sweepExpired drops in-memory groups whose state expired.
func (a *GroupAgg) sweepExpired() {
	limit := a.now().UnixNano() - int64(a.TTL)
	for k, g := range a.groups {
		if !g.touched && g.lastWrite < limit {
			delete(a.groups, k)
		}
	}
	for k, g := range a.intGroups {
		if !g.touched && g.lastWrite < limit {
			delete(a.intGroups, k)
		}
	}
}

// flush emits the change of every key touched since the last flush. Each
// group keeps the row it emitted last (prev), so the -U/-D side costs
// nothing to build.
func (a *GroupAgg) flush(out exec.Collector) error {
	a.pending = 0
	if len(a.touched) == 0 {
		return nil
	}
	a.outCells.reset()
	var kinds []batch.RowKind
	nk := len(a.Keys)
	if cap(a.scratch) < nk+len(a.Aggs) {
		a.scratch = make([]cell, nk+len(a.Aggs))
	}
	for _, g := range a.touched {
		g.touched = false
		if g.rows < 0 {
			return fmt.Errorf("retraction of a row that was never added (key %v)", g.prev[:nk])
		}
		exists := g.rows > 0
		switch {
		case !g.existed && exists:
			a.resultInto(g, g.prev)
			if err := a.checkRange(g.prev); err != nil {
				return err
			}
			a.appendRow(g.prev)
			kinds = append(kinds, batch.Insert)
		case g.existed && !exists:
			a.appendRow(g.prev)
			kinds = append(kinds, batch.Delete)
			a.forget(g)
		case g.existed && exists:
			after := a.scratch[:nk+len(a.Aggs)]
			copy(after, g.prev[:nk])
			a.resultInto(g, after)
			if !sameCells(g.prev, after) {
				if err := a.checkRange(after); err != nil {
					return err
				}
				a.appendRow(g.prev)
				a.appendRow(after)
				kinds = append(kinds, batch.UpdateBefore, batch.UpdateAfter)
				copy(g.prev, after)
			}
		default:
			a.forget(g)
		}
	}
	if a.store != nil {
		if err := a.persist(); err != nil {
			return err
		}
	}
	clear(a.touched)
	a.touched = a.touched[:0]
	if len(kinds) == 0 {
		return nil
	}
	return out.Collect(a.outCells.batch(a.schema, a.Out, len(kinds), kinds))
}

// persist writes the mini-batch's groups back to the state backend and
// drops them from memory: between mini-batches the state lives in pebble.
func (a *GroupAgg) persist() error {
	for _, g := range a.touched {
		var err error
		if g.rows > 0 {
			err = a.store.save(g, nil)
		} else {
			err = a.store.remove(g, nil)
		}
		if err != nil {
			return fmt.Errorf("write state: %w", err)
		}
	}
	if err := a.store.be.WriteBack(); err != nil {
		return fmt.Errorf("flush state: %w", err)
	}
	clear(a.groups)
	return nil
}

// forget drops a group whose rows were all retracted.
func (a *GroupAgg) forget(g *group) {
	if g.winKeyed {
		return // dropped with its window
	}
	if g.k != "" {
		delete(a.groups, g.k)
	} else {
		delete(a.intGroups, g.ik)
	}
}

func (a *GroupAgg) appendRow(row []cell) { a.outCells.add(row) }

func sameCells(a, b []cell) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// intKeyCol reads a single integer key column without boxing.
type intKeyCol struct {
	arrow.Array
	i64 []int64
	i32 []int32
}

func (k intKeyCol) at(r int) int64 {
	if k.i64 != nil {
		return k.i64[r]
	}
	return int64(k.i32[r])
}

// intKey reports whether the key is one integer column (the common case,
// served by a map keyed by int64 instead of encoded bytes).
func intKey(cols []arrow.Array) (intKeyCol, bool) {
	if len(cols) != 1 {
		return intKeyCol{}, false
	}
	switch c := cols[0].(type) {
	case *array.Int64:
		return intKeyCol{Array: c, i64: c.Int64Values()}, true
	case *array.Int32:
		return intKeyCol{Array: c, i32: c.Int32Values()}, true
	}
	return intKeyCol{}, false
}

// foldAgg adds (+I/+U) or retracts (-U/-D) every row of b into aggregate
// i of its row's group, in one typed loop per column.
func (a *GroupAgg) foldAgg(i int, b batch.Batch, groups []*group) error {
	s := &a.Aggs[i]
	var filter *array.Boolean
	if s.Filter >= 0 {
		filter = b.Column(s.Filter).(*array.Boolean)
	}
	kinds := b.Kinds
	skip := func(r int) bool { return filter != nil && (filter.IsNull(r) || !filter.Value(r)) }
	sign := func(r int) int64 {
		if kinds != nil && kinds[r].IsRetract() {
			return -1
		}
		return 1
	}
	if s.Kind == AggCountStar {
		for r, g := range groups {
			if !skip(r) {
				g.accs[i].n += sign(r)
			}
		}
		return nil
	}
	if s.Kind == AggCountDistinct && a.share[i].owner >= 0 {
		if a.share[i].owner != i {
			return nil // folded with its owner
		}
		return a.foldSharedDistinct(i, b, groups, sign)
	}
	col := b.Column(s.Arg)
	nulls := col.NullN() > 0
	valid := func(r int) bool { return !nulls || col.IsValid(r) }
	switch {
	case s.Kind == AggCount:
		for r, g := range groups {
			if valid(r) && !skip(r) {
				g.accs[i].n += sign(r)
			}
		}
		return nil
	case s.Kind == AggSum || s.Kind == AggAvg:
		switch c := col.(type) {
		case *array.Float64:
			v := c.Float64Values()
			for r, g := range groups {
				if valid(r) && !skip(r) {
					acc := &g.accs[i]
					sg := sign(r)
					acc.n += sg
					acc.f += float64(sg) * v[r]
				}
			}
			return nil
		case *array.Int64:
			v := c.Int64Values()
			for r, g := range groups {
				if valid(r) && !skip(r) {
					acc := &g.accs[i]
					sg := sign(r)
					acc.n += sg
					sum, ok := addChecked(acc.i, sg*v[r])
					if !ok {
						return fmt.Errorf("%s: BIGINT overflow", s.Text)
					}
					acc.i = sum
				}
			}
			return nil
		case *array.Int32:
			v := c.Int32Values()
			for r, g := range groups {
				if valid(r) && !skip(r) {
					acc := &g.accs[i]
					sg := sign(r)
					acc.n += sg
					acc.i += sg * int64(v[r]) // int32 values cannot overflow an int64 sum of < 2^32 rows
				}
			}
			return nil
		}
	case (s.Kind == AggMin || s.Kind == AggMax) && !a.InputUpdating:
		if kinds != nil && !b.InsertOnly() {
			return fmt.Errorf("%s: retraction on an input planned as insert-only", s.Text)
		}
		isMin := s.Kind == AggMin
		switch c := col.(type) {
		case *array.Int64:
			v := c.Int64Values()
			for r, g := range groups {
				if valid(r) && !skip(r) {
					acc := &g.accs[i]
					acc.n++
					if acc.n == 1 || (isMin && v[r] < acc.ext.i) || (!isMin && v[r] > acc.ext.i) {
						acc.ext.i = v[r]
					}
				}
			}
			return nil
		case *array.Float64:
			v := c.Float64Values()
			for r, g := range groups {
				if valid(r) && !skip(r) {
					acc := &g.accs[i]
					acc.n++
					if acc.n == 1 || (isMin && v[r] < acc.ext.f) || (!isMin && v[r] > acc.ext.f) {
						acc.ext.f = v[r]
					}
				}
			}
			return nil
		}
		for r, g := range groups {
			if valid(r) && !skip(r) {
				acc := &g.accs[i]
				v := readCell(col, r)
				acc.n++
				if acc.n == 1 || (isMin && compareCells(v, acc.ext, s.ArgType.Kind) < 0) ||
					(!isMin && compareCells(v, acc.ext, s.ArgType.Kind) > 0) {
					acc.ext = v
				}
			}
		}
		return nil
	}
	// COUNT(DISTINCT), and MIN/MAX over a retracting input: a multiset of
	// values per group (the next extreme must be known when the current
	// one is retracted).
	if ic, ok := col.(*array.Int64); ok && s.Kind == AggCountDistinct {
		v := ic.Int64Values()
		for r, g := range groups {
			if valid(r) && !skip(r) {
				addToIntSet(&g.accs[i], v[r], sign(r))
			}
		}
		return nil
	}
	for r, g := range groups {
		if valid(r) && !skip(r) {
			acc := &g.accs[i]
			sg := sign(r)
			if s.Kind != AggCountDistinct {
				acc.n += sg
			}
			addToSet(acc, readCell(col, r), sg)
		}
	}
	return nil
}

func addToSet(acc *accum, v cell, sign int64) {
	if acc.set == nil {
		acc.set = map[cell]int64{}
	}
	c := acc.set[v] + sign
	if c <= 0 {
		delete(acc.set, v)
	} else {
		acc.set[v] = c
	}
}

func addToIntSet(acc *accum, v int64, sign int64) {
	if acc.iset == nil {
		acc.iset = make(map[int64]int64, len(acc.set))
		for c, n := range acc.set { // restored: values arrive as cells
			acc.iset[c.i] = n
		}
		acc.set = nil
	}
	c := acc.iset[v] + sign
	if c <= 0 {
		delete(acc.iset, v)
	} else {
		acc.iset[v] = c
	}
}

func addChecked(a, b int64) (int64, bool) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, false
	}
	return s, true
}

// resultInto writes a group's aggregates after its keys in row.
func (a *GroupAgg) resultInto(g *group, row []cell) {
	nk := len(a.Keys)
	for i := range a.Aggs {
		row[nk+i] = aggResult(&a.Aggs[i], &g.accs[i])
	}
}

func aggResult(s *AggSpec, acc *accum) cell {
	switch s.Kind {
	case AggCountStar, AggCount:
		return cell{i: acc.n}
	case AggCountDistinct:
		// n counts a shared member's values (agg_distinct.go); 0 otherwise.
		return cell{i: acc.n + int64(len(acc.set)+len(acc.iset))}
	case AggSum:
		if acc.n == 0 {
			return cell{null: true}
		}
		return cell{i: acc.i, f: acc.f}
	case AggAvg:
		if acc.n == 0 {
			return cell{null: true}
		}
		switch s.ArgType.Kind {
		case types.Double:
			return cell{f: acc.f / float64(acc.n)}
		case types.Decimal:
			return cell{i: decimalAvg(acc.i, acc.n, s.Type.Scale-s.ArgType.Scale)}
		}
		return cell{i: acc.i / acc.n} // Flink: AVG of integers is an integer
	case AggMin, AggMax:
		if acc.set == nil {
			if acc.n == 0 {
				return cell{null: true}
			}
			return acc.ext
		}
		var best cell
		first := true
		for v := range acc.set {
			if first || (s.Kind == AggMin && compareCells(v, best, s.ArgType.Kind) < 0) ||
				(s.Kind == AggMax && compareCells(v, best, s.ArgType.Kind) > 0) {
				best, first = v, false
			}
		}
		if first {
			return cell{null: true}
		}
		return best
	}
	return cell{null: true}
}

// decimalAvg divides an unscaled sum by n, adding extra fraction digits and
// rounding HALF_UP, in arbitrary precision (the scaled sum may not fit).
func decimalAvg(sum, n int64, extraScale int) int64 {
	num := new(big.Int).Mul(big.NewInt(sum), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(extraScale)), nil))
	den := big.NewInt(n)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	r2 := new(big.Int).Abs(new(big.Int).Mul(r, big.NewInt(2)))
	if r2.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return math.MaxInt64
	}
	return q.Int64()
}

// checkRange fails on results that overflow their type (SUM of INT).
func (a *GroupAgg) checkRange(row []cell) error {
	for i := range a.Aggs {
		s := &a.Aggs[i]
		v := row[len(a.Keys)+i]
		if v.null {
			continue
		}
		if s.Type.Kind == types.Int && (v.i > math.MaxInt32 || v.i < math.MinInt32) {
			return fmt.Errorf("%s: INT overflow", s.Text)
		}
		if s.Type.Kind == types.Decimal {
			limit := int64(math.Pow10(s.Type.Precision))
			if v.i >= limit || v.i <= -limit || v.i == math.MaxInt64 {
				return fmt.Errorf("%s: overflows %s", s.Text, s.Type)
			}
		}
	}
	return nil
}
