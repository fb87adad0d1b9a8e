package sql

import (
	"testing"

	"github.com/streamsql/streamsql/sql/ast"
)

func TestQueries(t *testing.T) {
	cases := []struct{ in, want string }{
		{"SELECT DISTINCT a AS x, b y FROM t AS s", "SELECT DISTINCT a AS x, b AS y FROM t AS s"},
		{"SELECT * FROM db.t WHERE a > 1 GROUP BY a, b HAVING COUNT(*) > 2 ORDER BY a DESC, b LIMIT 10",
			"SELECT * FROM db.t WHERE (> a 1) GROUP BY a b HAVING (> COUNT(*) 2) ORDER BY a DESC b LIMIT 10"},
		{"SELECT a FROM t ORDER BY 1 LIMIT 5 OFFSET 2", "SELECT a FROM t ORDER BY 1 LIMIT 5 OFFSET 2"},
		{"SELECT l.a, r.b FROM l JOIN r ON l.id = r.id", "SELECT l.a, r.b FROM (INNER l r ON (= l.id r.id))"},
		{"SELECT * FROM l INNER JOIN r USING (id)", "SELECT * FROM (INNER l r USING id)"},
		{"SELECT * FROM l LEFT OUTER JOIN r ON TRUE", "SELECT * FROM (LEFT l r ON TRUE)"},
		{"SELECT * FROM l RIGHT JOIN r ON a = b", "SELECT * FROM (RIGHT l r ON (= a b))"},
		{"SELECT * FROM l FULL OUTER JOIN r ON a = b", "SELECT * FROM (FULL l r ON (= a b))"},
		{"SELECT * FROM l FULL JOIN r ON a = b", "SELECT * FROM (FULL l r ON (= a b))"},
		{"SELECT * FROM l CROSS JOIN r", "SELECT * FROM (CROSS l r)"},
		{"SELECT * FROM l, r", "SELECT * FROM (CROSS l r)"},
		{"SELECT * FROM a JOIN b ON x = y LEFT JOIN c ON y = z", "SELECT * FROM (LEFT (INNER a b ON (= x y)) c ON (= y z))"},
		{"SELECT s.a FROM (SELECT a FROM t WHERE a > 0) AS s", "SELECT s.a FROM (SELECT a FROM t WHERE (> a 0)) AS s"},
		{"WITH c AS (SELECT a FROM t), d AS (SELECT a FROM c) SELECT a FROM d",
			"WITH c (SELECT a FROM t) WITH d (SELECT a FROM c) SELECT a FROM d"},
		{"SELECT a FROM t UNION ALL SELECT b FROM u UNION ALL SELECT c FROM v",
			"SELECT a FROM t UNION ALL SELECT b FROM u UNION ALL SELECT c FROM v"},
		{"SELECT a FROM t UNION SELECT b FROM u", "SELECT a FROM t UNION SELECT b FROM u"},
		{"SELECT 1", "SELECT 1"},
		{"VALUES (1), (2)", "SELECT 1 UNION ALL SELECT 2"},
		{"SELECT window_start, window_end, SUM(price) FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES)) GROUP BY window_start, window_end",
			"SELECT window_start, window_end, SUM(price) FROM TUMBLE(bids DESCRIPTOR(bidtime) INTERVAL'10'MINUTE) GROUP BY window_start window_end"},
		{"SELECT * FROM TABLE(TUMBLE(DATA => TABLE bids, TIMECOL => DESCRIPTOR(bidtime), SIZE => INTERVAL '1' HOUR)) AS w",
			"SELECT * FROM TUMBLE(bids DESCRIPTOR(bidtime) INTERVAL'1'HOUR) AS w"},
		{"SELECT * FROM TABLE(HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '5' MINUTE, INTERVAL '10' MINUTE))",
			"SELECT * FROM HOP(bids DESCRIPTOR(ts) INTERVAL'5'MINUTE INTERVAL'10'MINUTE)"},
		{"SELECT * FROM TABLE(HOP(DATA => TABLE bids, TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL '10' MINUTE, SLIDE => INTERVAL '5' MINUTE))",
			"SELECT * FROM HOP(bids DESCRIPTOR(ts) INTERVAL'5'MINUTE INTERVAL'10'MINUTE)"},
		{"SELECT * FROM TABLE(CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '10' MINUTE)) w",
			"SELECT * FROM CUMULATE(bids DESCRIPTOR(ts) INTERVAL'2'MINUTE INTERVAL'10'MINUTE) AS w"},
		{"SELECT * FROM TABLE(SESSION(TABLE bids PARTITION BY item, DESCRIPTOR(ts), INTERVAL '5' MINUTE))",
			"SELECT * FROM SESSION(bids PARTITION BY item DESCRIPTOR(ts) INTERVAL'5'MINUTE)"},
		{"SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) w JOIN u ON w.k = u.k",
			"SELECT * FROM (INNER TUMBLE(t DESCRIPTOR(ts) INTERVAL'1'MINUTE) AS w u ON (= w.k u.k))"},
		{"SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM t) WHERE rn <= 3",
			"SELECT * FROM (SELECT *, ROW_NUMBER() OVER(k | ts DESC) AS rn FROM t) WHERE (<= rn 3)"},
		// Lookup joins: FOR SYSTEM_TIME AS OF, the alias with or without AS.
		{"SELECT * FROM o JOIN t FOR SYSTEM_TIME AS OF o.p AS s ON MOD(o.a, 10) = s.k",
			"SELECT * FROM (INNER o t FOR SYSTEM_TIME AS OF o.p AS s ON (= (% o.a 10) s.k))"},
		{"SELECT * FROM o LEFT JOIN t FOR SYSTEM_TIME AS OF o.p s ON o.a = s.k",
			"SELECT * FROM (LEFT o t FOR SYSTEM_TIME AS OF o.p AS s ON (= o.a s.k))"},
		{"SELECT * FROM o JOIN `key` FOR SYSTEM_TIME AS OF o.p ON o.a = `key`.`key` JOIN u FOR SYSTEM_TIME AS OF PROCTIME() AS `out` ON o.a = `out`.a",
			"SELECT * FROM (INNER (INNER o key FOR SYSTEM_TIME AS OF o.p ON (= o.a key.key)) u FOR SYSTEM_TIME AS OF PROCTIME() AS out ON (= o.a out.a))"},
		{"SELECT * FROM (SELECT *, PROCTIME() AS p FROM b) B JOIN side FOR SYSTEM_TIME AS OF B.p AS S ON B.a = S.k WHERE S.v > 1",
			"SELECT * FROM (INNER (SELECT *, PROCTIME() AS p FROM b) AS B side FOR SYSTEM_TIME AS OF B.p AS S ON (= B.a S.k)) WHERE (> S.v 1)"},
	}
	for _, c := range cases {
		if got := selectString(parseOneQuery(t, c.in)); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.in, got, c.want)
		}
	}
}

