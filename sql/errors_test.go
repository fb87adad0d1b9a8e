package sql

import (
	"errors"
	"testing"

	"github.com/streamsql/streamsql/sql/ast"
)

func TestErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		// Lexical.
		{"SELECT 'abc", "1:8: unterminated string literal: missing closing '"},
		{"SELECT `abc", "1:8: unterminated quoted identifier: missing closing `"},
		{"SELECT 1 /* x", "1:10: unterminated comment: missing '*/'"},
		{"SELECT a # b", "1:10: unexpected character '#'"},
		// Syntax errors found by TiDB, mapped back to the user's text.
		{"SELECT a FORM t", "1:10: syntax error at 'FORM': expected FROM"},
		{"SELECT a,\n  b +\n FROM t", "3:2: syntax error at 'FROM'"},
		{"SELECT a FROM t WHERE", "1:22: syntax error at end of input after 'WHERE'"},
		{"SELECT CAST(a AS BIGINT) FROM t WHERE )", "1:39: syntax error at ')'"},
		{"SELECT INTERVAL '1' SECOND + FROM t", "1:30: syntax error at 'FROM'"},
		{"INSERT INTO s SELECT a FROM t WHERE b = = 1", "1:41: syntax error at '='"},
		// Statements.
		{"FOO BAR", "1:1: syntax error at 'FOO': expected a statement (SELECT, INSERT, CREATE, DROP, SET, RESET, SHOW, DESCRIBE, EXPLAIN, EXECUTE STATEMENT SET or STOP JOB)"},
		{"UPDATE t SET a = 1", "1:1: not supported yet: UPDATE statements"},
		{"SHOW FUNCTIONS", "1:6: not supported yet: SHOW FUNCTIONS"},
		{"DROP DATABASE d", "1:6: not supported yet: DROP DATABASE"},
		{"SET 'a'", "1:8: expected '=' after the key in SET 'key' = 'value', found end of statement"},
		{"SHOW TABLES extra", "1:13: expected ';', found 'extra'"},
		{"INSERT t SELECT 1", "1:8: expected INTO or OVERWRITE after INSERT, found 't'"},
		{"INSERT INTO t", "1:14: expected a query (SELECT or VALUES), found end of statement"},
		{"INSERT INTO t (a, b SELECT 1", "1:21: expected ')' after the column list, found 'SELECT'"},
		{"EXECUTE STATEMENT SET BEGIN SELECT 1; END", "1:29: expected INSERT or END in STATEMENT SET, found 'SELECT'"},
		// Job control.
		{"SHOW", "1:5: expected TABLES, VIEWS, JOBS or CHECKPOINTS after SHOW, found end of statement"},
		{"SHOW JOBS now", "1:11: expected end of statement, found 'now'"},
		{"STOP 'x'", "1:6: expected JOB after STOP, found 'x'"},
		{"STOP JOB", "1:9: expected a job id string after STOP JOB, found end of statement"},
		{"STOP JOB a1b2", "1:10: expected a job id string after STOP JOB, found 'a1b2'"},
		{"STOP JOB 42", "1:10: expected a job id string after STOP JOB, found '42'"},
		{"STOP JOB ''", "1:10: expected a job id string after STOP JOB, found an empty string"},
		{"STOP JOB 'x' WITH", "1:18: expected SAVEPOINT or DRAIN after WITH, found end of statement"},
		{"STOP JOB 'x' WITH CHECKPOINT", "1:19: expected SAVEPOINT or DRAIN after WITH, found 'CHECKPOINT'"},
		{"STOP JOB 'x' WITH SAVEPOINT WITH", "1:33: expected DRAIN after WITH SAVEPOINT WITH, found end of statement"},
		{"STOP JOB 'x' now", "1:14: expected WITH SAVEPOINT, WITH DRAIN or end of statement, found 'now'"},
		{"STOP JOB 'x' WITH SAVEPOINT now", "1:29: expected WITH DRAIN or end of statement, found 'now'"},
		{"STOP JOB 'x' WITH SAVEPOINT WITH DRAIN now", "1:40: expected end of statement, found 'now'"},
		{"STOP JOB 'x' WITH DRAIN WITH SAVEPOINT", "1:25: expected end of statement, found 'WITH': write WITH SAVEPOINT before WITH DRAIN"},
		{"SHOW CHECKPOINTS now", "1:18: expected FOR JOB or end of statement after SHOW CHECKPOINTS, found 'now'"},
		{"SHOW CHECKPOINTS FOR 'x'", "1:22: expected JOB after SHOW CHECKPOINTS FOR, found 'x'"},
		{"SHOW CHECKPOINTS FOR JOB", "1:25: expected a job id string after FOR JOB, found end of statement"},
		{"SHOW CHECKPOINTS FOR JOB 'x' now", "1:30: expected end of statement, found 'now'"},
		{"EXPLAIN STOP JOB 'x'", "1:9: not supported yet: EXPLAIN of this statement (only SELECT, INSERT and STATEMENT SET)"},
		// CREATE TABLE.
		{"CREATE TABLE t (a INT, b STRING", "1:32: expected ')' after column list, found end of statement"},
		{"CREATE TABLE t (a INT b STRING)", "1:23: expected ')' after column list, found 'b'"},
		{"CREATE TABLE t (a INT) WITH ('k' = 1)", "1:36: expected a quoted option value, found '1'"},
		{"CREATE TABLE t (a INT) WITH ('k' 'v')", "1:34: expected '=' after option key 'k', found 'v'"},
		{"CREATE TABLE t (a INT, PRIMARY KEY (a))", "1:39: expected NOT ENFORCED after PRIMARY KEY, found ')': Flink requires PRIMARY KEY ... NOT ENFORCED because it does not check uniqueness"},
		{"CREATE TABLE t (a INT PRIMARY KEY)", "1:34: expected NOT ENFORCED after PRIMARY KEY, found ')': Flink requires PRIMARY KEY ... NOT ENFORCED because it does not check uniqueness"},
		{"CREATE TABLE t (a TINYINT)", "1:19: not supported yet: type TINYINT"},
		{"CREATE TABLE t (a INT,\n  b ARRAY<INT>)", "2:5: not supported yet: type ARRAY"},
		{"CREATE TABLE t (a MAP<STRING, INT>)", "1:19: not supported yet: type MAP"},
		{"CREATE TABLE t (a ROW<x INT)", "1:28: expected ',' or '>' in ROW, found ')'"},
		{"CREATE TABLE t (a ROW<>)", "1:22: a ROW needs at least one field"},
		{"CREATE TABLE t (a ROW())", "1:23: a ROW needs at least one field"},
		{"CREATE TABLE t (a ROW<x INT, X BIGINT>)", "1:30: duplicate field 'X' in ROW"},
		{"CREATE TABLE t (a ROW<x INT 'the x'>)", "1:29: not supported yet: a comment on ROW field 'x'"},
		{"CREATE TABLE t (a ROW x INT)", "1:23: expected '<' or '(' after ROW, found 'x'"},
		{"CREATE TABLE t (a ROW(x INT>)", "1:28: expected ',' or ')' in ROW, found '>'"},
		{"CREATE TABLE t (a ROW<x ARRAY<INT>>)", "1:25: not supported yet: type ARRAY"},
		{"CREATE TABLE t (a ROW<x INT,\n  y>)", "2:4: expected a type, found '>'"},
		{"SELECT CAST(a AS ROW<x INT>) FROM t", "1:18: not supported yet: type ROW outside a column of CREATE TABLE"},
		{"CREATE TABLE t (a FLOAT)", "1:19: not supported yet: type FLOAT"},
		{"CREATE TABLE t (a TIME)", "1:19: not supported yet: type TIME"},
		{"CREATE TABLE t (a BYTES)", "1:19: not supported yet: type BYTES"},
		{"CREATE TABLE t (a SMALLINT)", "1:19: not supported yet: type SMALLINT"},
		{"CREATE TABLE t (a DECIMAL(20, 2))", "1:19: not supported yet: DECIMAL precision above 18"},
		{"CREATE TABLE t (a DECIMAL(5, 7))", "1:30: a scale must be an integer between 0 and 5, found '7'"},
		{"CREATE TABLE t (a INTT)", "1:19: unknown type 'INTT'"},
		{"CREATE TABLE t (a TIMESTAMP(12))", "1:29: a precision must be an integer between 0 and 9, found '12'"},
		{"CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECONDZ)", "1:72: expected an interval unit (SECOND, MINUTE, HOUR, DAY, MONTH, YEAR), found 'SECONDZ'"},
		{"CREATE TABLE t (a INT, c AS a +)", "1:32: syntax error at end of input after '+'"},
		{"CREATE TABLE t (a INT, c AS )", "1:29: expected an expression for computed column c, found ')'"},
		{"CREATE TABLE t (a INT, c AS a b)", "1:29: expected a single expression, found a b"},
		{"CREATE TABLE t (a INT) AS SELECT 1", "1:24: not supported yet: CREATE TABLE ... AS SELECT"},
		{"CREATE TABLE t (a INT) PARTITIONED BY (a)", "1:24: not supported yet: PARTITIONED BY"},
		// Expressions.
		{"SELECT CAST(a AS TINYINT) FROM t", "1:18: not supported yet: type TINYINT"},
		{"SELECT CAST(a) FROM t", "1:14: expected AS <type> in CAST, found ')'"},
		{"SELECT CAST(a AS BIGINT x) FROM t", "1:25: expected ')' after the type, found 'x'"},
		{"SELECT INTERVAL x SECOND", "1:17: expected a quantity like '5' after INTERVAL, found 'x'"},
		{"SELECT * FROM t FOR SYSTEM_TIME AS OF t.ts", "1:17: FOR SYSTEM_TIME AS OF applies to the right side of a JOIN (a temporal or lookup join)"},
		{"SELECT * FROM t FOR SYSTEM_TIME AS OF t.ts JOIN u ON t.a = u.a", "1:17: FOR SYSTEM_TIME AS OF applies to the right side of a JOIN (a temporal or lookup join)"},
		{"SELECT * FROM o JOIN t FOR SYSTEM_TIME o.p ON o.a = t.a", "1:40: expected AS OF after FOR SYSTEM_TIME, found 'o'"},
		{"SELECT * FROM o JOIN t FOR SYSTEM_TIME AS o.p ON o.a = t.a", "1:43: expected AS OF after FOR SYSTEM_TIME, found 'o'"},
		{"SELECT * FROM o JOIN t FOR SYSTEM_TIME AS OF ON o.a = t.a", "1:46: expected an expression after FOR SYSTEM_TIME AS OF, found 'ON'"},
		{"SELECT * FROM o JOIN t FOR SYSTEM_TIME AS OF o.p AS ON o.a = t.a", "1:53: expected an alias after AS, found 'ON'"},
		{"SELECT * FROM o JOIN (SELECT * FROM t) FOR SYSTEM_TIME AS OF o.p ON o.a = t.a", "1:40: FOR SYSTEM_TIME AS OF must follow a table name"},
		{"SELECT * FROM o JOIN t FOR SYSTEM_TIME AS OF o.p", "1:24: FOR SYSTEM_TIME AS OF needs JOIN ... ON (a lookup join on equal keys)"},
		{"SELECT * FROM o, t FOR SYSTEM_TIME AS OF o.p", "1:20: FOR SYSTEM_TIME AS OF needs JOIN ... ON (a lookup join on equal keys)"},
		{"SELECT * FROM o RIGHT JOIN t FOR SYSTEM_TIME AS OF o.p ON o.a = t.a", "1:30: not supported yet: FOR SYSTEM_TIME AS OF in a RIGHT JOIN (lookup joins are INNER or LEFT)"},
		{"SELECT * FROM o FULL JOIN t FOR SYSTEM_TIME AS OF o.p ON o.a = t.a", "1:29: not supported yet: FOR SYSTEM_TIME AS OF in a FULL JOIN (lookup joins are INNER or LEFT)"},
		{"SELECT * FROM o JOIN t\n  FOR SYSTEM_TIME AS OF o.p + ON o.a = t.a", "2:31: syntax error at 'ON'"},
		{"SELECT a FROM t NATURAL JOIN u", "1:15: not supported yet: NATURAL JOIN"},
		{"SELECT a XOR b FROM t", "1:8: not supported yet: operator xor"},
		{"SELECT 1 + 000000000000000000000000000000000000000000000000000000000000000002000000000000000000", "1:12: numeric literal out of range: 84 digits, at most 65"},
		{"SELECT 0.00000000000000000000000000000000000000000000000000000000000000000000000000000000000002", "1:8: numeric literal out of range: 87 digits, at most 65"},
		{"SELECT __ssql_lit(0) FROM t", "1:8: names starting with __ssql_ are reserved, found '__ssql_lit'"},
		// Window TVFs.
		{"SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts)))", "1:51: missing argument SIZE of TUMBLE; expected TUMBLE(TABLE t, DESCRIPTOR(ts), size)"},
		{"SELECT * FROM TABLE(TUMBLE(t, DESCRIPTOR(ts), INTERVAL '1' SECOND))", "1:28: expected TABLE before the window function's input table, found 't'"},
		{"SELECT * FROM TABLE(HOP(TABLE t, ts, INTERVAL '1' SECOND, INTERVAL '2' SECOND))", "1:34: expected DESCRIPTOR naming the time column, found 'ts'"},
		{"SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '1' SECOND))", "1:74: too many arguments for TUMBLE; expected TUMBLE(TABLE t, DESCRIPTOR(ts), size)"},
		{"SELECT * FROM TABLE(TUMBLE(DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), SIZ => INTERVAL '1' SECOND))", "1:72: unknown argument 'SIZ' of TUMBLE; expected TUMBLE(TABLE t, DESCRIPTOR(ts), size)"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if err == nil {
			t.Errorf("%q: no error, want %q", c.in, c.want)
			continue
		}
		var ae *ast.Error
		if !errors.As(err, &ae) {
			t.Errorf("%q: error %T is not *ast.Error", c.in, err)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%q:\n got  %s\n want %s", c.in, err, c.want)
		}
	}
}
