package ops

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// DefaultLookupCacheTTL is how long a loaded lookup table is used before it
// is read again: Flink's 'lookup.join.cache.ttl' default.
const DefaultLookupCacheTTL = time.Hour

// LookupJoin is Flink's processing-time lookup join (LookupJoinRunner with
// the filesystem connector's full cache): each row of its only input (the
// probe side) is joined with the rows of a connector table whose keys equal
// the row's key expressions, as the table is at processing time.
//
// The table is read whole through its connector's Source when the operator
// opens, into an in-memory hash index by key (every subtask keeps its own
// copy, so the probe side needs no exchange), and read again once TTL has
// passed since the last load. The probe side keeps no state: the operator
// is not Stateful, and checkpoints cover only the source positions.
//
// Kind is JoinInner (matches only) or JoinLeft (a row without a match is
// emitted once, padded with NULLs). Residual, over the probe row followed by
// the table row, must also hold for a pair to match. A NULL key matches
// nothing. The input is insert-only (the planner refuses updates) and so is
// the output.
type LookupJoin struct {
	exec.BaseOperator
	Kind JoinKind
	// LeftKeys are evaluated over each probe batch; RightKeys over the
	// table's rows. Pairwise of one type (the planner casts).
	LeftKeys  []expr.Expr
	RightKeys []expr.Expr
	Residual  expr.Expr
	// Left is the probe schema, Right the table's; Out is Left then Right.
	Left, Right, Out types.Schema
	// Table names the lookup table in errors.
	Table string
	// NewSource opens a fresh scan of the table (a bounded source). A
	// connector that can look keys up one by one would plug in here
	// instead of the full cache.
	NewSource func() (connectors.Source, error)
	// TTL: reload the table when this has passed since the last load
	// (DefaultLookupCacheTTL when 0).
	TTL time.Duration

	ctx      context.Context
	now      func() time.Time
	env      *expr.EvalEnv
	outArrow *arrow.Schema
	leftProg *expr.Program
	pred     *expr.Predicate

	loadedAt time.Time
	// rows is the table plus one all-NULL row at index nullRow, so padding
	// is a Take like any match.
	rows    arrow.Record
	nullRow int32
	// The index: head maps a key to its first row, next chains the rows of
	// one key in table order (-1 ends). intHead serves one integer key,
	// cellHead one key of another type, strHead several keys (encoded).
	intHead  map[int64]int32
	cellHead map[cell]int32
	strHead  map[string]int32
	next     []int32
	// Loads counts table loads (tests, logs).
	Loads int

	li, ri []int32
	sel    []int32
	keyBuf []byte
}

// Open compiles the key and residual expressions and loads the table.
func (j *LookupJoin) Open(ctx *exec.OpContext) error {
	if j.Kind != JoinInner && j.Kind != JoinLeft {
		return fmt.Errorf("lookup join: %s joins are not supported", j.Kind)
	}
	if len(j.LeftKeys) == 0 || len(j.LeftKeys) != len(j.RightKeys) {
		return fmt.Errorf("lookup join: %d left and %d right keys", len(j.LeftKeys), len(j.RightKeys))
	}
	j.ctx = ctx.Ctx
	if j.ctx == nil {
		j.ctx = context.Background()
	}
	j.now = ctx.Now
	if j.now == nil {
		j.now = time.Now
	}
	if j.TTL <= 0 {
		j.TTL = DefaultLookupCacheTTL
	}
	j.env = &expr.EvalEnv{Now: ctx.Now, Location: ctx.Location}
	p, err := expr.Compile(j.LeftKeys, j.env)
	if err != nil {
		return fmt.Errorf("compile lookup keys: %w", err)
	}
	j.leftProg = p
	if j.Residual != nil {
		if j.pred, err = expr.CompilePredicate(j.Residual, j.env); err != nil {
			return fmt.Errorf("compile lookup join condition: %w", err)
		}
	}
	j.outArrow = j.Out.Arrow()
	return j.load()
}