func TestPositions(t *testing.T) {
	text := "SELECT a,\n  UPPER(`b`) AS u, 'x', CAST(c AS BIGINT),\n  INTERVAL '1' SECOND\nFROM src AS s JOIN other o ON s.id = o.id\nWHERE d > 10"
	sel := parseOneQuery(t, text)
	check := func(what string, got ast.Pos, line, col int) {
		t.Helper()
		if got.Line != line || got.Col != col {
			t.Errorf("%s at %v, want %d:%d", what, got, line, col)
		}
	}
	check("select", sel.Pos, 1, 1)
	check("a", sel.Items[0].Expr.Position(), 1, 8)
	call := sel.Items[1].Expr.(*ast.Call)
	check("UPPER", call.Pos, 2, 3)
	check("`b`", call.Args[0].Position(), 2, 9)
	check("'x'", sel.Items[2].Expr.Position(), 2, 20)
	cast := sel.Items[3].Expr.(*ast.Cast)
	check("CAST", cast.Pos, 2, 25)
	check("c in CAST", cast.X.Position(), 2, 30)
	check("INTERVAL", sel.Items[4].Expr.Position(), 3, 3)
	check("item 1", sel.Items[1].Pos, 2, 3)
	j := sel.From.(*ast.Join)
	check("src", j.Left.Position(), 4, 6)
	check("other", j.Right.Position(), 4, 20)
	check("s.id", j.On.(*ast.Binary).L.Position(), 4, 31)
	w := sel.Where.(*ast.Binary)
	check("d", w.L.Position(), 5, 7)
	check("10", w.R.Position(), 5, 11)
}

func TestPositionsWithUnicodeAndTVF(t *testing.T) {
	text := "SELECT 'é', x FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) JOIN t ON TRUE"
	sel := parseOneQuery(t, text)
	if p := sel.Items[1].Expr.Position(); p.Col != 13 || p.Offset != 13 {
		t.Errorf("x at col %d offset %d, want col 13 offset 13 (é is two bytes)", p.Col, p.Offset)
	}
	j := sel.From.(*ast.Join)
	w := j.Left.(*ast.WindowTVF)
	if w.Pos.Col != 20 || w.Input.Position().Col != 39 || w.Args[0].Position().Col != 58 {
		t.Errorf("TVF positions %v %v %v", w.Pos, w.Input.Position(), w.Args[0].Position())
	}
	if p := j.Right.Position(); p.Col != 85 {
		t.Errorf("joined t at %v, want col 85 (not the TVF's input)", p)
	}
}

func TestPositionsForSystemTime(t *testing.T) {
	text := "SELECT S.v FROM b AS B\nJOIN side FOR SYSTEM_TIME AS OF B.p AS S\n  ON MOD(B.a, 10) = S.k WHERE S.v > 'x'"
	sel := parseOneQuery(t, text)
	check := func(what string, got ast.Pos, line, col int) {
		t.Helper()
		if got.Line != line || got.Col != col {
			t.Errorf("%s at %v, want %d:%d", what, got, line, col)
		}
	}
	j := sel.From.(*ast.Join)
	right := j.Right.(*ast.TableName)
	check("side", right.Pos, 2, 6)
	check("FOR", right.SystemTimePos, 2, 11)
	check("B.p", right.SystemTime.Position(), 2, 33)
	check("MOD", j.On.(*ast.Binary).L.Position(), 3, 6)
	check("S.k", j.On.(*ast.Binary).R.Position(), 3, 21)
	check("S.v in WHERE", sel.Where.(*ast.Binary).L.Position(), 3, 31)
	if right.Alias != "S" {
		t.Errorf("alias %q, want S", right.Alias)
	}
}
