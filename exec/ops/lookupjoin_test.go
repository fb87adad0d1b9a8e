package ops

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// The probe side is (a BIGINT, s STRING); the lookup table (k BIGINT,
// v STRING, n INT).
var (
	lkLeft  = types.Schema{Fields: []types.Field{{Name: "a", Type: types.TypeBigInt}, {Name: "s", Type: types.TypeString}}}
	lkRight = types.Schema{Fields: []types.Field{{Name: "k", Type: types.TypeBigInt}, {Name: "v", Type: types.TypeString}, {Name: "n", Type: types.TypeInt}}}
)

// lkTable is a bounded in-memory table source that serves its current
// rows in batches of two and counts the scans.
type lkTable struct {
	rows      []lkRow
	unbounded bool
	opens     int
	pos       int
}

type lkRow struct {
	k *int64
	v string
	n int32
}

func i64(v int64) *int64 { return &v }

func (s *lkTable) source() (connectors.Source, error) {
	cp := *s
	cp.pos = 0
	s.opens++
	return &cp, nil
}
func (s *lkTable) Bounded() bool                        { return !s.unbounded }
func (s *lkTable) Open(context.Context, int, int) error { return nil }
func (s *lkTable) Close() error                         { return nil }
func (s *lkTable) Next(context.Context) (batch.Batch, error) {
	if s.pos >= len(s.rows) {
		return batch.Batch{}, io.EOF
	}
	end := min(s.pos+2, len(s.rows))
	var ks []int64
	var kv []bool
	var vs []string
	var ns []int32
	for _, r := range s.rows[s.pos:end] {
		if r.k == nil {
			ks, kv = append(ks, 0), append(kv, false)
		} else {
			ks, kv = append(ks, *r.k), append(kv, true)
		}
		vs, ns = append(vs, r.v), append(ns, r.n)
	}
	n := end - s.pos
	s.pos = end
	cols := []arrow.Array{batch.Int64Array(ks, kv), batch.StringArray(vs, nil), batch.Int32Array(ns, nil)}
	return batch.Batch{Rec: batch.NewRecord(lkRight, cols, n)}, nil
}

// lkScope resolves the names of the probe row followed by the table row.
type lkScope struct{ s types.Schema }

func (sc lkScope) Resolve(id *ast.Ident) (int, types.Type, error) {
	name := id.Parts[len(id.Parts)-1]
	for i, f := range sc.s.Fields {
		if strings.EqualFold(f.Name, name) {
			return i, f.Type, nil
		}
	}
	return 0, types.Type{}, fmt.Errorf("unknown column %s", name)
}

