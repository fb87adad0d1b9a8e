package sql

import (
	"testing"

	"github.com/streamsql/streamsql/sql/ast"
)

// parseOneQuery parses a single SELECT statement.
func parseOneQuery(t *testing.T, text string) *ast.Select {
	t.Helper()
	stmts, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	if len(stmts) != 1 {
		t.Fatalf("Parse(%q): %d statements, want 1", text, len(stmts))
	}
	q, ok := stmts[0].Node.(*ast.Query)
	if !ok {
		t.Fatalf("Parse(%q): got %T, want *ast.Query", text, stmts[0].Node)
	}
	return q.Select
}

func TestExpressions(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a + b * 2 - c / 4 % 3", "(- (+ a (* b 2)) (% (/ c 4) 3))"},
		{"a = 1 AND b <> 2 OR NOT c < 3", "(OR (AND (= a 1) (<> b 2)) (NOT (< c 3)))"},
		{"a != 1 AND b >= 2 AND c <= 3 AND d > 4", "(AND (AND (AND (<> a 1) (>= b 2)) (<= c 3)) (> d 4))"},
		{"-a + (+b)", "(+ (- a) b)"},
		{"a IS NULL", "(IS NULL a)"},
		{"a IS NOT NULL", "(IS NOT NULL a)"},
		{"a IS TRUE", "(IS TRUE a)"},
		{"a IS NOT FALSE", "(IS NOT FALSE a)"},
		{"CASE a WHEN 1 THEN 'x' WHEN 2 THEN 'y' ELSE 'z' END", "(CASE a (WHEN 1 'x') (WHEN 2 'y') (ELSE 'z'))"},
		{"CASE WHEN a > 1 THEN 1 END", "(CASE (WHEN (> a 1) 1))"},
		{"CAST(a AS BIGINT)", "(CAST a BIGINT)"},
		{"CAST(a AS STRING)", "(CAST a STRING)"},
		{"CAST(a AS INT)", "(CAST a INT)"},
		{"CAST(a AS DECIMAL(10, 2))", "(CAST a DECIMAL(10, 2))"},
		{"CAST(a AS TIMESTAMP(3))", "(CAST a TIMESTAMP(3))"},
		{"CAST(a AS VARCHAR)", "(CAST a STRING)"},
		{"CAST(CAST(a AS INT) + 1 AS DOUBLE)", "(CAST (+ (CAST a INT) 1) DOUBLE)"},
		{"TRY_CAST(s AS INTEGER)", "(TRY_CAST s INT)"},
		{"COALESCE(a, b, 0)", "COALESCE(a b 0)"},
		{"a IN (1, 2, 3)", "(IN a 1 2 3)"},
		{"a NOT IN ('x')", "(NOT IN a 'x')"},
		{"a BETWEEN 1 AND 10", "(BETWEEN a 1 10)"},
		{"a NOT BETWEEN 1 AND 10", "(NOT BETWEEN a 1 10)"},
		{"s LIKE 'a%'", "(LIKE s 'a%')"},
		{"s NOT LIKE 'a!%' ESCAPE '!'", "(NOT LIKE s 'a!%' ESCAPE !)"},
		{"a || 'x' || b", "CONCAT(CONCAT(a 'x') b)"},
		{"TIMESTAMP '2024-01-01 00:00:00'", "TIMESTAMP'2024-01-01 00:00:00'"},
		{"DATE '2024-01-31'", "DATE'2024-01-31'"},
		{"INTERVAL '5' SECOND", "INTERVAL'5'SECOND"},
		{"INTERVAL '10' MINUTES", "INTERVAL'10'MINUTE"},
		{"INTERVAL '2' HOURS", "INTERVAL'2'HOUR"},
		{"INTERVAL '1' DAY", "INTERVAL'1'DAY"},
		{"INTERVAL '3' MONTH", "INTERVAL'3'MONTH"},
		{"INTERVAL '1' YEARS", "INTERVAL'1'YEAR"},
		{"INTERVAL '1:30' MINUTE TO SECOND", "INTERVAL'1:30'MINUTE TO SECOND"},
		{"ts - INTERVAL '5' SECOND", "(- ts INTERVAL'5'SECOND)"},
		{"TIMESTAMPADD_LIKE(ts, INTERVAL '1' HOUR)", "TIMESTAMPADD_LIKE(ts INTERVAL'1'HOUR)"},
		{"my_func(a, 'x')", "MY_FUNC(a 'x')"},
		{"COUNT(*)", "COUNT(*)"},
		{"count (*)", "COUNT(*)"},
		{"COUNT(1)", "COUNT(1)"},
		{"COUNT(DISTINCT a)", "COUNT(DISTINCT a)"},
		{"SUM(a) FILTER (WHERE b > 0)", "SUM(a) FILTER (> b 0)"},
		{"COUNT(*) FILTER (WHERE b = 'x')", "COUNT(*) FILTER (= b 'x')"},
		{"ROW_NUMBER() OVER (PARTITION BY a, b ORDER BY ts DESC)", "ROW_NUMBER() OVER(a b | ts DESC)"},
		{"SUM(x) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)",
			"SUM(x) OVER(k | ts | RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)"},
		{"COUNT(*) OVER (ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)", "COUNT(*) OVER( | ts | ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)"},
		{"EXTRACT(YEAR FROM ts)", "(EXTRACT YEAR ts)"},
		{"EXTRACT(HOUR FROM ts)", "(EXTRACT HOUR ts)"},
		{"SUBSTRING(s FROM 2 FOR 3)", "SUBSTRING(s 2 3)"},
		{"SUBSTRING(s FROM 2)", "SUBSTRING(s 2)"},
		{"SUBSTR(s, 2, 1)", "SUBSTRING(s 2 1)"},
		{"TRIM(s)", "TRIM(s)"},
		{"TRIM(BOTH 'x' FROM s)", "TRIM(s 'x')"},
		{"TRIM(LEADING FROM s)", "LTRIM(s)"},
		{"TRIM(TRAILING '-' FROM s)", "RTRIM(s '-')"},
		{"CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP()"},
		{"NOW()", "CURRENT_TIMESTAMP()"},
		{"PROCTIME()", "PROCTIME()"},
		{"t.a + `b c`.d", "(+ t.a b c.d)"},
		{"1.5 + 2e3 + 7 + 'it''s'", "(+ (+ (+ 1.5d 2e3f) 7) 'it's')"},
		{`'C:\path'`, `'C:\path'`},
		{"TRUE AND FALSE OR NULL", "(OR (AND TRUE FALSE) NULL)"},
		{"out + value + `timestamp` + dateTime + key", "(+ (+ (+ (+ out value) timestamp) dateTime) key)"},
		{"t.out", "t.out"},
		{"IF(a > 1, 'x', 'y')", "IF((> a 1) 'x' 'y')"},
		{"TIMESTAMPDIFF(SECOND, a, b)", "TIMESTAMPDIFF('SECOND' a b)"},
		{"a = (SELECT MAX(b) FROM u)", "(= a (SUBQUERY SELECT MAX(b) FROM u))"},
		{"a IN (SELECT b FROM u)", "(IN a (SUBQUERY SELECT b FROM u))"},
	}
	for _, c := range cases {
		sel := parseOneQuery(t, "SELECT "+c.in+" FROM t")
		if len(sel.Items) != 1 {
			t.Errorf("%s: %d items", c.in, len(sel.Items))
			continue
		}
		if got := exprString(sel.Items[0].Expr); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.in, got, c.want)
		}
	}
}

