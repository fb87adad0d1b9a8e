package ops

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// joinBackends are the state backends every join test runs on.
var joinBackends = []string{"hashmap", "rocksdb"}

// openJoin opens j on a backend ('rocksdb': pebble in a test directory,
// closed when the test ends) with the given context (nil: a default one).
func openJoin(t testing.TB, j *Join, backend string, ctx *exec.OpContext) *Join {
	t.Helper()
	if ctx == nil {
		ctx = &exec.OpContext{}
	}
	if backend == "rocksdb" {
		j.RocksDB = true
		ctx.WorkDir = t.TempDir()
	}
	if err := j.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// storedRows is Join.storedRows, failing the test on an error.
func storedRows(t testing.TB, j *Join, side int) int {
	t.Helper()
	n, err := j.storedRows(side)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// joinChangelog materializes an output changelog as a multiset of rendered
// rows, failing on the retraction of a row it does not hold.
type joinChangelog struct {
	rows map[string]int
	log  []string // every emitted row, "+I[...]", for failure messages
	err  error
}

func (c *joinChangelog) Collect(b batch.Batch) error {
	if c.rows == nil {
		c.rows = map[string]int{}
	}
	for i := 0; i < b.Len(); i++ {
		var sb strings.Builder
		for col := 0; col < int(b.Rec.NumCols()); col++ {
			if col > 0 {
				sb.WriteByte('|')
			}
			sb.WriteString(cellText(readCell(b.Column(col), i)))
		}
		r := sb.String()
		c.log = append(c.log, b.Kind(i).String()+"["+r+"]")
		if !b.Kind(i).IsRetract() {
			c.rows[r]++
			continue
		}
		if c.rows[r] == 0 && c.err == nil {
			c.err = fmt.Errorf("changelog retracts %s, which it does not hold", r)
		}
		if c.rows[r]--; c.rows[r] <= 0 {
			delete(c.rows, r)
		}
	}
	return nil
}

// cellText renders a cell of the test schemas (integers and strings).
func cellText(c cell) string {
	if c.null {
		return "NULL"
	}
	return strconv.FormatInt(c.i, 10) + "'" + c.s
}

func (c *joinChangelog) EmitWatermark(int64) error { return nil }

func (c *joinChangelog) materialized() []string {
	var out []string
	for r, n := range c.rows {
		for ; n > 0; n-- {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// jrow is a test row of either side: a join key (k, t) and a value v; a nil
// pointer is NULL.
type jrow struct {
	k *int64
	t *string
	v *int64
}

// Left is (k BIGINT, t STRING, v BIGINT); right is (t STRING, v BIGINT,
// k BIGINT), so the key columns sit at different positions.
var (
	joinLeftSchema = types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt},
		types.Field{Name: "t", Type: types.TypeString}, types.Field{Name: "v", Type: types.TypeBigInt})
	joinRightSchema = types.NewSchema(types.Field{Name: "t", Type: types.TypeString},
		types.Field{Name: "w", Type: types.TypeBigInt}, types.Field{Name: "k", Type: types.TypeBigInt})
)

func i64cell(p *int64) cell {
	if p == nil {
		return cell{null: true}
	}
	return cell{i: *p}
}

func strcell(p *string) cell {
	if p == nil {
		return cell{null: true}
	}
	return cell{s: *p}
}

// cells renders a row in its side's column order (nil row = NULLs).
func (r *jrow) cells(side int) []cell {
	if r == nil {
		return []cell{{null: true}, {null: true}, {null: true}}
	}
	if side == 0 {
		return []cell{i64cell(r.k), strcell(r.t), i64cell(r.v)}
	}
	return []cell{strcell(r.t), i64cell(r.v), i64cell(r.k)}
}

// text renders a row's side of a joined row (nil row = NULLs).
func (r *jrow) text(side int) string {
	var parts []string
	for _, c := range r.cells(side) {
		parts = append(parts, cellText(c))
	}
	return strings.Join(parts, "|")
}

func sideBatch(side int, rows []jrow, kinds []batch.RowKind) batch.Batch {
	n := len(rows)
	ks, vs := make([]int64, n), make([]int64, n)
	ts := make([]string, n)
	kv, tv, vv := make([]bool, n), make([]bool, n), make([]bool, n)
	for i, r := range rows {
		if r.k != nil {
			ks[i], kv[i] = *r.k, true
		}
		if r.t != nil {
			ts[i], tv[i] = *r.t, true
		}
		if r.v != nil {
			vs[i], vv[i] = *r.v, true
		}
	}
	k, t, v := batch.Int64Array(ks, kv), batch.StringArray(ts, tv), batch.Int64Array(vs, vv)
	var rec arrow.Record
	if side == 0 {
		rec = batch.NewRecord(joinLeftSchema, []arrow.Array{k, t, v}, n)
	} else {
		rec = batch.NewRecord(joinRightSchema, []arrow.Array{t, v, k}, n)
	}
	b := batch.Batch{Rec: rec, Kinds: kinds}
	if b.InsertOnly() {
		b.Kinds = nil // exercise the all-+I form too
	}
	return b
}

func joinOutSchema() types.Schema {
	return types.NewSchema(append(slices.Clone(joinLeftSchema.Fields), joinRightSchema.Fields...)...)
}

// TestJoinMatchesRecomputation feeds random changelogs to both inputs
// (inserts, duplicates, retractions of earlier rows as -D or -U, NULL keys
// and values), in batches of random size interleaving the sides, through
// every join kind, with and without a residual predicate, keyed by one
// integer column, by two columns (one NULL-safe), or by nothing. After
// every batch the materialized output must equal the join recomputed from
// the rows each side still holds.
func TestJoinMatchesRecomputation(t *testing.T) {
	type keying struct {
		name        string
		left, right []int
		nullEq      []bool
	}
	keyings := []keying{
		{name: "k", left: []int{0}, right: []int{2}},
		{name: "k,t<=>t", left: []int{0, 1}, right: []int{2, 0}, nullEq: []bool{false, true}},
		{name: "none"},
	}
	// v < w: the left value against the right one (Out columns 2 and 4).
	residual := &expr.Call{Fn: "<", T: types.TypeBoolean, Args: []expr.Expr{
		expr.NewColumn(2, types.TypeBigInt, "v"), expr.NewColumn(4, types.TypeBigInt, "w")}}
	ptr := func(v int64) *int64 { return &v }
	str := func(s string) *string { return &s }
	for _, backend := range joinBackends {
		for _, ky := range keyings {
			for _, kind := range []JoinKind{JoinInner, JoinLeft, JoinRight, JoinFull} {
				for _, withResidual := range []bool{false, true} {
					// Fewer seeds on rocksdb: each case opens a pebble DB.
					seeds := uint64(25)
					if backend == "rocksdb" {
						seeds = 10
					}
					for seed := uint64(1); seed <= seeds; seed++ {
						name := fmt.Sprintf("%s: %s join on %s, residual %v, seed %d", backend, kind, ky.name, withResidual, seed)
						rng := rand.New(rand.NewPCG(seed, 7))
						op := &Join{Kind: kind, LeftKeys: ky.left, RightKeys: ky.right, NullEqual: ky.nullEq,
							Left: joinLeftSchema, Right: joinRightSchema, Out: joinOutSchema()}
						if withResidual {
							op.Residual = residual
						}
						openJoin(t, op, backend, nil)
						matches := func(l, r jrow) bool {
							for i := range ky.left {
								lc, rc := l.cells(0)[ky.left[i]], r.cells(1)[ky.right[i]]
								nullEq := len(ky.nullEq) > 0 && ky.nullEq[i]
								if lc.null || rc.null {
									if !(nullEq && lc.null && rc.null) {
										return false
									}
								} else if lc != rc {
									return false
								}
							}
							if withResidual {
								return l.v != nil && r.v != nil && *l.v < *r.v
							}
							return true
						}
						var live [2][]jrow
						var c joinChangelog
						for step := 0; step < 30; step++ {
							side := rng.IntN(2)
							n := 1 + rng.IntN(12)
							var rows []jrow
							var kinds []batch.RowKind
							for i := 0; i < n; i++ {
								if len(live[side]) > 0 && rng.IntN(5) < 2 {
									j := rng.IntN(len(live[side]))
									rows = append(rows, live[side][j])
									live[side] = slices.Delete(live[side], j, j+1)
									kinds = append(kinds, [2]batch.RowKind{batch.Delete, batch.UpdateBefore}[rng.IntN(2)])
									continue
								}
								var r jrow
								if len(live[side]) > 0 && rng.IntN(5) == 0 {
									r = live[side][rng.IntN(len(live[side]))] // a duplicate
								} else {
									if rng.IntN(6) != 0 {
										r.k = ptr(int64(rng.IntN(3)))
									}
									if rng.IntN(5) != 0 {
										r.t = str([]string{"a", "b"}[rng.IntN(2)])
									}
									if rng.IntN(8) != 0 {
										r.v = ptr(int64(rng.IntN(6)))
									}
								}
								rows = append(rows, r)
								live[side] = append(live[side], r)
								kinds = append(kinds, [2]batch.RowKind{batch.Insert, batch.UpdateAfter}[rng.IntN(2)])
							}
							if err := op.Process(side, sideBatch(side, rows, kinds), &c); err != nil {
								t.Fatalf("%s, step %d: %v", name, step, err)
							}
							if c.err != nil {
								t.Fatalf("%s, step %d: %v\n%s", name, step, c.err, strings.Join(c.log, "\n"))
							}
							want := map[string]int{}
							rightMatched := make([]bool, len(live[1]))
							for _, l := range live[0] {
								matched := false
								lt := l.text(0)
								for ri, r := range live[1] {
									if matches(l, r) {
										want[lt+"|"+r.text(1)]++
										matched, rightMatched[ri] = true, true
									}
								}
								if !matched && (kind == JoinLeft || kind == JoinFull) {
									want[lt+"|"+(*jrow)(nil).text(1)]++
								}
							}
							if kind == JoinRight || kind == JoinFull {
								for ri, r := range live[1] {
									if !rightMatched[ri] {
										want[(*jrow)(nil).text(0)+"|"+r.text(1)]++
									}
								}
							}
							if !maps.Equal(c.rows, want) {
								wantRows := (&joinChangelog{rows: want}).materialized()
								t.Fatalf("%s, step %d:\ngot  %v\nwant %v\nchangelog:\n%s", name, step, c.materialized(), wantRows, strings.Join(c.log, "\n"))
							}
						}
						op.Close()
					}
				}
			}
		}
	}
}

// debugLog records the emitted changelog exactly, batch by batch.
type debugLog struct {
	sb       strings.Builder
	nilKinds int // batches emitted with Kinds == nil
}

func (d *debugLog) Collect(b batch.Batch) error {
	if b.Kinds == nil {
		d.nilKinds++
	}
	d.sb.WriteString(batch.Debug(b))
	return nil
}
func (d *debugLog) EmitWatermark(int64) error { return nil }

// take returns what was logged since the last call.
func (d *debugLog) take() string {
	s := d.sb.String()
	d.sb.Reset()
	return s
}

// kvJoin is a join of (k BIGINT, v x) with (k BIGINT, w x) on k.
func kvJoin(t *testing.T, backend string, kind JoinKind, vt types.Type, residual expr.Expr) *Join {
	t.Helper()
	l := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: vt})
	r := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "w", Type: vt})
	op := &Join{Kind: kind, LeftKeys: []int{0}, RightKeys: []int{0}, Left: l, Right: r,
		Out: types.NewSchema(append(slices.Clone(l.Fields), r.Fields...)...), Residual: residual}
	return openJoin(t, op, backend, nil)
}

