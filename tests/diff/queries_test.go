package diff

import (
	"regexp"
)

// query is one query in both dialects.
type query struct {
	name  string
	flink string
	lite  string
	// ordered: compare row by row, in order. Only for an ORDER BY on
	// unique, non-NULL keys (anything else has no single right order).
	ordered bool
	// stateful: a query the engine does not run yet; "not supported yet"
	// is then counted, not failed.
	stateful bool
}

// liteRewrites turn the few Flink spellings the hand-written queries use
// into sqlite's; everything else is written the same in both.
func liteRewrites() []struct {
	re   *regexp.Regexp
	with string
} {
	mk := func(re, with string) struct {
		re   *regexp.Regexp
		with string
	} {
		return struct {
			re   *regexp.Regexp
			with string
		}{regexp.MustCompile(re), with}
	}
	return []struct {
		re   *regexp.Regexp
		with string
	}{
		mk(`\bCHAR_LENGTH\(`, "LENGTH("),
		mk(`\bIF\(`, "IIF("),
		mk(`\bAS STRING\)`, "AS TEXT)"),
		mk(`\bAS DOUBLE\)`, "AS REAL)"),
		mk(`\bAS (BIGINT|INT)\)`, "AS INTEGER)"),
	}
}

// toLite rewrites a Flink query for sqlite.
func toLite(flink string) string {
	s := flink
	for _, r := range liteRewrites() {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}

// same is a query whose sqlite text is derived by toLite.
func same(name, flink string) query { return query{name: name, flink: flink, lite: toLite(flink)} }

// pair is a query whose sqlite text is written out.
func pair(name, flink, lite string) query { return query{name: name, flink: flink, lite: lite} }

// sorted is an ORDER BY query compared in order.
func sorted(name, flink string) query {
	q := same(name, flink)
	q.ordered = true
	return q
}

// statelessQueries are what the engine supports today: every one must run
// and agree with sqlite.
func statelessQueries() []query {
	return []query{
		same("scan_t1", "SELECT * FROM t1"),
		same("scan_t2", "SELECT * FROM t2"),
		same("project", "SELECT id, s, m, d FROM t1"),
		// Filters and three-valued logic.
		same("and_or", "SELECT id FROM t1 WHERE (i > 10 AND d < 0) OR (k_few = 2 AND s = 'apple')"),
		same("not_null_logic", "SELECT id, NOT (i > 0), i > 0 AND d > 0, i > 0 OR d > 0 FROM t1"),
		same("is_null", "SELECT id, i IS NULL, s IS NOT NULL FROM t1 WHERE m IS NULL OR s IS NULL"),
		same("is_true_false", "SELECT id, (i > 0) IS TRUE, (i > 0) IS NOT TRUE, (d > 0) IS FALSE, (d > 0) IS NOT FALSE FROM t1"),
		same("between", "SELECT id, i FROM t1 WHERE i BETWEEN -10 AND 10"),
		same("not_between", "SELECT id, d FROM t1 WHERE d NOT BETWEEN -50.5 AND 50.25"),
		same("between_decimal", "SELECT id, m FROM t1 WHERE m BETWEEN -10.5 AND 99.99"),
		same("in_list", "SELECT id, k_many FROM t1 WHERE k_many IN (1, 2, 3, 5, 8, 13, 21, 34)"),
		same("not_in_list", "SELECT id FROM t1 WHERE k_few NOT IN (0, 1)"),
		same("in_with_null", "SELECT id, k_few IN (1, NULL), k_few NOT IN (1, NULL) FROM t1"),
		same("in_strings", "SELECT id, s FROM t1 WHERE s IN ('apple', 'Apple', '', 'x')"),
		same("like_prefix", "SELECT id, s FROM t1 WHERE s LIKE 'a%'"),
		same("like_case", "SELECT id, s LIKE 'A%', s LIKE '%e', s LIKE '_i%' FROM t1"),
		same("like_escape", "SELECT id, s FROM t1 WHERE s LIKE 'a!_%' ESCAPE '!' OR s LIKE '%!%%' ESCAPE '!'"),
		same("like_underscore_meta", "SELECT id, s LIKE 'a_b', s NOT LIKE '%a%' FROM t1"),
		same("case_searched", "SELECT id, CASE WHEN i < 0 THEN 'neg' WHEN i = 0 THEN 'zero' WHEN i > 0 THEN 'pos' END FROM t1"),
		same("case_simple", "SELECT id, CASE k_few WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'other' END FROM t1"),
		same("case_numeric", "SELECT id, CASE WHEN d > 0 THEN d ELSE i END FROM t1"),
		same("coalesce", "SELECT id, COALESCE(i, k_many, -1), COALESCE(s, 'none'), COALESCE(m, 0) FROM t1"),
		same("nullif", "SELECT id, NULLIF(k_few, 2), NULLIF(s, 'apple') FROM t1"),
		same("if", "SELECT id, IF(i > 0, 'p', 'n') FROM t1"),
		// Arithmetic on every numeric type.
		same("int_arith", "SELECT id, i + t, i - t, i * 3, t / 7, i / 7, i % 7, t % 10, -i FROM t1"),
		same("int_div_neg", "SELECT id, i / -3, i % -3, (i - 50) / 4, (i - 50) % 4 FROM t1"),
		same("bigint_arith", "SELECT id, id * k_many, id / 3, id % 13, k_many - id FROM t1"),
		same("mixed_int_bigint", "SELECT id, i + id, i * k_few, t - k_many FROM t1"),
		same("double_arith", "SELECT id, d + 1.5, d - i, d * 2, d / 4, d * d, -d FROM t1"),
		same("double_div", "SELECT id, d / 3, d / 7.0, i / 2.0 FROM t1"),
		same("decimal_arith", "SELECT id, m + 1, m - 0.05, m * 3, m * i, -m FROM t1"),
		same("decimal_div", "SELECT id, m / 4, m / 3, m / 7 FROM t1"),
		same("decimal_mult", "SELECT id, m * m FROM t1"),
		same("decimal_double", "SELECT id, m + d, m * d FROM t1"),
		same("div_nullif", "SELECT id, t / NULLIF(i, 0), t % NULLIF(i, 0), d / NULLIF(k_few, 0) FROM t1"),
		same("abs", "SELECT id, ABS(i), ABS(d), ABS(m) FROM t1"),
		pair("mod_fn", "SELECT id, MOD(i, 7), MOD(t, -4) FROM t1", "SELECT id, i % 7, t % -4 FROM t1"),
		same("compare_mixed", "SELECT id FROM t1 WHERE i < d AND m > i"),
		same("compare_decimal_double", "SELECT id, m < d, m = d FROM t1 WHERE d BETWEEN -20 AND 20"),
		same("compare_literal_types", "SELECT id FROM t1 WHERE d = 10.25 OR m = 10.25 OR i = 10"),
		// CASTs where both engines agree.
		same("cast_to_double", "SELECT id, CAST(i AS DOUBLE) / 4, CAST(m AS DOUBLE), CAST(id AS DOUBLE) FROM t1"),
		same("cast_to_int", "SELECT id, CAST(d AS INT), CAST(m AS INT), CAST(d AS BIGINT) FROM t1"),
		same("cast_int_to_string", "SELECT id, CAST(i AS STRING), CAST(k_many AS STRING) || 'x' FROM t1"),
		same("cast_string_roundtrip", "SELECT id, CAST(CAST(i AS STRING) AS INT) FROM t1"),
		// Strings.
		same("upper_lower", "SELECT id, UPPER(s), LOWER(s) FROM t1"),
		same("substr", "SELECT id, SUBSTR(s, 1, 3), SUBSTR(s, 2, 2), SUBSTR(s, 3, 10), SUBSTR(s, 1, 0) FROM t1"),
		same("char_length", "SELECT id, CHAR_LENGTH(s), CHAR_LENGTH(TRIM(s)) FROM t1"),
		same("trim", "SELECT id, TRIM(s), LTRIM(s), RTRIM(s) FROM t1"),
		same("replace", "SELECT id, REPLACE(s, 'a', 'AA'), REPLACE(s, 'an', '') FROM t1"),
		same("concat_op", "SELECT id, s || '-' || s, s || CAST(i AS STRING) FROM t1"),
		same("string_compare", "SELECT id, s FROM t1 WHERE s < 'b' AND s >= 'A'"),
		same("string_compare_case", "SELECT id, s > 'apple', s <> 'Apple' FROM t1"),
		same("string_filter_fn", "SELECT id FROM t1 WHERE UPPER(s) = 'APPLE' AND s <> 'APPLE'"),
		// Composition.
		same("union_all", "SELECT id, s FROM t1 WHERE i > 50 UNION ALL SELECT id, s FROM t2 WHERE j > 10"),
		same("union_all_dups", "SELECT k_few, s FROM t1 WHERE i > 90 UNION ALL SELECT k_few, s FROM t1 WHERE i > 90"),
		// The CAST: streamsql requires equal types across UNION ALL
		// (Flink would widen INT NOT NULL to BIGINT).
		same("union_all_three", "SELECT k_few FROM t1 UNION ALL SELECT k_few FROM t2 UNION ALL SELECT CAST(99 AS BIGINT)"),
		same("subquery", "SELECT x.id, x.y * 2 FROM (SELECT id, i + t AS y FROM t1 WHERE s IS NOT NULL) AS x WHERE x.y > 100"),
		same("subquery_nested", "SELECT z.id, z.w FROM (SELECT y.id, y.v - 1 AS w FROM (SELECT id, d * 2 AS v FROM t1) AS y WHERE y.v > 0) AS z WHERE z.w < 500"),
		same("subquery_union", "SELECT u.a FROM (SELECT id AS a FROM t1 WHERE k_few = 1 UNION ALL SELECT id AS a FROM t2 WHERE k_few = 1) AS u WHERE u.a % 2 = 0"),
		same("cte", "WITH w AS (SELECT id, m FROM t1 WHERE m > 0) SELECT id, m * 2 FROM w WHERE id < 700"),
		same("select_no_from", "SELECT 1 + 2, 'a' || 'b', 7 / 2, -7 % 3"),
		// ORDER BY + LIMIT on unique keys (id).
		sorted("order_limit", "SELECT id, s, d FROM t1 ORDER BY id LIMIT 25"),
		sorted("order_desc_limit", "SELECT id, m FROM t1 WHERE m > 0 ORDER BY id DESC LIMIT 10"),
		sorted("order_all", "SELECT id, j FROM t2 ORDER BY id"),
		sorted("order_offset", "SELECT id FROM t1 ORDER BY id LIMIT 7 OFFSET 30"),
		sorted("order_two_keys", "SELECT k_many, id FROM t1 WHERE k_many IS NOT NULL ORDER BY k_many, id DESC LIMIT 40"),
		sorted("order_union", "SELECT u.id FROM (SELECT id FROM t1 WHERE i > 95 UNION ALL SELECT id FROM t2 WHERE j > 18) AS u ORDER BY id"),
		same("limit_filter_count", "SELECT x.id FROM (SELECT id FROM t1 ORDER BY id LIMIT 100) AS x WHERE x.id % 3 = 0"),
	}
}

// statefulQueries need aggregation, DISTINCT or joins. Until the engine
// supports them, "not supported yet" is expected; once they run they must
// agree with sqlite like everything else.
func statefulQueries() []query {
	qs := []query{
		same("agg_count_star", "SELECT k_few, COUNT(*) FROM t1 GROUP BY k_few"),
		same("agg_count_col", "SELECT k_few, COUNT(i), COUNT(s) FROM t1 GROUP BY k_few"),
		same("agg_count_distinct", "SELECT k_few, COUNT(DISTINCT s), COUNT(DISTINCT i) FROM t1 GROUP BY k_few"),
		same("agg_sum", "SELECT k_few, SUM(i), SUM(d), SUM(m) FROM t1 GROUP BY k_few"),
		same("agg_sum_bigint", "SELECT k_few, SUM(id), SUM(k_many) FROM t1 GROUP BY k_few"),
		same("agg_min_max", "SELECT k_few, MIN(i), MAX(i), MIN(d), MAX(d), MIN(m), MAX(m), MIN(s), MAX(s) FROM t1 GROUP BY k_few"),
		// AVG of a DOUBLE is a DOUBLE in both; Flink's AVG(INT) is an INT
		// (truncated), which sqlite's CAST(AVG(..) AS INTEGER) matches.
		same("agg_avg_double", "SELECT k_few, AVG(d), AVG(CAST(i AS DOUBLE)) FROM t1 GROUP BY k_few"),
		pair("agg_avg_int", "SELECT k_few, AVG(i) FROM t1 GROUP BY k_few",
			"SELECT k_few, CAST(AVG(i) AS INTEGER) FROM t1 GROUP BY k_few"),
		same("agg_many_groups", "SELECT k_many, COUNT(*), SUM(i), MAX(s) FROM t1 GROUP BY k_many"),
		same("agg_two_keys", "SELECT k_few, s, COUNT(*), MIN(id) FROM t1 GROUP BY k_few, s"),
		same("agg_having", "SELECT k_many, COUNT(*) FROM t1 GROUP BY k_many HAVING COUNT(*) > 4"),
		same("agg_having_sum", "SELECT s, SUM(i) FROM t1 GROUP BY s HAVING SUM(i) > 0 AND MIN(d) < 0"),
		same("agg_expr_key", "SELECT i % 5, COUNT(*) FROM t1 GROUP BY i % 5"),
		same("agg_global", "SELECT COUNT(*), COUNT(i), SUM(i), MIN(d), MAX(d), SUM(m) FROM t1"),
		same("agg_global_filtered", "SELECT COUNT(*), SUM(d) FROM t1 WHERE s LIKE 'a%'"),
		// A streaming global aggregate over no rows emits nothing (Flink
		// streaming mode), where sqlite's batch answer is one row (0, NULL,
		// NULL); HAVING makes sqlite say the same.
		pair("agg_global_empty", "SELECT COUNT(*), SUM(i), MAX(s) FROM t1 WHERE i > 1000",
			"SELECT COUNT(*), SUM(i), MAX(s) FROM t1 WHERE i > 1000 HAVING COUNT(*) > 0"),
		same("agg_of_subquery", "SELECT b, COUNT(*) FROM (SELECT CASE WHEN d > 0 THEN 'pos' ELSE 'neg' END AS b FROM t1) AS x GROUP BY b"),
		same("agg_on_agg", "SELECT c, COUNT(*) FROM (SELECT k_many, COUNT(*) AS c FROM t1 GROUP BY k_many) AS x GROUP BY c"),
		same("agg_union_all", "SELECT k_few, COUNT(*) FROM (SELECT k_few FROM t1 UNION ALL SELECT k_few FROM t2) AS u GROUP BY k_few"),
		same("agg_window_bucket", "SELECT (t / 10) * 10 AS ts_bucket, COUNT(*), SUM(i) FROM t1 GROUP BY (t / 10) * 10"),
		same("agg_window_bucket_sub", "SELECT ts_bucket, k_few, MAX(d) FROM (SELECT (t / 100) * 100 AS ts_bucket, k_few, d FROM t1) AS x GROUP BY ts_bucket, k_few"),
		same("distinct_one", "SELECT DISTINCT k_few FROM t1"),
		same("distinct_two", "SELECT DISTINCT k_few, s FROM t1"),
		same("distinct_expr", "SELECT DISTINCT UPPER(s) FROM t1"),
		sorted("agg_order_limit", "SELECT k_many, COUNT(*) AS c FROM t1 WHERE k_many IS NOT NULL GROUP BY k_many ORDER BY k_many LIMIT 10"),
		// Joins on equality.
		same("join_inner", "SELECT t1.id, t2.id, t1.s, t2.s FROM t1 JOIN t2 ON t1.k_many = t2.k_many"),
		same("join_inner_filter", "SELECT t1.id, t2.j FROM t1 INNER JOIN t2 ON t1.k_few = t2.k_few WHERE t1.id < 40 AND t2.j > 15"),
		same("join_id", "SELECT a.id, a.i, b.j FROM t1 AS a JOIN t2 AS b ON a.id = b.id"),
		same("join_two_keys", "SELECT t1.id, t2.id FROM t1 JOIN t2 ON t1.k_many = t2.k_many AND t1.s = t2.s"),
		same("join_left", "SELECT t1.id, t2.id FROM t1 LEFT JOIN t2 ON t1.k_many = t2.k_many"),
		same("join_left_id", "SELECT a.id, b.d FROM t1 AS a LEFT JOIN t2 AS b ON a.id = b.id"),
		// sqlite 3.39+ has RIGHT and FULL joins.
		same("join_right", "SELECT a.id, b.id FROM t1 AS a RIGHT JOIN t2 AS b ON a.id = b.id"),
		same("join_full", "SELECT a.id, b.id, a.k_many FROM t1 AS a FULL OUTER JOIN t2 AS b ON a.k_many = b.k_many WHERE a.id IS NULL OR b.id IS NULL OR a.id < 100"),
		same("join_self", "SELECT a.id, b.id FROM t1 AS a JOIN t1 AS b ON a.k_many = b.k_many WHERE a.id < b.id AND a.k_few = 0"),
		same("join_then_agg", "SELECT t1.k_few, COUNT(*), SUM(t2.j) FROM t1 JOIN t2 ON t1.k_many = t2.k_many GROUP BY t1.k_few"),
		same("join_agg_inputs", "SELECT a.k_many, a.c, b.c FROM (SELECT k_many, COUNT(*) AS c FROM t1 GROUP BY k_many) AS a JOIN (SELECT k_many, COUNT(*) AS c FROM t2 GROUP BY k_many) AS b ON a.k_many = b.k_many"),
		same("join_left_agg", "SELECT a.k_many, COUNT(b.id) FROM t1 AS a LEFT JOIN t2 AS b ON a.k_many = b.k_many GROUP BY a.k_many"),
		same("union_distinct", "SELECT k_few FROM t1 UNION SELECT k_few FROM t2"),
	}
	for i := range qs {
		qs[i].stateful = true
	}
	return qs
}