// load reads the whole table and rebuilds the index.
func (j *LookupJoin) load() error {
	src, err := j.NewSource()
	if err != nil {
		return fmt.Errorf("lookup table %s: %w", j.Table, err)
	}
	defer src.Close()
	if !src.Bounded() {
		return fmt.Errorf("lookup table %s: not supported yet: an unbounded table as a lookup table", j.Table)
	}
	if err := src.Open(j.ctx, 0, 1); err != nil {
		return fmt.Errorf("lookup table %s: %w", j.Table, err)
	}
	var bs []batch.Batch
	for {
		b, err := src.Next(j.ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("lookup table %s: %w", j.Table, err)
		}
		if b.Rec == nil || b.Len() == 0 {
			if err := j.ctx.Err(); err != nil {
				return err
			}
			continue
		}
		if !b.InsertOnly() {
			return fmt.Errorf("lookup table %s: not supported yet: a lookup table with updates", j.Table)
		}
		bs = append(bs, batch.Batch{Rec: b.Rec})
	}
	schema := j.Right.Arrow()
	if len(bs) > 0 {
		schema = bs[0].Rec.Schema()
	}
	// The padding row goes last, in the schema the source produced.
	nulls := make([]arrow.Array, len(j.Right.Fields))
	for c, f := range j.Right.Fields {
		nulls[c] = batch.NullArray(f.Type, 1)
	}
	bs = append(bs, batch.Batch{Rec: array.NewRecord(schema, nulls, 1)})
	all, err := batch.Concat(schema, bs)
	if err != nil {
		return fmt.Errorf("lookup table %s: %w", j.Table, err)
	}
	rp, err := expr.Compile(j.RightKeys, j.env)
	if err != nil {
		return fmt.Errorf("compile lookup keys: %w", err)
	}
	keys, err := rp.Eval(all.Rec)
	if err != nil {
		return fmt.Errorf("lookup table %s: keys: %w", j.Table, err)
	}
	n := all.Len()
	if n-1 > math.MaxInt32 {
		return fmt.Errorf("lookup table %s: %d rows are too many to keep in memory", j.Table, n-1)
	}
	j.rows, j.nullRow = all.Rec, int32(n-1)
	j.next = make([]int32, n)
	j.intHead, j.cellHead, j.strHead = nil, nil, nil
	// Rows are linked back to front, so a key's chain runs in table order.
	switch {
	case len(keys) == 1 && intColumn(keys[0]):
		j.intHead = make(map[int64]int32, n)
		for r := n - 2; r >= 0; r-- {
			k, ok := intAt(keys[0], r)
			if !ok {
				continue
			}
			j.next[r] = chainHead(j.intHead, k)
			j.intHead[k] = int32(r)
		}
	case len(keys) == 1:
		j.cellHead = make(map[cell]int32, n)
		for r := n - 2; r >= 0; r-- {
			c := readCell(keys[0], r)
			if c.null {
				continue
			}
			j.next[r] = chainHead(j.cellHead, c)
			j.cellHead[c] = int32(r)
		}
	default:
		j.strHead = make(map[string]int32, n)
		for r := n - 2; r >= 0; r-- {
			k, ok := j.encodeKey(keys, r)
			if !ok {
				continue
			}
			s := string(k)
			j.next[r] = chainHead(j.strHead, s)
			j.strHead[s] = int32(r)
		}
	}
	j.loadedAt = j.now()
	j.Loads++
	return nil
}

func chainHead[K comparable](m map[K]int32, k K) int32 {
	if h, ok := m[k]; ok {
		return h
	}
	return -1
}

// intColumn: the column's values are integers in a cell (every physical type
// but DOUBLE, STRING and BOOLEAN).
func intColumn(a arrow.Array) bool {
	switch a.(type) {
	case *array.Int64, *array.Int32:
		return true
	}
	return false
}

func intAt(a arrow.Array, r int) (int64, bool) {
	if a.IsNull(r) {
		return 0, false
	}
	switch c := a.(type) {
	case *array.Int64:
		return c.Value(r), true
	case *array.Int32:
		return int64(c.Value(r)), true
	}
	return 0, false
}

// encodeKey encodes row r of several key columns; false if one is NULL.
func (j *LookupJoin) encodeKey(keys []arrow.Array, r int) ([]byte, bool) {
	b := j.keyBuf[:0]
	for _, k := range keys {
		c := readCell(k, r)
		if c.null {
			return nil, false
		}
		switch k.(type) {
		case *array.Float64:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.f))
		case *array.String:
			b = binary.AppendUvarint(b, uint64(len(c.s)))
			b = append(b, c.s...)
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(c.i))
		}
	}
	j.keyBuf = b
	return b, true
}