// kvBatch builds rows "k:v" ("_" for NULL) of kind kinds[i] (or +I).
func kvBatch(s types.Schema, kind batch.RowKind, rows ...string) batch.Batch {
	n := len(rows)
	ks, kv := make([]int64, n), make([]bool, n)
	var cols []arrow.Array
	vals, vv := make([]string, n), make([]bool, n)
	for i, r := range rows {
		k, v, _ := strings.Cut(r, ":")
		if k != "_" {
			fmt.Sscan(k, &ks[i])
			kv[i] = true
		}
		if v != "_" {
			vals[i], vv[i] = v, true
		}
	}
	cols = append(cols, batch.Int64Array(ks, kv))
	if s.Fields[1].Type.Kind == types.String {
		cols = append(cols, batch.StringArray(vals, vv))
	} else {
		is := make([]int64, n)
		for i, v := range vals {
			fmt.Sscan(v, &is[i])
		}
		cols = append(cols, batch.Int64Array(is, vv))
	}
	kinds := make([]batch.RowKind, n)
	for i := range kinds {
		kinds[i] = kind
	}
	return batch.Batch{Rec: batch.NewRecord(s, cols, n), Kinds: kinds}
}

type joinStep struct {
	side int
	kind batch.RowKind
	rows []string
	want string // the exact changelog, rows separated by ";"
}

