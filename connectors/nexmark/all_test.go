package nexmark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// allSchema is the single table's flattened schema: event_type and every
// leaf of the person, auction and bid ROWs.
func allSchema() types.Schema {
	s := types.NewSchema(types.Field{Name: "event_type", Type: types.TypeInt})
	for _, k := range []kind{kindPerson, kindAuction, kindBid} {
		for _, d := range kindFields(k) {
			s.Fields = append(s.Fields, types.Field{Name: k.String() + "." + d.name, Type: d.t})
		}
	}
	return s
}

// cells renders a batch's rows, NULL as "NULL".
func cells(b batch.Batch) [][]string {
	out := make([][]string, b.Len())
	for i := range out {
		r := make([]string, b.Rec.NumCols())
		for c := range r {
			col := b.Rec.Column(c)
			if col.IsNull(i) {
				r[c] = "NULL"
				continue
			}
			switch a := col.(type) {
			case *array.Int64:
				r[c] = fmt.Sprint(a.Value(i))
			case *array.Int32:
				r[c] = fmt.Sprint(a.Value(i))
			case *array.String:
				r[c] = a.Value(i)
			default:
				r[c] = fmt.Sprintf("?%T", a)
			}
		}
		out[i] = r
	}
	return out
}

func readCells(tb testing.TB, s connectors.Source) [][]string {
	tb.Helper()
	var out [][]string
	for {
		b, err := s.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, cells(b)...)
	}
}

func openSource(tb testing.TB, t connectors.Table, subtask, parallelism int) connectors.Source {
	tb.Helper()
	s, err := New().NewSource(t)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Open(context.Background(), subtask, parallelism); err != nil {
		tb.Fatal(err)
	}
	return s
}

// The single table holds exactly the per-kind tables' events: for each
// kind, its rows (event_type k) carry the per-kind table's values in its
// ROW's leaves and NULL in the others', in event order; with parallel
// subtasks too, and with a batch-splitting bid padding size.
func TestAllMatchesPerKind(t *testing.T) {
	for _, opts := range []map[string]string{
		{"events.num": "30000"},
		{"events.num": "30000", "bid.avg-size": "2kb", "person.proportion": "2", "auction.proportion": "5", "bid.proportion": "13"},
	} {
		for _, par := range []int{1, 3} {
			all := connectors.Table{Name: "nexmark", Schema: allSchema(), Options: opts}
			var got [3][][]string
			counts := [3]int{}
			for sub := range par {
				for _, r := range readCells(t, openSource(t, all, sub, par)) {
					k := map[string]int{"0": 0, "1": 1, "2": 2}[r[0]]
					counts[k]++
					// The kind's leaves, and NULL elsewhere.
					col := 1
					var mine []string
					for kk := range 3 {
						n := len(kindFields(kind(kk)))
						for _, v := range r[col : col+n] {
							if kk == k {
								mine = append(mine, v)
							} else if v != "NULL" {
								t.Fatalf("%v p%d: a %s event has %s fields: %v", opts, par, kind(k), kind(kk), r)
							}
						}
						col += n
					}
					got[k] = append(got[k], mine)
				}
			}
			for k := range 3 {
				tb := connectors.Table{Name: "t", Schema: fullSchema(kind(k).String()), Options: map[string]string{"nexmark.table": kind(k).String()}}
				for key, v := range opts {
					tb.Options[key] = v
				}
				var want [][]string
				for sub := range par {
					want = append(want, readCells(t, openSource(t, tb, sub, par))...)
				}
				if par > 1 {
					// Subtasks split the stream differently per table.
					cmp := func(a, b []string) int { return strings.Compare(strings.Join(a, "|"), strings.Join(b, "|")) }
					slices.SortFunc(want, cmp)
					slices.SortFunc(got[k], cmp)
				}
				if len(got[k]) != len(want) {
					t.Fatalf("%v p%d: %d %s rows, per-kind table %d", opts, par, len(got[k]), kind(k), len(want))
				}
				for i := range want {
					if !slices.Equal(got[k][i], want[i]) {
						t.Fatalf("%v p%d: %s row %d:\n got  %v\n want %v", opts, par, kind(k), i, got[k][i], want[i])
					}
				}
			}
			if opts["person.proportion"] == "" && counts != [3]int{600, 1800, 27600} {
				t.Errorf("p%d: %v events per kind, want 1:3:46 of 30000", par, counts)
			}
		}
	}
}

// A projection of a few leaves gives the same values as the whole table.
func TestAllProjection(t *testing.T) {
	full := readCells(t, openSource(t, connectors.Table{Name: "n", Schema: allSchema(), Options: map[string]string{"events.num": "5000"}}, 0, 1))
	fs := allSchema()
	idx := func(name string) int { return fs.Index(name) }
	proj := types.NewSchema(fs.Fields[idx("BID.price")], fs.Fields[idx("event_type")], fs.Fields[idx("auction.description")], fs.Fields[idx("person.dateTime")])
	got := readCells(t, openSource(t, connectors.Table{Name: "n", Schema: proj, Options: map[string]string{"events.num": "5000", "nexmark.table": "nexmark"}}, 0, 1))
	if len(got) != 5000 || len(full) != 5000 {
		t.Fatalf("%d and %d rows, want 5000", len(got), len(full))
	}
	for i := range got {
		want := []string{full[i][idx("bid.price")], full[i][0], full[i][idx("auction.description")], full[i][idx("person.dateTime")]}
		if !slices.Equal(got[i], want) {
			t.Fatalf("row %d: %v, want %v", i, got[i], want)
		}
	}
}

