package expr

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zone data for the session-time-zone tests on any machine

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

type evalCase struct {
	sql  string
	want []any
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		got, _, err := evalSQL(t, c.sql)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.sql, got, c.want)
		}
	}
}

type errCase struct {
	sql  string
	want string // substring of the error
}

func runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, c := range cases {
		_, _, err := evalSQL(t, c.sql)
		if err == nil {
			t.Errorf("%s: no error, want %q", c.sql, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want %q", c.sql, err, c.want)
		}
	}
}

func i64s(v ...any) []any { return v }

func TestArithmetic(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"a + b", i64s(int64(11), int64(200), int64(2), nil)},
		{"a - b", i64s(int64(-9), int64(200), int64(-8), nil)},
		{"a * 2", i64s(int64(2), int64(400), int64(-6), int64(14))},
		{"2 * a", i64s(int64(2), int64(400), int64(-6), int64(14))},
		{"a * b", i64s(int64(10), int64(0), int64(-15), nil)},
		{"100 - a", i64s(int64(99), int64(-100), int64(103), int64(93))},
		{"a / 2", i64s(int64(0), int64(100), int64(-1), int64(3))},
		{"a % 2", i64s(int64(1), int64(0), int64(-1), int64(1))},
		{"MOD(a, 3)", i64s(int64(1), int64(2), int64(0), int64(1))},
		{"-a", i64s(int64(-1), int64(-200), int64(3), int64(-7))},
		{"i - 1", i64s(int32(0), int32(1), int32(2147483646), nil)},
	})
	runEvalCases(t, []evalCase{
		// INT / INT is integer division (Flink), INT with BIGINT widens.
		{"7 / 2", i64s(int32(3), int32(3), int32(3), int32(3))},
		{"i + a", i64s(int64(2), int64(202), int64(2147483644), nil)},
		{"d * 2", i64s(0.5, 3.0, -4.0, nil)},
		{"d + a", i64s(1.25, 201.5, -5.0, nil)},
		{"d / 0", i64s(math.Inf(1), math.Inf(1), math.Inf(-1), nil)},
		{"a * 0.5", i64s(int64(5), int64(1000), int64(-15), int64(35))}, // DECIMAL(20,1) -> capped DECIMAL(18,1)
		{"m + 1", i64s(int64(1150), int64(-99), int64(100), nil)},
		{"m * m", i64s(int64(1102500), int64(39601), int64(0), nil)},
		{"m / 4", i64s(int64(26250000000), int64(-4975000000), int64(0), nil)},
		{"m - 0.005", i64s(int64(10495), int64(-1995), int64(-5), nil)},
		{"NULL + a", i64s(nil, nil, nil, nil)},
		// DECIMAL(18, 10) * DECIMAL(18, 10) is DECIMAL(18, 6), DECIMAL(5, 0) / INT
		// is DECIMAL(16, 11): rounding HALF_UP.
		{"CAST(0.0000025 AS DECIMAL(18, 10)) * CAST(1 AS DECIMAL(18, 10))", same(int64(3))},
		{"CAST(-0.0000025 AS DECIMAL(18, 10)) * CAST(1 AS DECIMAL(18, 10))", same(int64(-3))},
		{"CAST(0.0000024 AS DECIMAL(18, 10)) * CAST(1 AS DECIMAL(18, 10))", same(int64(2))},
		{"CAST(1 AS DECIMAL(5, 0)) / 3", same(int64(33333333333))},
		{"CAST(2 AS DECIMAL(5, 0)) / 3", same(int64(66666666667))},
		{"CAST(-2 AS DECIMAL(5, 0)) / 3", same(int64(-66666666667))},
	})
}

