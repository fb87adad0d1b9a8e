package expr

import (
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

func same(v any) []any { return []any{v, v, v, v} }

func TestStringFunctions(t *testing.T) {
	// s: 'hello', 'World', 'ab_c%', NULL
	runEvalCases(t, []evalCase{
		{"UPPER(s)", i64s("HELLO", "WORLD", "AB_C%", nil)},
		{"LOWER(s)", i64s("hello", "world", "ab_c%", nil)},
		{"UPPER('grüne')", same("GRÜNE")},
		{"s || '!'", i64s("hello!", "World!", "ab_c%!", nil)},
		{"CONCAT(s, '-', s)", i64s("hello-hello", "World-World", "ab_c%-ab_c%", nil)},
		{"CONCAT_WS('-', s, 'x', NULL)", i64s("hello-x", "World-x", "ab_c%-x", "x")},
		{"CONCAT_WS(NULL, s)", same(nil)},
		{"CHAR_LENGTH(s)", i64s(int32(5), int32(5), int32(5), nil)},
		{"CHARACTER_LENGTH('héllo')", same(int32(5))},
		{"SUBSTRING(s, 2)", i64s("ello", "orld", "b_c%", nil)},
		{"SUBSTRING(s, 2, 3)", i64s("ell", "orl", "b_c", nil)},
		{"SUBSTRING(s, 0, 2)", i64s("he", "Wo", "ab", nil)},
		{"SUBSTRING(s, -3)", i64s("llo", "rld", "_c%", nil)},
		{"SUBSTRING(s, 10)", i64s("", "", "", nil)},
		{"SUBSTRING(s, 2, 9223372036854775807)", i64s("ello", "orld", "b_c%", nil)},
		{"SUBSTRING(s, -9223372036854775807, 2)", i64s("he", "Wo", "ab", nil)},
		{"SUBSTRING(s, 1, -1)", i64s(nil, nil, nil, nil)},
		{"LPAD('x', 9223372036854775807, '*')", same(nil)},
		{"SUBSTRING('héllo', 2, 2)", same("él")},
		{"SUBSTR(s, 1, 1)", i64s("h", "W", "a", nil)},
		{"TRIM('  x y  ')", same("x y")},
		{"LTRIM('  x ')", same("x ")},
		{"RTRIM('  x ')", same("  x")},
		{"TRIM(s, 'ho')", i64s("ell", "World", "ab_c%", nil)},
		{"REPLACE(s, 'l', 'L')", i64s("heLLo", "WorLd", "ab_c%", nil)},
		{"REPLACE(s, '', 'L')", i64s("hello", "World", "ab_c%", nil)},
		{"POSITION('l', s)", i64s(int32(3), int32(4), int32(0), nil)},
		{"LOCATE('l', s, 4)", i64s(int32(4), int32(4), int32(0), nil)},
		{"REGEXP_EXTRACT(s, '([a-z]+)l', 1)", i64s("hel", "or", nil, nil)},
		{"REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)', 2)", same("bar")},
		{"REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)')", same("foothebar")},
		{"REGEXP_EXTRACT(s, 'z(.)', 1)", i64s(nil, nil, nil, nil)},
		{"REGEXP(s, '^[a-z]+$')", i64s(true, false, false, nil)},
		{"REGEXP_REPLACE(s, '[lo]+', '*')", i64s("he*", "W*r*d", "ab_c%", nil)},
		{"REGEXP_REPLACE('2024-05-06', '(\\d+)-(\\d+)-(\\d+)', '$3.$2.$1')", same("06.05.2024")},
		{"SPLIT_INDEX('a,b,c', ',', 1)", same("b")},
		{"SPLIT_INDEX('a,b,c', ',', 3)", same(nil)},
		{"SPLIT_INDEX('a,b,c', ',', -1)", same(nil)},
		{"LPAD(s, 7, '*')", i64s("**hello", "**World", "**ab_c%", nil)},
		{"RPAD(s, 3, '*')", i64s("hel", "Wor", "ab_", nil)},
		{"INITCAP('hello wORLD')", same("Hello World")},
		{"REVERSE(s)", i64s("olleh", "dlroW", "%c_ba", nil)},
		{"REPEAT('ab', 3)", same("ababab")},
	})
}

func TestLike(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"s LIKE 'hello'", i64s(true, false, false, nil)},
		{"s LIKE 'h%'", i64s(true, false, false, nil)},
		{"s LIKE '%d'", i64s(false, true, false, nil)},
		{"s LIKE '%l%'", i64s(true, true, false, nil)},
		{"s LIKE '_o%'", i64s(false, true, false, nil)},
		{"s LIKE 'h_l%o'", i64s(true, false, false, nil)},
		{"s LIKE '%'", i64s(true, true, true, nil)},
		{"s NOT LIKE 'h%'", i64s(false, true, true, nil)},
		{"s LIKE 'ab\\_c\\%'", i64s(false, false, true, nil)},
		{"s LIKE 'abx_c%' ESCAPE 'x'", i64s(false, false, true, nil)},
		{"s LIKE 'abx_cx%' ESCAPE 'x'", i64s(false, false, true, nil)},
		{"'ab' LIKE 'a_'", same(true)},
		{"'aXb' LIKE 'a%%b'", same(true)},
		{"'héllo' LIKE 'h_llo'", same(true)},
		{"'mississippi' LIKE '%iss%ppi'", same(true)},
		{"'mississippi' LIKE '%iss%ppx'", same(false)},
		{"s LIKE s", i64s(true, true, true, nil)},
		{"'abc' LIKE NULL", same(nil)},
	})
}

