package ops

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// WindowJoin is Flink's window join (WindowJoinOperator): two insert-only
// inputs of equal event-time windows (input 0 the left side, input 1 the
// right side), hash-partitioned by their join keys. Each side's rows are
// buffered per window (its window_end) and join key. When the watermark
// passes a window's last instant (window_end - 1µs, the firing rule of
// window aggregation), the window's rows are joined — equal keys, Residual
// TRUE — and emitted as final +I rows, outer sides padded with NULLs where
// they found no match, and the window's state is dropped. Rows of a window
// that already fired are late: dropped and counted. The output is
// insert-only, unlike a regular join's outer padding that is retracted
// when a match arrives.
type WindowJoin struct {
	exec.BaseOperator
	Kind JoinKind
	// LeftKeys and RightKeys are the equi-join columns, pairwise of one
	// physical type; the input is hash-partitioned by them (the planner
	// uses window_end when the condition has no other equality).
	LeftKeys, RightKeys []int
	// LeftEnd and RightEnd are the window_end columns of each input.
	LeftEnd, RightEnd int
	// Left and Right are the input schemas; Out is the left columns then
	// the right ones, each of its input column's physical type.
	Left, Right, Out types.Schema
	// Residual is an extra condition over the joined row, or nil.
	Residual expr.Expr
	// RocksDB keeps the buffered rows in pebble ('state.backend' =
	// 'rocksdb') instead of memory.
	RocksDB bool

	maxPar    int
	watermark int64
	late      lateRows
	schema    *arrow.Schema
	outer     [2]bool

	resid       *expr.Predicate
	residRefs   []int
	residSchema *arrow.Schema

	// hashmap: the open windows by end.
	windows map[int64]*wjWindow
	slab    []cell
	// rocksdb: the store, and the ends of the windows it holds.
	store    *wjStore
	openEnds map[int64]bool
	// Sizes of the last snapshot, to size the next one's buffer.
	snapBytes, snapCount int

	// Scratch, reused across batches.
	hashes  []uint64
	kgs     []int
	keyBuf  []byte
	readers []colReader
	emit    wjEmitter
}

// wjWindow is one open window's rows (hashmap backend).
type wjWindow struct {
	byKey map[string]*wjBucket
	// order is the buckets in arrival order: the firing order, so output
	// (and a restored operator's output) does not depend on map order.
	order []*wjBucket
}

// wjBucket holds one join key's rows of both sides within a window. A key
// with a NULL can never match: its bucket (never) only keeps outer rows,
// to be padded when the window fires.
type wjBucket struct {
	kg    int
	key   string // encoded join key (appendKey)
	never bool
	rows  [2][][]cell
}

// wjSlabCells is the size of the cell chunks buffered rows are cut from.
const wjSlabCells = 4096

// Open validates the plan and prepares the state.
func (w *WindowJoin) Open(ctx *exec.OpContext) error {
	if w.Kind > JoinFull {
		return fmt.Errorf("window join: unknown kind %v", w.Kind)
	}
	if len(w.LeftKeys) != len(w.RightKeys) {
		return fmt.Errorf("window join: %d left keys but %d right keys", len(w.LeftKeys), len(w.RightKeys))
	}
	for i := range w.LeftKeys {
		lk, rk := w.LeftKeys[i], w.RightKeys[i]
		if lk < 0 || lk >= w.Left.Len() || rk < 0 || rk >= w.Right.Len() {
			return fmt.Errorf("window join: key pair %d (%d, %d) out of range", i, lk, rk)
		}
		lt, rt := w.Left.Fields[lk].Type, w.Right.Fields[rk].Type
		// Keys are compared by their physical encoding.
		if lt.Kind != rt.Kind || (lt.Kind == types.Decimal && lt.Scale != rt.Scale) {
			return fmt.Errorf("window join: key pair %d has types %s and %s", i, lt, rt)
		}
	}
	for side, s := range []types.Schema{w.Left, w.Right} {
		end := w.end(side)
		if end < 0 || end >= s.Len() || s.Fields[end].Type.Arrow().ID() != arrow.INT64 {
			return fmt.Errorf("window join: window_end column %d of input %d is not a timestamp", end, side)
		}
	}
	if w.Out.Len() != w.Left.Len()+w.Right.Len() {
		return fmt.Errorf("window join: output has %d columns, inputs %d + %d", w.Out.Len(), w.Left.Len(), w.Right.Len())
	}
	for c, f := range w.Out.Fields {
		if !arrow.TypeEqual(f.Type.Arrow(), w.inputField(c).Type.Arrow()) {
			return fmt.Errorf("window join: output column %d is %s, its input column %s", c, f.Type, w.inputField(c).Type)
		}
	}
	w.outer = [2]bool{w.Kind == JoinLeft || w.Kind == JoinFull, w.Kind == JoinRight || w.Kind == JoinFull}
	w.schema = w.Out.Arrow()
	w.maxPar = maxParOf(ctx)
	w.watermark = exec.MinWatermark
	w.windows = map[int64]*wjWindow{}
	w.emit = wjEmitter{op: w}
	if ctx != nil {
		w.late = lateRows{logger: ctx.Logger, name: ctx.Name}
	}
	if w.Residual != nil {
		var err error
		if w.resid, w.residRefs, w.residSchema, err = compileJoinResidual(w.Residual, w.Left, w.Right, w.Out, ctx); err != nil {
			return fmt.Errorf("window join: %w", err)
		}
	}
	if w.RocksDB {
		if ctx == nil {
			return errors.New("window join: rocksdb state needs an operator context")
		}
		st, err := openWJStore(ctx)
		if err != nil {
			return err
		}
		w.store = st
		w.openEnds = map[int64]bool{}
	}
	return nil
}

