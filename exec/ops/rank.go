package ops

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Rank is Flink's Top-N: ROW_NUMBER() OVER (PARTITION BY p ORDER BY o)
// filtered to rn <= Limit. Deduplication is the N = 1 case ordered by a time
// column (ascending keeps the first row, descending the last). Each
// partition keeps its rows sorted; after every batch, each partition the
// batch touched emits how its top N changed: with the rank column, -U/+U
// per position whose row changed (+I/-D when the top grows or shrinks);
// without it, -D for rows that left the top and +I for rows that entered.
// Ties keep arrival order, so the first row ranks first among equals.
//
// With an insert-only input (InputUpdating false) a row that has left the
// top N can never come back, so, as Flink's AppendOnlyTopNFunction, each
// partition keeps only its top N: a row that does not beat the N-th is
// dropped before anything of it is copied, and the row a newcomer pushes
// out is forgotten (its cell slice reused for a later row). Kept rows own
// their strings (one allocation per row), so state does not pin the input
// batches. The emitted changes are the same as with all rows kept.
//
// With RocksDB the partitions live in pebble and only those of the
// current batch are in memory (rank_rocks.go); the changes emitted are the
// same.
type Rank struct {
	exec.BaseOperator
	PartitionKeys []int
	OrderKeys     []SortKey
	Limit         int64
	// RankColumn appends rn (BIGINT) to each output row.
	RankColumn bool
	// In is the input schema; Out is In plus rn when RankColumn.
	In, Out types.Schema
	// MiniBatch, when > 0, emits after every MiniBatch rows instead of
	// after every batch ('table.exec.mini-batch.size').
	MiniBatch int
	// InputUpdating: the input may retract rows (the planner's Updating);
	// an insert-only input never needs a row that has left the top N.
	InputUpdating bool
	// RocksDB keeps the partitions in pebble ('state.backend' = 'rocksdb',
	// rank_rocks.go) instead of in memory.
	RocksDB bool
	// TTL, when > 0, forgets state not written for that long
	// ('table.exec.state.ttl'), silently as Flink does: in memory a whole
	// partition, in pebble each entry (the backend's TTL).
	TTL time.Duration
	// skipCols are the columns SkipRows reads (rank_skip.go).
	skipCols  []int
	skipState rankSkipState

	now   func() time.Time
	nowNs int64 // the clock at the start of the current batch (TTL)
	store *rankStore
	// rocksdb: the partitions the current batch touched, in touch order.
	rparts   map[string]*rocksPart
	rtouched []*rocksPart

	// In-memory partitions by their encoded key (parts), or when the
	// partition key is one integer column by its value (iparts, nullPart:
	// the NULL key's), which costs Nexmark q9's Top-1 per auction less.
	parts    map[string]*rankPartition
	intKeyed bool
	iparts   map[int64]*rankPartition
	nullPart *rankPartition
	// The current row's key (setKey): keyBuf, or curInt and curNull.
	keyBuf  []byte
	curInt  int64
	curNull bool
	touched []*rankPartition
	schema  *arrow.Schema
	seq     int64
	cells   cellRows
	kinds   []batch.RowKind
	maxPar  int
	// Bytes of the last in-memory snapshot, to size the next one's first
	// chunk (stored by the asynchronous phase).
	snapBytes atomic.Int64
	// cow makes in-memory snapshots copy-on-write (see rankCOW).
	cow rankCOW

	// Append-only path (InputUpdating false).
	keyCols  []arrow.Array
	readers  []colReader // the batch's columns
	probe    []cell      // the incoming row's order-key cells (views into the batch)
	batchSeq int64       // r.seq before the current batch: later rows were never emitted
	free     [][]cell    // cell slices of forgotten rows, for reuse
	dead     []rankRow   // pushed-out rows still in emitted, their cells free after emit
	slab     []cell      // unused cells of the last slab
}

// rankSlabRows is how many rows' cells one allocation provides.
const rankSlabRows = 32

// maxFreeRows bounds the reusable cell slices kept between batches.
const maxFreeRows = 4096

// rankCOW makes the in-memory Top-N's snapshots copy-on-write
// (cowEpochs): a partition of an earlier epoch is replaced in r.parts by
// a copy (see own) as soon as a batch looks it up, before anything
// changes its rows or write time. Copies share the rows' cells, so the
// cells of a row a snapshot may read (seq <= snapSeq) are not recycled
// while one runs.
type rankCOW struct {
	cowEpochs
	snapSeq int64 // r.seq at the last snapshot's barrier
}

