package nexmark_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/array"

	nexmarkbench "github.com/streamsql/streamsql/bench/nexmark"
	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/nexmark"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/types"
)

// lastRows keeps the final value of each row of a (changelog) result,
// keyed by the first column, as the rendered remaining columns.
type lastRows struct {
	rows map[string]string
}

func (o *lastRows) Message(string) error                         { return nil }
func (o *lastRows) Begin(types.Schema, session.ResultInfo) error { return nil }
func (o *lastRows) End() error                                   { return nil }
func (o *lastRows) Rows(b batch.Batch) error {
	for i := 0; i < b.Len(); i++ {
		var vals []any
		for c := 0; c < int(b.Rec.NumCols()); c++ {
			switch a := b.Rec.Column(c).(type) {
			case *array.Int64:
				vals = append(vals, a.Value(i))
			case *array.Int32:
				vals = append(vals, a.Value(i))
			case *array.String:
				vals = append(vals, a.Value(i))
			default:
				vals = append(vals, fmt.Sprintf("?%T", a))
			}
		}
		key := fmt.Sprint(vals[0])
		if b.Kind(i).IsRetract() {
			delete(o.rows, key)
			continue
		}
		o.rows[key] = fmt.Sprint(vals[1:]...)
	}
	return nil
}

const ddl = `
CREATE TABLE person (id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING, state STRING,
  dateTime TIMESTAMP(3), extra STRING, WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND)
  WITH ('connector' = 'nexmark', 'nexmark.table' = 'person', 'events.num' = '100000', 'first-event.rate' = '10000000');
CREATE TABLE auction (id BIGINT, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT,
  dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra STRING,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND)
  WITH ('connector' = 'nexmark', 'nexmark.table' = 'auction', 'events.num' = '100000', 'first-event.rate' = '10000000');
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime TIMESTAMP(3),
  extra STRING, WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND)
  WITH ('connector' = 'nexmark', 'nexmark.table' = 'bid', 'events.num' = '100000', 'first-event.rate' = '10000000');
SET 'parallelism.default' = '2';
`