// find returns the first table row whose key equals probe row r's, or -1.
func (j *LookupJoin) find(keys []arrow.Array, r int) int32 {
	switch {
	case j.intHead != nil:
		if k, ok := intAt(keys[0], r); ok {
			if h, ok := j.intHead[k]; ok {
				return h
			}
		}
	case j.cellHead != nil:
		if c := readCell(keys[0], r); !c.null {
			if h, ok := j.cellHead[c]; ok {
				return h
			}
		}
	case j.strHead != nil:
		if k, ok := j.encodeKey(keys, r); ok {
			if h, ok := j.strHead[string(k)]; ok {
				return h
			}
		}
	}
	return -1
}

// Process joins one probe batch.
func (j *LookupJoin) Process(_ int, b batch.Batch, out exec.Collector) error {
	n := b.Len()
	if n == 0 {
		return nil
	}
	if !b.InsertOnly() {
		return fmt.Errorf("lookup join: not supported yet: an updating probe input")
	}
	if j.now().Sub(j.loadedAt) >= j.TTL {
		if err := j.load(); err != nil {
			return err
		}
	}
	keys, err := j.leftProg.Eval(b.Rec)
	if err != nil {
		return err
	}
	// Pairs of probe row and table row; padding uses nullRow.
	li, ri := j.li[:0], j.ri[:0]
	pad := j.Kind == JoinLeft && j.pred == nil
	for r := 0; r < n; r++ {
		h := j.find(keys, r)
		if h < 0 {
			if pad {
				li, ri = append(li, int32(r)), append(ri, j.nullRow)
			}
			continue
		}
		for x := h; x >= 0; x = j.next[x] {
			li, ri = append(li, int32(r)), append(ri, x)
		}
	}
	if j.pred != nil {
		// Keep the pairs the residual accepts; a LEFT join then pads the
		// probe rows left without any.
		cand := j.build(b, li, ri)
		sel, err := j.pred.Select(cand, j.sel)
		if err != nil {
			return err
		}
		j.sel = sel
		li, ri = j.keep(n, li, ri, sel)
	}
	j.li, j.ri = li, ri
	if len(li) == 0 {
		return nil
	}
	return out.Collect(batch.Batch{Rec: j.build(b, li, ri)})
}

// keep narrows the pairs to the selected ones (in order), adding a padded
// pair for every probe row of a LEFT join left without a match.
func (j *LookupJoin) keep(n int, li, ri, sel []int32) ([]int32, []int32) {
	if j.Kind != JoinLeft {
		for k, s := range sel {
			li[k], ri[k] = li[s], ri[s]
		}
		return li[:len(sel)], ri[:len(sel)]
	}
	keepL := make([]int32, 0, len(sel)+n/4)
	keepR := make([]int32, 0, len(sel)+n/4)
	s := 0
	p := 0
	for r := 0; r < n; r++ {
		found := false
		for ; p < len(li) && li[p] == int32(r); p++ {
			if s < len(sel) && sel[s] == int32(p) {
				keepL, keepR = append(keepL, li[p]), append(keepR, ri[p])
				found = true
				s++
			}
		}
		if !found {
			keepL, keepR = append(keepL, int32(r)), append(keepR, j.nullRow)
		}
	}
	return keepL, keepR
}

// build gathers the output rows: probe row li[k] followed by table row ri[k].
func (j *LookupJoin) build(b batch.Batch, li, ri []int32) arrow.Record {
	cols := make([]arrow.Array, 0, len(j.Out.Fields))
	identity := len(li) == b.Len()
	for k := 0; identity && k < len(li); k++ {
		identity = li[k] == int32(k)
	}
	for c := range j.Left.Fields {
		if identity {
			cols = append(cols, b.Rec.Column(c))
		} else {
			cols = append(cols, batch.Take(b.Rec.Column(c), li))
		}
	}
	for c := range j.Right.Fields {
		cols = append(cols, batch.Take(j.rows.Column(c), ri))
	}
	return batch.NewRecordArrow(j.outArrow, cols, len(li))
}