func runJoinSteps(t *testing.T, op *Join, steps []joinStep) {
	t.Helper()
	var d debugLog
	for i, s := range steps {
		sch := op.Left
		if s.side == 1 {
			sch = op.Right
		}
		if err := op.Process(s.side, kvBatch(sch, s.kind, s.rows...), &d); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got := strings.ReplaceAll(strings.TrimSuffix(d.take(), "\n"), "\n", ";")
		if got != s.want {
			t.Fatalf("step %d (%d %v %v):\ngot  %s\nwant %s", i, s.side, s.kind, s.rows, got, s.want)
		}
	}
}

// TestJoinLeftChangelog spells out a LEFT join's changelog: a padded row
// while a left row has no match, replaced when the first match arrives and
// restored when the last one goes, with duplicates and NULL keys.
func TestJoinLeftChangelog(t *testing.T) {
	for _, backend := range joinBackends {
		t.Run(backend, func(t *testing.T) { testJoinLeftChangelog(t, backend) })
	}
}

func testJoinLeftChangelog(t *testing.T, backend string) {
	runJoinSteps(t, kvJoin(t, backend, JoinLeft, types.TypeString, nil), []joinStep{
		{0, batch.Insert, []string{"1:a"}, "+I[1, a, NULL, NULL]"},
		{1, batch.Insert, []string{"1:x"}, "-D[1, a, NULL, NULL];+I[1, a, 1, x]"},
		{1, batch.Insert, []string{"1:y"}, "+I[1, a, 1, y]"},
		{1, batch.Delete, []string{"1:x"}, "-D[1, a, 1, x]"},
		// A retraction on the inner side keeps its kind (as in Flink).
		{1, batch.UpdateBefore, []string{"1:y"}, "-U[1, a, 1, y];+I[1, a, NULL, NULL]"},
		{0, batch.Insert, []string{"1:a"}, "+I[1, a, NULL, NULL]"},
		{1, batch.UpdateAfter, []string{"1:z"},
			"-D[1, a, NULL, NULL];-D[1, a, NULL, NULL];+I[1, a, 1, z];+I[1, a, 1, z]"},
		{1, batch.Insert, []string{"1:z"}, "+I[1, a, 1, z];+I[1, a, 1, z]"},
		{0, batch.UpdateBefore, []string{"1:a"}, "-D[1, a, 1, z];-D[1, a, 1, z]"},
		{1, batch.Delete, []string{"1:z", "1:z"}, "-D[1, a, 1, z];-D[1, a, 1, z];+I[1, a, NULL, NULL]"},
		// NULL keys never match: the left row stays padded.
		{0, batch.Insert, []string{"_:n"}, "+I[NULL, n, NULL, NULL]"},
		{1, batch.Insert, []string{"_:q"}, ""},
		{0, batch.Delete, []string{"_:n"}, "-D[NULL, n, NULL, NULL]"},
		{0, batch.Delete, []string{"1:a"}, "-D[1, a, NULL, NULL]"},
	})
}