// A source sought to a position replays exactly what followed it.
func TestAllSeekReplays(t *testing.T) {
	tb := connectors.Table{Name: "n", Schema: allSchema(), Options: map[string]string{"events.num": "20000"}}
	s := openSource(t, tb, 1, 2)
	for range 3 {
		if _, err := s.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	pos, err := s.(connectors.CheckpointedSource).Position()
	if err != nil {
		t.Fatal(err)
	}
	want := readCells(t, s)
	r := openSource(t, tb, 1, 2)
	if err := r.(connectors.CheckpointedSource).Seek(pos); err != nil {
		t.Fatal(err)
	}
	got := readCells(t, r)
	if len(got) == 0 || !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("after Seek %d rows, want the %d rows that followed", len(got), len(want))
	}
	if err := openSource(t, tb, 0, 2).(connectors.CheckpointedSource).Seek(pos); err == nil {
		t.Errorf("subtask 0 accepted subtask 1's position")
	}
}

// Throttled emission follows event time: 2000 events at 20000 per second
// take about 100 ms.
func TestAllThrottled(t *testing.T) {
	tb := connectors.Table{Name: "n", Schema: allSchema(), Options: map[string]string{"events.num": "2000", "first-event.rate": "20000", "max-emit-speed": "false"}}
	if rows := readCells(t, openSource(t, tb, 0, 1)); len(rows) != 2000 {
		t.Fatalf("%d rows, want 2000", len(rows))
	}
}

func TestAllValidation(t *testing.T) {
	cases := []struct {
		schema types.Schema
		opts   map[string]string
		msg    string
	}{
		{types.NewSchema(types.Field{Name: "event_type", Type: types.TypeBigInt}), nil, "column 'event_type' is declared BIGINT, but the nexmark event_type is INT"},
		{types.NewSchema(types.Field{Name: "event_type", Type: types.TypeInt}, types.Field{Name: "x", Type: types.TypeInt}), nil, "column 'x' is not a column of the nexmark table (event_type INT, person ROW<`id` BIGINT,"},
		{types.NewSchema(types.Field{Name: "bid.cost", Type: types.TypeBigInt}), nil, "field 'cost' is not a field of the nexmark bid ROW"},
		{types.NewSchema(types.Field{Name: "bid.price", Type: types.TypeInt}), nil, "field bid.price is declared INT, but nexmark bid.price is BIGINT"},
		{types.NewSchema(types.Field{Name: "event_type", Type: types.TypeInt}), map[string]string{"bid.proportion": "0"}, "option 'bid.proportion': must be between 1"},
		{types.NewSchema(types.Field{Name: "event_type", Type: types.TypeInt}), map[string]string{"next-event.rate": "5"}, "not supported yet: a varying rate"},
		{types.NewSchema(types.Field{Name: "price", Type: types.TypeBigInt}), map[string]string{"nexmark.table": "nexmark"}, "column 'price' is not a column of the nexmark table"},
	}
	for _, c := range cases {
		err := New().Validate(connectors.Table{Name: "t", Schema: c.schema, Options: c.opts})
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v %v: got %v, want %q", c.schema, c.opts, err, c.msg)
		}
	}
}

// 'nexmark.event-type' (set by the planner for WHERE event_type = n)
// gives exactly the rows of that kind of the whole table.
func TestAllOneKind(t *testing.T) {
	for k := range 3 {
		opts := map[string]string{"events.num": "20000"}
		var want [][]string
		for sub := range 2 {
			for _, r := range readCells(t, openSource(t, connectors.Table{Name: "n", Schema: allSchema(), Options: opts}, sub, 2)) {
				if r[0] == fmt.Sprint(k) {
					want = append(want, r)
				}
			}
		}
		one := map[string]string{"events.num": "20000", "nexmark.event-type": fmt.Sprint(k)}
		var got [][]string
		for sub := range 2 {
			got = append(got, readCells(t, openSource(t, connectors.Table{Name: "n", Schema: allSchema(), Options: one}, sub, 2))...)
		}
		if len(want) == 0 || !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("kind %d: %d rows, want the %d rows of that kind", k, len(got), len(want))
		}
	}
	err := New().Validate(connectors.Table{Name: "t", Schema: fullSchema("bid"), Options: map[string]string{"nexmark.table": "bid", "nexmark.event-type": "2"}})
	if err == nil || !strings.Contains(err.Error(), "only the single nexmark table") {
		t.Errorf("event type on a per-kind table: %v", err)
	}
	if _, ok := New().FilterEquals(connectors.Table{Name: "t", Schema: allSchema()}, "EVENT_TYPE", 1); !ok {
		t.Errorf("event_type = 1 not pushed")
	}
	if _, ok := New().FilterEquals(connectors.Table{Name: "t", Schema: allSchema()}, "event_type", 3); ok {
		t.Errorf("event_type = 3 pushed")
	}
}