func TestSQLCountPerKind(t *testing.T) {
	s, err := session.New(session.Options{Dir: t.TempDir(), Connectors: []connectors.Factory{nexmark.New()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := &lastRows{rows: map[string]string{}}
	script := ddl + `
SELECT 'person', COUNT(*), COUNT(DISTINCT id) FROM person;
SELECT 'auction', COUNT(*), COUNT(DISTINCT id) FROM auction;
SELECT 'bid', COUNT(*), COUNT(DISTINCT auction) FROM bid WHERE price >= 100 AND price <= 100000000;
SELECT 'category', COUNT(*), MIN(category) + MAX(category) * 100 FROM auction WHERE category BETWEEN 10 AND 14;
`
	if err := s.ExecuteScript(context.Background(), script, out); err != nil {
		t.Fatal(err)
	}
	// 100000 events: 2000 people, 6000 auctions, 92000 bids.
	for key, want := range map[string]string{"person": "2000 2000", "auction": "6000 6000", "category": "6000 1410"} {
		if got := out.rows[key]; got != want {
			t.Errorf("%s: got %q, want %q", key, got, want)
		}
	}
	var n, distinct int
	if _, err := fmt.Sscan(out.rows["bid"], &n, &distinct); err != nil || n != 92000 || distinct < 100 {
		t.Errorf("bid: got %q, want 92000 bids over many auctions", out.rows["bid"])
	}
}

// A job reading a throttled nexmark table is stopped with a savepoint and
// resumed from it: the sink ends up with exactly the rows of an
// uninterrupted run.
func TestSQLSavepointResume(t *testing.T) {
	const tables = `
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3))
  WITH ('connector' = 'nexmark', 'nexmark.table' = 'bid', 'events.num' = '40000', 'first-event.rate' = '20000',
        'max-emit-speed' = '%s', 'checkpoint.interval.ms' = '100');
CREATE TABLE out (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
SET 'parallelism.default' = '2';
INSERT INTO out SELECT * FROM bid;
`
	ctx := context.Background()
	dir := t.TempDir()
	opts := func(restore string, sync bool) session.Options {
		return session.Options{Dir: dir, Connectors: []connectors.Factory{nexmark.New()}, DMLSync: sync, Restore: restore}
	}
	run := func(o session.Options, script string) *session.Session {
		s, err := session.New(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ExecuteScript(ctx, script, &lastRows{rows: map[string]string{}}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	full := run(opts("", true), fmt.Sprintf(tables, "true", "full"))
	full.Close()
	want := readLines(t, filepath.Join(dir, "full"))
	if len(want) != 36800 {
		t.Fatalf("uninterrupted run: %d rows, want 36800", len(want))
	}

	s := run(opts("", false), fmt.Sprintf(tables, "false", "out"))
	time.Sleep(500 * time.Millisecond) // let a few checkpoints complete
	jobs := s.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("jobs: %v", jobs)
	}
	sp, err := s.StopWithSavepoint(ctx, jobs[0][0])
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if n := len(readLines(t, filepath.Join(dir, "out"))); n >= len(want) {
		t.Fatalf("the stopped job already wrote all %d rows", n)
	}
	resumed := run(opts(sp, true), fmt.Sprintf(tables, "false", "out"))
	resumed.Close()
	if got := readLines(t, filepath.Join(dir, "out")); !slices.Equal(got, want) {
		t.Fatalf("after resuming: %d rows, want the %d rows of an uninterrupted run", len(got), len(want))
	}
}

// readLines returns the sorted lines of the committed files in dir.
func readLines(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	slices.Sort(lines)
	return lines
}

// flinkDDL is Flink's Nexmark DDL as the benchmark runs it
// (bench/nexmark/flink_ddl.sql) over the same stream as ddl's per-kind
// tables.
var flinkDDL = strings.ReplaceAll(nexmarkbench.FlinkDDL, "${EVENTS}", "100000") + "\nSET 'parallelism.default' = '2';\n"

// The same queries through Flink's DDL (one table, views with field
// access) and through the per-kind tables give identical results.
func TestSQLFlinkDDLMatchesPerKind(t *testing.T) {
	queries := []string{
		// Every value of every kind, folded per key.
		`SELECT 'p' || CAST(id AS STRING), name, emailAddress, creditCard, city, state, CAST(dateTime AS STRING), extra FROM person`,
		`SELECT auction, COUNT(*), SUM(price), MAX(bidder), MIN(channel), SUM(CHAR_LENGTH(url)), SUM(CHAR_LENGTH(extra)), CAST(MAX(dateTime) AS STRING)
		 FROM bid GROUP BY auction`,
		`SELECT 'a' || CAST(id AS STRING), itemName, description, initialBid, reserve, CAST(dateTime AS STRING), CAST(expires AS STRING), seller, category, extra FROM auction`,
		// q3-like join of two kinds.
		`SELECT 'j' || CAST(P.id AS STRING), P.name, COUNT(*), SUM(A.reserve), MAX(A.itemName) FROM auction A JOIN person P ON A.seller = P.id
		 WHERE A.category = 10 GROUP BY P.id, P.name`,
		// q5-like: bids per auction per sliding window.
		`SELECT 'h' || CAST(auction AS STRING), COUNT(*) FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
		 GROUP BY auction, window_start, window_end`,
		// q7-like: the highest bid of the window.
		`SELECT 'top', B.auction, B.price, B.bidder FROM bid B JOIN (
		   SELECT MAX(price) AS maxprice, window_end FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end
		 ) B1 ON B.price = B1.maxprice WHERE B.dateTime BETWEEN B1.window_end - INTERVAL '10' SECOND AND B1.window_end`,
	}
	run := func(tables, query string) map[string]string {
		s, err := session.New(session.Options{Dir: t.TempDir(), Connectors: []connectors.Factory{nexmark.New()}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out := &lastRows{rows: map[string]string{}}
		if err := s.ExecuteScript(context.Background(), tables+query+";", out); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return out.rows
	}
	for _, q := range queries {
		flink, perKind := run(flinkDDL, q), run(ddl, q)
		if len(flink) == 0 || len(flink) != len(perKind) {
			t.Errorf("%s: %d rows through Flink's DDL, %d through the per-kind tables", q, len(flink), len(perKind))
			continue
		}
		for k, v := range perKind {
			if flink[k] != v {
				t.Errorf("%s: key %s: Flink's DDL gives %q, the per-kind tables %q", q, k, flink[k], v)
				break
			}
		}
	}
	// The count per event type of the single table is the per-kind tables'
	// row counts.
	got := run(flinkDDL, `SELECT 'kinds', COUNT(*) FILTER (WHERE event_type = 0), COUNT(*) FILTER (WHERE event_type = 1), COUNT(*) FILTER (WHERE event_type = 2),
	  COUNT(person.id), COUNT(auction.id), COUNT(bid.price) FROM nexmark`)["kinds"]
	var want []string
	for _, kind := range []string{"person", "auction", "bid"} {
		want = append(want, run(ddl, "SELECT 'n', COUNT(*) FROM "+kind)["n"])
	}
	if w := strings.Join(append(want, want...), " "); got != w {
		t.Errorf("counts per event type %q, want %q", got, w)
	}
}