// TestJoinLeftResidualChangelog: a right row failing the residual is no
// match; a left row keeps its padding until a row passing it arrives, and
// association counts are per left row.
func TestJoinLeftResidualChangelog(t *testing.T) {
	for _, backend := range joinBackends {
		t.Run(backend, func(t *testing.T) { testJoinLeftResidualChangelog(t, backend) })
	}
}

func testJoinLeftResidualChangelog(t *testing.T, backend string) {
	lt := &expr.Call{Fn: "<", T: types.TypeBoolean, Args: []expr.Expr{
		expr.NewColumn(1, types.TypeBigInt, "v"), expr.NewColumn(3, types.TypeBigInt, "w")}}
	runJoinSteps(t, kvJoin(t, backend, JoinLeft, types.TypeBigInt, lt), []joinStep{
		{0, batch.Insert, []string{"1:5"}, "+I[1, 5, NULL, NULL]"},
		{1, batch.Insert, []string{"1:3"}, ""},
		{1, batch.Insert, []string{"1:7"}, "-D[1, 5, NULL, NULL];+I[1, 5, 1, 7]"},
		{0, batch.Insert, []string{"1:2"}, "+I[1, 2, 1, 3];+I[1, 2, 1, 7]"},
		{1, batch.Delete, []string{"1:7"}, "-D[1, 5, 1, 7];-D[1, 2, 1, 7];+I[1, 5, NULL, NULL]"},
		{1, batch.Delete, []string{"1:3"}, "-D[1, 2, 1, 3];+I[1, 2, NULL, NULL]"},
		{0, batch.Insert, []string{"1:_"}, "+I[1, NULL, NULL, NULL]"},
	})
}

// TestJoinFullChangelog: both sides pad.
func TestJoinFullChangelog(t *testing.T) {
	for _, backend := range joinBackends {
		t.Run(backend, func(t *testing.T) { testJoinFullChangelog(t, backend) })
	}
}

func testJoinFullChangelog(t *testing.T, backend string) {
	runJoinSteps(t, kvJoin(t, backend, JoinFull, types.TypeString, nil), []joinStep{
		{1, batch.Insert, []string{"1:x"}, "+I[NULL, NULL, 1, x]"},
		{0, batch.Insert, []string{"1:a", "2:b"}, "-D[NULL, NULL, 1, x];+I[1, a, 1, x];+I[2, b, NULL, NULL]"},
		{0, batch.Insert, []string{"1:c"}, "+I[1, c, 1, x]"},
		{1, batch.Delete, []string{"1:x"}, "-D[1, a, 1, x];-D[1, c, 1, x];+I[1, a, NULL, NULL];+I[1, c, NULL, NULL]"},
		{0, batch.Delete, []string{"1:a", "1:c"}, "-D[1, a, NULL, NULL];-D[1, c, NULL, NULL]"},
	})
}

// TestJoinInnerKinds: an inner join passes row kinds through, and an
// insert-only result carries no kinds at all.
func TestJoinInnerKinds(t *testing.T) {
	for _, backend := range joinBackends {
		t.Run(backend, func(t *testing.T) { testJoinInnerKinds(t, backend) })
	}
}