func TestMathFunctions(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"ABS(a - 10)", i64s(int64(9), int64(190), int64(13), int64(3))},
		{"ABS(m)", i64s(int64(1050), int64(199), int64(0), nil)},
		{"ABS(d)", i64s(0.25, 1.5, 2.0, nil)},
		{"SIGN(a)", i64s(int64(1), int64(1), int64(-1), int64(1))},
		{"SIGN(m)", i64s(int64(100), int64(-100), int64(0), nil)},
		{"FLOOR(d)", i64s(0.0, 1.0, -2.0, nil)},
		{"CEIL(d)", i64s(1.0, 2.0, -2.0, nil)},
		{"FLOOR(m)", i64s(int64(10), int64(-2), int64(0), nil)},
		{"CEILING(m)", i64s(int64(11), int64(-1), int64(0), nil)},
		{"ROUND(m, 1)", i64s(int64(105), int64(-20), int64(0), nil)},
		{"ROUND(m)", i64s(int64(11), int64(-2), int64(0), nil)},
		{"ROUND(a, -1)", i64s(int64(0), int64(200), int64(0), int64(10))},
		{"ROUND(2.5)", same(int64(3))},
		{"ROUND(d, 1)", i64s(0.3, 1.5, -2.0, nil)},
		{"ROUND(1.005e0, 2)", same(1.01)},
		{"ROUND(-2.5e0)", same(-3.0)},
		{"TRUNCATE(m, 1)", i64s(int64(105), int64(-19), int64(0), nil)},
		{"POWER(2, 10)", same(1024.0)},
		{"LN(1)", same(0.0)},
		{"LOG10(1000)", same(3.0)},
		{"EXP(0)", same(1.0)},
		{"LOG(2, 8)", same(3.0)},
		{"MOD(m, 3)", i64s(int64(150), int64(-199), int64(0), nil)},
	})
	got, _, err := evalSQL(t, "SQRT(d)")
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 0.5 || got[3] != nil || got[2].(float64) == got[2].(float64) {
		t.Errorf("SQRT(d) = %v (want 0.5 ... NaN, NULL)", got)
	}
	runErrCases(t, []errCase{
		{"ABS(big)", "ABS(big): BIGINT overflow"},
	})
}

func TestCaseMapAndContainsEdges(t *testing.T) {
	var all []byte
	for c := 0; c < 128; c++ {
		all = append(all, byte(c))
	}
	vals := []string{string(all), "abcdefgh" + "XYZ@[`{", "b", "c", "bc", "Ünï", ""}
	rec := batch.NewRecord(types.NewSchema(types.Field{Name: "s", Type: types.TypeString}),
		[]arrow.Array{batch.StringArray(vals, nil)}, len(vals))
	defer rec.Release()
	// Also through a slice, whose offsets do not start at zero.
	sliced := rec.NewSlice(1, int64(len(vals)))
	defer sliced.Release()
	scope := fakeScope{types.NewSchema(types.Field{Name: "s", Type: types.TypeString})}
	for _, r := range []arrow.Record{rec, sliced} {
		for _, sql := range []string{"UPPER(s)", "LOWER(s)", "s LIKE '%bc%'", "s LIKE '%c%'", "s NOT LIKE '%@[%'"} {
			pe, err := parseExpr(sql)
			if err != nil {
				t.Fatal(err)
			}
			e, err := Bind(pe, scope, BindOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile([]Expr{e}, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.Eval(r)
			if err != nil {
				t.Fatal(err)
			}
			in := r.Column(0).(*array.String)
			for i := 0; i < int(r.NumRows()); i++ {
				s := in.Value(i)
				var want any
				switch sql {
				case "UPPER(s)":
					want = strings.ToUpper(s)
				case "LOWER(s)":
					want = strings.ToLower(s)
				case "s LIKE '%bc%'":
					want = strings.Contains(s, "bc")
				case "s LIKE '%c%'":
					want = strings.Contains(s, "c")
				default:
					want = !strings.Contains(s, "@[")
				}
				var got any
				switch o := out[0].(type) {
				case *array.String:
					got = o.Value(i)
				case *array.Boolean:
					got = o.Value(i)
				}
				if got != want {
					t.Errorf("%s on %q = %v, want %v", sql, s, got, want)
				}
			}
			out[0].Release()
		}
	}
}
