package ops

import (
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// TestSessionsMergeAcrossABridge: two separate sessions of a key become one
// when a row falls between them, with their accumulators merged; another
// key's session stays apart; the watermark fires them in end order.
func TestSessionsMergeAcrossABridge(t *testing.T) {
	const s = int64(1_000_000) // one second in µs
	ts := types.TimestampOf(3)
	in := types.NewSchema(types.Field{Name: "ws", Type: ts}, types.Field{Name: "we", Type: ts},
		types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeBigInt})
	out := types.NewSchema(types.Field{Name: "ws", Type: ts}, types.Field{Name: "we", Type: ts},
		types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "n", Type: types.TypeBigInt},
		types.Field{Name: "mx", Type: types.TypeBigInt})
	op := &GroupAgg{Keys: []int{0, 1, 2}, Out: out, Windowed: true, Session: true, WindowStart: 0, WindowEnd: 1,
		Aggs: []AggSpec{
			{Kind: AggCountStar, Arg: -1, Filter: -1, Type: types.TypeBigInt},
			{Kind: AggMax, Arg: 3, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		}}
	if err := op.Open(&exec.OpContext{}); err != nil {
		t.Fatal(err)
	}
	var c collectRows
	feed := func(times, keys, vals []int64) {
		ws := make([]int64, len(times))
		we := make([]int64, len(times))
		for i, x := range times {
			ws[i], we[i] = x*s, (x+5)*s // gap 5 s
		}
		rec := batch.NewRecord(in, []arrow.Array{batch.Int64Array(ws, nil), batch.Int64Array(we, nil),
			batch.Int64Array(keys, nil), batch.Int64Array(vals, nil)}, len(times))
		if err := op.Process(0, batch.New(rec), &c); err != nil {
			t.Fatal(err)
		}
	}
	feed([]int64{0, 8, 3}, []int64{1, 1, 2}, []int64{10, 30, 5}) // key 1: [0,5) and [8,13); key 2: [3,8)
	feed([]int64{4}, []int64{1}, []int64{99})                    // [4,9) touches both: key 1 is one session [0,13)
	if err := op.ProcessWatermark(100*s, &c); err != nil {
		t.Fatal(err)
	}
	row := func(start, end, k, n, mx int64) string {
		return fmt.Sprint(cell{i: start * s}) + "|" + fmt.Sprint(cell{i: end * s}) + "|" + fmt.Sprint(cell{i: k}) + "|" +
			fmt.Sprint(cell{i: n}) + "|" + fmt.Sprint(cell{i: mx})
	}
	want := fmt.Sprint([]string{row(3, 8, 2, 1, 5), row(0, 13, 1, 3, 99)})
	if got := fmt.Sprint(c.rows); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// A row for a session that has fired is late: dropped.
	feed([]int64{1}, []int64{2}, []int64{1})
	if err := op.ProcessWatermark(200*s, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.rows) != 2 || op.late.n != 1 {
		t.Fatalf("late row: %d rows, %d late", len(c.rows), op.late.n)
	}
}
