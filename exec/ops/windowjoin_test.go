package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Window join test inputs: left (k BIGINT, v STRING, ws, we TIMESTAMP),
// right (k BIGINT, w BIGINT, ws, we TIMESTAMP).
var (
	wjLeft = types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeString},
		types.Field{Name: "ws", Type: types.TimestampOf(3)}, types.Field{Name: "we", Type: types.TimestampOf(3)})
	wjRight = types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "w", Type: types.TypeBigInt},
		types.Field{Name: "ws", Type: types.TimestampOf(3)}, types.Field{Name: "we", Type: types.TimestampOf(3)})
	wjOut = types.NewSchema(append(append([]types.Field{}, wjLeft.Fields...), wjRight.Fields...)...)
)

// wjRow is a test row of either side; k nil is NULL, val is v (left, as
// text) or w (right).
type wjRow struct {
	k          *int64
	val        int64
	start, end int64 // seconds
}

func (r wjRow) text(side int) string {
	k := "NULL"
	if r.k != nil {
		k = fmt.Sprint(*r.k)
	}
	v := fmt.Sprint(r.val)
	if side == 0 {
		v = "'v" + v
	}
	return fmt.Sprintf("%s|%s|%d|%d", k, v, r.start*sec, r.end*sec)
}

const wjNulls = "NULL|NULL|NULL|NULL"

func wjBatch(side int, rows []wjRow) batch.Batch {
	n := len(rows)
	ks, ws, we := make([]int64, n), make([]int64, n), make([]int64, n)
	kv := make([]bool, n)
	vs := make([]string, n)
	ns := make([]int64, n)
	for i, r := range rows {
		if r.k != nil {
			ks[i], kv[i] = *r.k, true
		}
		vs[i] = "v" + fmt.Sprint(r.val)
		ns[i] = r.val
		ws[i], we[i] = r.start*sec, r.end*sec
	}
	if side == 0 {
		return batch.New(batch.NewRecord(wjLeft, []arrow.Array{batch.Int64Array(ks, kv), batch.StringArray(vs, nil),
			batch.Int64Array(ws, nil), batch.Int64Array(we, nil)}, n))
	}
	return batch.New(batch.NewRecord(wjRight, []arrow.Array{batch.Int64Array(ks, kv), batch.Int64Array(ns, nil),
		batch.Int64Array(ws, nil), batch.Int64Array(we, nil)}, n))
}

func key(k int64) *int64 { return &k }

// wjRender renders an output row as wjRow.text does (cellText-like).
type wjCollect struct {
	rows []string
	wms  []int64
	err  error
}

func (c *wjCollect) Collect(b batch.Batch) error {
	for i := 0; i < b.Len(); i++ {
		if b.Kind(i) != batch.Insert && c.err == nil {
			c.err = fmt.Errorf("window join emitted a %s row", b.Kind(i))
		}
		var parts []string
		for col := 0; col < int(b.Rec.NumCols()); col++ {
			cl := readCell(b.Column(col), i)
			switch {
			case cl.null:
				parts = append(parts, "NULL")
			case col == 1:
				parts = append(parts, "'"+cl.s)
			default:
				parts = append(parts, fmt.Sprint(cl.i))
			}
		}
		c.rows = append(c.rows, strings.Join(parts, "|"))
	}
	return nil
}

func (c *wjCollect) EmitWatermark(wm int64) error { c.wms = append(c.wms, wm); return nil }

func (c *wjCollect) sorted() []string {
	out := slices.Clone(c.rows)
	slices.Sort(out)
	return out
}

// wjResidual is l.v's number < r.w + 3, i.e. over output columns
// CHAR_LENGTH-free: it compares the right value with the left key.
func wjResidual() expr.Expr {
	// k (left) <= w (right): reads one column of each side.
	return &expr.Call{Fn: "<=", Args: []expr.Expr{expr.NewColumn(0, types.TypeBigInt, "k"), expr.NewColumn(5, types.TypeBigInt, "w")},
		T: types.TypeBoolean}
}

func newWJ(kind JoinKind, rocks bool, residual expr.Expr) *WindowJoin {
	return &WindowJoin{Kind: kind, LeftKeys: []int{0}, RightKeys: []int{0}, LeftEnd: 3, RightEnd: 3,
		Left: wjLeft, Right: wjRight, Out: wjOut, Residual: residual, RocksDB: rocks}
}