type rankRow struct {
	cells []cell
	seq   int64 // arrival order, to break ties
}

type rankPartition struct {
	rows    []rankRow // sorted by the order keys, then arrival
	emitted []rankRow // the top N as last emitted
	touched bool
	changed bool // rows changed since the last emit (append-only path)
	// epoch is rankCOW.epoch when the partition was made: a snapshot
	// being written may read a partition of an earlier one.
	epoch uint32
	// lastWrite is when rows last changed (Unix ns; TTL only).
	lastWrite int64
	// Storage for a first row and its emission, so that a new partition
	// of an append-only Top-N (most often holding one row: deduplication,
	// Top-1) costs no slice allocations.
	row1, emitted1 [1]rankRow
}

// newAppendPartition is an empty partition whose first row needs no
// allocation.
func newAppendPartition(epoch uint32) *rankPartition {
	p := &rankPartition{epoch: epoch}
	p.rows, p.emitted = p.row1[:0:1], p.emitted1[:0:1]
	return p
}

// shared says a snapshot still being written may read p, so it must not
// change in place: see own.
func (r *Rank) shared(p *rankPartition) bool {
	return r.cow.shared(p.epoch)
}

// own replaces p, the partition of the current key (shared) by a
// copy of the current epoch, and returns the copy, which may be changed
// in place. The copy has its own rows (same capacity, so the append-only
// path grows it as before); the rows' cells are shared. The emitted rows
// are not read by snapshots: the copy takes over p's emitted slice, or
// copies it when it is p's inline storage.
func (r *Rank) own(p *rankPartition) *rankPartition {
	c := &rankPartition{}
	*c = *p
	c.epoch = r.cow.epoch
	n := len(p.rows)
	if cap(p.rows) > 0 && unsafe.SliceData(p.rows) == &p.row1[0] {
		c.rows = c.row1[:n:1]
	} else {
		c.rows = make([]rankRow, n, cap(p.rows))
	}
	copy(c.rows, p.rows)
	if cap(p.emitted) > 0 && unsafe.SliceData(p.emitted) == &p.emitted1[0] {
		c.emitted = c.emitted1[:len(p.emitted):1]
	}
	r.setPart(c)
	return c
}

// setKey makes row's partition key the current one.
func (r *Rank) setKey(keyCols []arrow.Array, row int) {
	if !r.intKeyed {
		r.keyBuf = appendKey(r.keyBuf[:0], keyCols, row)
		return
	}
	a := keyCols[0]
	if r.curNull = a.IsNull(row); r.curNull {
		return
	}
	switch x := a.(type) {
	case *array.Int64:
		r.curInt = x.Value(row)
	case *array.Int32:
		r.curInt = int64(x.Value(row))
	}
}

// part is the current key's partition, or nil.
func (r *Rank) part() *rankPartition {
	switch {
	case !r.intKeyed:
		return r.parts[string(r.keyBuf)]
	case r.curNull:
		return r.nullPart
	}
	return r.iparts[r.curInt]
}

// setPart files p under the current key.
func (r *Rank) setPart(p *rankPartition) {
	switch {
	case !r.intKeyed:
		r.parts[string(r.keyBuf)] = p
	case r.curNull:
		r.nullPart = p
	default:
		r.iparts[r.curInt] = p
	}
}

// dropParts removes the partitions for which drop holds.
func (r *Rank) dropParts(drop func(*rankPartition) bool) {
	for k, p := range r.parts {
		if drop(p) {
			delete(r.parts, k)
		}
	}
	for k, p := range r.iparts {
		if drop(p) {
			delete(r.iparts, k)
		}
	}
	if r.nullPart != nil && drop(r.nullPart) {
		r.nullPart = nil
	}
}

// allParts returns every in-memory partition.
func (r *Rank) allParts() []*rankPartition {
	ps := make([]*rankPartition, 0, len(r.parts)+len(r.iparts)+1)
	for _, p := range r.parts {
		ps = append(ps, p)
	}
	for _, p := range r.iparts {
		ps = append(ps, p)
	}
	if r.nullPart != nil {
		ps = append(ps, r.nullPart)
	}
	return ps
}

