package ops

import (
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// JoinKind is the kind of a regular join.
type JoinKind uint8

const (
	JoinInner JoinKind = iota
	JoinLeft
	JoinRight
	JoinFull
)

func (k JoinKind) String() string {
	switch k {
	case JoinInner:
		return "INNER"
	case JoinLeft:
		return "LEFT"
	case JoinRight:
		return "RIGHT"
	case JoinFull:
		return "FULL"
	}
	return fmt.Sprintf("JoinKind(%d)", uint8(k))
}

// Join is Flink's regular streaming join (StreamingJoinOperator) of two
// changelogs: input 0 is the left side, input 1 the right side, both
// hash-partitioned by their join keys.
//
// Each side keeps its rows per join key as a multiset (+I/+U add one
// occurrence, -U/-D retract one). A row joins every row of the other side
// with an equal key for which Residual is TRUE; a NULL key matches nothing
// unless its pair is NullEqual. An outer side also emits its rows padded
// with NULLs while they have no match, and turns that padded row into
// joined rows (and back) as matches come and go; for this every stored row
// of an outer side counts its matches ("associations").
//
// Emitted row kinds follow Flink: in an inner join the input's kind passes
// through (+U stays +U, -U stays -U); where an outer side is involved,
// additions are +I and retractions -D, except that a retraction arriving
// on the inner side of an outer join keeps its kind for the joined rows.
//
// With no keys at all every row lands in one bucket (a theta join, to run
// at parallelism 1).
type Join struct {
	exec.BaseOperator
	Kind JoinKind
	// LeftKeys and RightKeys are the equi-join columns of each input: the
	// same count, and pairwise the same type (DECIMALs of the same scale).
	LeftKeys, RightKeys []int
	// NullEqual is empty or has one flag per key pair; a set flag makes
	// NULL match NULL in that pair (IS NOT DISTINCT FROM).
	NullEqual []bool
	// Left and Right are the input schemas.
	Left, Right types.Schema
	// Out is the left columns then the right columns, each of the physical
	// type of its input column (the planner makes outer sides nullable).
	Out types.Schema
	// Residual is an extra condition over the joined row (column i of
	// Out), or nil.
	Residual expr.Expr
	// LeftInsertOnly and RightInsertOnly say an input never retracts
	// (the planner's Updating is false for it). Its stored rows are then
	// only ever appended (and swept by expiry or TTL), so their cells are
	// allocated in chunks and their strings copied once per batch column
	// instead of once per value.
	LeftInsertOnly, RightInsertOnly bool
	// Bounds, when set on an inner join, let the watermark free state no
	// future row can match (interval and window joins; join_expiry.go).
	Bounds    *TimeBounds
	lastSweep int64
	// TTL, when > 0, drops a stored row not written for that long
	// (processing time, 'table.exec.state.ttl'), as Flink's state TTL
	// does: a sweep every TTL/4 (at least a second) removes it, and a
	// later retraction of it is ignored.
	TTL     time.Duration
	now     func() time.Time
	batchAt int64 // processing time of the batch being processed (TTL), Unix ns
	// RocksDB keeps both sides' rows in the pebble backend ('state.backend'
	// = 'rocksdb', join_rocks.go): the maps in sides then hold only the
	// buckets the current batch touches.
	RocksDB bool
	store   *joinStore
	// ended[i]: input i has ended, so nothing can match the other side's
	// rows any more: they are dropped, and that side stores nothing from
	// then on (EndInput).
	ended [2]bool

	maxPar int
	// Bytes of the last in-memory snapshot, to size the next one's first
	// chunk (stored by the asynchronous phase).
	snapBytes atomic.Int64
	// cow makes in-memory snapshots copy-on-write (join_snapshot.go).
	cow cowEpochs
	// logPrefix names this instance's incremental snapshot segments
	// (join_log.go).
	logPrefix string

	sides    [2]joinSide
	seed     maphash.Seed // hashes rows for the index of large buckets
	outer    [2]bool
	intKeyed bool // one integer key column, no NULL equality: buckets by int64
	schema   *arrow.Schema

	resid       *expr.Predicate
	residRefs   []int // Out columns the residual reads, in its compact record
	residSchema *arrow.Schema

	// Scratch, reused across batches.
	keys      rowKeys
	match     []*joinRow // matches of a chunk of input rows ...
	matchOff  []int32    // ... row from+i owns match[matchOff[i]:matchOff[i+1]]
	pairIn    []int32    // residual candidates: input row ...
	pairOther []*joinRow // ... and other-side row
	sel       []int32
	cellBuf   []cell
	rowCells  []cell
	arena     rowArena // rows of logged sides that probes return
	readers   []colReader
	out       joinOut
}

// joinChunk bounds the matches (or residual candidates) gathered before
// they are applied, so a hot key cannot make one huge scratch buffer.
const joinChunk = 1 << 16

// joinOutRows is the output size at which a batch is emitted mid-input.
const joinOutRows = 8192

// Open validates the plan and prepares the state.
func (j *Join) Open(ctx *exec.OpContext) error {
	if j.Kind > JoinFull {
		return fmt.Errorf("join: unknown kind %v", j.Kind)
	}
	if len(j.LeftKeys) != len(j.RightKeys) {
		return fmt.Errorf("join: %d left keys but %d right keys", len(j.LeftKeys), len(j.RightKeys))
	}
	if len(j.NullEqual) != 0 && len(j.NullEqual) != len(j.LeftKeys) {
		return fmt.Errorf("join: %d NullEqual flags for %d keys", len(j.NullEqual), len(j.LeftKeys))
	}
	for i := range j.LeftKeys {
		lk, rk := j.LeftKeys[i], j.RightKeys[i]
		if lk < 0 || lk >= j.Left.Len() || rk < 0 || rk >= j.Right.Len() {
			return fmt.Errorf("join: key pair %d (%d, %d) out of range", i, lk, rk)
		}
		lt, rt := j.Left.Fields[lk].Type, j.Right.Fields[rk].Type
		// Keys are compared by their physical encoding, so both sides
		// must encode a value identically.
		if lt.Kind != rt.Kind || (lt.Kind == types.Decimal && lt.Scale != rt.Scale) {
			return fmt.Errorf("join: key pair %d has types %s and %s", i, lt, rt)
		}
	}
	if j.Out.Len() != j.Left.Len()+j.Right.Len() {
		return fmt.Errorf("join: output has %d columns, inputs %d + %d", j.Out.Len(), j.Left.Len(), j.Right.Len())
	}
	for c, f := range j.Out.Fields {
		if !arrow.TypeEqual(f.Type.Arrow(), j.inputField(c).Type.Arrow()) {
			return fmt.Errorf("join: output column %d is %s, its input column %s", c, f.Type, j.inputField(c).Type)
		}
	}
	j.outer = [2]bool{j.Kind == JoinLeft || j.Kind == JoinFull, j.Kind == JoinRight || j.Kind == JoinFull}
	j.intKeyed = len(j.LeftKeys) == 1 && !j.nullEqual(0)
	if j.intKeyed {
		switch j.Left.Fields[j.LeftKeys[0]].Type.Arrow().ID() {
		case arrow.INT32, arrow.INT64:
		default:
			j.intKeyed = false
		}
	}
	j.seed = maphash.MakeSeed()
	j.sides[0] = joinSide{keys: j.LeftKeys, schema: j.Left, insertOnly: j.LeftInsertOnly, seed: j.seed, cow: &j.cow}
	j.sides[1] = joinSide{keys: j.RightKeys, schema: j.Right, insertOnly: j.RightInsertOnly, seed: j.seed, cow: &j.cow}
	for s := range j.sides {
		j.sides[s].byInt = map[int64]*joinBucket{}
		j.sides[s].byBytes = map[string]*joinBucket{}
	}
	j.schema = j.Out.Arrow()
	j.maxPar = maxParOf(ctx)
	j.now = time.Now
	if ctx != nil && ctx.Now != nil {
		j.now = ctx.Now
	}
	if j.TTL > 0 && ctx != nil && ctx.Every != nil {
		ctx.Every(j.ttlSweepEvery(), func(exec.Collector) error { return j.expireTTL() })
	}
	if j.RocksDB {
		if ctx == nil {
			return fmt.Errorf("join: rocksdb state needs an operator context")
		}
		st, err := openJoinStore(ctx, j)
		if err != nil {
			return fmt.Errorf("join: %w", err)
		}
		j.store = st
		st.scheduleCleanup(ctx, j.TTL)
		for s := range j.sides {
			j.sides[s].keepEmpty = true
		}
	} else if err := j.openLogs(); err != nil {
		return err
	}
	if j.Residual != nil {
		var err error
		if j.resid, j.residRefs, j.residSchema, err = compileJoinResidual(j.Residual, j.Left, j.Right, j.Out, ctx); err != nil {
			return fmt.Errorf("join: %w", err)
		}
	}
	return nil
}

// Close drops the state.
func (j *Join) Close() error {
	j.sides = [2]joinSide{}
	if j.store != nil {
		st := j.store
		j.store = nil
		return st.close()
	}
	return nil
}

// inputField is the input field behind output column c.
func (j *Join) inputField(c int) types.Field { return joinInputField(j.Left, j.Right, c) }

// joinInputField is the input field behind output column c of a join of
// left and right (left's columns first).
func joinInputField(left, right types.Schema, c int) types.Field {
	if c < left.Len() {
		return left.Fields[c]
	}
	return right.Fields[c-left.Len()]
}

// compileJoinResidual compiles a join's residual condition to run over a
// compact record of just the output columns it reads (refs, in schema),
// so candidate pairs cost only those columns.
func compileJoinResidual(residual expr.Expr, left, right, out types.Schema, ctx *exec.OpContext) (*expr.Predicate, []int, *arrow.Schema, error) {
	refs := expr.Refs(residual)
	m := make(map[int]int, len(refs))
	fields := make([]types.Field, len(refs))
	for i, c := range refs {
		if c < 0 || c >= out.Len() {
			return nil, nil, nil, fmt.Errorf("residual %s reads column %d of %d", residual, c, out.Len())
		}
		m[c] = i
		fields[i] = joinInputField(left, right, c)
	}
	var env *expr.EvalEnv
	if ctx != nil {
		env = &expr.EvalEnv{Now: ctx.Now, Location: ctx.Location}
	}
	p, err := expr.CompilePredicate(expr.Remap(residual, m), env)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("compile residual: %w", err)
	}
	return p, refs, types.NewSchema(fields...).Arrow(), nil
}