// wjExpected computes the window join of the rows that were on time.
func wjExpected(kind JoinKind, left, right []wjRow, residual bool) []string {
	var out []string
	outerL, outerR := kind == JoinLeft || kind == JoinFull, kind == JoinRight || kind == JoinFull
	matchedR := make([]bool, len(right))
	for _, l := range left {
		found := false
		for j, r := range right {
			if l.end != r.end || l.k == nil || r.k == nil || *l.k != *r.k {
				continue
			}
			if residual && !(*l.k <= r.val) {
				continue
			}
			found, matchedR[j] = true, true
			out = append(out, l.text(0)+"|"+r.text(1))
		}
		if !found && outerL {
			out = append(out, l.text(0)+"|"+wjNulls)
		}
	}
	for j, r := range right {
		if !matchedR[j] && outerR {
			out = append(out, wjNulls+"|"+r.text(1))
		}
	}
	slices.Sort(out)
	return out
}

var wjKinds = []JoinKind{JoinInner, JoinLeft, JoinRight, JoinFull}

// TestWindowJoinMatchesRecomputation feeds random rows of random windows
// (NULL keys, hot keys, several windows firing at one watermark, late
// rows) through the window join on both backends, and compares its output
// with the join recomputed from the rows that were on time.
func TestWindowJoinMatchesRecomputation(t *testing.T) {
	for _, rocks := range []bool{false, true} {
		for _, kind := range wjKinds {
			for _, residual := range []bool{false, true} {
				name := fmt.Sprintf("rocksdb=%v/%s/residual=%v", rocks, kind, residual)
				t.Run(name, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(kind)+7, map[bool]uint64{false: 1, true: 2}[residual]))
					var res expr.Expr
					if residual {
						res = wjResidual()
					}
					op := openOp(t, newWJ(kind, rocks, res), 0, 1).(*WindowJoin)
					defer op.Close()
					var c wjCollect
					var onTime [2][]wjRow
					wm := int64(exec.MinWatermark)
					late := 0
					for step := 0; step < 60; step++ {
						side := rng.IntN(2)
						rows := make([]wjRow, 1+rng.IntN(30))
						for i := range rows {
							start := int64(rng.IntN(12)) * 10
							rows[i] = wjRow{val: int64(rng.IntN(8)), start: start, end: start + 10}
							if rng.IntN(8) != 0 {
								rows[i].k = key(int64(rng.IntN(6)))
							}
							if wm != exec.MinWatermark && rows[i].end*sec-1 <= wm {
								late++
							} else {
								onTime[side] = append(onTime[side], rows[i])
							}
						}
						if err := op.Process(side, wjBatch(side, rows), &c); err != nil {
							t.Fatal(err)
						}
						if rng.IntN(6) == 0 {
							// Jumps of up to 30 s fire several windows at once.
							next := int64(step/2+rng.IntN(30)) * sec
							if next > wm {
								wm = next
							}
							if err := op.ProcessWatermark(next, &c); err != nil {
								t.Fatal(err)
							}
						}
					}
					if err := op.ProcessWatermark(exec.MaxWatermark, &c); err != nil {
						t.Fatal(err)
					}
					if err := op.Finish(&c); err != nil {
						t.Fatal(err)
					}
					if c.err != nil {
						t.Fatal(c.err)
					}
					want := wjExpected(kind, onTime[0], onTime[1], residual)
					if got := c.sorted(); !slices.Equal(got, want) {
						t.Fatalf("got %d rows, want %d\ngot  %q\nwant %q", len(got), len(want), got, want)
					}
					if op.LateRows() != int64(late) || late == 0 {
						t.Fatalf("late rows: counted %d, dropped %d (the test needs some)", op.LateRows(), late)
					}
					if len(want) == 0 {
						t.Fatal("no output: the test proves nothing")
					}
				})
			}
		}
	}
}

