package planner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/ast"
)

func lookupTestPlanner(t *testing.T) *Planner {
	t.Helper()
	dir := t.TempDir()
	side := filepath.Join(dir, "side.csv")
	if err := os.WriteFile(side, []byte("1,one\n2,two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return newTestPlanner(t, `
SET 'parallelism.default' = '2';
CREATE TABLE bid (auction BIGINT, price BIGINT, dt TIMESTAMP(3), WATERMARK FOR dt AS dt)
  WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE side_input (`+"`key`"+` BIGINT, `+"`value`"+` STRING)
  WITH ('connector' = 'filesystem', 'path' = '`+side+`', 'format' = 'csv', 'lookup.join.cache.ttl' = '5 min');
CREATE TABLE side2 (k INT, v STRING)
  WITH ('connector' = 'filesystem', 'path' = '`+side+`', 'format' = 'csv', 'lookup.cache.ttl' = '30 s');
CREATE TABLE side3 (k DOUBLE, v STRING)
  WITH ('connector' = 'filesystem', 'path' = '`+side+`', 'format' = 'csv');
CREATE TABLE endless (k BIGINT) WITH ('connector' = 'datagen');`)
}

func planLookup(t *testing.T, p *Planner, query string) (Node, error) {
	t.Helper()
	stmts, err := sql.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := p.PlanQuery(stmts[0].Node.(*ast.Query).Select)
	return n, err
}

func findLookup(n Node) *LookupJoinNode {
	if l, ok := n.(*LookupJoinNode); ok {
		return l
	}
	for _, c := range n.Inputs() {
		if l := findLookup(c); l != nil {
			return l
		}
	}
	return nil
}

// Nexmark q13: the MOD key is computed from the probe row, the table's
// TTL comes from its option, and the join chains onto the probe side (one
// vertex, no exchange) at the job's parallelism.
func TestLookupJoinPlanQ13(t *testing.T) {
	p := lookupTestPlanner(t)
	n, err := planLookup(t, p, "SELECT B.auction, B.price, S.`value` FROM (SELECT *, PROCTIME() AS p_time FROM bid) B\n"+
		"JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S ON MOD(B.auction, 10000) = S.`key`")
	if err != nil {
		t.Fatal(err)
	}
	tree := ExplainTree(Optimize(n))
	wantLines(t, tree,
		"LookupJoin(table=[side_input], joinType=[InnerJoin], lookup=[key=auction % 10000], select=[auction, price, dt, p_time, key, value])",
		"Calc(select=[auction, price, dt, PROCTIME() AS p_time])")
	l := findLookup(n)
	if l == nil || l.TTL != 5*time.Minute {
		t.Fatalf("lookup join %+v: want TTL 5 min", l)
	}
	if Updating(n) {
		t.Error("an insert-only probe side gives an updating lookup join")
	}
	job, err := p.Build("q13", &CollectNode{Input: n}, false, BuildOptions{Collect: func(context.Context, batch.Batch) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	v := job.Graph.Vertices[0]
	if v.Source == nil || v.Parallelism != 2 || len(v.Chain) < 3 || !strings.HasPrefix(v.Chain[len(v.Chain)-2].Name, "LookupJoin(") {
		t.Errorf("the lookup join is not chained onto its source:\n%s", job.Explain())
	}
}

// Keys of different types: integers of any width hash alike, a DOUBLE
// key makes the other side DOUBLE; the other TTL option name.
func TestLookupJoinKeyTypes(t *testing.T) {
	p := lookupTestPlanner(t)
	n, err := planLookup(t, p, "SELECT * FROM (SELECT *, PROCTIME() AS pt FROM bid) b LEFT JOIN side2 FOR SYSTEM_TIME AS OF b.pt s ON b.auction = s.k AND s.v <> 'x'")
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, ExplainTree(n), "LookupJoin(table=[side2], joinType=[LeftOuterJoin], lookup=[k=auction], joinCondition=[v <> 'x']")
	if l := findLookup(n); l.TTL != 30*time.Second || !l.Out.Fields[len(l.Out.Fields)-1].Type.Equal(l.Out.Fields[len(l.Out.Fields)-1].Type.WithNotNull(false)) {
		t.Errorf("TTL %v, out %v", l.TTL, l.Out)
	}
	n, err = planLookup(t, p, "SELECT * FROM (SELECT *, PROCTIME() AS pt FROM bid) b JOIN side3 FOR SYSTEM_TIME AS OF b.pt s ON s.k = b.price")
	if err != nil {
		t.Fatal(err)
	}
	l := findLookup(n)
	if l.TTL != time.Hour || l.LeftKeys[0].Type().Kind != l.RightKeys[0].Type().Kind {
		t.Errorf("TTL %v (want the 60 min default), keys %s = %s", l.TTL, l.LeftKeys[0].Type(), l.RightKeys[0].Type())
	}
}

func TestLookupJoinPlanErrors(t *testing.T) {
	p := lookupTestPlanner(t)
	const probe = "SELECT * FROM (SELECT *, PROCTIME() AS pt FROM bid) b\n"
	cases := []struct{ q, want string }{
		{probe + "JOIN side2 FOR SYSTEM_TIME AS OF b.dt AS s ON b.auction = s.k",
			"2:34: not supported yet: FOR SYSTEM_TIME AS OF b.dt: an event-time temporal join"},
		{probe + "JOIN side2 FOR SYSTEM_TIME AS OF b.price AS s ON b.auction = s.k",
			"2:34: FOR SYSTEM_TIME AS OF needs a time attribute column of the left input (a PROCTIME() column), got b.price of type BIGINT"},
		{probe + "JOIN side2 FOR SYSTEM_TIME AS OF PROCTIME() AS s ON b.auction = s.k",
			"2:34: FOR SYSTEM_TIME AS OF needs a time attribute column of the left input (a PROCTIME() column), got PROCTIME()"},
		{probe + "JOIN side2 FOR SYSTEM_TIME AS OF s.k AS s ON b.auction = s.k", "2:34: unknown"},
		{probe + "JOIN side2 FOR SYSTEM_TIME AS OF b.pt AS s ON b.auction > s.k",
			"2:47: a lookup join needs an equality between the left input and the columns of 'side2' in ON"},
		{probe + "JOIN endless FOR SYSTEM_TIME AS OF b.pt AS e ON b.auction = e.k",
			"2:6: not supported yet: a lookup join with the unbounded table 'endless'"},
		{probe + "JOIN nosuch FOR SYSTEM_TIME AS OF b.pt AS e ON b.auction = e.k", "2:6: unknown table 'nosuch'"},
		{"SELECT * FROM (SELECT auction, PROCTIME() AS pt FROM bid GROUP BY auction) b\nJOIN side2 FOR SYSTEM_TIME AS OF b.pt AS s ON b.auction = s.k",
			"2:12: not supported yet: a lookup join of an updating input"},
	}
	for _, c := range cases {
		_, err := planLookup(t, p, c.q)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got  %v\n want %s...", c.q, err, c.want)
		}
	}
}
