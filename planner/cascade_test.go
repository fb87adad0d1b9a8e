package planner

import (
	"strings"
	"testing"
)

// TestCascadingWindowAggregation: a window aggregate grouped again by its
// (renamed) window is a window aggregate too, and joining it back on the
// window is a window join (Nexmark q5's shape); over processing time it
// stays a regular aggregate.
func TestCascadingWindowAggregation(t *testing.T) {
	p := newTestPlanner(t, `
CREATE TABLE bid (auction BIGINT, ts TIMESTAMP(3), pt AS PROCTIME(), WATERMARK FOR ts AS ts - INTERVAL '4' SECOND)
  WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE out1 (auction BIGINT, n BIGINT) WITH ('connector' = 'blackhole');
`)
	names := func(query string) string {
		roots := planSet(t, p, "EXECUTE STATEMENT SET BEGIN INSERT INTO out1 "+query+"; END;")
		job, err := p.Build("q", roots[0], false, BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, v := range job.Graph.Vertices {
			all = append(all, chainNames(v)...)
		}
		return strings.Join(all, "\n")
	}
	counts := func(tvf string) string {
		return "SELECT auction, COUNT(*) AS num, window_start AS st, window_end AS en FROM TABLE(HOP(TABLE bid, DESCRIPTOR(" + tvf +
			"), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) GROUP BY auction, window_start, window_end"
	}
	q5 := func(tvf string) string {
		return "SELECT a.auction, a.num FROM (" + counts(tvf) + ") a JOIN (SELECT MAX(c.num) AS maxn, c.st, c.en FROM (" + counts(tvf) +
			") c GROUP BY c.st, c.en) b ON a.st = b.st AND a.en = b.en AND a.num >= b.maxn"
	}
	got := names(q5("ts"))
	if n := strings.Count(got, "WindowAggregate("); n != 2 {
		t.Fatalf("event time: want 2 window aggregates, got %d:\n%s", n, got)
	}
	if !strings.Contains(got, "WindowJoin(") || strings.Contains(got, "GroupAggregate(") {
		t.Fatalf("event time: want a window join and no regular aggregate:\n%s", got)
	}
	got = names(q5("pt"))
	if !strings.Contains(got, "GroupAggregate(") || strings.Contains(got, "WindowJoin(") {
		t.Fatalf("processing time: want a regular aggregate and join:\n%s", got)
	}
	got = names("SELECT c.auction, MAX(c.num) FROM (" + counts("ts") + ") c GROUP BY c.auction")
	if !strings.Contains(got, "GroupAggregate(") {
		t.Fatalf("grouped by a non-window key: want a regular aggregate:\n%s", got)
	}
}