// TestWindowJoinFiresAtWindowEnd: nothing is emitted before the watermark
// reaches a window's last instant; then its final rows, once; then its
// state is gone (no row is emitted again at the end).
func TestWindowJoinFiresAtWindowEnd(t *testing.T) {
	for _, rocks := range []bool{false, true} {
		t.Run(fmt.Sprintf("rocksdb=%v", rocks), func(t *testing.T) {
			op := openOp(t, newWJ(JoinFull, rocks, nil), 0, 1).(*WindowJoin)
			defer op.Close()
			var c wjCollect
			run(t, op, &c, []step{
				proc(0, wjBatch(0, []wjRow{{k: key(1), val: 1, start: 0, end: 10}, {k: key(2), val: 2, start: 0, end: 10},
					{k: key(1), val: 3, start: 10, end: 20}})),
				proc(1, wjBatch(1, []wjRow{{k: key(1), val: 7, start: 0, end: 10}, {k: key(3), val: 8, start: 0, end: 10}})),
				wmark(10*sec - 2),
			})
			if len(c.rows) != 0 {
				t.Fatalf("emitted before the window's end: %q", c.rows)
			}
			run(t, op, &c, []step{wmark(10*sec - 1)})
			want := []string{
				"1|'v1|0|10000000|1|7|0|10000000",
				"2|'v2|0|10000000|" + wjNulls,
				wjNulls + "|3|8|0|10000000",
			}
			slices.Sort(want)
			if got := c.sorted(); !slices.Equal(got, want) {
				t.Fatalf("window [0, 10):\ngot  %q\nwant %q", got, want)
			}
			if !slices.Equal(c.wms, []int64{10*sec - 2, 10*sec - 1}) {
				t.Fatalf("watermarks forwarded: %v", c.wms)
			}
			c.rows = nil
			// A row of the fired window is late; the next window is open.
			run(t, op, &c, []step{proc(1, wjBatch(1, []wjRow{{k: key(2), val: 9, start: 0, end: 10}, {k: key(1), val: 4, start: 10, end: 20}}))})
			if err := op.Finish(&c); err != nil {
				t.Fatal(err)
			}
			if got := c.sorted(); !slices.Equal(got, []string{"1|'v3|10000000|20000000|1|4|10000000|20000000"}) {
				t.Fatalf("after finish: %q", got)
			}
			if op.LateRows() != 1 {
				t.Fatalf("late rows %d, want 1", op.LateRows())
			}
			if rocks && len(op.openEnds) != 0 || !rocks && len(op.windows) != 0 {
				t.Fatal("fired windows left state behind")
			}
		})
	}
}

// TestWindowJoinHop: with HOP windows a row is in several windows (the
// window TVF copies it once per window); each window joins on its own.
func TestWindowJoinHop(t *testing.T) {
	for _, rocks := range []bool{false, true} {
		t.Run(fmt.Sprintf("rocksdb=%v", rocks), func(t *testing.T) {
			op := openOp(t, newWJ(JoinLeft, rocks, nil), 0, 1).(*WindowJoin)
			defer op.Close()
			var c wjCollect
			// HOP(slide 5 s, size 10 s): left at 7 s is in [0, 10) and
			// [5, 15); right at 3 s in [-5, 5) and [0, 10); right at 12 s
			// in [5, 15) and [10, 20).
			run(t, op, &c, []step{
				proc(0, wjBatch(0, []wjRow{{k: key(1), val: 1, start: 0, end: 10}, {k: key(1), val: 1, start: 5, end: 15}})),
				proc(1, wjBatch(1, []wjRow{{k: key(1), val: 3, start: -5, end: 5}, {k: key(1), val: 3, start: 0, end: 10},
					{k: key(1), val: 12, start: 5, end: 15}, {k: key(1), val: 12, start: 10, end: 20}})),
				wmark(30 * sec),
			})
			if c.err != nil {
				t.Fatal(c.err)
			}
			want := []string{
				"1|'v1|0|10000000|1|3|0|10000000",
				"1|'v1|5000000|15000000|1|12|5000000|15000000",
			}
			if got := c.sorted(); !slices.Equal(got, want) {
				t.Fatalf("got  %q\nwant %q", got, want)
			}
		})
	}
}

// TestWindowJoinResidualHotKey: a key with more candidate pairs than one
// residual evaluation takes (joinChunk) is evaluated in parts, and its
// unmatched outer rows are padded once, after all of them.
func TestWindowJoinResidualHotKey(t *testing.T) {
	for _, rocks := range []bool{false, true} {
		t.Run(fmt.Sprintf("rocksdb=%v", rocks), func(t *testing.T) {
			op := openOp(t, newWJ(JoinFull, rocks, wjResidual()), 0, 1).(*WindowJoin)
			defer op.Close()
			var left, right []wjRow
			for i := 0; i < 300; i++ {
				left = append(left, wjRow{k: key(5), val: int64(i), start: 0, end: 10})
			}
			for i := 0; i < 300; i++ {
				// w >= 5 matches every left row of key 5; w < 5 none.
				right = append(right, wjRow{k: key(5), val: int64(i % 10), start: 0, end: 10})
			}
			left = append(left, wjRow{k: key(2), val: 1, start: 0, end: 10})
			right = append(right, wjRow{k: key(2), val: 2, start: 0, end: 10})
			var c wjCollect
			run(t, op, &c, []step{proc(0, wjBatch(0, left)), proc(1, wjBatch(1, right)), wmark(exec.MaxWatermark)})
			if c.err != nil {
				t.Fatal(c.err)
			}
			want := wjExpected(JoinFull, left, right, true)
			if got := c.sorted(); !slices.Equal(got, want) {
				t.Fatalf("got %d rows, want %d", len(got), len(want))
			}
		})
	}
}