func testJoinInnerKinds(t *testing.T, backend string) {
	op := kvJoin(t, backend, JoinInner, types.TypeString, nil)
	runJoinSteps(t, op, []joinStep{
		{1, batch.Insert, []string{"1:x", "2:y"}, ""},
		{0, batch.UpdateAfter, []string{"1:a"}, "+U[1, a, 1, x]"},
		{0, batch.UpdateBefore, []string{"1:a"}, "-U[1, a, 1, x]"},
		{0, batch.Insert, []string{"3:c"}, ""},
	})
	var d debugLog
	if err := op.Process(0, batch.New(kvBatch(op.Left, batch.Insert, "2:b", "2:b").Rec), &d); err != nil {
		t.Fatal(err)
	}
	if got := d.take(); got != "+I[2, b, 2, y]\n+I[2, b, 2, y]\n" || d.nilKinds != 1 {
		t.Fatalf("got %q with %d kind-less batches", got, d.nilKinds)
	}
}

// TestJoinHotKey: one key with 300 rows a side makes 90 thousand residual
// candidates in one batch, more than one probe chunk and one output batch.
func TestJoinHotKey(t *testing.T) {
	for _, backend := range joinBackends {
		t.Run(backend, func(t *testing.T) { testJoinHotKey(t, backend) })
	}
}

func testJoinHotKey(t *testing.T, backend string) {
	lt := &expr.Call{Fn: "<", T: types.TypeBoolean, Args: []expr.Expr{
		expr.NewColumn(1, types.TypeBigInt, "v"), expr.NewColumn(3, types.TypeBigInt, "w")}}
	op := kvJoin(t, backend, JoinLeft, types.TypeBigInt, lt)
	const n = 300
	var rows []string
	for i := 0; i < n; i++ {
		rows = append(rows, fmt.Sprintf("1:%d", i))
	}
	var c joinChangelog
	var batches int
	counting := collectorFunc(func(b batch.Batch) error { batches++; return c.Collect(b) })
	steps := []struct {
		side int
		kind batch.RowKind
	}{{1, batch.Insert}, {0, batch.Insert}, {1, batch.Delete}}
	for i, s := range steps {
		sch := op.Left
		if s.side == 1 {
			sch = op.Right
		}
		if err := op.Process(s.side, kvBatch(sch, s.kind, rows...), counting); err != nil {
			t.Fatal(err)
		}
		if c.err != nil {
			t.Fatalf("step %d: %v", i, c.err)
		}
		want := map[string]int{}
		for v := 0; v < n && i > 0; v++ {
			matched := false
			for w := v + 1; w < n && i == 1; w++ {
				want[fmt.Sprintf("1'|%d'|1'|%d'", v, w)]++
				matched = true
			}
			if !matched {
				want[fmt.Sprintf("1'|%d'|NULL|NULL", v)]++
			}
		}
		if !maps.Equal(c.rows, want) {
			t.Fatalf("step %d: %d distinct rows, want %d", i, len(c.rows), len(want))
		}
	}
	if batches < 3+joinChunk/joinOutRows {
		t.Fatalf("%d output batches: the output was not split", batches)
	}
}

type collectorFunc func(b batch.Batch) error

func (f collectorFunc) Collect(b batch.Batch) error { return f(b) }
func (f collectorFunc) EmitWatermark(int64) error   { return nil }

// TestJoinErrors: bad plans fail at Open, bad input in Process, without
// panicking.
func TestJoinErrors(t *testing.T) {
	for _, backend := range joinBackends {
		op := kvJoin(t, backend, JoinInner, types.TypeString, nil)
		var d debugLog
		if err := op.Process(0, kvBatch(op.Left, batch.Delete, "1:a"), &d); err == nil ||
			!strings.Contains(err.Error(), "never added") {
			t.Fatalf("%s: retracting a missing row: %v", backend, err)
		}
		// The failed batch changed nothing: the row can be added, matched
		// and retracted.
		runJoinSteps(t, op, []joinStep{
			{0, batch.Insert, []string{"1:a"}, ""},
			{1, batch.Insert, []string{"1:x"}, "+I[1, a, 1, x]"},
			{0, batch.Delete, []string{"1:a"}, "-D[1, a, 1, x]"},
		})
	}
	op := kvJoin(t, "hashmap", JoinInner, types.TypeString, nil)
	var d debugLog
	if err := op.Process(2, kvBatch(op.Left, batch.Insert, "1:a"), &d); err == nil {
		t.Fatal("input 2 accepted")
	}
	intSchema := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeBigInt})
	if err := op.Process(0, kvBatch(intSchema, batch.Insert, "1:2"), &d); err == nil {
		t.Fatal("a batch of the wrong column type accepted")
	}
	bad := []*Join{
		{LeftKeys: []int{0}, RightKeys: []int{1}, Left: op.Left, Right: op.Right, Out: op.Out},          // BIGINT = STRING
		{LeftKeys: []int{0}, RightKeys: []int{0, 1}, Left: op.Left, Right: op.Right, Out: op.Out},       // counts differ
		{LeftKeys: []int{5}, RightKeys: []int{0}, Left: op.Left, Right: op.Right, Out: op.Out},          // out of range
		{LeftKeys: []int{0}, RightKeys: []int{0}, Left: op.Left, Right: op.Right, Out: op.Left},         // output width
		{Kind: 9, LeftKeys: []int{0}, RightKeys: []int{0}, Left: op.Left, Right: op.Right, Out: op.Out}, // kind
		{LeftKeys: []int{0}, RightKeys: []int{0}, Left: op.Left, Right: op.Right, Out: op.Out,
			Residual: expr.NewColumn(1, types.TypeString, "v")}, // not BOOLEAN
	}
	for i, j := range bad {
		if err := j.Open(&exec.OpContext{}); err == nil {
			t.Errorf("plan %d opened", i)
		}
	}
}