func lkBind(t *testing.T, s types.Schema, text string) expr.Expr {
	t.Helper()
	a, err := sql.ParseExpr(text)
	if err != nil {
		t.Fatal(err)
	}
	e, err := expr.Bind(a, lkScope{s}, expr.BindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func lkOut(kind JoinKind) types.Schema {
	fs := slices.Clone(lkLeft.Fields)
	for _, f := range lkRight.Fields {
		if kind == JoinLeft {
			f.Type = f.Type.WithNotNull(false)
		}
		fs = append(fs, f)
	}
	return types.Schema{Fields: fs}
}

// newLookup makes a join on leftKey = k (leftKey over the probe row).
func newLookup(t *testing.T, kind JoinKind, tbl *lkTable, leftKey, residual string) *LookupJoin {
	t.Helper()
	j := &LookupJoin{Kind: kind, Left: lkLeft, Right: lkRight, Out: lkOut(kind), Table: "side",
		LeftKeys:  []expr.Expr{lkBind(t, lkLeft, leftKey)},
		RightKeys: []expr.Expr{expr.NewColumn(0, types.TypeBigInt, "k")},
		NewSource: tbl.source}
	if residual != "" {
		j.Residual = lkBind(t, j.Out, residual)
	}
	return j
}

func probe(rows ...any) batch.Batch {
	var as []int64
	var av []bool
	var ss []string
	for i := 0; i < len(rows); i += 2 {
		if rows[i] == nil {
			as, av = append(as, 0), append(av, false)
		} else {
			as, av = append(as, int64(rows[i].(int))), append(av, true)
		}
		ss = append(ss, rows[i+1].(string))
	}
	return batch.Batch{Rec: batch.NewRecord(lkLeft, []arrow.Array{batch.Int64Array(as, av), batch.StringArray(ss, nil)}, len(ss))}
}

// lkRun opens j (clock: *now), feeds the batches and returns the rows.
func lkRun(t *testing.T, j *LookupJoin, now *time.Time, bs ...batch.Batch) []string {
	t.Helper()
	ctx := &exec.OpContext{Ctx: context.Background(), Now: func() time.Time { return *now }, Location: time.UTC}
	if err := j.Open(ctx); err != nil {
		t.Fatal(err)
	}
	return lkFeed(t, j, bs...)
}

func lkFeed(t *testing.T, j *LookupJoin, bs ...batch.Batch) []string {
	t.Helper()
	var c collectRows
	for _, b := range bs {
		if err := j.Process(0, b, &c); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range c.kind {
		if k != batch.Insert {
			t.Fatalf("emitted a %s row; a lookup join emits inserts only", k)
		}
	}
	return c.rows
}

func row(cells ...string) string { return strings.Join(cells, "|") }

// Cells as collectRows renders them.
func ci(v int64) string  { return fmt.Sprint(cell{i: v}) }
func cs(v string) string { return fmt.Sprint(cell{s: v}) }

var cnull = fmt.Sprint(cell{null: true})

func sideTable() *lkTable {
	return &lkTable{rows: []lkRow{
		{k: i64(1), v: "one", n: 10},
		{k: i64(2), v: "two", n: 20},
		{k: i64(2), v: "deux", n: 21}, // a duplicate key: both rows match
		{k: nil, v: "nokey", n: 0},    // a NULL key matches nothing
		{k: i64(3), v: "three", n: 30},
	}}
}

func TestLookupJoinInner(t *testing.T) {
	now := time.Unix(1000, 0)
	j := newLookup(t, JoinInner, sideTable(), "a", "")
	got := lkRun(t, j, &now, probe(2, "x", 9, "y", nil, "z", 1, "w"), probe(3, "u"))
	want := []string{
		row(ci(2), cs("x"), ci(2), cs("two"), ci(20)),
		row(ci(2), cs("x"), ci(2), cs("deux"), ci(21)),
		row(ci(1), cs("w"), ci(1), cs("one"), ci(10)),
		row(ci(3), cs("u"), ci(3), cs("three"), ci(30)),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLookupJoinLeft(t *testing.T) {
	now := time.Unix(1000, 0)
	j := newLookup(t, JoinLeft, sideTable(), "a", "")
	got := lkRun(t, j, &now, probe(2, "x", 9, "y", nil, "z", 1, "w"))
	want := []string{
		row(ci(2), cs("x"), ci(2), cs("two"), ci(20)),
		row(ci(2), cs("x"), ci(2), cs("deux"), ci(21)),
		row(ci(9), cs("y"), cnull, cnull, cnull),
		row(cnull, cs("z"), cnull, cnull, cnull), // NULL key: padded, never the NULL-keyed row
		row(ci(1), cs("w"), ci(1), cs("one"), ci(10)),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A key expression over the probe row (MOD, as Nexmark q13) and a residual
// condition over the pair.
func TestLookupJoinKeyExpressionAndResidual(t *testing.T) {
	for _, kind := range []JoinKind{JoinInner, JoinLeft} {
		t.Run(kind.String(), func(t *testing.T) {
			now := time.Unix(1000, 0)
			j := newLookup(t, kind, sideTable(), "MOD(a, 10)", "n > 20 OR s = 'w'")
			got := lkRun(t, j, &now, probe(12, "x", 21, "y", 13, "z", 11, "w"))
			want := []string{
				row(ci(12), cs("x"), ci(2), cs("deux"), ci(21)), // 'two' (n = 20) fails the residual
			}
			if kind == JoinLeft {
				want = append(want, row(ci(21), cs("y"), cnull, cnull, cnull)) // its only match fails
			}
			want = append(want, row(ci(13), cs("z"), ci(3), cs("three"), ci(30)),
				row(ci(11), cs("w"), ci(1), cs("one"), ci(10)))
			if !slices.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// Several keys, one of them a string: the encoded-key index.
func TestLookupJoinCompositeKey(t *testing.T) {
	now := time.Unix(1000, 0)
	tbl := sideTable()
	j := newLookup(t, JoinInner, tbl, "a", "")
	j.LeftKeys = append(j.LeftKeys, lkBind(t, lkLeft, "s"))
	j.RightKeys = append(j.RightKeys, expr.NewColumn(1, types.TypeString, "v"))
	got := lkRun(t, j, &now, probe(2, "deux", 2, "one", 1, "one", nil, "nokey"))
	want := []string{
		row(ci(2), cs("deux"), ci(2), cs("deux"), ci(21)),
		row(ci(1), cs("one"), ci(1), cs("one"), ci(10)),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The table is read when the operator opens and again on the first batch
// after the TTL: changes in between are not seen.
func TestLookupJoinReloadsAfterTTL(t *testing.T) {
	now := time.Unix(1000, 0)
	tbl := sideTable()
	j := newLookup(t, JoinLeft, tbl, "a", "")
	j.TTL = time.Minute
	got := lkRun(t, j, &now, probe(4, "x"))
	if want := []string{row(ci(4), cs("x"), cnull, cnull, cnull)}; !slices.Equal(got, want) {
		t.Fatalf("before: got %v, want %v", got, want)
	}
	tbl.rows = append(tbl.rows, lkRow{k: i64(4), v: "four", n: 40})
	tbl.rows[0].v = "uno"
	now = now.Add(59 * time.Second)
	got = lkFeed(t, j, probe(4, "x", 1, "y"))
	want := []string{row(ci(4), cs("x"), cnull, cnull, cnull), row(ci(1), cs("y"), ci(1), cs("one"), ci(10))}
	if !slices.Equal(got, want) || tbl.opens != 1 {
		t.Fatalf("before the TTL (%d scans): got %v, want %v", tbl.opens, got, want)
	}
	now = now.Add(time.Second)
	got = lkFeed(t, j, probe(4, "x", 1, "y"))
	want = []string{row(ci(4), cs("x"), ci(4), cs("four"), ci(40)), row(ci(1), cs("y"), ci(1), cs("uno"), ci(10))}
	if !slices.Equal(got, want) || tbl.opens != 2 || j.Loads != 2 {
		t.Fatalf("after the TTL (%d scans): got %v, want %v", tbl.opens, got, want)
	}
	now = now.Add(30 * time.Second)
	lkFeed(t, j, probe(4, "x"))
	if tbl.opens != 2 {
		t.Fatalf("reloaded %d times within one TTL", tbl.opens-2)
	}
}

func TestLookupJoinEmptyTable(t *testing.T) {
	now := time.Unix(1000, 0)
	j := newLookup(t, JoinLeft, &lkTable{}, "a", "")
	got := lkRun(t, j, &now, probe(1, "x"))
	if want := []string{row(ci(1), cs("x"), cnull, cnull, cnull)}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	j = newLookup(t, JoinInner, &lkTable{}, "a", "")
	if got := lkRun(t, j, &now, probe(1, "x")); len(got) != 0 {
		t.Fatalf("inner join with an empty table emitted %v", got)
	}
}

func TestLookupJoinRefusesUnboundedTableAndUpdates(t *testing.T) {
	j := newLookup(t, JoinInner, &lkTable{unbounded: true}, "a", "")
	err := j.Open(&exec.OpContext{Ctx: context.Background()})
	if err == nil || !strings.Contains(err.Error(), "not supported yet: an unbounded table as a lookup table") {
		t.Fatalf("unbounded table: error %v", err)
	}
	j = newLookup(t, JoinInner, sideTable(), "a", "")
	if err := j.Open(&exec.OpContext{Ctx: context.Background()}); err != nil {
		t.Fatal(err)
	}
	b := probe(1, "x")
	b.Kinds = []batch.RowKind{batch.Delete}
	if err := j.Process(0, b, &collectRows{}); err == nil || !strings.Contains(err.Error(), "updating probe input") {
		t.Fatalf("updating input: error %v", err)
	}
}