func (j *Join) nullEqual(k int) bool { return len(j.NullEqual) > 0 && j.NullEqual[k] }

// Process joins a batch of one side against the other side's state, in
// row order, and updates this side's state.
func (j *Join) Process(input int, b batch.Batch, out exec.Collector) error {
	if input != 0 && input != 1 {
		return fmt.Errorf("join: input %d of a two-input operator", input)
	}
	if err := j.checkBatch(input, b); err != nil {
		return err
	}
	n := b.Len()
	if n == 0 {
		return nil
	}
	if j.TTL > 0 {
		j.batchAt = j.now().UnixNano()
	}
	// Drop what a failed earlier call may have left: it indexes that batch.
	j.out.reset()
	j.computeKeys(input, b)
	if j.store != nil {
		// The batch's buckets of both sides come from pebble first; they
		// go back (or are dropped, after an error) before returning.
		defer j.store.discard(j)
		if err := j.store.loadBatch(j, input, b); err != nil {
			return err
		}
	}
	j.readers = prepareColReaders(j.readers, b, j.sides[input].insertOnly && !j.ended[1-input])
	for from := 0; from < n; {
		to, err := j.probe(input, b, from)
		if err != nil {
			return err
		}
		if err := j.apply(input, b, from, to, out); err != nil {
			return err
		}
		from = to
	}
	if err := j.emit(input, b, out); err != nil {
		return err
	}
	if j.store != nil {
		return j.store.writeBack(j)
	}
	return nil
}