func TestArithmeticTypes(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"a + b", "BIGINT"},
		{"a + 1", "BIGINT NOT NULL"},
		{"i + 1", "INT"},
		{"i / 2", "INT"},
		{"d + i", "DOUBLE"},
		{"m + m", "DECIMAL(11, 2)"},
		{"m * m", "DECIMAL(18, 4)"},
		{"m / m", "DECIMAL(18, 8)"},
		{"m + 0.5", "DECIMAL(11, 2)"},
		{"i * 1.5", "DECIMAL(12, 1)"},
		{"a * 0.5", "DECIMAL(18, 1) NOT NULL"},
		{"ts + INTERVAL '1' SECOND", "TIMESTAMP(3)"},
		{"INTERVAL '1' HOUR + ts", "TIMESTAMP(3)"},
		{"INTERVAL '1' HOUR * 2", "INTERVAL DAY TO SECOND NOT NULL"},
	}
	for _, c := range cases {
		e, err := bindSQL(t, c.sql)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if got := e.Type().String(); got != c.want {
			t.Errorf("%s: type %s, want %s", c.sql, got, c.want)
		}
	}
}

func TestArithmeticErrors(t *testing.T) {
	runErrCases(t, []errCase{
		{"big + 1", "big + 1: BIGINT overflow"},
		{"big - 1", "BIGINT overflow"},
		{"big * 2", "BIGINT overflow"},
		{"big * b", "BIGINT overflow"},
		{"b + big", "BIGINT overflow"},
		{"-big", "BIGINT overflow"},
		{"i + 1", "i + 1: INT overflow"},
		{"i * i", "INT overflow"},
		{"a / b", "a / b: division by zero"},
		{"a % b", "division by zero"},
		{"m / (m - m)", "division by zero"},
		{"CAST(a AS DECIMAL(17, 0)) * 10000000000000000", "DECIMAL(18, 0) overflow"},
		{"CAST(a AS DECIMAL(18, 0)) + 999999999999999999", "DECIMAL(18, 0) overflow"},
	})
}

func TestNullRowsDoNotFail(t *testing.T) {
	// The value under a NULL is arbitrary: a zero or a huge number there
	// must not raise division by zero or overflow.
	sch := types.NewSchema(
		types.Field{Name: "x", Type: types.TypeBigInt},
		types.Field{Name: "y", Type: types.TypeBigInt},
	)
	rec := batch.NewRecord(sch, []arrow.Array{
		batch.Int64Array([]int64{6, math.MaxInt64}, []bool{true, false}),
		batch.Int64Array([]int64{3, 0}, []bool{true, false}),
	}, 2)
	defer rec.Release()
	for _, sql := range []string{"x / y", "x + 1", "x * 2", "x % y"} {
		pe, err := parseExpr(sql)
		if err != nil {
			t.Fatal(err)
		}
		e, err := Bind(pe, fakeScope{sch}, BindOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile([]Expr{e}, testEnv)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Eval(rec)
		if err != nil {
			t.Errorf("%s: %v", sql, err)
			continue
		}
		if out[0].IsValid(1) || !out[0].IsValid(0) {
			t.Errorf("%s: validity wrong: %v", sql, out[0])
		}
		out[0].Release()
	}
}

func TestComparisons(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"a > 100", i64s(false, true, false, false)},
		{"100 < a", i64s(false, true, false, false)},
		{"a = b", i64s(false, false, false, nil)},
		{"a <> b", i64s(true, true, true, nil)},
		{"a <= 1", i64s(true, false, true, false)},
		{"i >= 2", i64s(false, true, true, nil)},
		{"i > a", i64s(false, false, true, nil)},
		{"d < 0.5", i64s(true, false, true, nil)},
		{"m > 1", i64s(true, false, false, nil)},
		{"m = 10.5", i64s(true, false, false, nil)},
		{"m > d", i64s(true, false, true, nil)},
		{"s = 'hello'", i64s(true, false, false, nil)},
		{"s < 'b'", i64s(false, true, true, nil)},
		{"ts > '2000-01-01 00:00:00'", i64s(true, false, true, nil)},
		{"ts >= TIMESTAMP '2024-01-01 00:00:00'", i64s(true, false, true, nil)},
		{"dt = '2000-02-29'", i64s(false, true, false, nil)},
		{"dt < ts", i64s(true, false, true, nil)},
		{"ltz >= '2024-03-15 10:20:30'", i64s(true, false, false, nil)},
		{"INTERVAL '1' HOUR > INTERVAL '59' MINUTE", same(true)},
		{"s = NULL", same(nil)},
		{"m BETWEEN 0 AND 10.5", i64s(true, false, true, nil)},
		{"a = '7'", i64s(false, false, false, true)},
		{"f = TRUE", i64s(true, false, true, nil)},
		{"a = NULL", i64s(nil, nil, nil, nil)},
		{"a BETWEEN 1 AND 7", i64s(true, false, false, true)},
		{"a NOT BETWEEN 1 AND 7", i64s(false, true, true, false)},
	})
}

