package expr

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

var cseSchema = types.NewSchema(
	types.Field{Name: "a", Type: types.TypeBigInt},
	types.Field{Name: "b", Type: types.TypeBigInt},
	types.Field{Name: "s", Type: types.TypeString},
	types.Field{Name: "u", Type: types.TypeString},
)

func bindCSE(t *testing.T, sql string) Expr {
	t.Helper()
	if sql == "" {
		return nil
	}
	a, err := parseExpr(sql)
	if err != nil {
		t.Fatalf("test parser: %q: %v", sql, err)
	}
	e, err := Bind(a, fakeScope{cseSchema}, BindOptions{})
	if err != nil {
		t.Fatalf("bind %q: %v", sql, err)
	}
	return e
}

// randomCSERecord makes n rows with about one NULL in five per column.
func randomCSERecord(r *rand.Rand, n int) arrow.Record {
	words := []string{"Apple", "apple", "GOOGLE", "baidu", "x", "", "12", "-5", "ä"}
	parts := []string{"channel_id=", "&", "x", "=", "1", "42", "ä", "?q=1", "&channel_id=", "_"}
	valid := func() []bool {
		v := make([]bool, n)
		for i := range v {
			v[i] = r.Intn(5) > 0
		}
		return v
	}
	a, b := make([]int64, n), make([]int64, n)
	s, u := make([]string, n), make([]string, n)
	for i := 0; i < n; i++ {
		a[i], b[i] = int64(r.Intn(7)-3), int64(r.Intn(7)-3)
		s[i] = words[r.Intn(len(words))]
		var sb strings.Builder
		for k := r.Intn(6); k > 0; k-- {
			sb.WriteString(parts[r.Intn(len(parts))])
		}
		u[i] = sb.String()
	}
	cols := []arrow.Array{
		batch.Int64Array(a, valid()), batch.Int64Array(b, valid()),
		batch.StringArray(s, valid()), batch.StringArray(u, valid()),
	}
	return batch.NewRecord(cseSchema, cols, n)
}

// evalUnshared is the evaluation CompileCalc replaces: the filter compiled
// alone, the kept rows compacted, the projections compiled alone, with no
// sharing anywhere.
func evalUnshared(filterExpr Expr, exprs []Expr, rec arrow.Record) ([]arrow.Array, []int32, error) {
	n := int(rec.NumRows())
	kept := make([]int32, 0, n)
	for i := 0; i < n; i++ {
		kept = append(kept, int32(i))
	}
	in := rec
	if filterExpr != nil {
		cp := &compiler{env: testEnv}
		f, err := cp.buildFilter(filterExpr)
		if err != nil {
			return nil, nil, err
		}
		if kept, err = f.sel(newCtx(rec, testEnv), nil, true, make([]int32, 0, n)); err != nil {
			return nil, nil, err
		}
		if len(kept) == 0 {
			return nil, kept, nil
		}
		in = batch.TakeBatch(batch.New(rec), kept).Rec
	}
	cp := &compiler{env: testEnv}
	c := newCtx(in, testEnv)
	var out []arrow.Array
	for _, e := range exprs {
		k, err := cp.build(e)
		if err != nil {
			return nil, nil, err
		}
		v, err := k.eval(c)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, v.toArrow(e.Type()))
	}
	return out, kept, nil
}

func arrayValues(t types.Type, a arrow.Array) []any {
	v, err := fromArrow(a)
	if err != nil {
		panic(err)
	}
	out := make([]any, a.Len())
	for i := range out {
		out[i] = v.value(t, i)
	}
	return out
}