func (j *Join) checkBatch(input int, b batch.Batch) error {
	s := &j.sides[input].schema
	if b.Rec == nil {
		return nil
	}
	if int(b.Rec.NumCols()) != s.Len() {
		return fmt.Errorf("join: input %d batch has %d columns, schema %d", input, b.Rec.NumCols(), s.Len())
	}
	for c, f := range s.Fields {
		if !arrow.TypeEqual(b.Column(c).DataType(), f.Type.Arrow()) {
			return fmt.Errorf("join: input %d column %d is %s, schema says %s", input, c, b.Column(c).DataType(), f.Type)
		}
	}
	if b.Kinds != nil && len(b.Kinds) != b.Len() {
		return fmt.Errorf("join: input %d batch has %d rows but %d row kinds", input, b.Len(), len(b.Kinds))
	}
	return nil
}

// rowKeys holds the join keys of a batch's rows, computed once for the
// probe of the other side and the update of this side.
type rowKeys struct {
	never []bool  // the key holds a NULL that matches nothing
	ints  []int64 // int-keyed joins
	offs  []int32 // otherwise row r's key is buf[offs[r]:offs[r+1]]
	buf   []byte
}

func (j *Join) computeKeys(input int, b batch.Batch) {
	n := b.Len()
	k := &j.keys
	k.never = resize(k.never, n)
	cols := j.sides[input].keys
	for i, c := range cols {
		col := b.Column(c)
		if col.NullN() == 0 || j.nullEqual(i) {
			continue
		}
		for r := 0; r < n; r++ {
			if col.IsNull(r) {
				k.never[r] = true
			}
		}
	}
	if j.intKeyed {
		k.ints = resize(k.ints, n)
		switch c := b.Column(cols[0]).(type) {
		case *array.Int64:
			copy(k.ints, c.Int64Values())
		case *array.Int32:
			for r, v := range c.Int32Values() {
				k.ints[r] = int64(v)
			}
		}
		return
	}
	keyCols := make([]arrow.Array, len(cols))
	for i, c := range cols {
		keyCols[i] = b.Column(c)
	}
	k.offs = resize(k.offs, n+1)
	k.buf = k.buf[:0]
	for r := 0; r < n; r++ {
		if !k.never[r] {
			k.buf = appendKey(k.buf, keyCols, r)
		}
		k.offs[r+1] = int32(len(k.buf))
	}
}

// resize returns s with length n, zeroed, reusing its storage.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// probe finds the matches of input rows from.. (key equal and residual
// TRUE) in the other side's state, stopping after about joinChunk of
// them; it returns the end of the rows it covered.
func (j *Join) probe(input int, b batch.Batch, from int) (int, error) {
	other := &j.sides[1-input]
	// apply changes the match counts of an outer other side's rows
	// through the pointers gathered here, so a bucket a snapshot may
	// still read is replaced by its copy first.
	otherOuter := j.outer[1-input]
	n := b.Len()
	if len(j.out.kinds) == 0 {
		// Nothing points at the rows earlier probes returned.
		j.arena.reset()
	}
	j.match = j.match[:0]
	j.matchOff = append(j.matchOff[:0], 0)
	j.pairIn, j.pairOther = j.pairIn[:0], j.pairOther[:0]
	to := from
	for to < n {
		r := to
		to++
		if other.log != nil {
			if head := other.log.head(&j.keys, j.intKeyed, r); head != 0 {
				if j.resid == nil {
					j.match = other.log.matches(j.match, head, &j.arena)
				} else {
					from := len(j.pairOther)
					j.pairOther = other.log.matches(j.pairOther, head, &j.arena)
					for range len(j.pairOther) - from {
						j.pairIn = append(j.pairIn, int32(r))
					}
				}
			}
		} else if bk := other.get(&j.keys, j.intKeyed, r); bk != nil {
			if otherOuter && other.shared(bk) {
				bk = other.own(&j.keys, j.intKeyed, r, bk, 0)
			}
			for i := range bk.rows {
				if j.resid == nil {
					j.match = append(j.match, &bk.rows[i])
				} else {
					j.pairIn = append(j.pairIn, int32(r))
					j.pairOther = append(j.pairOther, &bk.rows[i])
				}
			}
		}
		// Without a residual the offsets are final; with one they bound
		// the candidates until filterPairs narrows them.
		j.matchOff = append(j.matchOff, int32(len(j.match)+len(j.pairIn)))
		if len(j.match)+len(j.pairIn) >= joinChunk {
			break
		}
	}
	if j.resid != nil && len(j.pairIn) > 0 {
		if err := j.filterPairs(input, b); err != nil {
			return 0, err
		}
	}
	return to, nil
}