func TestLogic(t *testing.T) {
	runEvalCases(t, []evalCase{
		// f: T, F, T, NULL; b > 1: T, F, T, NULL
		{"f AND a > 100", i64s(false, false, false, false)},
		{"f OR a > 100", i64s(true, true, true, nil)},
		{"f AND b IS NULL", i64s(false, false, false, nil)},
		{"f OR b IS NULL", i64s(true, false, true, true)},
		{"f AND FALSE", i64s(false, false, false, false)},
		{"f AND NULL", i64s(nil, false, nil, nil)},
		{"f OR NULL", i64s(true, nil, true, nil)},
		{"NOT f", i64s(false, true, false, nil)},
		{"f IS NULL", i64s(false, false, false, true)},
		{"f IS NOT NULL", i64s(true, true, true, false)},
		{"f IS TRUE", i64s(true, false, true, false)},
		{"f IS NOT TRUE", i64s(false, true, false, true)},
		{"f IS FALSE", i64s(false, true, false, false)},
		{"f IS NOT FALSE", i64s(true, false, true, true)},
		{"b <> 0 AND a / b > 1", i64s(false, false, false, nil)},
		{"b = 0 OR a / b < 0", i64s(false, true, false, nil)},
	})
}

func TestCaseAndConditionals(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"CASE WHEN a > 100 THEN 'big' WHEN a > 0 THEN 'pos' ELSE 'neg' END", i64s("pos", "big", "neg", "pos")},
		{"CASE a WHEN 1 THEN 10 WHEN 7 THEN 70 END", i64s(int32(10), nil, nil, int32(70))},
		{"CASE WHEN f THEN d ELSE a END", i64s(0.25, 200.0, -2.0, 7.0)},
		{"CASE WHEN b = 0 THEN NULL ELSE a / b END", i64s(int64(0), nil, int64(0), nil)},
		{"COALESCE(b, a)", i64s(int64(10), int64(0), int64(5), int64(7))},
		{"COALESCE(NULL, s, 'x')", i64s("hello", "World", "ab_c%", "x")},
		{"IFNULL(i, 0)", i64s(int32(1), int32(2), int32(2147483647), int32(0))},
		{"IF(f, 'y', 'n')", i64s("y", "n", "y", "n")},
		{"NULLIF(a, 200)", i64s(int64(1), nil, int64(-3), int64(7))},
		{"a IN (1, 7, 9)", i64s(true, false, false, true)},
		{"a NOT IN (1, 7, 9)", i64s(false, true, true, false)},
		{"b IN (10, NULL)", i64s(true, nil, nil, nil)},
		{"b NOT IN (10, NULL)", i64s(false, nil, nil, nil)},
		{"s IN ('hello', 'World')", i64s(true, true, false, nil)},
		{"a IN (b, 200)", i64s(false, true, false, nil)},
		{"dt IN ('2000-02-29', '1970-01-01')", i64s(false, true, true, nil)},
		{"GREATEST(a, b)", i64s(int64(10), int64(200), int64(5), nil)},
		{"LEAST(a, 5)", i64s(int64(1), int64(5), int64(-3), int64(5))},
	})
}

