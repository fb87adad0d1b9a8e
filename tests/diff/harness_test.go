package diff

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// Tests of the harness itself: a differential test that cannot fail
// proves nothing, so these check that its normalization keeps real
// differences apart and that the changelog rules are enforced.

func TestParseQuoteRow(t *testing.T) {
	cases := []struct {
		line string
		want []string
	}{
		{"1,'a',NULL", []string{"1", `"a"`, "NULL"}},
		{"'it''s','a,b',''", []string{`"it's"`, `"a,b"`, `""`}},
		{"'NULL',NULL", []string{`"NULL"`, "NULL"}},
		{"3.2999999999999998223,-0.0,1.0e+20,2.5", []string{"3.3", "0", "100000000000000000000", "2.5"}},
		{"12.0,-7", []string{"12", "-7"}},
	}
	for _, c := range cases {
		got, err := parseQuoteRow(c.line)
		if err != nil {
			t.Errorf("parseQuoteRow(%q): %v", c.line, err)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("parseQuoteRow(%q) = %q, want %q", c.line, got, c.want)
		}
	}
	for _, bad := range []string{"'open", "'a'b", "X'00'", "abc"} {
		if _, err := parseQuoteRow(bad); err == nil {
			t.Errorf("parseQuoteRow(%q) accepted a malformed row", bad)
		}
	}
}

func TestNormFloat(t *testing.T) {
	cases := map[float64]string{
		2.5: "2.5", 3: "3", -0.0000001: "0", 1.0 / 3: "0.333333", -12.4999999999: "-12.5", 1e7: "10000000",
	}
	for v, want := range cases {
		if got := normFloat(v); got != want {
			t.Errorf("normFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestMultisetRetractions(t *testing.T) {
	m := multiset{}
	if err := m.add("a", false); err != nil {
		t.Fatal(err)
	}
	if err := m.add("a", false); err != nil {
		t.Fatal(err)
	}
	if err := m.add("a", true); err != nil {
		t.Fatalf("retracting a present row: %v", err)
	}
	if err := m.add("b", true); err == nil {
		t.Fatal("retracting an absent row must fail")
	}
	if got := m.sorted(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("multiset = %q, want [a]", got)
	}
}

func TestDescribeMismatch(t *testing.T) {
	if msg := describeMismatch([]string{"b", "a"}, []string{"a", "b"}, false); msg != "" {
		t.Errorf("unordered equal multisets reported as different:\n%s", msg)
	}
	if msg := describeMismatch([]string{"b", "a"}, []string{"a", "b"}, true); !strings.Contains(msg, "different order") {
		t.Errorf("ordered comparison missed an order difference:\n%s", msg)
	}
	// A last-digit rounding difference (a tie rounded both ways) is not a
	// mismatch; anything more is.
	if msg := describeMismatch([]string{"\"x\"\x00464.615937"}, []string{"\"x\"\x00464.615938"}, false); msg != "" {
		t.Errorf("a last-digit rounding difference was reported:\n%s", msg)
	}
	if msg := describeMismatch([]string{"\"x\"\x00464.61593"}, []string{"\"x\"\x00464.61595"}, false); msg == "" {
		t.Error("a difference of 2e-5 was not reported")
	}
	if msg := describeMismatch([]string{`"1"`}, []string{`1`}, false); msg == "" {
		t.Error("a string and a number compared equal")
	}
	msg := describeMismatch([]string{"a", "a"}, []string{"a"}, false)
	if !strings.Contains(msg, "rows only in streamsql (1 rows)") {
		t.Errorf("a duplicate row was not reported:\n%s", msg)
	}
}

// TestGenerationIsDeterministic: a seed must reproduce its data and
// queries exactly, or a reported seed would not reproduce a failure.
func TestGenerationIsDeterministic(t *testing.T) {
	a, b := genTables(7), genTables(7)
	for i := range a {
		if a[i].sqliteLoad() != b[i].sqliteLoad() {
			t.Fatalf("table %s differs between two generations", a[i].name)
		}
	}
	qa := append(generatedQueries(7, a[0].cols, 50), generatedAggQueries(7, a[0].cols, 20)...)
	qb := append(generatedQueries(7, b[0].cols, 50), generatedAggQueries(7, b[0].cols, 20)...)
	if !slices.Equal(qa, qb) {
		t.Fatal("generated queries differ between two generations")
	}
	nulls := 0
	for _, r := range a[0].rows {
		if r[3] == nil {
			nulls++
		}
	}
	if frac := float64(nulls) / float64(len(a[0].rows)); frac < 0.05 || frac > 0.15 {
		t.Errorf("NULL fraction of t1.i is %.2f, want about 0.10", frac)
	}
}

// TestHarnessSeesDifferences runs queries whose two sides really differ
// through both engines, and checks the comparison catches each: integer
// vs exact division, a string vs a number, NULL vs the string 'NULL', and
// an off-by-one filter.
func TestHarnessSeesDifferences(t *testing.T) {
	bin := requireSQLite(t)
	ctx := context.Background()
	dir := t.TempDir()
	tables := genTables(3)
	for _, tb := range tables {
		if err := tb.writeCSV(dir, 2); err != nil {
			t.Fatal(err)
		}
	}
	db, err := openSQLite(ctx, bin, dir, tables)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := newEngine(ctx, dir, tables)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	cases := []struct{ flink, lite string }{
		{"SELECT id, i / 2 FROM t1", "SELECT id, i / 2.0 FROM t1"},
		{"SELECT id, CAST(i AS STRING) FROM t1", "SELECT id, i FROM t1"},
		{"SELECT id, s FROM t1", "SELECT id, COALESCE(s, 'NULL') FROM t1"},
		{"SELECT id FROM t1 WHERE i > 0", "SELECT id FROM t1 WHERE i >= 0"},
		{"SELECT id, m FROM t1", "SELECT id, m + 0.01 FROM t1"},
	}
	lites := make([]string, len(cases))
	for i, c := range cases {
		lites[i] = c.lite
	}
	want := db.queries(ctx, lites)
	for i, c := range cases {
		if want[i].err != nil {
			t.Fatalf("sqlite: %s: %v", c.lite, want[i].err)
		}
		got, err := eng.query(ctx, c.flink)
		if err != nil {
			t.Fatalf("streamsql: %s: %v", c.flink, err)
		}
		if describeMismatch(got.rows, want[i].rows, false) == "" {
			t.Errorf("no difference found between\n  streamsql: %s\n  sqlite:    %s", c.flink, c.lite)
		}
	}
	// And the same query agrees with itself, including a sqlite error in
	// the middle of a batch not shifting the results after it.
	same := db.queries(ctx, []string{"SELECT id, s FROM t1", "SELECT nope FROM t1", "SELECT id, d FROM t1"})
	if same[1].err == nil || same[0].err != nil || same[2].err != nil {
		t.Fatalf("sqlite batch errors misattributed: %v / %v / %v", same[0].err, same[1].err, same[2].err)
	}
	got, err := eng.query(ctx, "SELECT id, d FROM t1")
	if err != nil {
		t.Fatal(err)
	}
	if msg := describeMismatch(got.rows, same[2].rows, false); msg != "" {
		t.Fatalf("identical queries differ:\n%s", msg)
	}
}