func TestWindowJoinRefusesUpdates(t *testing.T) {
	op := openOp(t, newWJ(JoinInner, false, nil), 0, 1)
	b := wjBatch(0, []wjRow{{k: key(1), start: 0, end: 10}})
	b.Kinds = []batch.RowKind{batch.Delete}
	err := op.Process(0, b, &wjCollect{})
	if err == nil || !strings.Contains(err.Error(), "not supported yet") {
		t.Fatalf("an updating input: %v", err)
	}
}

// wjSteps is a run of both inputs with open windows at the barrier, a
// window that fires before it, and rows that are late only because of it.
func wjSteps() (pre, more []step) {
	pre = []step{
		proc(0, wjBatch(0, []wjRow{{k: key(1), val: 1, start: 0, end: 10}, {k: key(2), val: 2, start: 10, end: 20},
			{val: 3, start: 10, end: 20}, {k: key(4), val: 4, start: 20, end: 30}})),
		proc(1, wjBatch(1, []wjRow{{k: key(1), val: 5, start: 0, end: 10}, {k: key(2), val: 6, start: 10, end: 20},
			{k: key(9), val: 7, start: 10, end: 20}, {val: 8, start: 20, end: 30}})),
		wmark(12 * sec), // fires [0, 10)
		proc(0, wjBatch(0, []wjRow{{k: key(2), val: 9, start: 10, end: 20}, {k: key(9), val: 10, start: 30, end: 40}})),
	}
	more = []step{
		proc(1, wjBatch(1, []wjRow{{k: key(1), val: 11, start: 0, end: 10}, {k: key(2), val: 12, start: 10, end: 20},
			{k: key(4), val: 13, start: 20, end: 30}})), // the first row is late
		wmark(25 * sec), // fires [10, 20)
		proc(0, wjBatch(0, []wjRow{{k: key(4), val: 14, start: 20, end: 30}, {k: key(5), val: 15, start: 40, end: 50}})),
		wmark(exec.MaxWatermark),
	}
	return pre, more
}

func TestWindowJoinSnapshotRestore(t *testing.T) {
	for _, rocks := range []bool{false, true} {
		for _, kind := range wjKinds {
			pre, more := wjSteps()
			what := fmt.Sprintf("rocksdb=%v %s", rocks, kind)
			snapshotRoundTrip(t, what, func() exec.Operator { return openOp(t, newWJ(kind, rocks, wjResidual()), 0, 1) }, pre, more)
		}
		// The restored operator still counts the late row.
		pre, more := wjSteps()
		a, b := openOp(t, newWJ(JoinFull, rocks, nil), 0, 1).(*WindowJoin), openOp(t, newWJ(JoinFull, rocks, nil), 0, 1).(*WindowJoin)
		var c collectRows
		run(t, a, &c, pre)
		dir := snapshotSync(t, a, &c, false)()
		if err := b.RestoreState(restoreOne(dir)); err != nil {
			t.Fatal(err)
		}
		run(t, b, &c, more[:1])
		if b.LateRows() != 1 {
			t.Fatalf("rocksdb=%v: restored window join dropped %d late rows, want 1", rocks, b.LateRows())
		}
		a.Close()
		b.Close()
	}
}

func TestWindowJoinSnapshotRescale(t *testing.T) {
	for _, rocks := range []bool{false, true} {
		for _, kind := range []JoinKind{JoinInner, JoinFull} {
			rng := rand.New(rand.NewPCG(3, uint64(kind)))
			mk := func(side int) keyedInput {
				rows := make([]wjRow, 1+rng.IntN(40))
				for i := range rows {
					start := int64(rng.IntN(5)) * 10
					rows[i] = wjRow{val: int64(rng.IntN(9)), start: start, end: start + 10}
					if rng.IntN(6) != 0 {
						rows[i].k = key(int64(rng.IntN(30)))
					}
				}
				return keyedInput{input: side, b: wjBatch(side, rows), keys: []int{0}}
			}
			var pre, more []keyedInput
			for i := 0; i < 8; i++ {
				pre = append(pre, mk(i%2))
			}
			pre = append(pre, keyedInput{isWM: true, wm: 15 * sec})
			for i := 0; i < 8; i++ {
				more = append(more, mk(i%2))
			}
			more = append(more, keyedInput{isWM: true, wm: exec.MaxWatermark})
			what := fmt.Sprintf("rocksdb=%v %s", rocks, kind)
			rescaleRoundTrip(t, what, func(subtask, par int) exec.Operator {
				return openOp(t, newWJ(kind, rocks, nil), subtask, par)
			}, pre, more)
		}
	}
}