// BenchmarkJoinInner: an inner join on one BIGINT key over 10 thousand
// keys, 4096-row batches alternating sides; each batch inserts 2048 new rows
// and retracts the 2048 its side inserted four batches earlier, so state
// stays at about 8 thousand rows a side (under one row per key).
func BenchmarkJoinInner(b *testing.B) {
	for _, backend := range joinBackends {
		b.Run(backend, func(b *testing.B) { benchmarkJoinInner(b, backend) })
	}
}

func benchmarkJoinInner(b *testing.B, backend string) {
	l := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeBigInt})
	r := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "w", Type: types.TypeBigInt})
	const half, cycle, lag = 2048, 64, 8 // lag counts batches of both sides
	x := uint64(1)
	inserts := make([][2][]int64, cycle) // k, v per batch
	for i := range inserts {
		ks, vs := make([]int64, half), make([]int64, half)
		for j := range ks {
			x = x*6364136223846793005 + 1442695040888963407
			ks[j] = int64(x>>33) % 10000
			vs[j] = int64(i*half + j)
		}
		inserts[i] = [2][]int64{ks, vs}
	}
	mk := func(i int, withRetract bool) batch.Batch {
		s := l
		if i%2 == 1 {
			s = r
		}
		ks, vs := slices.Clone(inserts[i][0]), slices.Clone(inserts[i][1])
		kinds := make([]batch.RowKind, half)
		if withRetract {
			old := inserts[(i-lag+cycle)%cycle]
			ks, vs = append(ks, old[0]...), append(vs, old[1]...)
			for range half {
				kinds = append(kinds, batch.Delete)
			}
		}
		return batch.Batch{Rec: batch.NewRecord(s, []arrow.Array{batch.Int64Array(ks, nil), batch.Int64Array(vs, nil)}, len(ks)), Kinds: kinds}
	}
	batches := make([]batch.Batch, cycle)
	for i := range batches {
		batches[i] = mk(i, true)
	}
	op := openJoin(b, &Join{Kind: JoinInner, LeftKeys: []int{0}, RightKeys: []int{0}, Left: l, Right: r,
		Out: types.NewSchema(append(slices.Clone(l.Fields), r.Fields...)...)}, backend, nil)
	var c countingCollector
	// Warm up: the inserts the first batches will retract.
	for i := cycle - lag; i < cycle; i++ {
		if err := op.Process(i%2, mk(i, false), &c); err != nil {
			b.Fatal(err)
		}
	}
	c.rows = 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op.Process(i%2, batches[i%cycle], &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*2*half)/b.Elapsed().Seconds(), "in-rows/s")
	b.ReportMetric(float64(c.rows)/b.Elapsed().Seconds(), "out-rows/s")
}

// TestJoinStateTTL: a stored row not written for longer than the TTL is
// swept (on the processing-time timer) and no longer matches; a row
// written again in time stays; a retraction of an expired row is ignored,
// as with Flink's state TTL. The write times survive a snapshot.
func TestJoinStateTTL(t *testing.T) {
	for _, backend := range joinBackends {
		t.Run(backend, func(t *testing.T) { testJoinStateTTL(t, backend) })
	}
}

