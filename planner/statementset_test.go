package planner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/registry"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/ast"
)

// newTestPlanner runs the DDL and SET statements of script against a fresh
// catalog.
func newTestPlanner(t *testing.T, script string) *Planner {
	t.Helper()
	p := &Planner{Catalog: NewCatalog(), Settings: NewSettings(), Env: connectors.Env{Dir: t.TempDir(), Now: time.Now, Location: time.UTC}}
	stmts, err := sql.Parse(script)
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New()
	for _, st := range stmts {
		switch n := st.Node.(type) {
		case *ast.CreateTable:
			tbl, err := p.BuildTable(n, reg)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Catalog.AddTable(tbl); err != nil {
				t.Fatal(err)
			}
		case *ast.Set:
			if err := p.Settings.Set(n.Key, n.Value); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected statement %T in test setup", n)
		}
	}
	return p
}

// planSet parses one EXECUTE STATEMENT SET and plans its INSERTs.
func planSet(t *testing.T, p *Planner, text string) []Node {
	t.Helper()
	stmts, err := sql.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 1 {
		t.Fatalf("want one statement, got %d", len(stmts))
	}
	set, ok := stmts[0].Node.(*ast.StatementSet)
	if !ok {
		t.Fatalf("want a statement set, got %T", stmts[0].Node)
	}
	roots, err := p.PlanStatementSet(set)
	if err != nil {
		t.Fatal(err)
	}
	return roots
}

