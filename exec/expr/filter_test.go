package expr

import (
	"reflect"
	"testing"
)

// TestSelectMatchesEval checks that every filter path (column-constant
// compare, AND narrowing, OR merging, IS NULL, general kernels) keeps
// exactly the rows whose projected value is TRUE.
func TestSelectMatchesEval(t *testing.T) {
	exprs := []struct {
		sql  string
		want []int32
	}{
		{"a > 100", []int32{1}},
		{"100 < a", []int32{1}},
		{"a >= 1 AND a <= 7", []int32{0, 3}},
		{"a = 7 OR a = 1", []int32{0, 3}},
		{"i > 1", []int32{1, 2}},
		{"d < 0.5", []int32{0, 2}},
		{"d < 0.5 AND a > 0", []int32{0}},
		{"b IS NULL", []int32{3}},
		{"b IS NOT NULL AND a > 1", []int32{1}},
		{"f", []int32{0, 2}},
		{"NOT f", []int32{1}},
		{"f IS NOT TRUE", []int32{1, 3}},
		{"b <> 0 AND a / b >= 0", []int32{0, 2}},
		{"b = 0 OR a / b < 0", []int32{1}},
		{"s LIKE 'h%'", []int32{0}},
		{"s LIKE '%o%'", []int32{0, 1}},
		{"a IN (1, 200) OR s = 'ab_c%'", []int32{0, 1, 2}},
		{"a = NULL", nil},
		{"TRUE", []int32{0, 1, 2, 3}},
		{"b > 1 OR f", []int32{0, 2}},
		{"a > 0 AND (b > 5 OR d > 1)", []int32{0, 1}},
		{"ts > '2000-01-01 00:00:00' AND dt < '2024-03-15'", []int32{2}},
		{"ltz < '2000-01-01 00:00:00'", []int32{1, 2}},
		{"m >= 0", []int32{0, 2}},
		{"i = 2 OR i = 1", []int32{0, 1}},
		{"s = 'World' OR s IS NULL", []int32{1, 3}},
	}
	rec := testRecord()
	defer rec.Release()
	for _, c := range exprs {
		e, err := bindSQL(t, c.sql)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		p, err := CompilePredicate(e, testEnv)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		// A dirty, too-short buffer must be ignored.
		sel, err := p.Select(rec, []int32{9, 9})
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if len(sel) == 0 {
			sel = nil
		}
		if !reflect.DeepEqual(sel, c.want) {
			t.Errorf("%s: Select = %v, want %v", c.sql, sel, c.want)
		}
		vals, _, err := evalSQL(t, c.sql)
		if err != nil {
			t.Errorf("%s: eval: %v", c.sql, err)
			continue
		}
		var fromEval []int32
		for i, v := range vals {
			if v == true {
				fromEval = append(fromEval, int32(i))
			}
		}
		if !reflect.DeepEqual(fromEval, c.want) {
			t.Errorf("%s: Eval TRUE rows = %v, want %v", c.sql, fromEval, c.want)
		}
	}
}

func TestSelectErrors(t *testing.T) {
	rec := testRecord()
	defer rec.Release()
	e, err := bindSQL(t, "a / b > 1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := CompilePredicate(e, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Select(rec, nil); err == nil || err.Error() != "a / b: division by zero" {
		t.Fatalf("got %v", err)
	}
	e, _ = bindSQL(t, "a + 1")
	if _, err := CompilePredicate(e, testEnv); err == nil {
		t.Fatal("non-boolean predicate accepted")
	}
}

func TestSlicedRecord(t *testing.T) {
	rec := testRecord()
	defer rec.Release()
	sl := rec.NewSlice(1, 4) // rows 1..3 of the fixture
	defer sl.Release()
	for _, c := range []struct {
		sql  string
		want []int32
	}{
		{"b IS NULL", []int32{2}},
		{"a > 100", []int32{0}},
		{"f", []int32{1}},
		{"s LIKE '%b%'", []int32{1}},
	} {
		e, err := bindSQL(t, c.sql)
		if err != nil {
			t.Fatal(err)
		}
		p, err := CompilePredicate(e, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Select(sl, nil)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s on a slice: %v, %v; want %v", c.sql, got, err, c.want)
		}
	}
	e, err := bindSQL(t, "a + b")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile([]Expr{e}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Eval(sl)
	if err != nil {
		t.Fatal(err)
	}
	defer out[0].Release()
	if got := out[0].String(); got != "[200 2 (null)]" {
		t.Errorf("a + b on a slice = %s", got)
	}
}

func TestEmptyBatch(t *testing.T) {
	rec := testRecord()
	defer rec.Release()
	empty := rec.NewSlice(0, 0)
	defer empty.Release()
	for _, sql := range []string{"a + 1", "UPPER(s)", "CASE WHEN f THEN 1 END", "CAST(s AS INT)", "'x'", "d * 0.9 + 1", "a / b"} {
		e, err := bindSQL(t, sql)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile([]Expr{e}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Eval(empty)
		if err != nil || out[0].Len() != 0 {
			t.Fatalf("%s on no rows: %v", sql, err)
		}
		out[0].Release()
	}
	e, _ := bindSQL(t, "a > 1 AND s LIKE '%x%'")
	p, err := CompilePredicate(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sel, err := p.Select(empty, nil); err != nil || len(sel) != 0 {
		t.Fatalf("Select on no rows: %v %v", sel, err)
	}
}
