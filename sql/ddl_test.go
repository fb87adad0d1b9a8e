package sql

import (
	"reflect"
	"testing"

	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

func parseOne(t *testing.T, text string) ast.Statement {
	t.Helper()
	stmts, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	if len(stmts) != 1 {
		t.Fatalf("Parse(%q): %d statements, want 1", text, len(stmts))
	}
	return stmts[0].Node
}

func TestCreateTable(t *testing.T) {
	text := `CREATE TEMPORARY TABLE IF NOT EXISTS orders (
  id BIGINT NOT NULL COMMENT 'order id',
  ` + "`out`" + ` STRING,
  price DECIMAL(10, 2),
  ts TIMESTAMP(3),
  pt AS PROCTIME(),
  total AS price * 2 COMMENT 'doubled',
  part INT METADATA FROM 'partition' VIRTUAL,
  off BIGINT METADATA VIRTUAL,
  rowtime TIMESTAMP_LTZ(3) METADATA,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND,
  PRIMARY KEY (id, price) NOT ENFORCED
) COMMENT 'orders table' WITH (
  'connector' = 'kafka',
  'topic' = 'it''s'
)`
	ct, ok := parseOne(t, text).(*ast.CreateTable)
	if !ok {
		t.Fatalf("not a CreateTable")
	}
	if ct.Name != "orders" || !ct.IfNotExists || !ct.Temporary || ct.Comment != "orders table" {
		t.Errorf("header wrong: %+v", ct)
	}
	type col struct {
		name, typ, computed, text, metaKey string
		meta, virtual                      bool
		comment                            string
	}
	want := []col{
		{name: "id", typ: "BIGINT NOT NULL", comment: "order id"},
		{name: "out", typ: "STRING"},
		{name: "price", typ: "DECIMAL(10, 2)"},
		{name: "ts", typ: "TIMESTAMP(3)"},
		{name: "pt", typ: "NULL", computed: "PROCTIME()", text: "PROCTIME()"},
		{name: "total", typ: "NULL", computed: "(* price 2)", text: "price * 2", comment: "doubled"},
		{name: "part", typ: "INT", meta: true, metaKey: "partition", virtual: true},
		{name: "off", typ: "BIGINT", meta: true, virtual: true},
		{name: "rowtime", typ: "TIMESTAMP_LTZ(3)", meta: true},
	}
	if len(ct.Columns) != len(want) {
		t.Fatalf("%d columns, want %d", len(ct.Columns), len(want))
	}
	for i, w := range want {
		c := ct.Columns[i]
		got := col{name: c.Name, typ: c.Type.String(), text: c.ComputedText, metaKey: c.MetadataKey, meta: c.Metadata, virtual: c.Virtual, comment: c.Comment}
		if c.Computed != nil {
			got.computed = exprString(c.Computed)
		}
		if got != w {
			t.Errorf("column %d:\n got  %+v\n want %+v", i, got, w)
		}
	}
	if ct.Columns[1].Pos.Line != 3 || ct.Columns[1].Pos.Col != 3 {
		t.Errorf("column out at %v, want 3:3", ct.Columns[1].Pos)
	}
	wm := ct.Watermark
	if wm == nil || wm.Column != "ts" || exprString(wm.Expr) != "(- ts INTERVAL'5'SECOND)" || wm.Text != "ts - INTERVAL '5' SECOND" {
		t.Errorf("watermark wrong: %+v", wm)
	}
	if !reflect.DeepEqual(ct.PrimaryKey, []string{"id", "price"}) {
		t.Errorf("primary key %v", ct.PrimaryKey)
	}
	wantOpts := []ast.Option{{Key: "connector", Value: "kafka"}, {Key: "topic", Value: "it's"}}
	if len(ct.Options) != 2 {
		t.Fatalf("options %+v", ct.Options)
	}
	for i, o := range wantOpts {
		if ct.Options[i].Key != o.Key || ct.Options[i].Value != o.Value {
			t.Errorf("option %d = %+v, want %+v", i, ct.Options[i], o)
		}
	}
	if p := ct.Options[0].KeyPos; p.Line != 14 || p.Col != 3 {
		t.Errorf("connector key at %v, want 14:3", p)
	}
	if p := ct.Options[0].ValuePos; p.Line != 14 || p.Col != 17 {
		t.Errorf("connector value at %v, want 14:17", p)
	}
}

func TestCreateTableInlinePrimaryKey(t *testing.T) {
	ct := parseOne(t, "CREATE TABLE t (id INT PRIMARY KEY NOT ENFORCED, v STRING) WITH ('connector'='print')").(*ast.CreateTable)
	if !reflect.DeepEqual(ct.PrimaryKey, []string{"id"}) || ct.Temporary || ct.IfNotExists {
		t.Errorf("got %+v", ct)
	}
	ct = parseOne(t, "CREATE TABLE t (id INT, CONSTRAINT pk PRIMARY KEY (id) NOT ENFORCED)").(*ast.CreateTable)
	if !reflect.DeepEqual(ct.PrimaryKey, []string{"id"}) || ct.Options != nil {
		t.Errorf("got %+v", ct)
	}
}

func TestTypes(t *testing.T) {
	cases := []struct {
		in   string
		want types.Type
	}{
		{"BOOLEAN", types.TypeBoolean},
		{"INT", types.TypeInt},
		{"INTEGER", types.TypeInt},
		{"BIGINT", types.TypeBigInt},
		{"DOUBLE", types.TypeDouble},
		{"DOUBLE PRECISION", types.TypeDouble},
		{"DECIMAL", types.DecimalOf(10, 0)},
		{"DECIMAL(5)", types.DecimalOf(5, 0)},
		{"NUMERIC(18, 4)", types.DecimalOf(18, 4)},
		{"STRING", types.TypeString},
		{"VARCHAR", types.TypeString},
		{"VARCHAR(20)", types.Type{Kind: types.String, Length: 20}},
		{"CHAR(3)", types.Type{Kind: types.String, Length: 3}},
		{"TIMESTAMP", types.TimestampOf(6)},
		{"TIMESTAMP(3)", types.TimestampOf(3)},
		{"TIMESTAMP(3) WITHOUT TIME ZONE", types.TimestampOf(3)},
		{"TIMESTAMP_LTZ", types.TimestampLTZOf(6)},
		{"TIMESTAMP_LTZ(3)", types.TimestampLTZOf(3)},
		{"TIMESTAMP(3) WITH LOCAL TIME ZONE", types.TimestampLTZOf(3)},
		{"TIMESTAMP WITH LOCAL TIME ZONE", types.TimestampLTZOf(6)},
		{"DATE", types.TypeDate},
		{"BIGINT NOT NULL", types.TypeBigInt.WithNotNull(true)},
	}
	for _, c := range cases {
		ct, ok := parseOne(t, "CREATE TABLE t (c "+c.in+")").(*ast.CreateTable)
		if !ok || len(ct.Columns) != 1 {
			t.Fatalf("%s: bad statement", c.in)
		}
		if got := ct.Columns[0].Type; got != c.want {
			t.Errorf("%s: got %v, want %v", c.in, got, c.want)
		}
	}
}

func TestStatements(t *testing.T) {
	cases := []struct {
		in   string
		want ast.Statement
	}{
		{"SHOW TABLES", &ast.ShowTables{}},
		{"show views", &ast.ShowTables{Views: true}},
		{"DESCRIBE orders", &ast.Describe{Name: "orders"}},
		{"DESC `my table`", &ast.Describe{Name: "my table"}},
		{"SET 'parallelism.default' = '4'", &ast.Set{Key: "parallelism.default", Value: "4"}},
		{"SET", &ast.Set{}},
		{"SET table.exec.mini-batch.enabled = true", &ast.Set{Key: "table.exec.mini-batch.enabled", Value: "true"}},
		{"RESET 'parallelism.default'", &ast.Reset{Key: "parallelism.default"}},
		{"RESET", &ast.Reset{}},
		{"DROP TABLE t", &ast.Drop{Name: "t"}},
		{"DROP TABLE IF EXISTS db.t", &ast.Drop{Name: "db.t", IfExists: true}},
		{"DROP TEMPORARY VIEW IF EXISTS v", &ast.Drop{Name: "v", View: true, IfExists: true}},
		{"SHOW JOBS", &ast.ShowJobs{}},
		{"show jobs", &ast.ShowJobs{}},
		{"STOP JOB 'a1b2'", &ast.StopJob{ID: "a1b2"}},
		{"STOP JOB 'a1b2' WITH SAVEPOINT", &ast.StopJob{ID: "a1b2", WithSavepoint: true}},
		{"STOP JOB 'a1b2' WITH DRAIN", &ast.StopJob{ID: "a1b2", WithDrain: true}},
		{"stop job 'it''s' with savepoint with drain", &ast.StopJob{ID: "it's", WithSavepoint: true, WithDrain: true}},
		{"SHOW CHECKPOINTS", &ast.ShowCheckpoints{}},
		{"Show Checkpoints For Job 'a1b2'", &ast.ShowCheckpoints{Job: "a1b2"}},
	}
	for _, c := range cases {
		got := parseOne(t, c.in)
		// Positions are checked elsewhere; compare the rest.
		switch g := got.(type) {
		case *ast.ShowTables:
			g.Pos = ast.Pos{}
		case *ast.Describe:
			g.Pos = ast.Pos{}
		case *ast.Set:
			g.Pos = ast.Pos{}
		case *ast.Reset:
			g.Pos = ast.Pos{}
		case *ast.Drop:
			g.Pos = ast.Pos{}
		case *ast.ShowJobs:
			g.Pos = ast.Pos{}
		case *ast.StopJob:
			g.Pos = ast.Pos{}
		case *ast.ShowCheckpoints:
			g.Pos = ast.Pos{}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got  %#v\n want %#v", c.in, got, c.want)
		}
	}
}

func TestCreateView(t *testing.T) {
	v := parseOne(t, "CREATE TEMPORARY VIEW IF NOT EXISTS v (x, y) AS SELECT a, b FROM t WHERE a > 1").(*ast.CreateView)
	if v.Name != "v" || !v.IfNotExists || !reflect.DeepEqual(v.Columns, []string{"x", "y"}) {
		t.Errorf("header wrong: %+v", v)
	}
	if v.Text != "SELECT a, b FROM t WHERE a > 1" {
		t.Errorf("text %q", v.Text)
	}
	if got := selectString(v.Query); got != "SELECT a, b FROM t WHERE (> a 1)" {
		t.Errorf("query %s", got)
	}
}

func TestInsert(t *testing.T) {
	cases := []struct {
		in, table string
		cols      []string
		overwrite bool
		query     string
	}{
		{"INSERT INTO sink SELECT a FROM src", "sink", nil, false, "SELECT a FROM src"},
		{"INSERT OVERWRITE sink (x, y) SELECT a, b FROM src", "sink", []string{"x", "y"}, true, "SELECT a, b FROM src"},
		{"INSERT INTO sink (SELECT a FROM src)", "sink", nil, false, "SELECT a FROM src"},
		{"INSERT INTO sink VALUES (1, 'a'), (2, 'b')", "sink", nil, false, "SELECT 1, 'a' UNION ALL SELECT 2, 'b'"},
		{"INSERT INTO sink WITH c AS (SELECT 1 AS x) SELECT x FROM c", "sink", nil, false, "WITH c (SELECT 1 AS x) SELECT x FROM c"},
	}
	for _, c := range cases {
		ins, ok := parseOne(t, c.in).(*ast.Insert)
		if !ok {
			t.Fatalf("%s: not an insert", c.in)
		}
		if ins.Table != c.table || !reflect.DeepEqual(ins.Columns, c.cols) || ins.Overwrite != c.overwrite {
			t.Errorf("%s: got %+v", c.in, ins)
		}
		if got := selectString(ins.Query); got != c.query {
			t.Errorf("%s: query\n got  %s\n want %s", c.in, got, c.query)
		}
	}
}

func TestExplainAndStatementSet(t *testing.T) {
	ex := parseOne(t, "EXPLAIN PLAN FOR SELECT a FROM t").(*ast.Explain)
	if _, ok := ex.Stmt.(*ast.Query); !ok {
		t.Errorf("EXPLAIN PLAN FOR wraps %T", ex.Stmt)
	}
	ex = parseOne(t, "EXPLAIN INSERT INTO s SELECT a FROM t").(*ast.Explain)
	if _, ok := ex.Stmt.(*ast.Insert); !ok {
		t.Errorf("EXPLAIN wraps %T", ex.Stmt)
	}
	stmts, err := Parse("EXECUTE STATEMENT SET BEGIN\n  INSERT INTO a SELECT x FROM t;\n  INSERT INTO b SELECT y FROM t;\nEND;\nSHOW TABLES;")
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 2 {
		t.Fatalf("%d statements, want 2", len(stmts))
	}
	set, ok := stmts[0].Node.(*ast.StatementSet)
	if !ok || len(set.Inserts) != 2 || set.Inserts[0].Table != "a" || set.Inserts[1].Table != "b" {
		t.Fatalf("statement set wrong: %#v", stmts[0].Node)
	}
	if p := set.Inserts[1].Pos; p.Line != 3 || p.Col != 3 {
		t.Errorf("second insert at %v, want 3:3", p)
	}
	if _, ok := stmts[1].Node.(*ast.ShowTables); !ok {
		t.Errorf("second statement %T", stmts[1].Node)
	}
}

func TestJobStatementPositions(t *testing.T) {
	stmts, err := Parse("SHOW JOBS;\n  STOP JOB 'j' WITH DRAIN;\nSHOW CHECKPOINTS FOR JOB 'j'")
	if err != nil {
		t.Fatal(err)
	}
	want := []ast.Pos{{Line: 1, Col: 1, Offset: 0}, {Line: 2, Col: 3, Offset: 13}, {Line: 3, Col: 1, Offset: 38}}
	if len(stmts) != len(want) {
		t.Fatalf("%d statements, want %d", len(stmts), len(want))
	}
	for i, w := range want {
		if p := stmts[i].Node.Position(); p != w {
			t.Errorf("statement %d (%T) at %+v, want %+v", i, stmts[i].Node, p, w)
		}
	}
}

func TestScriptSplitting(t *testing.T) {
	text := "-- setup\nSET 'a' = 'b;c';\n/* two\n lines */ SHOW TABLES ;;\n  SELECT ';' FROM t"
	stmts, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		text      string
		line, col int
	}{
		{"SET 'a' = 'b;c'", 2, 1},
		{"SHOW TABLES", 4, 11},
		{"SELECT ';' FROM t", 5, 3},
	}
	if len(stmts) != len(want) {
		t.Fatalf("%d statements, want %d", len(stmts), len(want))
	}
	for i, w := range want {
		if stmts[i].Text != w.text || stmts[i].Pos.Line != w.line || stmts[i].Pos.Col != w.col {
			t.Errorf("statement %d: %q at %v, want %q at %d:%d", i, stmts[i].Text, stmts[i].Pos, w.text, w.line, w.col)
		}
	}
	if s := stmts[0].Node.(*ast.Set); s.Value != "b;c" {
		t.Errorf("SET value %q", s.Value)
	}
}