func buildSet(t *testing.T, p *Planner, text string) *Job {
	t.Helper()
	job, err := p.BuildStatementSet("", planSet(t, p, text), BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Graph.Validate(); err != nil {
		t.Fatalf("invalid graph: %v\n%s", err, job.Explain())
	}
	return job
}

func sourceVertices(g *exec.Graph) []int {
	var out []int
	for i, v := range g.Vertices {
		if v.Source != nil {
			out = append(out, i)
		}
	}
	return out
}

// consumers lists the inputs that read vertex from, by consuming vertex.
func consumers(g *exec.Graph, from int) map[int]exec.Input {
	out := map[int]exec.Input{}
	for i, v := range g.Vertices {
		for _, in := range v.Inputs {
			if in.From == from {
				out[i] = in
			}
		}
	}
	return out
}

func chainNames(v *exec.Vertex) []string {
	var names []string
	for _, f := range v.Chain {
		names = append(names, f.Name)
	}
	return names
}

// vertexWith returns the vertex whose chain has an operator named name.
func vertexWith(t *testing.T, g *exec.Graph, name string) int {
	t.Helper()
	for i, v := range g.Vertices {
		if slices.Contains(chainNames(v), name) {
			return i
		}
	}
	t.Fatalf("no vertex runs %q", name)
	return -1
}

const sharedDDL = `
CREATE TABLE src (id BIGINT, name STRING) WITH (
  'connector' = 'datagen', 'number-of-rows' = '10',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '10');
CREATE TABLE other (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '5');
CREATE TABLE s1 (id BIGINT, name STRING) WITH ('connector' = 'blackhole');
CREATE TABLE s2 (id BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE s3 (id BIGINT) WITH ('connector' = 'blackhole');
`

func TestStatementSetSharesSource(t *testing.T) {
	for _, par := range []int{1, 3} {
		p := newTestPlanner(t, sharedDDL+"SET 'parallelism.default' = '"+strconv.Itoa(par)+"';")
		job := buildSet(t, p, `EXECUTE STATEMENT SET BEGIN
  INSERT INTO s1 SELECT id, name FROM src WHERE id > 2;
  INSERT INTO s2 SELECT id * 2 FROM src;
END;`)
		g := job.Graph
		srcs := sourceVertices(g)
		if len(srcs) != 1 {
			t.Fatalf("par %d: want one source vertex, got %d\n%s", par, len(srcs), job.Explain())
		}
		src := g.Vertices[srcs[0]]
		if src.Name != "Source: src" || len(src.Chain) != 0 {
			t.Fatalf("par %d: the shared source must be sealed: %s chains %v", par, src.Name, chainNames(src))
		}
		cons := consumers(g, srcs[0])
		if len(cons) != 2 {
			t.Fatalf("par %d: want the source to feed 2 vertices, got %d\n%s", par, len(cons), job.Explain())
		}
		for vi, in := range cons {
			if in.Partitioning.Kind != exec.Forward || g.Vertices[vi].Parallelism != src.Parallelism || src.Parallelism != par {
				t.Errorf("par %d: vertex %s reads the source through %s at parallelism %d (source %d)",
					par, g.Vertices[vi].Name, in.Partitioning, g.Vertices[vi].Parallelism, src.Parallelism)
			}
		}
		// Each INSERT keeps its own projection chained before its sink.
		for _, sink := range []string{"Sink: s1", "Sink: s2"} {
			v := g.Vertices[vertexWith(t, g, sink)]
			if _, ok := cons[vertexWith(t, g, sink)]; !ok || len(v.Chain) != 2 || !strings.HasPrefix(v.Chain[0].Name, "Calc(") {
				t.Errorf("par %d: %s runs in %v", par, sink, chainNames(v))
			}
		}
		if len(job.Roots) != 2 || job.Root != job.Roots[0] || !job.Bounded {
			t.Errorf("par %d: roots %d, bounded %v", par, len(job.Roots), job.Bounded)
		}
	}
}

func TestStatementSetSharesWatermarkedSource(t *testing.T) {
	p := newTestPlanner(t, `
CREATE TABLE ev (id BIGINT, ms BIGINT, ts AS TO_TIMESTAMP_LTZ(ms, 3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE s1 (id BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE s2 (id BIGINT, ms BIGINT) WITH ('connector' = 'blackhole');`)
	job := buildSet(t, p, `EXECUTE STATEMENT SET BEGIN
  INSERT INTO s1 SELECT id FROM ev;
  INSERT INTO s2 SELECT id, ms FROM ev WHERE id > 0;
END;`)
	g := job.Graph
	srcs := sourceVertices(g)
	if len(srcs) != 1 {
		t.Fatalf("want one source vertex, got %d\n%s", len(srcs), job.Explain())
	}
	// The computed column and the watermark are the same for both INSERTs:
	// they run once, in the shared vertex.
	chain := chainNames(g.Vertices[srcs[0]])
	if len(chain) != 2 || !strings.HasPrefix(chain[0], "Calc(") || !strings.HasPrefix(chain[1], "WatermarkAssigner(") {
		t.Fatalf("shared chain = %v\n%s", chain, job.Explain())
	}
	if n := len(consumers(g, srcs[0])); n != 2 {
		t.Fatalf("want 2 consumers of the shared vertex, got %d\n%s", n, job.Explain())
	}
	if strings.Count(job.Explain(), "WatermarkAssigner(") != 3 { // two logical plans, one job graph
		t.Errorf("the watermark assigner should appear once in the job graph:\n%s", job.Explain())
	}
}

func TestStatementSetSharesAcrossUnion(t *testing.T) {
	p := newTestPlanner(t, sharedDDL)
	// One INSERT also reads another table: src is still shared, other has
	// its own source.
	job := buildSet(t, p, `EXECUTE STATEMENT SET BEGIN
  INSERT INTO s2 SELECT id FROM src;
  INSERT INTO s3 SELECT id FROM src UNION ALL SELECT id FROM other;
END;`)
	var names []string
	for _, i := range sourceVertices(job.Graph) {
		names = append(names, job.Graph.Vertices[i].Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"Source: other", "Source: src"}) {
		t.Fatalf("sources = %v\n%s", names, job.Explain())
	}
}

func TestStatementSetDifferentTables(t *testing.T) {
	p := newTestPlanner(t, sharedDDL)
	job := buildSet(t, p, `EXECUTE STATEMENT SET BEGIN
  INSERT INTO s2 SELECT id FROM src;
  INSERT INTO s3 SELECT id FROM other;
END;`)
	g := job.Graph
	srcs := sourceVertices(g)
	if len(srcs) != 2 {
		t.Fatalf("want two source vertices, got %d\n%s", len(srcs), job.Explain())
	}
	// Nothing is shared, so each INSERT is chained as Build chains it.
	for _, i := range srcs {
		ch := chainNames(g.Vertices[i])
		if len(ch) == 0 || !strings.HasPrefix(ch[len(ch)-1], "Sink: ") {
			t.Errorf("%s chains %v", g.Vertices[i].Name, chainNames(g.Vertices[i]))
		}
	}
	if len(g.Vertices) != 2 {
		t.Errorf("want 2 vertices, got %d\n%s", len(g.Vertices), job.Explain())
	}
}

func TestStatementSetSharesCommonCalc(t *testing.T) {
	p := newTestPlanner(t, sharedDDL)
	job := buildSet(t, p, `EXECUTE STATEMENT SET BEGIN
  INSERT INTO s2 SELECT id FROM src WHERE id > 5;
  INSERT INTO s3 SELECT id FROM src WHERE id > 5;
  INSERT INTO s1 SELECT id, name FROM src;
END;`)
	g := job.Graph
	srcs := sourceVertices(g)
	if len(srcs) != 1 || len(g.Vertices[srcs[0]].Chain) != 0 {
		t.Fatalf("want one sealed source\n%s", job.Explain())
	}
	// The filter both first INSERTs apply runs once, feeding both sinks.
	calcs := 0
	for _, v := range g.Vertices {
		for _, n := range chainNames(v) {
			if strings.Contains(n, "where=[") {
				calcs++
			}
		}
	}
	if calcs != 1 {
		t.Errorf("want the common filter once, got %d\n%s", calcs, job.Explain())
	}
	s2, s3 := vertexWith(t, g, "Sink: s2"), vertexWith(t, g, "Sink: s3")
	in2, in3 := g.Vertices[s2].Inputs, g.Vertices[s3].Inputs
	if len(in2) != 1 || len(in3) != 1 || in2[0].From != in3[0].From || in2[0].From == srcs[0] {
		t.Errorf("s2 and s3 should read the same filter vertex\n%s", job.Explain())
	}
	if _, ok := consumers(g, srcs[0])[vertexWith(t, g, "Sink: s1")]; !ok {
		t.Errorf("s1 should read the source\n%s", job.Explain())
	}
}

func TestStatementSetSelfJoinAndShare(t *testing.T) {
	p := newTestPlanner(t, sharedDDL)
	job := buildSet(t, p, `EXECUTE STATEMENT SET BEGIN
  INSERT INTO s2 SELECT a.id FROM src a JOIN src b ON a.id = b.id;
  INSERT INTO s3 SELECT id FROM src;
END;`)
	if n := len(sourceVertices(job.Graph)); n != 1 {
		t.Fatalf("want one source vertex, got %d\n%s", n, job.Explain())
	}
}

func TestStatementSetSettingsConflict(t *testing.T) {
	p := newTestPlanner(t, `
CREATE TABLE a (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1', 'parallelism.default' = '2');
CREATE TABLE b (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1', 'parallelism.default' = '3');
CREATE TABLE s1 (id BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE s2 (id BIGINT) WITH ('connector' = 'blackhole');`)
	// Each INSERT alone is fine; together they contradict each other.
	roots := planSet(t, p, `EXECUTE STATEMENT SET BEGIN
  INSERT INTO s1 SELECT id FROM a;
  INSERT INTO s2 SELECT id FROM b;
END;`)
	for _, r := range roots {
		if _, err := p.Build("one", r, false, BuildOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := p.BuildStatementSet("", roots, BuildOptions{})
	if err == nil {
		t.Fatal("want a settings conflict")
	}
	for _, want := range []string{"parallelism.default", "table a", "table b"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// SET settles it for the whole set.
	if err := p.Settings.Set("parallelism.default", "2"); err != nil {
		t.Fatal(err)
	}
	job, err := p.BuildStatementSet("", roots, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range job.Graph.Vertices {
		if v.Parallelism != 2 {
			t.Errorf("%s runs at %d", v.Name, v.Parallelism)
		}
	}
}

func TestStatementSetExplainAndName(t *testing.T) {
	p := newTestPlanner(t, sharedDDL)
	text := `EXECUTE STATEMENT SET BEGIN
  INSERT INTO s1 SELECT id, name FROM src;
  INSERT INTO s2 SELECT id FROM src;
  INSERT INTO s1 SELECT id, name FROM src WHERE id < 3;
END;`
	job := buildSet(t, p, text)
	if job.Name != "insert-into_s1,s2" || job.Graph.Name != job.Name {
		t.Errorf("name = %q (graph %q)", job.Name, job.Graph.Name)
	}
	if again := buildSet(t, p, text); again.Name != job.Name {
		t.Errorf("name not stable: %q then %q", job.Name, again.Name)
	}
	out := job.Explain()
	logical, graph, ok := strings.Cut(out, "== Job Graph ==")
	if !ok {
		t.Fatalf("no job graph:\n%s", out)
	}
	if strings.Count(logical, "Sink(table=[s1]") != 2 || strings.Count(logical, "Sink(table=[s2]") != 1 {
		t.Errorf("logical plan should show all three INSERTs:\n%s", out)
	}
	if strings.Count(graph, "Sink: s1") != 2 || strings.Count(graph, "Sink: s2") != 1 || strings.Count(graph, "Source: src") != 1 {
		t.Errorf("job graph should have one source and three sinks:\n%s", out)
	}

	if err := p.Settings.Set("pipeline.name", "nightly"); err != nil {
		t.Fatal(err)
	}
	if job := buildSet(t, p, text); job.Name != "nightly" || job.Graph.Name != "nightly" {
		t.Errorf("pipeline.name: name = %q", job.Name)
	}
}

func TestStatementSetOfOneIsBuild(t *testing.T) {
	p := newTestPlanner(t, sharedDDL)
	roots := planSet(t, p, `EXECUTE STATEMENT SET BEGIN INSERT INTO s1 SELECT id, name FROM src WHERE id > 2; END;`)
	set, err := p.BuildStatementSet("", roots, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	one, err := p.Build("insert-into_s1", roots[0], false, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if set.Name != one.Name || set.Explain() != one.Explain() {
		t.Errorf("a set of one INSERT should plan as the INSERT:\n%s\nvs\n%s", set.Explain(), one.Explain())
	}
	if _, err := p.BuildStatementSet("", nil, BuildOptions{}); err == nil {
		t.Error("an empty statement set should be an error")
	}
}

// TestStatementSetRuns runs a set over one bounded CSV source into three
// filesystem sinks: the shared source's rows reach each of them, including
// both sides of a self-join (two edges from one vertex into another).
func TestStatementSetRuns(t *testing.T) {
	for _, par := range []string{"1", "2"} {
		dir := t.TempDir()
		in := filepath.Join(dir, "in")
		if err := os.MkdirAll(in, 0o755); err != nil {
			t.Fatal(err)
		}
		var rows []string
		for i := 1; i <= 50; i++ {
			rows = append(rows, strings.Join([]string{strconv.Itoa(i), "n" + strconv.Itoa(i)}, ","))
		}
		// Two files, so a parallel source has work for each subtask.
		if err := os.WriteFile(filepath.Join(in, "a.csv"), []byte(strings.Join(rows[:25], "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(in, "b.csv"), []byte(strings.Join(rows[25:], "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p := newTestPlanner(t, `SET 'parallelism.default' = '`+par+`';
CREATE TABLE src (id BIGINT, name STRING) WITH ('connector' = 'filesystem', 'path' = '`+in+`', 'format' = 'csv');
CREATE TABLE evens (id BIGINT, name STRING) WITH ('connector' = 'filesystem', 'path' = '`+filepath.Join(dir, "evens")+`', 'format' = 'csv');
CREATE TABLE ids (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '`+filepath.Join(dir, "ids")+`', 'format' = 'csv');
CREATE TABLE pairs (id BIGINT, prev STRING) WITH ('connector' = 'filesystem', 'path' = '`+filepath.Join(dir, "pairs")+`', 'format' = 'csv');`)
		job := buildSet(t, p, `EXECUTE STATEMENT SET BEGIN
  INSERT INTO evens SELECT id, name FROM src WHERE id % 2 = 0;
  INSERT INTO ids SELECT id + 1000 FROM src;
  INSERT INTO pairs SELECT a.id, b.name FROM src a JOIN src b ON a.id = b.id + 1;
END;`)
		srcs := sourceVertices(job.Graph)
		if len(srcs) != 1 {
			t.Fatalf("want one source, got %d\n%s", len(srcs), job.Explain())
		}
		join := job.Graph.Vertices[vertexWith(t, job.Graph, "Sink: pairs")] // the sink is chained after the join
		// An input may come through the Calc that narrows it to the
		// columns the join needs (a separate vertex: the source is shared).
		fromSrc := func(in exec.Input) bool {
			if in.From == srcs[0] {
				return true
			}
			v := job.Graph.Vertices[in.From]
			return len(v.Inputs) == 1 && v.Inputs[0].From == srcs[0]
		}
		if len(join.Inputs) != 2 || !fromSrc(join.Inputs[0]) || !fromSrc(join.Inputs[1]) {
			t.Fatalf("the self-join should read the shared source twice\n%s", job.Explain())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := exec.Run(ctx, job.Graph, exec.Env{WorkDir: t.TempDir()})
		cancel()
		if err != nil {
			t.Fatalf("par %s: %v", par, err)
		}
		var wantEvens, wantIDs, wantPairs []string
		for i := 1; i <= 50; i++ {
			if i%2 == 0 {
				wantEvens = append(wantEvens, strconv.Itoa(i)+",n"+strconv.Itoa(i))
			}
			wantIDs = append(wantIDs, strconv.Itoa(i+1000))
			if i > 1 {
				wantPairs = append(wantPairs, strconv.Itoa(i)+",n"+strconv.Itoa(i-1))
			}
		}
		checkLines(t, filepath.Join(dir, "evens"), wantEvens)
		checkLines(t, filepath.Join(dir, "ids"), wantIDs)
		checkLines(t, filepath.Join(dir, "pairs"), wantPairs)
	}
}

// checkLines compares the committed part files of dir with want, ignoring
// order (parallel subtasks write separate files).
func checkLines(t *testing.T, dir string, want []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no committed part files (%v)", dir, err)
	}
	var got []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				got = append(got, l)
			}
		}
	}
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Errorf("%s: got %d lines %v, want %d lines %v", dir, len(got), got, len(w), w)
	}
}

// TestQuerySharesRepeatedSubPlan: one query that computes the same
// aggregate twice (as Nexmark q5 does) translates it once; a different
// aggregate over the same table shares only the scan.
func TestQuerySharesRepeatedSubPlan(t *testing.T) {
	p := newTestPlanner(t, sharedDDL)
	count := func(job *Job, prefix string) int {
		n := 0
		for _, v := range job.Graph.Vertices {
			for _, name := range chainNames(v) {
				if strings.HasPrefix(name, prefix) {
					n++
				}
			}
		}
		return n
	}
	for _, c := range []struct {
		query string
		aggs  int
	}{
		{`SELECT a.id FROM (SELECT id, COUNT(*) AS n FROM src GROUP BY id) a
		  JOIN (SELECT id, COUNT(*) AS n FROM src GROUP BY id) b ON a.id = b.id AND a.n >= b.n`, 1},
		{`SELECT a.id FROM (SELECT id, COUNT(*) AS n FROM src GROUP BY id) a
		  JOIN (SELECT id, SUM(id) AS n FROM src GROUP BY id) b ON a.id = b.id AND a.n >= b.n`, 2},
	} {
		roots := planSet(t, p, "EXECUTE STATEMENT SET BEGIN INSERT INTO s2 "+c.query+"; END;")
		job, err := p.Build("q", roots[0], false, BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := job.Graph.Validate(); err != nil {
			t.Fatalf("invalid graph: %v\n%s", err, job.Explain())
		}
		if n := len(sourceVertices(job.Graph)); n != 1 {
			t.Fatalf("want one source vertex, got %d\n%s", n, job.Explain())
		}
		if n := count(job, "GroupAggregate"); n != c.aggs {
			t.Fatalf("want %d aggregates, got %d\n%s", c.aggs, n, job.Explain())
		}
	}
}