// cseCases share subexpressions between filter and projections, inside
// CASE / COALESCE / AND / OR branches, and include expressions that fail
// (division by zero, a bad CAST) on rows the filter removes.
var cseCases = []struct{ filter, proj string }{
	// Nexmark q21's shape.
	{"REGEXP_EXTRACT(u, '(&|^)channel_id=([^&]*)', 2) IS NOT NULL OR LOWER(s) IN ('apple', 'google', 'baidu')",
		"a; s; CASE WHEN LOWER(s) = 'apple' THEN '0' WHEN LOWER(s) = 'google' THEN '1' WHEN LOWER(s) = 'baidu' THEN '3' ELSE REGEXP_EXTRACT(u, '(&|^)channel_id=([^&]*)', 2) END"},
	{"", "LOWER(s); UPPER(LOWER(s)); CONCAT(LOWER(s), LOWER(s)); LOWER(s) = 'apple'"},
	{"b <> 0 AND a / b >= 0", "a / b; a / b + 1; CASE WHEN b > 0 THEN a / b ELSE 0 END"},
	{"b IS NOT NULL AND b <> 0", "CASE WHEN a > 0 THEN a / b WHEN a < 0 THEN a / b * 2 ELSE a / b END; a / b"},
	{"a + b > 0 OR a + b IS NULL", "a + b; (a + b) * (a + b); COALESCE(a + b, b)"},
	{"CAST(s AS BIGINT) > 0", "CAST(s AS BIGINT); CAST(s AS BIGINT) * 2"},
	{"s = '12' AND CAST(s AS BIGINT) > 0", "CAST(s AS BIGINT) + a"},
	{"s IN ('12', '-5') OR CAST(s AS BIGINT) > 0", "CAST(s AS BIGINT)"},
	{"LOWER(s) LIKE 'a%' OR REGEXP(u, 'channel_id=4')", "LOWER(s) LIKE 'a%'; REGEXP(u, 'channel_id=4'); CHAR_LENGTH(LOWER(s))"},
	{"COALESCE(CHAR_LENGTH(u), 0) > 2", "COALESCE(CHAR_LENGTH(u), 0); CASE WHEN COALESCE(CHAR_LENGTH(u), 0) > 5 THEN u END"},
	{"a > 0", "CAST(a AS INT); CAST(a AS BIGINT); CAST(a AS DOUBLE)"},
}

// TestCalcSharedMatchesUnshared: CompileCalc (shared subexpressions) gives
// the rows, values and errors of unshared evaluation on random batches.
func TestCalcSharedMatchesUnshared(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	for _, c := range cseCases {
		f := bindCSE(t, c.filter)
		var exprs []Expr
		for _, p := range strings.Split(c.proj, "; ") {
			exprs = append(exprs, bindCSE(t, p))
		}
		if len(sharedKeys(append([]Expr{f}, exprs...))) == 0 && !strings.Contains(c.proj, "CAST(a AS INT)") {
			t.Errorf("%s / %s: nothing shared", c.filter, c.proj)
		}
		prog, err := CompileCalc(f, exprs, testEnv)
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		var sel []int32
		for it := 0; it < 200; it++ {
			rec := randomCSERecord(r, 1+r.Intn(40))
			wantCols, wantKept, wantErr := evalUnshared(f, exprs, rec)
			cols, kept, all, err := prog.Eval(rec, sel)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("%s / %s: error %v, unshared error %v", c.filter, c.proj, err, wantErr)
			}
			if err != nil {
				if err.Error() != wantErr.Error() {
					t.Errorf("error %q, unshared %q", err, wantErr)
				}
				continue
			}
			if all {
				kept = nil
				for i := 0; i < int(rec.NumRows()); i++ {
					kept = append(kept, int32(i))
				}
			} else {
				sel = kept
			}
			if fmt.Sprint(kept) != fmt.Sprint(wantKept) {
				t.Fatalf("%s: kept %v, unshared %v", c.filter, kept, wantKept)
			}
			if len(kept) == 0 {
				if cols != nil {
					t.Fatalf("%s: columns for no rows", c.filter)
				}
				continue
			}
			for i, e := range exprs {
				got, want := arrayValues(e.Type(), cols[i]), arrayValues(e.Type(), wantCols[i])
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s / %s: %v, unshared %v", c.filter, e, got, want)
				}
				if !arrow.TypeEqual(cols[i].DataType(), e.Type().Arrow()) {
					t.Fatalf("%s: type %s", e, cols[i].DataType())
				}
			}
		}
	}
}