// Open prepares state.
func (r *Rank) Open(ctx *exec.OpContext) error {
	r.parts = map[string]*rankPartition{}
	if len(r.PartitionKeys) == 1 {
		switch r.In.Fields[r.PartitionKeys[0]].Type.Arrow().ID() {
		case arrow.INT32, arrow.INT64:
			r.intKeyed = true
			r.iparts = map[int64]*rankPartition{}
		}
	}
	r.maxPar = maxParOf(ctx)
	r.schema = r.Out.Arrow()
	r.cells = newCellRows(r.Out.Len())
	r.probe = make([]cell, r.In.Len())
	r.now = ctx.Now
	if r.now == nil {
		r.now = time.Now
	}
	if r.TTL > 0 && !r.RocksDB && ctx.Every != nil {
		// Expired partitions are reset on their next row; this sweep
		// frees the memory of those that never come back.
		ctx.Every(max(r.TTL/4, time.Second), func(exec.Collector) error { r.sweepExpired(); return nil })
	}
	if r.RocksDB {
		st, err := openRankStore(ctx, r.TTL)
		if err != nil {
			return err
		}
		r.store = st
		st.scheduleCleanup(ctx, r.TTL)
		r.rparts = map[string]*rocksPart{}
	}
	return nil
}

// Close releases the state backend.
func (r *Rank) Close() error {
	if r.store != nil {
		return r.store.close()
	}
	return nil
}

// expired reports whether an in-memory partition was not written for
// longer than the TTL; it is then forgotten without any retraction.
func (r *Rank) expired(p *rankPartition) bool {
	return r.TTL > 0 && r.nowNs-p.lastWrite > int64(r.TTL)
}

// sweepExpired drops the in-memory partitions whose state expired.
func (r *Rank) sweepExpired() {
	r.nowNs = r.now().UnixNano()
	r.dropParts(func(p *rankPartition) bool { return !p.touched && r.expired(p) })
}

func (r *Rank) less(a, b rankRow) int {
	for _, k := range r.OrderKeys {
		if c := r.cmpOrder(k, a.cells[k.Col], b.cells[k.Col]); c != 0 {
			return c
		}
	}
	return 0
}

// cmpOrder compares two values of ORDER BY key k (NULLs first, then
// reversed when descending).
func (r *Rank) cmpOrder(k SortKey, x, y cell) int {
	var c int
	switch {
	case x.null && y.null:
	case x.null:
		c = -1
	case y.null:
		c = 1
	default:
		c = compareCells(x, y, r.In.Fields[k.Col].Type.Kind)
	}
	if k.Desc {
		c = -c
	}
	return c
}

// Process applies a batch and emits each touched partition's change.
func (r *Rank) Process(_ int, b batch.Batch, out exec.Collector) error {
	if r.MiniBatch > 0 && b.Len() > r.MiniBatch {
		for from := 0; from < b.Len(); from += r.MiniBatch {
			if err := r.process(batch.Slice(b, from, min(from+r.MiniBatch, b.Len())), out); err != nil {
				return err
			}
		}
		return nil
	}
	return r.process(b, out)
}

func (r *Rank) process(b batch.Batch, out exec.Collector) error {
	if r.TTL > 0 {
		r.nowNs = r.now().UnixNano()
	}
	if r.store != nil {
		return r.processRocks(b, out)
	}
	if !r.InputUpdating {
		if err := r.processAppend(b); err != nil {
			return err
		}
		return r.emit(out)
	}
	keyCols := make([]arrow.Array, len(r.PartitionKeys))
	for i, k := range r.PartitionKeys {
		keyCols[i] = b.Column(k)
	}
	ncol := r.In.Len()
	for row := 0; row < b.Len(); row++ {
		r.setKey(keyCols, row)
		p := r.part()
		if p == nil || (!p.touched && r.expired(p)) {
			p = &rankPartition{epoch: r.cow.epoch}
			r.setPart(p)
		} else if r.shared(p) {
			p = r.own(p) // before touched holds it
		}
		if !p.touched {
			p.touched = true
			r.touched = append(r.touched, p)
		}
		rr := rankRow{cells: make([]cell, ncol)}
		for c := 0; c < ncol; c++ {
			rr.cells[c] = readCell(b.Column(c), row)
		}
		if b.Kind(row).IsRetract() {
			i := slices.IndexFunc(p.rows, func(x rankRow) bool { return sameRankRow(x.cells, rr.cells) })
			if i < 0 {
				if r.TTL > 0 {
					continue // its state may have expired
				}
				return fmt.Errorf("retraction of a row that was never added")
			}
			p.rows = slices.Delete(p.rows, i, i+1)
			p.lastWrite = r.nowNs
			continue
		}
		r.seq++
		rr.seq = r.seq
		// Insert after every row that orders before or equal to it.
		i, _ := slices.BinarySearchFunc(p.rows, rr, func(x, t rankRow) int {
			if c := r.less(x, t); c != 0 {
				return c
			}
			return -1 // equal keys: x arrived earlier, stays first
		})
		p.rows = slices.Insert(p.rows, i, rr)
		p.lastWrite = r.nowNs
	}
	return r.emit(out)
}