// Close releases the state.
func (w *WindowJoin) Close() error {
	w.windows = nil
	if w.store != nil {
		err := w.store.close()
		w.store = nil
		return err
	}
	return nil
}

func (w *WindowJoin) end(side int) int {
	if side == 0 {
		return w.LeftEnd
	}
	return w.RightEnd
}

func (w *WindowJoin) keys(side int) []int {
	if side == 0 {
		return w.LeftKeys
	}
	return w.RightKeys
}

func (w *WindowJoin) side(side int) types.Schema {
	if side == 0 {
		return w.Left
	}
	return w.Right
}

// inputField is the input field behind output column c.
func (w *WindowJoin) inputField(c int) types.Field { return joinInputField(w.Left, w.Right, c) }

// LateRows is the number of rows dropped because their window had fired.
func (w *WindowJoin) LateRows() int64 { return w.late.n }

// windowFired reports whether the window ending at end has fired: its last
// instant is covered by the watermark (as GroupAgg.windowFired).
func (w *WindowJoin) windowFired(end int64) bool {
	return w.watermark != exec.MinWatermark && end-1 <= w.watermark
}

// Process buffers a batch's rows in their windows; nothing is emitted
// before a window fires.
func (w *WindowJoin) Process(input int, b batch.Batch, _ exec.Collector) error {
	if input != 0 && input != 1 {
		return fmt.Errorf("window join: input %d of a two-input operator", input)
	}
	if err := w.checkBatch(input, b); err != nil {
		return err
	}
	n := b.Len()
	if n == 0 {
		return nil
	}
	if !b.InsertOnly() {
		return errors.New("not supported yet: a window join over an updating input")
	}
	ends := b.Column(w.end(input)).(*array.Int64)
	keep := make([]int32, 0, n)
	for r := 0; r < n; r++ {
		// A NULL window_end (no window) belongs to no window: it can
		// neither match nor be padded, as in Flink.
		if ends.IsNull(r) || w.windowFired(ends.Value(r)) {
			continue
		}
		keep = append(keep, int32(r))
	}
	if late := n - len(keep); late > 0 {
		w.late.add(late, w.watermark)
	}
	if len(keep) == 0 {
		return nil
	}
	keyCols := make([]arrow.Array, len(w.keys(input)))
	for i, k := range w.keys(input) {
		keyCols[i] = b.Column(k)
	}
	w.keyGroups(keyCols, n)
	if w.store != nil {
		return w.storeRows(input, b, keyCols, keep)
	}
	w.readers = prepareColReaders(w.readers, b, true) // buffered values must not pin the batch
	ncol := len(w.readers)
	for _, r32 := range keep {
		r := int(r32)
		never := hasNull(keyCols, r)
		if never && !w.outer[input] {
			continue // never matches and is never padded
		}
		end := ends.Value(r)
		win := w.windows[end]
		if win == nil {
			win = &wjWindow{byKey: map[string]*wjBucket{}}
			w.windows[end] = win
		}
		w.keyBuf = appendKey(w.keyBuf[:0], keyCols, r)
		if never {
			w.keyBuf = append(w.keyBuf, 1)
		} else {
			w.keyBuf = append(w.keyBuf, 0)
		}
		bk := win.byKey[string(w.keyBuf)]
		if bk == nil {
			k := string(w.keyBuf)
			bk = &wjBucket{kg: w.kgs[r], key: k[:len(k)-1], never: never}
			win.byKey[k] = bk
			win.order = append(win.order, bk)
		}
		if len(w.slab) < ncol {
			w.slab = make([]cell, max(wjSlabCells, ncol))
		}
		row := w.slab[:ncol:ncol]
		w.slab = w.slab[ncol:]
		for c := range w.readers {
			row[c] = w.readers[c].read(r)
		}
		bk.rows[input] = append(bk.rows[input], row)
	}
	return nil
}