func TestCast(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"CAST(a AS STRING)", i64s("1", "200", "-3", "7")},
		{"CAST(d AS STRING)", i64s("0.25", "1.5", "-2.0", nil)},
		{"CAST(m AS STRING)", i64s("10.50", "-1.99", "0.00", nil)},
		{"CAST(f AS STRING)", i64s("TRUE", "FALSE", "TRUE", nil)},
		{"CAST(ts AS STRING)", i64s("2024-03-15 10:20:30.123", "1999-12-31 23:59:59.000", "2024-01-01 00:00:00.000", nil)},
		{"CAST(dt AS STRING)", i64s("2024-03-15", "2000-02-29", "1970-01-01", nil)},
		{"CAST(s AS VARCHAR(3))", i64s("hel", "Wor", "ab_", nil)},
		{"CAST(a AS DOUBLE)", i64s(1.0, 200.0, -3.0, 7.0)},
		{"CAST(i AS DOUBLE)", i64s(1.0, 2.0, 2147483647.0, nil)},
		{"CAST(m AS DOUBLE)", i64s(10.5, -1.99, 0.0, nil)},
		{"CAST(d AS INT)", i64s(int32(0), int32(1), int32(-2), nil)},
		{"CAST(m AS BIGINT)", i64s(int64(10), int64(-1), int64(0), nil)},
		{"CAST(m AS DECIMAL(10, 1))", i64s(int64(105), int64(-20), int64(0), nil)},
		{"CAST(d AS DECIMAL(5, 1))", i64s(int64(3), int64(15), int64(-20), nil)},
		{"CAST(a AS DECIMAL(5, 2))", i64s(int64(100), int64(20000), int64(-300), int64(700))},
		{"CAST('12.345' AS DECIMAL(5, 2))", i64s(int64(1235), int64(1235), int64(1235), int64(1235))},
		{"CAST('-12.345' AS DECIMAL(5, 2))", i64s(int64(-1235), int64(-1235), int64(-1235), int64(-1235))},
		{"CAST(' 42 ' AS INT)", i64s(int32(42), int32(42), int32(42), int32(42))},
		{"CAST('1e3' AS DOUBLE)", i64s(1000.0, 1000.0, 1000.0, 1000.0)},
		{"CAST('TRUE' AS BOOLEAN)", i64s(true, true, true, true)},
		{"CAST(a AS BOOLEAN)", i64s(true, true, true, true)},
		{"CAST(f AS INT)", i64s(int32(1), int32(0), int32(1), nil)},
		{"CAST(ts AS DATE)", i64s(mustDate("2024-03-15"), mustDate("1999-12-31"), mustDate("2024-01-01"), nil)},
		{"CAST(dt AS TIMESTAMP(3))", i64s(mustTS("2024-03-15 00:00:00"), mustTS("2000-02-29 00:00:00"), int64(0), nil)},
		{"CAST(ts AS TIMESTAMP(0))", i64s(mustTS("2024-03-15 10:20:30"), mustTS("1999-12-31 23:59:59"), mustTS("2024-01-01 00:00:00"), nil)},
		{"CAST('2024-01-02 03:04:05.5' AS TIMESTAMP(3))", i64s(mustTS("2024-01-02 03:04:05.5"), mustTS("2024-01-02 03:04:05.5"), mustTS("2024-01-02 03:04:05.5"), mustTS("2024-01-02 03:04:05.5"))},
		{"TRY_CAST(s AS INT)", i64s(nil, nil, nil, nil)},
		{"TRY_CAST('12' AS INT)", i64s(int32(12), int32(12), int32(12), int32(12))},
		{"TRY_CAST(big AS INT)", i64s(nil, nil, int32(1), nil)},
		{"TRY_CAST(s AS DATE)", i64s(nil, nil, nil, nil)},
		{"CAST(ltz AS TIMESTAMP(3))", i64s(mustTS("2024-03-15 10:20:30"), int64(0), int64(0), nil)},
		{"CAST(NULL AS INT)", i64s(nil, nil, nil, nil)},
	})
	runErrCases(t, []errCase{
		{"CAST(s AS INT)", "CAST(s AS INT): cannot cast 'hello' to INT"},
		{"CAST(big AS INT)", "cannot cast 9223372036854775807 to INT"},
		{"CAST(s AS TIMESTAMP(3))", "cannot cast 'hello' to TIMESTAMP(3)"},
		{"CAST(a AS DECIMAL(3, 2))", "cannot cast 200 to DECIMAL(3, 2)"},
		{"CAST('x' AS BOOLEAN)", "cannot cast 'x' to BOOLEAN"},
	})
}

