package planner

import (
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/ast"
)

// optimizedTree plans one SELECT and renders the optimized plan.
func optimizedTree(t *testing.T, p *Planner, query string) string {
	t.Helper()
	stmts, err := sql.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	q, ok := stmts[0].Node.(*ast.Query)
	if !ok {
		t.Fatalf("want a SELECT, got %T", stmts[0].Node)
	}
	n, _, err := p.PlanQuery(q.Select)
	if err != nil {
		t.Fatal(err)
	}
	return ExplainTree(Optimize(n))
}

func pruneTestPlanner(t *testing.T) *Planner {
	dir := t.TempDir()
	return newTestPlanner(t, `
CREATE TABLE a (id BIGINT, name STRING, cat BIGINT, note STRING) WITH ('connector' = 'filesystem', 'path' = '`+dir+`', 'format' = 'csv');
CREATE TABLE b (aid BIGINT, price BIGINT, url STRING, ts TIMESTAMP(3)) WITH ('connector' = 'filesystem', 'path' = '`+dir+`', 'format' = 'csv');`)
}

func wantLines(t *testing.T, tree string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(tree, l) {
			t.Errorf("plan lacks %q:\n%s", l, tree)
		}
	}
}

func TestPruneJoinColumnsAndFilters(t *testing.T) {
	p := pruneTestPlanner(t)
	tree := optimizedTree(t, p, `SELECT a.name, b.price FROM a JOIN b ON a.id = b.aid WHERE a.cat = 10 AND b.price > a.cat`)
	wantLines(t, tree,
		"Calc(select=[a.name AS name, b.price AS price])",
		"Join(joinType=[INNER], where=[id = aid], residual=[b.price > a.cat])",
		"Calc(select=[id, name, cat], where=[a.cat = 10])",
		"Calc(select=[aid, price])")
}

func TestPruneJoinKeepsFiltersAboveOuterJoins(t *testing.T) {
	p := pruneTestPlanner(t)
	tree := optimizedTree(t, p, `SELECT a.name FROM a LEFT JOIN b ON a.id = b.aid WHERE b.price > 3`)
	wantLines(t, tree,
		"Calc(select=[a.name AS name], where=[b.price > 3])",
		"Calc(select=[id, name])",
		"Calc(select=[aid, price])")
}

func TestPruneJoinKeepsFiltersOnUpdatingInputs(t *testing.T) {
	p := pruneTestPlanner(t)
	tree := optimizedTree(t, p, `SELECT a.name, s.n FROM a JOIN (SELECT aid, COUNT(*) AS n FROM b GROUP BY aid) s ON a.id = s.aid WHERE s.n > 1`)
	if !strings.Contains(tree, "where=[s.n > 1]") || strings.Contains(tree, "where=[s.n > 1])\n   +- Join") {
		t.Errorf("filter on an updating input moved:\n%s", tree)
	}
	wantLines(t, tree, "Calc(select=[a.name AS name, s.n AS n], where=[s.n > 1])", "Calc(select=[id, name])")
}

func TestPruneJoinUnderTopN(t *testing.T) {
	p := pruneTestPlanner(t)
	tree := optimizedTree(t, p, `SELECT id, name, price FROM (
  SELECT a.*, b.price, b.ts, ROW_NUMBER() OVER (PARTITION BY a.id ORDER BY b.price DESC, b.ts) AS rn
  FROM a JOIN b ON a.id = b.aid) WHERE rn <= 1`)
	wantLines(t, tree,
		"select=[id, name, price, ts])",
		"Calc(select=[id, name])",
		"Calc(select=[aid, price, ts])")
	if strings.Count(tree, "note") != 1 { // only in the scan
		t.Errorf("note survives:\n%s", tree)
	}
}