func TestWindowJoinSnapshotMismatch(t *testing.T) {
	a := openOp(t, newWJ(JoinInner, false, nil), 0, 1).(*WindowJoin)
	run(t, a, &wjCollect{}, []step{proc(0, wjBatch(0, []wjRow{{k: key(1), start: 0, end: 10}}))})
	dir := snapshotSync(t, a, &wjCollect{}, false)()
	b := openOp(t, newWJ(JoinLeft, false, nil), 0, 1).(*WindowJoin)
	if err := b.RestoreState(restoreOne(dir)); err == nil || !strings.Contains(err.Error(), "different window join") {
		t.Fatalf("restore into another kind of join: %v", err)
	}
	c := openOp(t, newWJ(JoinInner, true, nil), 0, 1).(*WindowJoin)
	defer c.Close()
	if err := c.RestoreState(restoreOne(dir)); err == nil || !strings.Contains(err.Error(), "not supported yet") {
		t.Fatalf("restore hashmap state into rocksdb: %v", err)
	}
}

// BenchmarkWindowJoin: rows/s through the window join (inner, 10 000 keys,
// 1 s tumbling windows, 4 rows per key and window per side, a watermark
// after each pair of batches), hashmap against rocksdb in one run.
func BenchmarkWindowJoin(b *testing.B) {
	for _, rocks := range []bool{false, true} {
		b.Run(fmt.Sprintf("rocksdb=%v", rocks), func(b *testing.B) {
			const rowsPerBatch, keys = 8192, 10_000
			// Batches of each side, cycling through windows.
			mkBatch := func(side, i int) batch.Batch {
				rows := make([]wjRow, rowsPerBatch)
				for r := range rows {
					n := i*rowsPerBatch + r
					start := int64(n / (keys * 4))
					rows[r] = wjRow{k: key(int64(n % keys)), val: int64(n), start: start, end: start + 1}
				}
				return wjBatch(side, rows)
			}
			var ls, rs []batch.Batch
			for i := 0; i < 50; i++ {
				ls, rs = append(ls, mkBatch(0, i)), append(rs, mkBatch(1, i))
			}
			dir := b.TempDir()
			open := func() *WindowJoin {
				op := &WindowJoin{Kind: JoinInner, LeftKeys: []int{0}, RightKeys: []int{0}, LeftEnd: 3, RightEnd: 3,
					Left: wjLeft, Right: wjRight, Out: wjOut, RocksDB: rocks}
				if err := op.Open(&exec.OpContext{WorkDir: dir, Parallelism: 1, MaxParallelism: testMaxPar}); err != nil {
					b.Fatal(err)
				}
				return op
			}
			op := open()
			defer func() { op.Close() }()
			var c countingCollector
			b.ResetTimer()
			start := time.Now()
			in := 0
			for i := 0; i < b.N; i++ {
				j := i % len(ls)
				if j == 0 && i > 0 {
					// Start over with a fresh operator: the windows repeat.
					if err := op.Finish(&c); err != nil {
						b.Fatal(err)
					}
					op.Close()
					op = open()
				}
				if err := op.Process(0, ls[j], &c); err != nil {
					b.Fatal(err)
				}
				if err := op.Process(1, rs[j], &c); err != nil {
					b.Fatal(err)
				}
				in += 2 * rowsPerBatch
				// The watermark trails the input by a window.
				if err := op.ProcessWatermark(int64((j*rowsPerBatch)/(keys*4)-1)*sec, &c); err != nil {
					b.Fatal(err)
				}
			}
			if err := op.Finish(&c); err != nil {
				b.Fatal(err)
			}
			el := time.Since(start).Seconds()
			b.ReportMetric(float64(in)/el, "rows/s")
			b.ReportMetric(float64(c.rows)/el, "out-rows/s")
		})
	}
}