func TestCastLTZUsesSessionZone(t *testing.T) {
	env := *testEnv
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	env.Location = loc
	got, _, err := evalSQLEnv(t, "CAST(ltz AS STRING)", &env)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "2024-03-15 18:20:30.000" || got[1] != "1970-01-01 08:00:00.000" {
		t.Fatalf("got %#v", got)
	}
	got, _, err = evalSQLEnv(t, "CAST(ts AS TIMESTAMP_LTZ(3))", &env)
	if err != nil {
		t.Fatal(err)
	}
	if got[2] != mustTS("2023-12-31 16:00:00") {
		t.Fatalf("got %#v", got)
	}
}

func TestBindErrors(t *testing.T) {
	cases := []struct {
		sql, msg string
		col      int
	}{
		{"s + 1", "cannot apply '+' to STRING and INT", 3},
		{"a + zz", "unknown column 'zz'", 5},
		{"FOO(a)", "unknown function 'FOO'", 1},
		{"MD5(s)", "not supported yet: function MD5", 1},
		{"SUBSTRING(s)", "function SUBSTRING expects 2 or 3 arguments, got 1", 1},
		{"UPPER(a)", "function UPPER expects STRING, got BIGINT", 7},
		{"a AND f", "AND expects BOOLEAN, got BIGINT", 3},
		{"COUNT(*) + 1", "aggregate function COUNT is not allowed here", 1},
		{"SUM(a)", "aggregate function SUM is not allowed here", 1},
		{"a = s", "cannot apply '=' to BIGINT and STRING", 3},
		{"ts = 'not a time'", "cannot convert 'not a time' to TIMESTAMP(3)", 6},
		{"CASE WHEN f THEN 1 ELSE 'x' END", "CASE: cannot find a common type for INT, STRING", 1},
		{"CAST(ts AS INT)", "cannot cast TIMESTAMP(3) to INT", 1},
		{"INTERVAL '1' MONTH", "not supported yet: MONTH intervals", 1},
		{"12345678901234567890.5", "not supported yet", 1},
		{"s LIKE 'a\\'", "ends with the escape character", 8},
		{"REGEXP(s, '(')", "invalid regular expression", 11},
		{"ts - ts", "not supported yet: subtracting", 4},
		{"TO_TIMESTAMP_LTZ(a, 6)", "precision must be 0 (seconds) or 3", 21},
	}
	for _, c := range cases {
		_, err := bindSQL(t, c.sql)
		if err == nil {
			t.Errorf("%s: no error, want %q", c.sql, c.msg)
			continue
		}
		ae, ok := asAstError(err)
		if !ok {
			t.Errorf("%s: %T %v is not an *ast.Error", c.sql, err, err)
			continue
		}
		if !strings.Contains(ae.Msg, c.msg) || ae.Pos.Col != c.col {
			t.Errorf("%s: got %q at col %d, want %q at col %d", c.sql, ae.Msg, ae.Pos.Col, c.msg, c.col)
		}
	}
}

