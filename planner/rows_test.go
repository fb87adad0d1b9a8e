package planner

import (
	"strings"
	"testing"

	"github.com/streamsql/streamsql/connectors/registry"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

const rowTables = `
CREATE TABLE nexmark (
  event_type INT,
  person ROW<id BIGINT, name VARCHAR, dateTime TIMESTAMP(3)>,
  auction ROW(id BIGINT, dateTime TIMESTAMP(3), ` + "`seller`" + ` BIGINT),
  bid ROW<auction BIGINT, price BIGINT, url VARCHAR, dateTime TIMESTAMP(3)>,
  dateTime AS CASE WHEN event_type = 0 THEN person.dateTime WHEN event_type = 1 THEN auction.dateTime ELSE bid.dateTime END,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'events.num' = '1000');
CREATE TABLE bid (auction BIGINT, price BIGINT, dateTime TIMESTAMP(3))
  WITH ('connector' = 'nexmark', 'nexmark.table' = 'bid', 'events.num' = '1000');`

// planErr plans one SELECT and returns its error ("" if none).
func planErr(t *testing.T, p *Planner, query string) (Node, string) {
	t.Helper()
	stmts, err := sql.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := p.PlanQuery(stmts[0].Node.(*ast.Query).Select)
	if err != nil {
		return nil, err.Error()
	}
	return n, ""
}

func TestRowFieldAccess(t *testing.T) {
	p := newTestPlanner(t, rowTables)
	cases := []struct{ query, schema string }{
		{"SELECT n.bid.price, nexmark.bid.url, n.bid.auction FROM nexmark AS n, nexmark WHERE n.event_type = nexmark.event_type",
			"(price BIGINT, url STRING, auction BIGINT)"},
		{"SELECT bid.price, nexmark.bid.url FROM nexmark", "(price BIGINT, url STRING)"},
		// Case-insensitive, like every identifier; a computed column over
		// the leaves; a backquoted field name.
		{"SELECT BID.Price, Person.DATETIME, dateTime, auction.seller FROM nexmark", "(Price BIGINT, DATETIME TIMESTAMP(3), dateTime0 TIMESTAMP(3), seller BIGINT)"},
		// A relation named bid wins over the ROW column bid (Flink's rule):
		// bid.price is the table's column, nexmark.bid.price the field.
		{"SELECT bid.price, nexmark.bid.price AS p2 FROM nexmark JOIN bid ON bid.auction = nexmark.bid.auction",
			"(price BIGINT, p2 BIGINT)"},
		// Through a subquery that keeps the leaves as columns.
		{"SELECT s.bid.price FROM (SELECT * FROM nexmark) AS s", "(price BIGINT)"},
		{"SELECT bid.price FROM (SELECT * FROM nexmark)", "(price BIGINT)"},
	}
	for _, c := range cases {
		n, msg := planErr(t, p, c.query)
		if msg != "" {
			t.Errorf("%s: %s", c.query, msg)
			continue
		}
		if got := n.Schema().String(); got != c.schema {
			t.Errorf("%s:\n got  %s\n want %s", c.query, got, c.schema)
		}
	}
	// The relation bid's price is its own column, not the ROW's leaf: the
	// join's nexmark side keeps only the leaf bid.auction.
	tree := optimizedTree(t, p, "SELECT bid.price FROM nexmark JOIN bid ON bid.auction = nexmark.bid.auction")
	wantLines(t, tree, "Join(joinType=[INNER], where=[bid.auction = auction])", ":- Calc(select=[bid.auction])", "+- Calc(select=[auction, price])")
}

func TestRowFieldAccessErrors(t *testing.T) {
	p := newTestPlanner(t, rowTables)
	cases := []struct{ query, want string }{
		{"SELECT bid.price FROM nexmark a, nexmark b", "1:8: column 'bid.price' is ambiguous"},
		{"SELECT bid.url FROM nexmark AS bid", "1:8: unknown column 'bid.url'"},
		{"SELECT bid.cost FROM nexmark", "1:8: unknown column 'bid.cost'"},
		{"SELECT nexmark.bid.price FROM nexmark AS n", "1:8: unknown column 'nexmark.bid.price' (no table 'nexmark' in scope, and no ROW column of that path)"},
		{"SELECT bid FROM nexmark", "1:8: not supported yet: ROW column 'bid' as a whole value; read its fields, e.g. bid.auction"},
		{"SELECT event_type FROM nexmark WHERE\n person IS NULL", "2:2: not supported yet: ROW column 'person' as a whole value; read its fields, e.g. person.id"},
		{"SELECT COUNT(*) FROM nexmark GROUP BY nexmark.auction", "1:39: not supported yet: ROW column 'auction' as a whole value; read its fields, e.g. auction.id"},
	}
	for _, c := range cases {
		_, msg := planErr(t, p, c.query)
		if msg != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.query, msg, c.want)
		}
	}
}