func TestStringLiteralUnescaped(t *testing.T) {
	sel := parseOneQuery(t, "SELECT 'it''s', 'a\\nb'")
	for i, want := range []string{"it's", `a\nb`} {
		lit, ok := sel.Items[i].Expr.(*ast.Literal)
		if !ok || lit.Kind != ast.LitString || lit.Value != want {
			t.Errorf("item %d: got %#v, want string %q", i, sel.Items[i].Expr, want)
		}
	}
}

func TestParseExpr(t *testing.T) {
	e, err := ParseExpr("a + INTERVAL '1' SECOND")
	if err != nil {
		t.Fatal(err)
	}
	if got := exprString(e); got != "(+ a INTERVAL'1'SECOND)" {
		t.Errorf("got %s", got)
	}
	if _, err := ParseExpr("a b"); err == nil {
		t.Error("ParseExpr(a b) succeeded, want error")
	}
	if _, err := ParseExpr(""); err == nil {
		t.Error("ParseExpr('') succeeded, want error")
	}
}

func TestSelectItemText(t *testing.T) {
	sel := parseOneQuery(t, "SELECT a,  CAST(b AS BIGINT) + 1 , COUNT(*) FILTER (WHERE x > INTERVAL '1' SECOND), t.*, *, c AS d FROM t")
	want := []string{"a", "CAST(b AS BIGINT) + 1", "COUNT(*) FILTER (WHERE x > INTERVAL '1' SECOND)", "t.*", "*", "c AS d"}
	if len(sel.Items) != len(want) {
		t.Fatalf("%d items, want %d", len(sel.Items), len(want))
	}
	for i, w := range want {
		if sel.Items[i].Text != w {
			t.Errorf("item %d text %q, want %q", i, sel.Items[i].Text, w)
		}
	}
	if !sel.Items[3].Star || sel.Items[3].StarTable != "t" || !sel.Items[4].Star || sel.Items[4].StarTable != "" {
		t.Errorf("star items wrong: %+v %+v", sel.Items[3], sel.Items[4])
	}
	if sel.Items[5].Alias != "d" {
		t.Errorf("alias %q, want d", sel.Items[5].Alias)
	}
}