func hasNull(cols []arrow.Array, r int) bool {
	for _, c := range cols {
		if c.IsNull(r) {
			return true
		}
	}
	return false
}

func (w *WindowJoin) checkBatch(input int, b batch.Batch) error {
	s := w.side(input)
	if b.Rec == nil {
		return nil
	}
	if int(b.Rec.NumCols()) != s.Len() {
		return fmt.Errorf("window join: input %d batch has %d columns, schema %d", input, b.Rec.NumCols(), s.Len())
	}
	for c, f := range s.Fields {
		if !arrow.TypeEqual(b.Column(c).DataType(), f.Type.Arrow()) {
			return fmt.Errorf("window join: input %d column %d is %s, schema says %s", input, c, b.Column(c).DataType(), f.Type)
		}
	}
	return nil
}

// keyGroups computes each row's key group into w.kgs, exactly as the hash
// exchange that routed the row here did.
func (w *WindowJoin) keyGroups(keyCols []arrow.Array, n int) {
	w.hashes = resize(w.hashes, n)
	w.kgs = resize(w.kgs, n)
	batch.HashColumns(keyCols, w.hashes)
	for i, h := range w.hashes {
		w.kgs[i] = exec.KeyGroupOf(h, w.maxPar)
	}
}

// ProcessWatermark fires the windows the watermark completes, then
// forwards it. A restored watermark may be ahead of the first ones after a
// restart: it never goes back.
func (w *WindowJoin) ProcessWatermark(wm int64, out exec.Collector) error {
	if wm > w.watermark {
		w.watermark = wm
		if err := w.fire(out, false); err != nil {
			return err
		}
	}
	return out.EmitWatermark(wm)
}

// Finish fires every window left (a bounded input's final watermark
// normally has already).
func (w *WindowJoin) Finish(out exec.Collector) error { return w.fire(out, true) }

// fire joins and emits every due window (all of them when all is set),
// earliest first, and frees their state.
func (w *WindowJoin) fire(out exec.Collector, all bool) error {
	var due []int64
	if w.store != nil {
		for end := range w.openEnds {
			if all || w.windowFired(end) {
				due = append(due, end)
			}
		}
	} else {
		for end := range w.windows {
			if all || w.windowFired(end) {
				due = append(due, end)
			}
		}
	}
	if len(due) == 0 {
		return nil
	}
	slices.Sort(due)
	e := &w.emit
	e.out = out
	defer func() { e.out = nil }()
	for _, end := range due {
		if w.store != nil {
			if err := w.fireStored(end); err != nil {
				return err
			}
			delete(w.openEnds, end)
			continue
		}
		win := w.windows[end]
		delete(w.windows, end)
		for _, bk := range win.order {
			if err := e.group(bk.rows, bk.never); err != nil {
				return err
			}
		}
	}
	return e.finish()
}