func (r *Rank) emit(out exec.Collector) error {
	r.cells.reset()
	r.kinds = r.kinds[:0]
	for _, p := range r.touched {
		p.touched = false
		if !r.InputUpdating {
			if !p.changed {
				continue
			}
			p.changed = false
		}
		top := p.rows[:min(int64(len(p.rows)), r.Limit)]
		r.emitChanges(p.emitted, top)
		p.emitted = append(p.emitted[:0], top...)
	}
	r.touched = r.touched[:0]
	// Rows pushed out of the top are in no partition's emitted any more.
	for i, row := range r.dead {
		r.releaseRow(row)
		r.dead[i] = rankRow{}
	}
	r.dead = r.dead[:0]
	return r.collect(out)
}

// emitChanges adds the changes from a partition's top N as last emitted
// to its top N now (rows told apart by arrival number).
func (r *Rank) emitChanges(emitted, top []rankRow) {
	if r.RankColumn {
		for i := 0; i < max(len(top), len(emitted)); i++ {
			switch {
			case i >= len(top):
				r.add(emitted[i], i, batch.Delete)
			case i >= len(emitted):
				r.add(top[i], i, batch.Insert)
			case top[i].seq != emitted[i].seq:
				r.add(emitted[i], i, batch.UpdateBefore)
				r.add(top[i], i, batch.UpdateAfter)
			}
		}
	} else {
		for _, old := range emitted {
			if !slices.ContainsFunc(top, func(x rankRow) bool { return x.seq == old.seq }) {
				r.add(old, 0, batch.Delete)
			}
		}
		for _, nw := range top {
			if !slices.ContainsFunc(emitted, func(x rankRow) bool { return x.seq == nw.seq }) {
				r.add(nw, 0, batch.Insert)
			}
		}
	}
}

// collect emits the changes added since the last reset.
func (r *Rank) collect(out exec.Collector) error {
	if len(r.kinds) == 0 {
		return nil
	}
	kinds := append([]batch.RowKind(nil), r.kinds...)
	return out.Collect(r.cells.batch(r.schema, r.Out, len(kinds), kinds))
}

func (r *Rank) add(row rankRow, pos int, kind batch.RowKind) {
	r.cells.add(row.cells)
	if r.RankColumn {
		last := len(r.cells) - 1
		r.cells[last] = append(r.cells[last], cell{i: int64(pos + 1)})
	}
	r.kinds = append(r.kinds, kind)
}