func TestComplete(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"SELECT 1;", true},
		{"SELECT 1", false},
		{"SELECT 1; -- done", true},
		{"SELECT ';", false},
		{"SELECT 1 /* ; */", false},
		{"SELECT 1 /* ;", false},
		{"", false},
		{"EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;", false},
		{"EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; END;", true},
		{"SELECT `a;", false},
		{"SELECT # 1;", true},
		{"SHOW JOBS;", true},
		{"SHOW JOBS", false},
		{"STOP JOB 'a;b'", false},
		{"STOP JOB 'a;b' WITH SAVEPOINT WITH DRAIN;", true},
		{"STOP JOB 'a", false},
		{"SHOW CHECKPOINTS FOR JOB 'x';", true},
	}
	for _, c := range cases {
		if got := Complete(c.in); got != c.want {
			t.Errorf("Complete(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestRowTypes(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ROW<id BIGINT, name VARCHAR, dateTime TIMESTAMP(3)>", "ROW<`id` BIGINT, `name` STRING, `dateTime` TIMESTAMP(3)>"},
		{"ROW(id BIGINT, name VARCHAR(10))", "ROW<`id` BIGINT, `name` VARCHAR(10)>"},
		{"ROW<`the id` BIGINT NOT NULL, `key` STRING NULL>", "ROW<`the id` BIGINT NOT NULL, `key` STRING>"},
		{"ROW<a ROW<b INT, c ROW(d DATE)>>", "ROW<`a` ROW<`b` INT, `c` ROW<`d` DATE>>>"},
		{"ROW<a ROW<b ROW<c INT>>> NOT NULL", "ROW<`a` ROW<`b` ROW<`c` INT>>> NOT NULL"},
		{"row<x decimal(5, 2)>", "ROW<`x` DECIMAL(5, 2)>"},
	}
	for _, c := range cases {
		ct, ok := parseOne(t, "CREATE TABLE t (r "+c.in+", z INT) WITH ('connector' = 'nexmark')").(*ast.CreateTable)
		if !ok {
			t.Fatalf("%s: not a CreateTable", c.in)
		}
		if len(ct.Columns) != 2 || ct.Columns[0].Type.String() != c.want || ct.Columns[1].Name != "z" {
			t.Errorf("%s: got %v", c.in, ct.Columns)
		}
	}
	// Flatten names the leaves after their path; a NULL row has NULL fields.
	ct := parseOne(t, "CREATE TABLE t (r ROW<a BIGINT NOT NULL, s ROW<b STRING>> NOT NULL, q ROW<c INT NOT NULL>)").(*ast.CreateTable)
	var leaves []string
	for _, c := range ct.Columns {
		for _, f := range types.Flatten(types.Field{Name: c.Name, Type: c.Type}) {
			leaves = append(leaves, f.Name+" "+f.Type.String())
		}
	}
	want := []string{"r.a BIGINT NOT NULL", "r.s.b STRING", "q.c INT"}
	if !reflect.DeepEqual(leaves, want) {
		t.Errorf("leaves %q, want %q", leaves, want)
	}
	if !ct.Columns[0].Type.Equal(ct.Columns[0].Type) || ct.Columns[0].Type.Equal(ct.Columns[1].Type) {
		t.Errorf("ROW equality is wrong")
	}
}