// fireStored joins the window ending at end from pebble: its entries come
// in key order, and a join key's left and right entries are adjacent (the
// side is the last byte of the state key), so the window is joined one key
// at a time without holding it all in memory.
func (w *WindowJoin) fireStored(end int64) error {
	vs, err := w.store.value()
	if err != nil {
		return err
	}
	ns := windowNS(end)
	var cur []byte
	var rows [2][][]cell
	never, have := false, false
	e := &w.emit
	var joinErr error
	flush := func() error {
		if !have {
			return nil
		}
		err := e.group(rows, never)
		rows = [2][][]cell{}
		have = false
		return err
	}
	ncols := [2]int{w.Left.Len(), w.Right.Len()}
	if err := vs.Entries(ns, func(_ int, key, value []byte) error {
		if len(key) == 0 {
			return fmt.Errorf("window join state: empty key: %w", errCorrupt)
		}
		flag := key[len(key)-1]
		enc := key[:len(key)-1]
		if have && !bytes.Equal(enc, cur) {
			if joinErr = flush(); joinErr != nil {
				return joinErr
			}
		}
		cur = append(cur[:0], enc...)
		have, never = true, flag&2 != 0
		side := int(flag & 1)
		decoded, err := decodeRows(value, ncols[side])
		if err != nil {
			return err
		}
		rows[side] = append(rows[side], decoded...)
		return nil
	}); err != nil {
		if joinErr != nil {
			return joinErr
		}
		return fmt.Errorf("read window join state: %w", err)
	}
	if err := flush(); err != nil {
		return err
	}
	if err := vs.ClearNamespace(ns); err != nil {
		return fmt.Errorf("free window join state: %w", err)
	}
	return nil
}

// appendRowBytes encodes a row's cells (the format of pebble values and
// snapshot records).
func appendRowBytes(dst []byte, row []cell) []byte {
	for _, c := range row {
		dst = appendCellBytes(dst, c)
	}
	return dst
}

// decodeRows decodes rows of ncol cells each, back to back.
func decodeRows(b []byte, ncol int) ([][]cell, error) {
	d := &decoder{b: b}
	var rows [][]cell
	var slab []cell
	for len(d.b) > 0 && d.err == nil {
		if len(slab) < ncol {
			slab = make([]cell, max(256, ncol))
		}
		row := slab[:ncol:ncol]
		slab = slab[ncol:]
		for c := range row {
			row[c] = d.cell()
		}
		rows = append(rows, row)
	}
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("window join state: %w", errCorrupt)
	}
	return rows, nil
}

// ---------------------------------------------------------------------------
// Joining a firing window.

// wjEmitter joins a firing window's keys and accumulates output rows. With
// a residual, candidate pairs of several keys are evaluated together (up
// to joinChunk at a time, so a hot key cannot make one huge record); a
// key's unmatched outer rows are padded once all its pairs are evaluated.
type wjEmitter struct {
	op  *WindowJoin
	out exec.Collector
	// groups are keys whose pairs are (partly) among the candidates; the
	// last one may be incomplete.
	groups []*wjGroup
	cg     []int32 // candidate: group ...
	cl, cr []int32 // ... left row and right row
	sel    []int32
	cells  []cell
	// The output rows so far: a left and a right row each, nil for NULLs.
	ls, rs [][]cell
}

type wjGroup struct {
	rows     [2][][]cell
	matched  [2][]bool
	complete bool
}