// processAppend applies an insert-only batch, keeping each partition's top
// N only. A row that does not order strictly before the N-th row is
// dropped: with all rows kept it would sit at rank N+1 or later, and
// without retractions nothing above it can ever leave.
func (r *Rank) processAppend(b batch.Batch) error {
	r.batchSeq = r.seq
	if r.Limit <= 0 {
		for row := 0; row < b.Len(); row++ {
			if b.Kind(row).IsRetract() {
				return fmt.Errorf("retraction into a Top-N whose input was planned as insert-only")
			}
		}
		return nil
	}
	if cap(r.keyCols) < len(r.PartitionKeys) {
		r.keyCols = make([]arrow.Array, len(r.PartitionKeys))
	}
	keyCols := r.keyCols[:len(r.PartitionKeys)]
	for i, k := range r.PartitionKeys {
		keyCols[i] = b.Column(k)
	}
	r.readers = prepareColReaders(r.readers, b, false)
	readers := r.readers
	probe := rankRow{cells: r.probe}
	for row := 0; row < b.Len(); row++ {
		if b.Kind(row).IsRetract() {
			return fmt.Errorf("retraction into a Top-N whose input was planned as insert-only")
		}
		r.setKey(keyCols, row)
		p := r.part()
		if p == nil || (!p.touched && r.expired(p)) {
			// An expired partition's rows are left to the garbage
			// collector.
			p = newAppendPartition(r.cow.epoch)
			r.setPart(p)
		} else if r.shared(p) {
			// Copied even if the row is dropped: touched and the
			// emission must hold the partition in its map.
			p = r.own(p)
		}
		if !p.touched {
			// Touched in arrival order even if the row is dropped, so
			// partitions emit in the same order as with all rows kept.
			p.touched = true
			r.touched = append(r.touched, p)
		}
		for _, k := range r.OrderKeys {
			probe.cells[k.Col] = readers[k.Col].read(row)
		}
		n := len(p.rows)
		full := int64(n) >= r.Limit
		if full && r.less(probe, p.rows[n-1]) >= 0 {
			continue
		}
		// After every row that orders before or equal to it.
		i, _ := slices.BinarySearchFunc(p.rows, probe, func(x, t rankRow) int {
			if c := r.less(x, t); c != 0 {
				return c
			}
			return -1
		})
		r.seq++
		rr := rankRow{cells: r.ownRow(readers, row), seq: r.seq}
		if full {
			out := p.rows[n-1]
			copy(p.rows[i+1:], p.rows[i:n-1])
			p.rows[i] = rr
			if out.seq > r.batchSeq {
				r.releaseRow(out) // entered and left within this batch
			} else {
				r.dead = append(r.dead, out)
			}
		} else {
			if n == cap(p.rows) {
				// Grow towards N, never past it.
				p.rows = slices.Grow(p.rows, int(min(int64(2*n), r.Limit))-n)
			}
			p.rows = slices.Insert(p.rows, i, rr)
		}
		p.changed = true
		p.lastWrite = r.nowNs
	}
	for _, k := range r.OrderKeys {
		r.probe[k.Col] = cell{} // do not pin the batch
	}
	clear(r.readers)
	return nil
}

// sameRankRow reports whether two rows are equal, as a retraction matches
// the row it retracts: like sameCells, but NaN equals NaN (else a row
// holding NaN could never be retracted).
func sameRankRow(a, b []cell) bool {
	for i := range a {
		if x, y := a[i], b[i]; x != y && !(x.f != x.f && y.f != y.f && x.i == y.i && x.s == y.s && x.null == y.null) {
			return false
		}
	}
	return true
}

// ownRow copies row of the batch (readers) into a reused or new cell
// slice, its strings into one new allocation, so the row does not
// reference the batch's buffers.
func (r *Rank) ownRow(readers []colReader, row int) []cell {
	var cells []cell
	if k := len(r.free); k > 0 {
		cells = r.free[k-1]
		r.free[k-1] = nil
		r.free = r.free[:k-1]
	} else {
		// New rows come from a slab of rankSlabRows (one allocation); a
		// row's slice is capped so that it never writes into its neighbour.
		ncol := r.In.Len()
		if len(r.slab) < ncol {
			r.slab = make([]cell, rankSlabRows*ncol)
		}
		cells, r.slab = r.slab[:ncol:ncol], r.slab[ncol:]
	}
	// The row's strings (views into the batch until now) are copied once,
	// into one allocation they share.
	total := 0
	for c := range cells {
		v := readers[c].read(row)
		total += len(v.s)
		cells[c] = v
	}
	if total > 0 {
		buf := make([]byte, 0, total)
		for c := range cells {
			buf = append(buf, cells[c].s...)
		}
		all := unsafe.String(&buf[0], total) // buf is never written again
		off := 0
		for c := range cells {
			if l := len(cells[c].s); l > 0 {
				cells[c].s = all[off : off+l]
				off += l
			}
		}
	}
	return cells
}

// releaseRow makes a forgotten row's cell slice reusable, unless a
// snapshot still being written may read it (the row arrived before the
// last snapshot's barrier): then it is left to the garbage collector.
func (r *Rank) releaseRow(row rankRow) {
	if row.seq <= r.cow.snapSeq && r.cow.running.Load() > 0 {
		return
	}
	if len(r.free) < maxFreeRows {
		clear(row.cells)
		r.free = append(r.free, row.cells)
	}
}
