package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/types"
)

// testResult is a small result with a NULL, a quote, a comma, a line break,
// an empty string, a DECIMAL and a TIMESTAMP(3).
func testResult(t *testing.T) (types.Schema, batch.Batch) {
	t.Helper()
	schema := types.NewSchema(
		types.Field{Name: "id", Type: types.TypeBigInt},
		types.Field{Name: "name", Type: types.TypeString},
		types.Field{Name: "price", Type: types.DecimalOf(10, 2)},
		types.Field{Name: "ts", Type: types.TimestampOf(3)},
	)
	ts := time.Date(2024, 3, 1, 12, 30, 5, 250_000_000, time.UTC).UnixMicro()
	cols := []arrow.Array{
		batch.Int64Array([]int64{1, 2, 3, 4}, nil),
		batch.StringArray([]string{`say "hi", bob`, "", "x", "two\nlines"}, []bool{true, true, false, true}),
		batch.Int64Array([]int64{1250, -5, 0, 100000}, []bool{true, true, true, false}),
		batch.Int64Array([]int64{ts, ts, ts, ts}, []bool{true, false, true, true}),
	}
	rec := batch.NewRecord(schema, cols, 4)
	for _, c := range cols {
		c.Release()
	}
	b := batch.Batch{Rec: rec, Kinds: []batch.RowKind{batch.Insert, batch.UpdateBefore, batch.UpdateAfter, batch.Delete}}
	t.Cleanup(b.Release)
	return schema, b
}

func TestCSV(t *testing.T) {
	schema, b := testResult(t)
	var out, msg bytes.Buffer
	o := NewOutput(&out, &msg, FormatCSV, time.UTC)
	mustRun(t, o, schema, session.ResultInfo{Bounded: true, Changelog: true}, b)
	want := "op,id,name,price,ts\n" +
		`+I,1,"say ""hi"", bob",12.50,2024-03-01 12:30:05.250` + "\n" +
		`-U,2,"",-0.05,` + "\n" +
		`+U,3,,0.00,2024-03-01 12:30:05.250` + "\n" +
		"-D,4,\"two\nlines\",,2024-03-01 12:30:05.250\n"
	if got := out.String(); got != want {
		t.Errorf("csv:\n%s\nwant:\n%s", got, want)
	}
	if msg.Len() != 0 {
		t.Errorf("results leaked into the message stream: %q", msg.String())
	}
}

func TestJSON(t *testing.T) {
	schema, b := testResult(t)
	var out bytes.Buffer
	o := NewOutput(&out, &out, FormatJSON, time.UTC)
	mustRun(t, o, schema, session.ResultInfo{Bounded: true}, b)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 4: %q", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[0], `{"op":"+I","id":1,"name":`) {
		t.Errorf("keys not in column order or number quoted: %s", lines[0])
	}
	var rows []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("invalid JSON %q: %v", l, err)
		}
		rows = append(rows, m)
	}
	if rows[0]["name"] != `say "hi", bob` || rows[0]["price"] != 12.5 || rows[0]["ts"] != "2024-03-01 12:30:05.250" {
		t.Errorf("row 0 = %v", rows[0])
	}
	if rows[1]["op"] != "-U" || rows[1]["name"] != "" || rows[1]["ts"] != nil {
		t.Errorf("row 1 = %v", rows[1])
	}
	if v, ok := rows[2]["name"]; !ok || v != nil {
		t.Errorf("NULL must be present as null, row 2 = %v", rows[2])
	}
}