// Nested ROWs resolve by path; an inner ROW is a whole value too.
func TestRowNestedResolve(t *testing.T) {
	r := types.RowOf(types.Field{Name: "s", Type: types.RowOf(types.Field{Name: "b", Type: types.TypeString})}, types.Field{Name: "a", Type: types.TypeInt})
	sc := scopeOf("t", types.Schema{Fields: types.Flatten(types.Field{Name: "r", Type: r})})
	for _, parts := range [][]string{{"r", "s", "b"}, {"T", "R", "S", "B"}} {
		i, typ, err := sc.Resolve(&ast.Ident{Parts: parts})
		if err != nil || i != 0 || typ.Kind != types.String {
			t.Errorf("%v: %d %v %v", parts, i, typ, err)
		}
	}
	if _, _, err := sc.Resolve(&ast.Ident{Parts: []string{"r", "s"}}); err == nil || !strings.Contains(err.Error(), "ROW column 'r.s' as a whole value; read its fields, e.g. r.s.b") {
		t.Errorf("r.s: %v", err)
	}
}

// A scan reads only the ROW leaves its query block names, plus those of
// the computed columns and the watermark.
func TestRowLeavesPruned(t *testing.T) {
	p := newTestPlanner(t, rowTables)
	tree := optimizedTree(t, p, "SELECT bid.auction, bid.price FROM nexmark WHERE event_type = 2")
	wantLines(t, tree, "TableSourceScan(table=[nexmark], fields=[event_type, person.dateTime, auction.dateTime, bid.auction, bid.price, bid.dateTime])")
	tree = optimizedTree(t, p, "SELECT * FROM nexmark")
	wantLines(t, tree, "TableSourceScan(table=[nexmark], fields=[event_type, person.id, person.name, person.dateTime, auction.id, auction.dateTime, auction.seller, bid.auction, bid.price, bid.url, bid.dateTime])")
}

func TestRowTableErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ ddl, want string }{
		{"CREATE TABLE f (id INT,\n  r ROW<a INT>) WITH ('connector' = 'filesystem', 'path' = '" + dir + "', 'format' = 'csv')",
			"2:3: not supported yet: ROW column 'r' in a table of connector 'filesystem' (only the nexmark connector reads ROW columns)"},
		{"CREATE TABLE f (r ROW<a INT>, PRIMARY KEY (r) NOT ENFORCED) WITH ('connector' = 'nexmark')",
			"1:1: not supported yet: primary key column 'r' of type ROW"},
		{"CREATE TABLE f (`r.a` INT, r ROW<a INT>) WITH ('connector' = 'nexmark')",
			"1:28: field 'r.a' of ROW column 'r' clashes with column 'r.a'"},
		{"CREATE TABLE f (r ROW<a INT> METADATA) WITH ('connector' = 'nexmark')",
			"1:17: not supported yet: METADATA column 'r' of type ROW"},
	}
	p := newTestPlanner(t, "")
	for _, c := range cases {
		stmts, err := sql.Parse(c.ddl)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.BuildTable(stmts[0].Node.(*ast.CreateTable), registry.New())
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got  %v\n want %s", c.ddl, err, c.want)
		}
	}
}

// WHERE event_type = n of a block reading the nexmark table alone reaches
// the connector (EqualityFilterFactory); the filter stays in the plan.
func TestRowEventTypePushed(t *testing.T) {
	p := newTestPlanner(t, rowTables)
	scanOpt := func(query string) string {
		n, msg := planErr(t, p, query)
		if msg != "" {
			t.Fatalf("%s: %s", query, msg)
		}
		for len(n.Inputs()) > 0 {
			n = n.Inputs()[0]
		}
		return n.(*Scan).Table.ConnectorOptions["nexmark.event-type"]
	}
	for q, want := range map[string]string{
		"SELECT bid.price FROM nexmark WHERE event_type = 2":                   "2",
		"SELECT person.id FROM nexmark AS n WHERE 0 = n.event_type AND 1 = 1":  "0",
		"SELECT bid.price FROM nexmark WHERE event_type = 2 OR event_type = 1": "",
		"SELECT bid.price FROM nexmark WHERE event_type > 1":                   "",
		"SELECT bid.price FROM nexmark":                                        "",
	} {
		if got := scanOpt(q); got != want {
			t.Errorf("%s: pushed %q, want %q", q, got, want)
		}
	}
	tree := optimizedTree(t, p, "SELECT bid.price FROM nexmark WHERE event_type = 2")
	wantLines(t, tree, "where=[event_type = 2]")
	if p.Catalog.tables["nexmark"].ConnectorOptions["nexmark.event-type"] != "" {
		t.Errorf("the catalog's table was changed")
	}
}
