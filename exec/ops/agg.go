package ops

import (
	"fmt"
	"math"
	"math/big"

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

// GroupAgg is a keyed aggregation over a changelog. Rows of a batch are
// folded into their key's accumulators (+I/+U add, -U/-D retract); then
// every key the batch touched emits its change once: +I for a new key,
// -U/+U when its result changed, -D when its last row was retracted. Emitting
// once per batch rather than per row is Flink's mini-batch behaviour: the
// final result is the same, with fewer intermediate updates.
//
// State lives in the operator's key-group range; this is the in-memory
// (hashmap) store.
type GroupAgg struct {
	exec.BaseOperator
	Keys []int
	Aggs []AggSpec
	Out  types.Schema
	// InputUpdating: the input may retract rows (MIN/MAX then keep a
	// multiset of values instead of just the extreme).
	InputUpdating bool
	// MiniBatch, when > 0, emits changes every MiniBatch rows instead of
	// once per batch ('table.exec.mini-batch.size'; 1 shows every change).
	MiniBatch int

	groups map[string]*group
	schema *arrow.Schema
	keyBuf []byte
}

type group struct {
	key  []cell
	rows int64 // net number of rows: 0 means the key is gone
	accs []accum
}

type accum struct {
	n   int64   // values counted (non-NULL, passing FILTER)
	i   int64   // integer / decimal sum
	f   float64 // double sum
	ext cell    // MIN/MAX of an insert-only input
	// set holds COUNT DISTINCT values, and MIN/MAX values once a retraction
	// arrived (a multiset: value -> multiplicity).
	set map[cell]int64
}

// touched is a key changed by the current batch, with its result before.
type touched struct {
	g       *group
	k       string
	existed bool
	before  []cell
}

// Open prepares the state.
func (a *GroupAgg) Open(*exec.OpContext) error {
	a.groups = map[string]*group{}
	a.schema = a.Out.Arrow()
	return nil
}

// Process folds a batch and emits the changes it causes.
func (a *GroupAgg) Process(_ int, b batch.Batch, out exec.Collector) error {
	if a.MiniBatch > 0 && b.Len() > a.MiniBatch {
		for from := 0; from < b.Len(); from += a.MiniBatch {
			if err := a.process(batch.Slice(b, from, min(from+a.MiniBatch, b.Len())), out); err != nil {
				return err
			}
		}
		return nil
	}
	return a.process(b, out)
}

func (a *GroupAgg) process(b batch.Batch, out exec.Collector) error {
	n := b.Len()
	keyCols := make([]arrow.Array, len(a.Keys))
	for i, k := range a.Keys {
		keyCols[i] = b.Column(k)
	}
	var touchedList []touched
	index := map[string]int{}
	for r := 0; r < n; r++ {
		a.keyBuf = appendKey(a.keyBuf[:0], keyCols, r)
		ti, ok := index[string(a.keyBuf)]
		if !ok {
			k := string(a.keyBuf)
			g := a.groups[k]
			t := touched{k: k}
			if g != nil {
				t.existed = g.rows > 0
				t.before = a.result(g)
			} else {
				g = &group{key: make([]cell, len(keyCols)), accs: make([]accum, len(a.Aggs))}
				for c, col := range keyCols {
					g.key[c] = readCell(col, r)
				}
				a.groups[k] = g
			}
			t.g = g
			touchedList = append(touchedList, t)
			ti = len(touchedList) - 1
			index[k] = ti
		}
		sign := int64(1)
		if b.Kind(r).IsRetract() {
			sign = -1
		}
		g := touchedList[ti].g
		g.rows += sign
		for i := range a.Aggs {
			if err := a.fold(&a.Aggs[i], &g.accs[i], b, r, sign); err != nil {
				return err
			}
		}
	}
	var rows [][]cell
	var kinds []batch.RowKind
	for _, t := range touchedList {
		if t.g.rows < 0 {
			return fmt.Errorf("retraction of a row that was never added (key %v)", t.g.key)
		}
		exists := t.g.rows > 0
		switch {
		case !t.existed && exists:
			rows = append(rows, a.result(t.g))
			kinds = append(kinds, batch.Insert)
		case t.existed && !exists:
			rows = append(rows, t.before)
			kinds = append(kinds, batch.Delete)
			delete(a.groups, t.k)
		case t.existed && exists:
			after := a.result(t.g)
			if !sameCells(t.before, after) {
				rows = append(rows, t.before, after)
				kinds = append(kinds, batch.UpdateBefore, batch.UpdateAfter)
			}
		default:
			delete(a.groups, t.k)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	for _, r := range rows {
		if err := a.checkRange(r); err != nil {
			return err
		}
	}
	cols := make([]arrow.Array, a.Out.Len())
	cells := make([]cell, len(rows))
	for c := range cols {
		for i, r := range rows {
			cells[i] = r[c]
		}
		cols[c] = buildColumn(a.Out.Fields[c].Type, cells)
	}
	return out.Collect(batch.Batch{Rec: array.NewRecord(a.schema, cols, int64(len(rows))), Kinds: kinds})
}

// ProcessWatermark forwards event time: a non-windowed aggregate has no
// timers.
func (a *GroupAgg) ProcessWatermark(wm int64, out exec.Collector) error { return out.EmitWatermark(wm) }

func sameCells(a, b []cell) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fold adds (sign 1) or retracts (sign -1) row r into one accumulator.
func (a *GroupAgg) fold(s *AggSpec, acc *accum, b batch.Batch, r int, sign int64) error {
	if s.Filter >= 0 {
		f := b.Column(s.Filter).(*array.Boolean)
		if f.IsNull(r) || !f.Value(r) {
			return nil
		}
	}
	if s.Kind == AggCountStar {
		acc.n += sign
		return nil
	}
	col := b.Column(s.Arg)
	if col.IsNull(r) {
		return nil
	}
	v := readCell(col, r)
	switch s.Kind {
	case AggCount:
		acc.n += sign
	case AggCountDistinct:
		addToSet(acc, v, sign)
	case AggSum, AggAvg:
		acc.n += sign
		if s.ArgType.Kind == types.Double {
			acc.f += float64(sign) * v.f
			return nil
		}
		sum, ok := addChecked(acc.i, sign*v.i)
		if !ok {
			return fmt.Errorf("%s: BIGINT overflow", s.Text)
		}
		acc.i = sum
	case AggMin, AggMax:
		acc.n += sign
		if a.InputUpdating {
			// A retracting input needs every value to find the next
			// extreme when the current one is retracted.
			addToSet(acc, v, sign)
			return nil
		}
		if sign < 0 {
			return fmt.Errorf("%s: retraction on an input planned as insert-only", s.Text)
		}
		if acc.n == 1 || (s.Kind == AggMin && compareCells(v, acc.ext, s.ArgType.Kind) < 0) ||
			(s.Kind == AggMax && compareCells(v, acc.ext, s.ArgType.Kind) > 0) {
			acc.ext = v
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

func addChecked(a, b int64) (int64, bool) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, false
	}
	return s, true
}

// result renders a group's output row: keys, then aggregates.
func (a *GroupAgg) result(g *group) []cell {
	row := make([]cell, 0, len(g.key)+len(a.Aggs))
	row = append(row, g.key...)
	for i := range a.Aggs {
		row = append(row, aggResult(&a.Aggs[i], &g.accs[i]))
	}
	return row
}

func aggResult(s *AggSpec, acc *accum) cell {
	switch s.Kind {
	case AggCountStar, AggCount:
		return cell{i: acc.n}
	case AggCountDistinct:
		return cell{i: int64(len(acc.set))}
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