func TestAggregateCallback(t *testing.T) {
	e, err := parseExpr("SUM(a) * 2")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	got, err := Bind(e, fakeScope{testSchema}, BindOptions{OnAggregate: func(c *ast.Call) (Expr, error) {
		seen = append(seen, c.Name)
		return NewColumn(5, types.TypeBigInt, "agg0"), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "SUM" || got.String() != "agg0 * 2" {
		t.Fatalf("seen %v, bound %s", seen, got)
	}
	if !IsAggregate("COUNT") || IsAggregate("UPPER") {
		t.Fatal("IsAggregate")
	}
}

func TestStringRefsRemap(t *testing.T) {
	e, err := bindSQL(t, "UPPER(s) || 'x' = 'A' AND (a + b * 2 > 3 OR i IS NULL)")
	if err != nil {
		t.Fatal(err)
	}
	want := "CONCAT(UPPER(s), 'x') = 'A' AND (a + b * 2 > 3 OR i IS NULL)"
	if got := e.String(); got != want {
		t.Errorf("String() = %s\nwant        %s", got, want)
	}
	if got := Refs(e); !reflect.DeepEqual(got, []int{0, 1, 2, 4}) {
		t.Errorf("Refs = %v", got)
	}
	r := Remap(e, map[int]int{0: 10, 4: 11})
	if got := Refs(r); !reflect.DeepEqual(got, []int{1, 2, 10, 11}) {
		t.Errorf("Refs after Remap = %v", got)
	}
	if got := Refs(e); !reflect.DeepEqual(got, []int{0, 1, 2, 4}) {
		t.Errorf("Remap modified its input: %v", got)
	}
}

func TestConst(t *testing.T) {
	cases := []struct {
		sql  string
		want any
	}{
		{"INTERVAL '5' SECOND", int64(5000)},
		{"INTERVAL '1' HOUR + INTERVAL '30' MINUTE", int64(5_400_000)},
		{"INTERVAL '1:30' HOUR TO MINUTE", int64(5_400_000)},
		{"INTERVAL '2 01:00:00.5' DAY TO SECOND", int64(2*86_400_000 + 3_600_000 + 500)},
		{"10 * 2", int32(20)},
		{"'a' || 'b'", "ab"},
		{"1.5 + 1", int64(25)},
		{"NULL", nil},
	}
	for _, c := range cases {
		e, err := bindSQL(t, c.sql)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		got, err := Const(e, testEnv)
		if err != nil || got != c.want {
			t.Errorf("Const(%s) = %#v, %v; want %#v", c.sql, got, err, c.want)
		}
	}
	e, _ := bindSQL(t, "a + 1")
	if _, err := Const(e, testEnv); err == nil {
		t.Error("Const of a column reference: no error")
	}
}

func TestExplainStrings(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"CAST(a AS STRING)", "CAST(a AS STRING)"},
		{"TRY_CAST(s AS INT)", "TRY_CAST(s AS INT)"},
		{"i + a", "i + a"}, // the implicit widening is not shown
		{"(a + b) * 2", "(a + b) * 2"},
		{"a - (b - 1)", "a - (b - 1)"},
		{"-(a + 1)", "-(a + 1)"},
		{"CASE WHEN a > 1 THEN 'x' ELSE 'y' END", "CASE WHEN a > 1 THEN 'x' ELSE 'y' END"},
		{"a IN (1, 2)", "a IN (1, 2)"},
		{"s NOT LIKE 'a%'", "s NOT LIKE 'a%'"},
		{"EXTRACT(YEAR FROM ts)", "EXTRACT(YEAR FROM ts)"},
		{"ts + INTERVAL '5' SECOND", "ts + INTERVAL '5' SECOND"},
		{"NULLIF(a, 1)", "NULLIF(a, 1)"},
		{"b IS NOT NULL", "b IS NOT NULL"},
		{"NOT (f AND a > 1)", "NOT (f AND a > 1)"},
		{"m * 1.50", "m * 1.50"},
		{"ts > '2024-01-01 00:00:00'", "ts > TIMESTAMP '2024-01-01 00:00:00.000'"},
		{"TIMESTAMPADD(HOUR, 1, ts)", "TIMESTAMPADD(HOUR, 1, ts)"},
		{"d * 1e3", "d * 1000.0"},
	}
	for _, c := range cases {
		e, err := bindSQL(t, c.sql)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("%s: String() = %s, want %s", c.sql, got, c.want)
		}
	}
}