// group joins one key's rows of a window.
func (e *wjEmitter) group(rows [2][][]cell, never bool) error {
	w := e.op
	if never || len(rows[0]) == 0 || len(rows[1]) == 0 {
		for side := range rows {
			if w.outer[side] {
				for _, r := range rows[side] {
					if err := e.pad(side, r); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if w.resid == nil {
		for _, l := range rows[0] {
			for _, r := range rows[1] {
				if err := e.pair(l, r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	g := &wjGroup{rows: rows, matched: [2][]bool{make([]bool, len(rows[0])), make([]bool, len(rows[1]))}}
	e.groups = append(e.groups, g)
	gi := int32(len(e.groups) - 1)
	for i := range rows[0] {
		for j := range rows[1] {
			e.cg = append(e.cg, gi)
			e.cl = append(e.cl, int32(i))
			e.cr = append(e.cr, int32(j))
			if len(e.cg) >= joinChunk {
				if err := e.evaluate(); err != nil {
					return err
				}
				gi = 0 // the incomplete group is the only one kept
			}
		}
	}
	g.complete = true
	if len(e.cg) >= joinChunk/4 {
		return e.evaluate()
	}
	return nil
}

// evaluate runs the residual over the candidates, emits the pairs it
// accepts, and pads the unmatched outer rows of the complete groups.
func (e *wjEmitter) evaluate() error {
	w := e.op
	if n := len(e.cg); n > 0 {
		nl := w.Left.Len()
		cols := make([]arrow.Array, len(w.residRefs))
		for i, c := range w.residRefs {
			cells := resize(e.cells, n)
			for p := range cells {
				g := e.groups[e.cg[p]]
				if c < nl {
					cells[p] = g.rows[0][e.cl[p]][c]
				} else {
					cells[p] = g.rows[1][e.cr[p]][c-nl]
				}
			}
			e.cells = cells
			cols[i] = buildColumn(w.inputField(c).Type, cells)
		}
		sel, err := w.resid.Select(batch.NewRecordArrow(w.residSchema, cols, n), e.sel)
		if err != nil {
			return fmt.Errorf("window join: residual %s: %w", w.Residual, err)
		}
		e.sel = sel
		for _, p := range sel {
			g := e.groups[e.cg[p]]
			l, r := e.cl[p], e.cr[p]
			g.matched[0][l], g.matched[1][r] = true, true
			if err := e.pair(g.rows[0][l], g.rows[1][r]); err != nil {
				return err
			}
		}
		e.cg, e.cl, e.cr = e.cg[:0], e.cl[:0], e.cr[:0]
	}
	keep := e.groups[:0]
	for _, g := range e.groups {
		if !g.complete {
			keep = append(keep, g)
			continue
		}
		for side := range g.rows {
			if !w.outer[side] {
				continue
			}
			for i, r := range g.rows[side] {
				if !g.matched[side][i] {
					if err := e.pad(side, r); err != nil {
						return err
					}
				}
			}
		}
	}
	clear(e.groups[len(keep):])
	e.groups = keep
	return nil
}

// pair adds the joined row l + r.
func (e *wjEmitter) pair(l, r []cell) error {
	e.ls, e.rs = append(e.ls, l), append(e.rs, r)
	if len(e.ls) >= joinOutRows {
		return e.flush()
	}
	return nil
}

// pad adds a row of one side with NULLs for the other.
func (e *wjEmitter) pad(side int, r []cell) error {
	if side == 0 {
		return e.pair(r, nil)
	}
	return e.pair(nil, r)
}

// flush emits the accumulated rows, gathering each output column straight
// from the stored rows.
func (e *wjEmitter) flush() error {
	n := len(e.ls)
	if n == 0 {
		return nil
	}
	w := e.op
	nl := w.Left.Len()
	cols := make([]arrow.Array, w.Out.Len())
	for c := range cols {
		rows, col := e.ls, c
		if c >= nl {
			rows, col = e.rs, c-nl
		}
		cols[c] = gatherCells(w.Out.Fields[c].Type, rows, col)
	}
	clear(e.ls)
	clear(e.rs)
	e.ls, e.rs = e.ls[:0], e.rs[:0]
	return e.out.Collect(batch.Batch{Rec: batch.NewRecordArrow(w.schema, cols, n)})
}

// gatherCells builds column c of rows (nil = NULL) as an array of t's
// physical type.
func gatherCells(t types.Type, rows [][]cell, c int) arrow.Array {
	n := len(rows)
	var valid []bool
	for p, row := range rows {
		if row == nil || row[c].null {
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
			v[p] = row != nil && row[c].i != 0
		}
		return batch.BooleanArray(v, valid)
	case types.Int, types.Date:
		v := make([]int32, n)
		for p, row := range rows {
			if row != nil {
				v[p] = int32(row[c].i)
			}
		}
		return batch.Int32Array(v, valid)
	case types.Double:
		v := make([]float64, n)
		for p, row := range rows {
			if row != nil {
				v[p] = row[c].f
			}
		}
		return batch.Float64Array(v, valid)
	case types.String:
		total := 0
		for _, row := range rows {
			if row != nil {
				total += len(row[c].s)
			}
		}
		offsets, buf := make([]int32, n+1), make([]byte, 0, total)
		for p, row := range rows {
			if row != nil {
				buf = append(buf, row[c].s...)
			}
			offsets[p+1] = int32(len(buf))
		}
		return stringArray(offsets, buf, valid)
	case types.Null:
		return batch.NullArray(t, n)
	}
	v := make([]int64, n)
	for p, row := range rows {
		if row != nil {
			v[p] = row[c].i
		}
	}
	return batch.Int64Array(v, valid)
}

// finish evaluates what is pending and emits everything.
func (e *wjEmitter) finish() error {
	if err := e.evaluate(); err != nil {
		return err
	}
	return e.flush()
}