func TestTable(t *testing.T) {
	schema, b := testResult(t)
	var out bytes.Buffer
	o := NewOutput(&out, &out, FormatTable, time.UTC)
	mustRun(t, o, schema, session.ResultInfo{Bounded: true}, b)
	want := `+----+----+---------------+--------+-------------------------+
| op | id |          name |  price |                      ts |
+----+----+---------------+--------+-------------------------+
| +I |  1 | say "hi", bob |  12.50 | 2024-03-01 12:30:05.250 |
| -U |  2 |               |  -0.05 |                  <NULL> |
| +U |  3 |        <NULL> |   0.00 | 2024-03-01 12:30:05.250 |
| -D |  4 |    two\nlines | <NULL> | 2024-03-01 12:30:05.250 |
+----+----+---------------+--------+-------------------------+
4 rows in set
`
	if got := out.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestTableEmptyAndSingular(t *testing.T) {
	var out bytes.Buffer
	if err := Table(&out, []string{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "Empty set\n" {
		t.Errorf("empty result: %q", out.String())
	}
	out.Reset()
	if err := Table(&out, []string{"a"}, []Row{{Values: []Value{{Text: "1"}}}}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "\n1 row in set\n") {
		t.Errorf("single row: %q", out.String())
	}
}

func TestStreamTruncatesAndCounts(t *testing.T) {
	schema := types.NewSchema(types.Field{Name: "s", Type: types.TypeString})
	var out bytes.Buffer
	o := NewOutput(&out, &out, FormatTable, time.UTC)
	if err := o.Begin(schema, session.ResultInfo{Bounded: false}); err != nil {
		t.Fatal(err)
	}
	header := out.String()
	if !strings.Contains(header, "| op |") {
		t.Fatalf("a streamed table prints its header at once, got %q", header)
	}
	long := strings.Repeat("x", 40)
	arr := batch.StringArray([]string{long, "short"}, nil)
	b := batch.New(batch.NewRecord(schema, []arrow.Array{arr}, 2))
	arr.Release()
	defer b.Release()
	if err := o.Rows(b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), strings.Repeat("x", 27)+"... |") {
		t.Errorf("long value not cut to the column width: %q", out.String())
	}
	// A cancelled query never calls End: Finish must still close the table.
	if err := o.Finish(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "Received a total of 2 rows\n") {
		t.Errorf("missing footer: %q", out.String())
	}
}

func TestMessagesRouting(t *testing.T) {
	var out, msg bytes.Buffer
	o := NewOutput(&out, &msg, FormatCSV, time.UTC)
	if err := o.Message("[INFO] Execute statement succeeded."); err != nil {
		t.Fatal(err)
	}
	if err := o.Message("== Physical Plan ==\nSource"); err != nil {
		t.Fatal(err)
	}
	if msg.String() != "[INFO] Execute statement succeeded.\n" {
		t.Errorf("status message: %q", msg.String())
	}
	if out.String() != "== Physical Plan ==\nSource\n" {
		t.Errorf("plan: %q", out.String())
	}
}

func TestSort(t *testing.T) {
	row := func(op batch.RowKind, vals ...string) Row {
		r := Row{Op: op}
		for _, v := range vals {
			if v == "NULL" {
				r.Values = append(r.Values, Value{Null: true})
			} else {
				r.Values = append(r.Values, Value{Text: v})
			}
		}
		return r
	}
	rows := []Row{row(batch.UpdateAfter, "b", "10"), row(batch.Insert, "b", "9"), row(batch.UpdateBefore, "b", "9"), row(batch.Insert, "NULL", "1"), row(batch.Insert, "a", "2")}
	Sort(rows)
	var got []string
	for _, r := range rows {
		got = append(got, rowCells(r)[0]+" "+cellText(r.Values[0])+" "+cellText(r.Values[1]))
	}
	want := "+I <NULL> 1|+I a 2|+I b 9|-U b 9|+U b 10"
	if strings.Join(got, "|") != want {
		t.Errorf("sorted: %s\nwant:   %s", strings.Join(got, "|"), want)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"table", "csv", "json"} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("ParseFormat(%q): %v", s, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) accepted")
	}
}

func mustRun(t *testing.T, o *Output, s types.Schema, info session.ResultInfo, b batch.Batch) {
	t.Helper()
	if err := o.Begin(s, info); err != nil {
		t.Fatal(err)
	}
	if err := o.Rows(b); err != nil {
		t.Fatal(err)
	}
	if err := o.End(); err != nil {
		t.Fatal(err)
	}
}