func testJoinStateTTL(t *testing.T, backend string) {
	now := time.Unix(1000, 0)
	var timers []func(exec.Collector) error
	l := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeString})
	r := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "w", Type: types.TypeString})
	mk := func() *Join {
		op := &Join{Kind: JoinInner, LeftKeys: []int{0}, RightKeys: []int{0}, Left: l, Right: r,
			Out: types.NewSchema(append(slices.Clone(l.Fields), r.Fields...)...), TTL: time.Minute}
		ctx := &exec.OpContext{Now: func() time.Time { return now },
			Every: func(_ time.Duration, f func(exec.Collector) error) { timers = append(timers, f) }}
		return openJoin(t, op, backend, ctx)
	}
	op := mk()
	tick := func() {
		for _, f := range timers {
			if err := f(nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	runJoinSteps(t, op, []joinStep{
		{0, batch.Insert, []string{"1:a", "2:b"}, ""},
	})
	now = now.Add(40 * time.Second)
	runJoinSteps(t, op, []joinStep{
		{0, batch.Insert, []string{"2:b"}, ""}, // key 2 written again
	})
	now = now.Add(40 * time.Second) // 1:a is 80 s old, 2:b 40 s
	tick()
	runJoinSteps(t, op, []joinStep{
		{1, batch.Insert, []string{"1:x", "2:y"}, "+I[2, b, 2, y];+I[2, b, 2, y]"},
		{0, batch.Delete, []string{"1:a"}, "-D[1, a, 1, x]"}, // expired: ignored in state, its pair retracted
	})
	// A snapshot keeps the write times: restored at the same clock, 2:b
	// expires at the same moment as in the original.
	dir := snapshotSync(t, op, &collectRows{}, false)()
	b := mk()
	if err := b.RestoreState(restoreOne(dir)); err != nil {
		t.Fatal(err)
	}
	if n := storedRows(t, b, 0); n != 2 {
		t.Fatalf("restored left rows: %d, want 2 (2:b twice)", n)
	}
	now = now.Add(30 * time.Second) // 2:b was written 70 s ago, 1:x and 2:y 30 s
	tick()
	for i, j := range []*Join{op, b} {
		if l, r := storedRows(t, j, 0), storedRows(t, j, 1); l != 0 || r != 2 {
			t.Fatalf("join %d after the sweep: %d left and %d right rows, want 0 and 2", i, l, r)
		}
		// The expired 2:b no longer matches.
		runJoinSteps(t, j, []joinStep{{1, batch.Insert, []string{"2:z"}, ""}})
	}
	// Long after, the backend's own TTL has deleted what no batch read.
	now = now.Add(10 * time.Minute)
	tick()
	for i, j := range []*Join{op, b} {
		if l, r := storedRows(t, j, 0), storedRows(t, j, 1); l != 0 || r != 0 {
			t.Fatalf("join %d much later: %d left and %d right rows, want none", i, l, r)
		}
		if j.store != nil {
			n := 0
			if err := j.store.rows[1].Keys(nil, func(int, []byte) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("join %d: pebble still holds %d right keys", i, n)
			}
		}
	}
}

// insertOnlyBatch makes an insert-only batch of random rows over a few
// keys and many values, so buckets grow past bucketIndexAt and hold
// duplicates; sliced, some batches start at a non-zero array offset.
func insertOnlyBatch(rng *rand.Rand, side int) batch.Batch {
	n := 2 + rng.IntN(40)
	rows := make([]jrow, n)
	for i := range rows {
		var r jrow
		if rng.IntN(12) > 0 {
			k := int64(rng.IntN(3))
			r.k = &k
		}
		if rng.IntN(6) > 0 {
			s := fmt.Sprint("t", rng.IntN(2))
			r.t = &s
		}
		v := int64(rng.IntN(20))
		r.v = &v
		rows[i] = r
	}
	b := sideBatch(side, rows, make([]batch.RowKind, n))
	if rng.IntN(2) == 0 {
		b = batch.Slice(b, 1, n)
	}
	return b
}

// TestJoinInsertOnlySameChangelog: declaring append-only inputs as such
// (chunked cells, strings copied per batch column, equal rows kept apart
// instead of counted) changes nothing in the result: after every batch
// the materialized changelog (which must never retract a row it does not
// hold) equals the general join's, for every join kind, with and without
// a residual, keyed by an integer or by two columns, and both hold the
// same number of rows.
func TestJoinInsertOnlySameChangelog(t *testing.T) {
	residual := &expr.Call{Fn: "<", T: types.TypeBoolean, Args: []expr.Expr{
		expr.NewColumn(2, types.TypeBigInt, "v"), expr.NewColumn(4, types.TypeBigInt, "w")}}
	for _, backend := range joinBackends {
		for _, kind := range []JoinKind{JoinInner, JoinLeft, JoinRight, JoinFull} {
			for _, intKeyed := range []bool{true, false} {
				for _, withResidual := range []bool{false, true} {
					for _, flags := range [][2]bool{{true, true}, {true, false}, {false, true}} {
						name := fmt.Sprintf("%s: %v join, int-keyed %v, residual %v, insert-only %v", backend, kind, intKeyed, withResidual, flags)
						mk := func(insertOnly [2]bool, backend string) *Join {
							j := testJoin(kind, intKeyed)
							j.LeftInsertOnly, j.RightInsertOnly = insertOnly[0], insertOnly[1]
							if withResidual {
								j.Residual = residual
							}
							return openJoin(t, j, backend, nil)
						}
						// The reference is the general in-memory join.
						general, fast := mk([2]bool{}, "hashmap"), mk(flags, backend)
						var want, got joinChangelog
						rng := rand.New(rand.NewPCG(uint64(kind)+1, 3))
						for step := 0; step < 40; step++ {
							side := rng.IntN(2)
							b := insertOnlyBatch(rng, side)
							if err := general.Process(side, b, &want); err != nil {
								t.Fatal(err)
							}
							if err := fast.Process(side, b, &got); err != nil {
								t.Fatal(err)
							}
							if got.err != nil {
								t.Fatalf("%s, step %d: %v\n%s", name, step, got.err, strings.Join(got.log, "\n"))
							}
							if w, g := strings.Join(want.materialized(), "\n"), strings.Join(got.materialized(), "\n"); w != g {
								t.Fatalf("%s, step %d:\ngot\n%s\nwant\n%s", name, step, g, w)
							}
						}
						for s := range fast.sides {
							if g, w := storedRows(t, fast, s), general.sides[s].stateRows(); g != w {
								t.Fatalf("%s: side %d stores %d distinct rows, want %d", name, s, g, w)
							}
						}
						general.Close()
						fast.Close()
					}
				}
			}
		}
	}
}

// TestJoinRocksSameChangelog: on rocksdb a join emits exactly the
// changelog of the in-memory join, row for row and batch for batch, over
// random changelogs with retractions, duplicates and NULLs, for every kind,
// keyed by an integer, by two columns (one NULL-safe) or by nothing, with
// and without a residual; and both store the same number of rows.
func TestJoinRocksSameChangelog(t *testing.T) {
	residual := &expr.Call{Fn: "<", T: types.TypeBoolean, Args: []expr.Expr{
		expr.NewColumn(2, types.TypeBigInt, "v"), expr.NewColumn(4, types.TypeBigInt, "w")}}
	for _, kind := range []JoinKind{JoinInner, JoinLeft, JoinRight, JoinFull} {
		for _, keying := range []string{"int", "two", "none"} {
			for _, withResidual := range []bool{false, true} {
				name := fmt.Sprintf("%v join keyed by %s, residual %v", kind, keying, withResidual)
				mk := func(backend string) *Join {
					j := testJoin(kind, keying == "int")
					if keying == "none" {
						j.LeftKeys, j.RightKeys, j.NullEqual = nil, nil, nil
					}
					if withResidual {
						j.Residual = residual
					}
					return openJoin(t, j, backend, nil)
				}
				mem, rocks := mk("hashmap"), mk("rocksdb")
				g := &joinGen{rng: rand.New(rand.NewPCG(uint64(kind)*7+uint64(len(keying)), 13))}
				var want, got debugLog
				for step := 0; step < 60; step++ {
					side := g.rng.IntN(2)
					b := g.batch(side)
					if err := mem.Process(side, b, &want); err != nil {
						t.Fatal(err)
					}
					if err := rocks.Process(side, b, &got); err != nil {
						t.Fatalf("%s, step %d: %v", name, step, err)
					}
					if w, g := want.take(), got.take(); w != g {
						t.Fatalf("%s, step %d:\ngot\n%s\nwant\n%s", name, step, g, w)
					}
				}
				for s := range mem.sides {
					if g, w := storedRows(t, rocks, s), storedRows(t, mem, s); g != w {
						t.Fatalf("%s: side %d stores %d distinct rows, want %d", name, s, g, w)
					}
				}
				mem.Close()
				rocks.Close()
			}
		}
	}
}

// TestJoinBucketHashCollision: a row whose hash another row of the bucket
// holds is still found, counted and retracted.
func TestJoinBucketHashCollision(t *testing.T) {
	j := testJoin(JoinInner, true)
	if err := j.Open(&exec.OpContext{}); err != nil {
		t.Fatal(err)
	}
	s := &j.sides[0]
	var rows [][]cell
	for v := range int64(bucketIndexAt + 4) {
		rows = append(rows, []cell{{i: 1}, {s: "x"}, {i: v}})
	}
	j.keys = rowKeys{never: []bool{false}, ints: []int64{1}}
	for _, r := range rows {
		s.add(&j.keys, true, 0, r, 0, 0)
	}
	bk := s.byInt[1]
	if bk.index == nil {
		t.Fatal("a bucket this large should be indexed")
	}
	// Pretend row 5's hash was taken by another row when it was filed.
	delete(bk.index, hashRow(s.seed, rows[5]))
	bk.collided = true
	s.add(&j.keys, true, 0, rows[5], 0, 0)
	if len(bk.rows) != len(rows) || bk.rows[5].count != 2 {
		t.Fatalf("the colliding row was stored again: %d rows, count %d", len(bk.rows), bk.rows[5].count)
	}
	for range 2 {
		if !s.retract(&j.keys, true, 0, rows[5]) {
			t.Fatal("the colliding row could not be retracted")
		}
	}
	if s.retract(&j.keys, true, 0, rows[5]) {
		t.Fatal("a row retracted more often than added")
	}
	for i, r := range rows {
		if i != 5 && bk.find(s.seed, r, hashRow(s.seed, r)) < 0 {
			t.Fatalf("row %d lost", i)
		}
	}
}