// filterPairs evaluates the residual over the candidate pairs and keeps
// the ones for which it is TRUE as the matches.
func (j *Join) filterPairs(input int, b batch.Batch) error {
	nl := j.Left.Len()
	np := len(j.pairIn)
	cols := make([]arrow.Array, len(j.residRefs))
	for i, c := range j.residRefs {
		thisCol, otherCol := c, c-nl // input 0: left is this side
		if input == 1 {
			thisCol, otherCol = c-nl, c
		}
		if thisCol >= 0 && thisCol < j.sides[input].schema.Len() {
			cols[i] = batch.Take(b.Column(thisCol), j.pairIn)
			continue
		}
		cells := resize(j.cellBuf, np)
		for p, row := range j.pairOther {
			cells[p] = row.cells[otherCol]
		}
		j.cellBuf = cells
		cols[i] = buildColumn(j.inputField(c).Type, cells)
	}
	rec := batch.NewRecordArrow(j.residSchema, cols, np)
	sel, err := j.resid.Select(rec, j.sel)
	if err != nil {
		return fmt.Errorf("join: residual %s: %w", j.Residual, err)
	}
	j.sel = sel
	// Selected pairs are in ascending order, so each row's matches stay
	// contiguous; rewrite the candidate offsets into match offsets.
	s := 0
	for i := 1; i < len(j.matchOff); i++ {
		end := int(j.matchOff[i])
		for s < len(sel) && int(sel[s]) < end {
			j.match = append(j.match, j.pairOther[sel[s]])
			s++
		}
		j.matchOff[i] = int32(len(j.match))
	}
	return nil
}