// TestSharedKeys: only structurally identical, non-constant, non-volatile
// calls are shared.
func TestSharedKeys(t *testing.T) {
	key := func(sql string) string { return exprKey(bindCSE(t, sql)) }
	for _, c := range []struct {
		x, y string
		same bool
	}{
		{"LOWER(s)", "LOWER(s)", true},
		{"LOWER(s)", "UPPER(s)", false},
		{"LOWER(s)", "LOWER(u)", false},
		{"a + 1", "a + 1", true},
		{"a + 1", "a + 2", false},
		{"CAST(a AS INT)", "CAST(a AS BIGINT)", false},
		{"CAST(s AS BIGINT)", "TRY_CAST(s AS BIGINT)", false},
		{"s LIKE 'a!%' ESCAPE '!'", "s LIKE 'a!%'", false},
		{"a + 1", "a + 1.0", false},
	} {
		if got := key(c.x) == key(c.y); got != c.same {
			t.Errorf("%s vs %s: same key %v, want %v", c.x, c.y, got, c.same)
		}
	}
	for _, c := range []struct {
		sql  string
		want int
	}{
		{"CAST(CURRENT_TIMESTAMP AS STRING) = CAST(CURRENT_TIMESTAMP AS STRING)", 0},
		{"UPPER('x') = UPPER('x')", 0},
		{"LOWER(s) = 'a' OR LOWER(s) = 'b'", 1},
		{"LOWER(s) = 'a' OR LOWER(s) = 'a'", 2},
	} {
		if got := len(sharedKeys([]Expr{bindCSE(t, c.sql)})); got != c.want {
			t.Errorf("%s: %d shared, want %d", c.sql, got, c.want)
		}
	}
}

// TestMemoEvaluatesOnce: a shared REGEXP_EXTRACT in the filter and a
// projection runs its regular expression once per kept row, not twice.
func TestMemoEvaluatesOnce(t *testing.T) {
	f := bindCSE(t, "REGEXP_EXTRACT(u, 'channel_id=([0-9]*)', 1) IS NOT NULL")
	p := bindCSE(t, "REGEXP_EXTRACT(u, 'channel_id=([0-9]*)', 1)")
	prog, err := CompileCalc(f, []Expr{p}, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	memo, ok := prog.kernels[0].(*memoKernel)
	if !ok {
		t.Fatalf("projection compiled to %T, want a memoKernel", prog.kernels[0])
	}
	kf, ok := prog.filter.(*kernelFilter)
	if !ok {
		t.Fatalf("filter compiled to %T", prog.filter)
	}
	fmemo, ok := kf.k.(*unaryBoolKernel).x.(*memoKernel)
	if !ok {
		t.Fatalf("filter operand compiled to %T, want a memoKernel", kf.k.(*unaryBoolKernel).x)
	}
	filterCalls, projCalls := 0, 0
	fmemo.k = countingKernel{k: fmemo.k, n: &filterCalls}
	memo.k = countingKernel{k: memo.k, n: &projCalls}
	rec := batch.NewRecord(cseSchema, []arrow.Array{
		batch.Int64Array([]int64{1, 2, 3}, nil), batch.Int64Array([]int64{1, 2, 3}, nil),
		batch.StringArray([]string{"a", "b", "c"}, nil),
		batch.StringArray([]string{"channel_id=1", "x", "&channel_id=22"}, nil),
	}, 3)
	cols, kept, _, err := prog.Eval(rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(kept) != "[0 2]" || fmt.Sprint(arrayValues(p.Type(), cols[0])) != "[1 22]" {
		t.Fatalf("kept %v values %v", kept, arrayValues(p.Type(), cols[0]))
	}
	if filterCalls != 1 || projCalls != 0 {
		t.Fatalf("REGEXP_EXTRACT evaluated %d times by the filter and %d by the projection, want 1 and 0", filterCalls, projCalls)
	}
}

type countingKernel struct {
	k kernel
	n *int
}

func (k countingKernel) eval(c *ctx) (*vec, error) {
	*k.n++
	return k.k.eval(c)
}