// apply runs the join's changelog logic for input rows from..to, whose
// matches probe found, in order.
func (j *Join) apply(input int, b batch.Batch, from, to int, out exec.Collector) error {
	this := &j.sides[input]
	thisOuter, otherOuter := j.outer[input], j.outer[1-input]
	o := &j.out
	// Once the other input has ended this side keeps no rows (EndInput).
	keep := !j.ended[1-input]
	for r := from; r < to; r++ {
		ms := j.match[j.matchOff[r-from]:j.matchOff[r-from+1]]
		kind := b.Kind(r)
		never := j.keys.never[r] || !keep
		if !kind.IsRetract() {
			var total int64
			if len(ms) == 0 {
				if thisOuter {
					o.add(int32(r), nil, batch.Insert, 1)
				}
			} else {
				if otherOuter {
					for _, m := range ms {
						if m.assoc == 0 {
							o.add(-1, m, batch.Delete, m.count)
						}
						m.assoc++
					}
				}
				k := batch.Insert
				if !thisOuter && !otherOuter {
					k = kind
				}
				for _, m := range ms {
					o.add(int32(r), m, k, m.count)
					total += m.count
				}
			}
			// A key that matches nothing needs no state: its row can
			// never join, and its padded output depends on nothing.
			if !never {
				var row []cell
				if this.insertOnly {
					// Read straight into the chunk the row will live in.
					row = this.reserve(len(j.readers))
					j.readInto(row, r)
				} else {
					j.readRow(r)
					row = j.rowCells
				}
				if !thisOuter {
					total = 0 // only an outer side's rows count their matches
				}
				this.add(&j.keys, j.intKeyed, r, row, total, j.batchAt)
			}
		} else {
			if !never {
				j.readRow(r)
				if !this.retract(&j.keys, j.intKeyed, r, j.rowCells) && j.TTL == 0 { // with a TTL it may have expired
					return fmt.Errorf("join: input %d retracts a row it never added: %v", input, j.rowCells)
				}
			}
			if len(ms) == 0 {
				if thisOuter {
					o.add(int32(r), nil, batch.Delete, 1)
				}
			} else {
				k := kind
				if thisOuter {
					k = batch.Delete
				}
				for _, m := range ms {
					o.add(int32(r), m, k, m.count)
				}
				if otherOuter {
					for _, m := range ms {
						if m.assoc == 1 {
							o.add(-1, m, batch.Insert, m.count)
						}
						m.assoc--
					}
				}
			}
		}
		if len(o.kinds) >= joinOutRows {
			if err := j.emit(input, b, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// EndInput implements exec.InputEnder. When one input ends, the other
// side's stored rows can never match anything again (they wait only for
// rows of the ended input), so they are dropped and that side stores no
// rows from then on. Its rows still probe the ended side's rows, which
// stay. This holds for every join kind: an outer side's padded output
// and its retraction depend only on matches in the ended side, and that
// side's match counts (for its own padding) change only when this side's
// rows arrive or retract, which still probe it. A bounded table joined
// with a stream thus stops growing the stream's state once the table is
// read, as does a Nexmark auction source that finishes before its bids.
//
// On rocksdb, rows stored before the end stay in pebble (there is no
// clear-all), but no more are loaded or written.
func (j *Join) EndInput(input int, _ exec.Collector) error {
	if input != 0 && input != 1 || j.ended[input] {
		return nil
	}
	j.ended[input] = true
	if j.store == nil {
		s := &j.sides[1-input]
		clear(s.byInt)
		clear(s.byBytes)
		s.slab = nil
		if s.log != nil {
			s.log.reset()
		}
	}
	return nil
}

// outColumn builds output column c of the rows in j.out.
func (j *Join) outColumn(input int, b batch.Batch, c int) (arrow.Array, error) {
	o := &j.out
	nl := j.Left.Len()
	thisOff, otherOff := 0, nl
	if input == 1 {
		thisOff, otherOff = nl, 0
	}
	if tc := c - thisOff; tc >= 0 && tc < j.sides[input].schema.Len() {
		return takeOrNull(b.Column(tc), o.this)
	}
	oc := c - otherOff
	return gatherColumn(j.sides[1-input].schema.Fields[oc].Type, o.other, oc), nil
}

// skipRows drops from j.out the rows the chained operator after the join
// would ignore, judged from the columns it names: the rest of those rows
// is never built (exec.RowSkipper).
func (j *Join) skipRows(input int, b batch.Batch, sk exec.RowSkipper, need []int) error {
	o := &j.out
	cols := make([]arrow.Array, len(need))
	for i, c := range need {
		col, err := j.outColumn(input, b, c)
		if err != nil {
			return err
		}
		cols[i] = col
	}
	skip := make([]bool, len(o.kinds))
	sk.SkipRows(cols, skip)
	k := 0
	for i, s := range skip {
		if !s {
			o.this[k], o.other[k], o.kinds[k] = o.this[i], o.other[i], o.kinds[i]
			k++
		}
	}
	clear(o.other[k:]) // do not pin stored rows
	o.this, o.other, o.kinds = o.this[:k], o.other[:k], o.kinds[:k]
	return nil
}

// readRow reads input row r into j.rowCells (strings point into the batch,
// and the state clones them when it keeps a new row, or, on an
// insert-only side, into the batch's copy of their column).
func (j *Join) readRow(r int) {
	j.rowCells = resize(j.rowCells, len(j.readers))
	j.readInto(j.rowCells, r)
}

// readInto reads input row r into dst.
func (j *Join) readInto(dst []cell, r int) {
	for c := range j.readers {
		dst[c] = j.readers[c].read(r)
	}
}

// colReader reads the cells of one batch column, with readCell's type
// switch done once per batch instead of per cell.
type colReader struct {
	a     arrow.Array
	nulls bool
	i64   []int64
	i32   []int32
	str   *array.String // strings that alias the batch
	// owned, when set, is a copy of a string column's values, which
	// offs (less base) index: values read from it may be stored as they
	// are.
	owned string
	offs  []int32
	base  int32
	isStr bool
}

// prepareColReaders sets up dst (resized) to read b's columns; own
// copies each string column once, so that stored values do not pin the
// batch (otherwise strings alias it).
func prepareColReaders(dst []colReader, b batch.Batch, own bool) []colReader {
	n := int(b.Rec.NumCols())
	dst = resize(dst, n)
	for c := range dst {
		a := b.Column(c)
		rd := colReader{a: a, nulls: a.NullN() > 0}
		switch x := a.(type) {
		case *array.Int64:
			rd.i64 = x.Int64Values()
		case *array.Int32:
			rd.i32 = x.Int32Values()
		case *array.String:
			if own && x.Len() > 0 {
				rd.isStr = true
				rd.owned = string(x.ValueBytes())
				rd.offs = x.ValueOffsets()
				rd.base = rd.offs[0]
			} else if !own {
				rd.str = x
			}
		}
		dst[c] = rd
	}
	return dst
}

func (c *colReader) read(r int) cell {
	if c.nulls && c.a.IsNull(r) {
		return cell{null: true}
	}
	switch {
	case c.i64 != nil:
		return cell{i: c.i64[r]}
	case c.i32 != nil:
		return cell{i: int64(c.i32[r])}
	case c.isStr:
		return cell{s: c.owned[c.offs[r]-c.base : c.offs[r+1]-c.base]}
	case c.str != nil:
		return cell{s: c.str.Value(r)}
	}
	return readCell(c.a, r)
}

// joinOut accumulates output rows: each is an input row (or NULLs) joined
// with a stored row of the other side (or NULLs).
type joinOut struct {
	this  []int32    // input row, -1 for NULLs
	other []*joinRow // other side's row, nil for NULLs
	kinds []batch.RowKind
}

func (o *joinOut) add(r int32, m *joinRow, k batch.RowKind, times int64) {
	for ; times > 0; times-- {
		o.this = append(o.this, r)
		o.other = append(o.other, m)
		o.kinds = append(o.kinds, k)
	}
}

func (o *joinOut) reset() {
	o.kinds = o.kinds[:0]
	o.this = o.this[:0]
	clear(o.other) // let retracted rows be collected
	o.other = o.other[:0]
}

// emit builds and sends the accumulated output of a batch of input.
func (j *Join) emit(input int, b batch.Batch, out exec.Collector) error {
	o := &j.out
	n := len(o.kinds)
	if n == 0 {
		return nil
	}
	allInsert := !slices.ContainsFunc(o.kinds, func(k batch.RowKind) bool { return k != batch.Insert })
	if sk := exec.SkipperOf(out); sk != nil && allInsert {
		if need := sk.SkipColumns(); len(need) > 0 {
			if err := j.skipRows(input, b, sk, need); err != nil {
				return err
			}
			if n = len(o.kinds); n == 0 {
				return nil
			}
		}
	}
	cols := make([]arrow.Array, j.Out.Len())
	for c := range cols {
		col, err := j.outColumn(input, b, c)
		if err != nil {
			return err
		}
		cols[c] = col
	}
	var kinds []batch.RowKind
	if !allInsert {
		// The batch keeps its kinds; scratch must not be reused.
		kinds = o.kinds
		o.kinds = nil
	}
	o.reset()
	return out.Collect(batch.Batch{Rec: batch.NewRecordArrow(j.schema, cols, n), Kinds: kinds})
}

// takeOrNull is batch.Take where index -1 yields NULL.
func takeOrNull(a arrow.Array, idx []int32) (arrow.Array, error) {
	n := len(idx)
	var valid []bool
	pad := false
	for _, i := range idx {
		if i < 0 {
			pad = true
			break
		}
	}
	if pad || a.NullN() > 0 {
		valid = make([]bool, n)
		for p, i := range idx {
			valid[p] = i >= 0 && a.IsValid(int(i))
		}
	}
	switch arr := a.(type) {
	case *array.Int64:
		src, dst := arr.Int64Values(), make([]int64, n)
		for p, i := range idx {
			if i >= 0 {
				dst[p] = src[i]
			}
		}
		return batch.Int64Array(dst, valid), nil
	case *array.Int32:
		src, dst := arr.Int32Values(), make([]int32, n)
		for p, i := range idx {
			if i >= 0 {
				dst[p] = src[i]
			}
		}
		return batch.Int32Array(dst, valid), nil
	case *array.Float64:
		src, dst := arr.Float64Values(), make([]float64, n)
		for p, i := range idx {
			if i >= 0 {
				dst[p] = src[i]
			}
		}
		return batch.Float64Array(dst, valid), nil
	case *array.Boolean:
		dst := make([]bool, n)
		for p, i := range idx {
			dst[p] = i >= 0 && arr.Value(int(i))
		}
		return batch.BooleanArray(dst, valid), nil
	case *array.String:
		// Straight into Arrow's layout: no []string in between.
		total := 0
		for p, i := range idx {
			if i >= 0 && (valid == nil || valid[p]) {
				total += len(arr.Value(int(i)))
			}
		}
		offsets, buf := make([]int32, n+1), make([]byte, 0, total)
		for p, i := range idx {
			if i >= 0 && (valid == nil || valid[p]) {
				buf = append(buf, arr.Value(int(i))...)
			}
			offsets[p+1] = int32(len(buf))
		}
		return stringArray(offsets, buf, valid), nil
	case *array.Null:
		return array.NewNull(n), nil
	}
	return nil, fmt.Errorf("join: cannot take from a %s column", a.DataType())
}

// stringArray makes a string array of len(offsets)-1 values from its
// offsets and bytes (valid nil: no NULLs).
func stringArray(offsets []int32, buf []byte, valid []bool) *array.String {
	bm, nulls := batch.ValidityFromBools(valid)
	data := array.NewData(arrow.BinaryTypes.String, len(offsets)-1,
		[]*memory.Buffer{bm, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(buf)}, nil, nulls, 0)
	defer data.Release()
	return array.NewStringData(data)
}

// gatherColumn builds output column c from stored rows (nil = NULL),
// typed per physical layout, without an intermediate cell slice.
func gatherColumn(t types.Type, rows []*joinRow, c int) arrow.Array {
	n := len(rows)
	var valid []bool
	for p, row := range rows {
		if row == nil || row.cells[c].null {
			if valid == nil {
				valid = make([]bool, n)
				for q := range valid {
					valid[q] = true
				}
			}
			valid[p] = false
		}
	}
	switch t.Kind {
	case types.Boolean:
		v := make([]bool, n)
		for p, row := range rows {
			v[p] = row != nil && row.cells[c].i != 0
		}
		return batch.BooleanArray(v, valid)
	case types.Int, types.Date:
		v := make([]int32, n)
		for p, row := range rows {
			if row != nil {
				v[p] = int32(row.cells[c].i)
			}
		}
		return batch.Int32Array(v, valid)
	case types.Double:
		v := make([]float64, n)
		for p, row := range rows {
			if row != nil {
				v[p] = row.cells[c].f
			}
		}
		return batch.Float64Array(v, valid)
	case types.String:
		total := 0
		for _, row := range rows {
			if row != nil {
				total += len(row.cells[c].s) // "" when NULL
			}
		}
		offsets, buf := make([]int32, n+1), make([]byte, 0, total)
		for p, row := range rows {
			if row != nil {
				buf = append(buf, row.cells[c].s...)
			}
			offsets[p+1] = int32(len(buf))
		}
		return stringArray(offsets, buf, valid)
	case types.Null:
		return array.NewNull(n)
	}
	v := make([]int64, n)
	for p, row := range rows {
		if row != nil {
			v[p] = row.cells[c].i
		}
	}
	return batch.Int64Array(v, valid)
}

// ---------------------------------------------------------------------------
// State. Only the methods below touch the maps, so a disk-backed store can
// replace them.

// joinSide is one input's state: the multiset of its rows per join key.
type joinSide struct {
	keys    []int
	schema  types.Schema
	byInt   map[int64]*joinBucket
	byBytes map[string]*joinBucket
	seed    maphash.Seed
	// insertOnly: the input never retracts, and the strings of the rows
	// add is given are already owned (see prepareColReaders). New rows'
	// cells are then cut from slab, a chunk shared by many rows.
	insertOnly bool
	slab       []cell
	// keepEmpty (rocksdb) keeps a bucket whose last row was retracted in
	// the map until the batch ends, so its deletion is written back.
	keepEmpty bool
	// cow is the join's copy-on-write state (both sides share it).
	cow *cowEpochs
	// log, when set, lists the rows in arrival order for incremental
	// snapshots (join_log.go), which never read the buckets.
	log *joinLog
}

// The in-memory join's snapshots are copy-on-write (cowEpochs): a bucket
// of an earlier epoch is replaced in its map by a copy (own) before
// anything changes it or its rows in place, outer rows' match counts
// included. Rows' cells are never changed once stored (an insert-only
// side reads new rows into slab cells no stored row has yet), so a copy
// shares them.

// joinSlabCells is the size of an insert-only side's cell chunk.
const joinSlabCells = 4096

// joinBucket holds the distinct rows of one join key.
type joinBucket struct {
	rows []joinRow
	// one is rows' storage while the bucket holds a single distinct row
	// (most keys), saving an allocation per key.
	one [1]joinRow
	// index finds a row by its hash (hashRow) once the bucket is large
	// enough that scanning it on every add and retract would cost more.
	// collided: two distinct rows share a hash, so a miss in the index
	// is not final.
	index    map[uint64]int32
	collided bool
	// rocksdb only: the key group the bucket is stored under, whether
	// pebble held it when loaded, and whether it changed since.
	kg             int32
	existed, dirty bool
	// epoch is cowEpochs.epoch when the bucket was made: a snapshot being
	// written may read a bucket of an earlier one.
	epoch uint32
}

// joinRow is one distinct stored row.
type joinRow struct {
	cells   []cell
	count   int64 // occurrences
	assoc   int64 // rows of the other side it matches (used on outer sides)
	written int64 // processing time of its last write, Unix ns (TTL; else 0)
}

// bucketIndexAt is the bucket size from which rows are indexed.
const bucketIndexAt = 16

// shared says a snapshot still being written may read bk, so it must not
// change in place: see own.
func (s *joinSide) shared(bk *joinBucket) bool {
	return s.log == nil && s.cow.shared(bk.epoch)
}

// own replaces bk, the bucket of row r's key (shared), in its map by a
// copy of the current epoch with room for extra more rows, and returns
// the copy, which may be changed in place.
func (s *joinSide) own(k *rowKeys, intKeyed bool, r int, bk *joinBucket, extra int) *joinBucket {
	c := bk.clone(s.cow.epoch, extra)
	s.put(k, intKeyed, r, c)
	return c
}

// clone copies a bucket into a new one of the given epoch, with its own
// rows (and room for extra more); the rows' cells are shared. The index
// moves to the copy, which replaces bk in its map: a snapshot reads only
// the rows.
func (bk *joinBucket) clone(epoch uint32, extra int) *joinBucket {
	c := &joinBucket{}
	*c = *bk
	c.epoch = epoch
	n := len(bk.rows)
	if n+extra <= 1 {
		c.one = [1]joinRow{}
		c.rows = c.one[:n:1]
	} else {
		c.rows = make([]joinRow, n, n+extra)
	}
	copy(c.rows, bk.rows)
	return c
}

// get returns the bucket of row r's key, or nil.
func (s *joinSide) get(k *rowKeys, intKeyed bool, r int) *joinBucket {
	if k.never[r] {
		return nil
	}
	if intKeyed {
		return s.byInt[k.ints[r]]
	}
	return s.byBytes[string(k.buf[k.offs[r]:k.offs[r+1]])]
}

// add stores one occurrence of row (cells are copied when the row is new)
// with its number of associations, written at time now (TTL).
func (s *joinSide) add(k *rowKeys, intKeyed bool, r int, row []cell, assoc, now int64) {
	if s.log != nil {
		// Insert-only, inner, no TTL: assoc and now are not kept.
		if intKeyed {
			s.log.store(true, k.ints[r], nil, row)
		} else {
			s.log.store(false, 0, k.buf[k.offs[r]:k.offs[r+1]], row)
		}
		return
	}
	bk := s.get(k, intKeyed, r)
	if bk == nil {
		bk = s.newBucket()
		if intKeyed {
			s.byInt[k.ints[r]] = bk
		} else {
			s.byBytes[string(k.buf[k.offs[r]:k.offs[r+1]])] = bk
		}
	} else if s.shared(bk) {
		// Even an append changes what the snapshot reads: the bucket's
		// rows (their length, or the inline row).
		bk = s.own(k, intKeyed, r, bk, 1)
	}
	if s.insertOnly {
		// Nothing is ever retracted from an insert-only side, so equal
		// rows need not be found and merged: each is kept on its own
		// (joining like one row of count n) and no index is needed.
		// Finding them was half of Nexmark q7's time (bids per price).
		s.appendNew(bk, row, assoc, now)
		return
	}
	var h uint64
	if bk.index != nil {
		h = hashRow(s.seed, row)
	}
	if i := bk.find(s.seed, row, h); i >= 0 {
		bk.rows[i].count++
		bk.rows[i].assoc = assoc
		bk.rows[i].written = now
		return
	}
	owned := make([]cell, len(row))
	for c, v := range row {
		if v.s != "" {
			// The value aliases the input batch's buffer; keeping it
			// would pin the whole batch.
			v.s = strings.Clone(v.s)
		}
		owned[c] = v
	}
	bk.rows = append(bk.rows, joinRow{cells: owned, count: 1, assoc: assoc, written: now})
	if bk.index != nil {
		bk.indexRow(h, len(bk.rows)-1)
	} else if len(bk.rows) >= bucketIndexAt {
		bk.buildIndex(s.seed)
	}
}

// appendNew appends row to bucket bk of an insert-only side, its cells
// cut from the slab (copied unless row already is the slab's next cells).
func (s *joinSide) appendNew(bk *joinBucket, row []cell, assoc, now int64) {
	owned := row
	if n := len(row); n == 0 || len(s.slab) < n || &s.slab[0] != &row[0] {
		owned = s.reserve(n)
		copy(owned, row)
	}
	s.slab = s.slab[len(owned):]
	bk.rows = append(bk.rows, joinRow{cells: owned, count: 1, assoc: assoc, written: now})
}

// reserve returns the cells the next new row of an insert-only side will
// take (add keeps them when given them back).
func (s *joinSide) reserve(n int) []cell {
	if s.log != nil {
		return s.log.slot()
	}
	if len(s.slab) < n {
		s.slab = make([]cell, max(joinSlabCells, n))
	}
	return s.slab[:n:n]
}

// buildIndex indexes every row of the bucket.
func (bk *joinBucket) buildIndex(seed maphash.Seed) {
	bk.index = make(map[uint64]int32, len(bk.rows))
	bk.collided = false
	for i := range bk.rows {
		bk.indexRow(hashRow(seed, bk.rows[i].cells), i)
	}
}

// indexRow files row i under hash h; a hash already taken by another row
// stays with it, and marks the bucket collided.
func (bk *joinBucket) indexRow(h uint64, i int) {
	if _, taken := bk.index[h]; taken {
		bk.collided = true
		return
	}
	bk.index[h] = int32(i)
}

// retract removes one occurrence of row; false if it is not stored.
func (s *joinSide) retract(k *rowKeys, intKeyed bool, r int, row []cell) bool {
	bk := s.get(k, intKeyed, r)
	if bk == nil {
		return false
	}
	var h uint64
	if bk.index != nil {
		h = hashRow(s.seed, row)
	}
	i := bk.find(s.seed, row, h)
	if i < 0 {
		return false
	}
	if s.shared(bk) {
		bk = s.own(k, intKeyed, r, bk, 0) // same positions, same index
	}
	if bk.rows[i].count--; bk.rows[i].count > 0 {
		return true
	}
	last := len(bk.rows) - 1
	bk.rows[i] = bk.rows[last]
	bk.rows[last] = joinRow{}
	bk.rows = bk.rows[:last]
	if bk.index != nil {
		if bk.collided {
			// Which row holds a shared hash is not tracked: reindex.
			bk.buildIndex(s.seed)
		} else {
			delete(bk.index, h)
			if i != last {
				bk.index[hashRow(s.seed, bk.rows[i].cells)] = int32(i)
			}
		}
	}
	if len(bk.rows) == 0 {
		bk.index = nil
		if s.keepEmpty {
			return true
		}
		if intKeyed {
			delete(s.byInt, k.ints[r])
		} else {
			delete(s.byBytes, string(k.buf[k.offs[r]:k.offs[r+1]]))
		}
	}
	return true
}

// find returns the position of row in the bucket, or -1; h is the row's
// hash when the bucket has an index.
func (bk *joinBucket) find(seed maphash.Seed, row []cell, h uint64) int {
	if bk.index != nil {
		if i, ok := bk.index[h]; ok && sameRow(bk.rows[i].cells, row) {
			return int(i)
		}
		if !bk.collided {
			return -1
		}
	}
	for i := range bk.rows {
		if sameRow(bk.rows[i].cells, row) {
			return i
		}
	}
	return -1
}

// sameRow compares rows value by value; doubles by their bits, so a NaN
// row can be found again to be retracted.
func sameRow(a, b []cell) bool {
	for i := range a {
		x, y := a[i], b[i]
		if x.null != y.null || x.i != y.i || x.s != y.s || math.Float64bits(x.f) != math.Float64bits(y.f) {
			return false
		}
	}
	return true
}

// hashRow hashes a row so that rows equal by sameRow hash alike (a
// collision only costs a scan: find confirms with sameRow).
func hashRow(seed maphash.Seed, row []cell) uint64 {
	h := uint64(len(row))
	for _, v := range row {
		x := uint64(0x9e3779b97f4a7c15) // NULL
		if !v.null {
			x = mix64(uint64(v.i)) ^ mix64(math.Float64bits(v.f)^0x5851f42d4c957f2d)
			if v.s != "" {
				x ^= maphash.String(seed, v.s)
			}
		}
		h = mix64(h ^ x)
	}
	return h
}

// mix64 is splitmix64's finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ (x >> 31)
}
