package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// collectRows renders every emitted row with its kind.
type collectRows struct {
	rows []string
	kind []batch.RowKind
}

func (c *collectRows) Collect(b batch.Batch) error {
	for i := 0; i < b.Len(); i++ {
		var parts []string
		for col := 0; col < int(b.Rec.NumCols()); col++ {
			parts = append(parts, fmt.Sprint(readCell(b.Column(col), i)))
		}
		c.rows = append(c.rows, strings.Join(parts, "|"))
		c.kind = append(c.kind, b.Kind(i))
	}
	return nil
}
func (c *collectRows) EmitWatermark(int64) error { return nil }

// materialize applies the changelog; it fails on retracting a missing row.
func (c *collectRows) materialize(t *testing.T) []string {
	t.Helper()
	var out []string
	for i, r := range c.rows {
		if !c.kind[i].IsRetract() {
			out = append(out, r)
			continue
		}
		j := slices.Index(out, r)
		if j < 0 {
			t.Fatalf("changelog retracts %s, which it never emitted", r)
		}
		out = slices.Delete(out, j, j+1)
	}
	sort.Strings(out)
	return out
}

// TestGroupAggMatchesRecomputation feeds random changelogs (inserts, and
// retractions of rows inserted earlier) through GroupAgg at several
// mini-batch sizes and checks the materialized output against aggregates
// recomputed from the surviving rows.
func TestGroupAggMatchesRecomputation(t *testing.T) {
	in := types.NewSchema(types.Field{Name: "k", Type: types.TypeString}, types.Field{Name: "v", Type: types.TypeBigInt},
		types.Field{Name: "f", Type: types.TypeBoolean})
	out := types.NewSchema(types.Field{Name: "k", Type: types.TypeString},
		types.Field{Name: "c", Type: types.TypeBigInt}, types.Field{Name: "cv", Type: types.TypeBigInt},
		types.Field{Name: "s", Type: types.TypeBigInt}, types.Field{Name: "mn", Type: types.TypeBigInt},
		types.Field{Name: "mx", Type: types.TypeBigInt}, types.Field{Name: "cd", Type: types.TypeBigInt},
		types.Field{Name: "cf", Type: types.TypeBigInt}, types.Field{Name: "cdf", Type: types.TypeBigInt})
	// cd and cdf share one multiset (COUNT DISTINCT over one column).
	aggs := []AggSpec{
		{Kind: AggCountStar, Arg: -1, Filter: -1, Type: types.TypeBigInt},
		{Kind: AggCount, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggSum, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggMin, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggMax, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggCountDistinct, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggCountStar, Arg: -1, Filter: 2, Type: types.TypeBigInt},
		{Kind: AggCountDistinct, Arg: 1, Filter: 2, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
	}
	type row struct {
		k     string
		v     int64
		vnull bool
		f     bool
	}
	for _, backend := range []string{"hashmap", "rocksdb"} {
		for seed := uint64(1); seed <= 30; seed++ {
			for _, mini := range []int{1, 7, 1000} {
				if backend == "rocksdb" && seed > 8 {
					continue // pebble is slower; fewer seeds cover it
				}
				rng := rand.New(rand.NewPCG(seed, 99))
				op := &GroupAgg{Keys: []int{0}, Aggs: aggs, Out: out, InputUpdating: true, MiniBatch: mini, RocksDB: backend == "rocksdb"}
				if err := op.Open(&exec.OpContext{WorkDir: t.TempDir(), Parallelism: 1}); err != nil {
					t.Fatal(err)
				}
				var live []row
				var c collectRows
				for b := 0; b < 20; b++ {
					n := 1 + rng.IntN(50)
					var ks []string
					var vs []int64
					var vValid, fs []bool
					var kinds []batch.RowKind
					for i := 0; i < n; i++ {
						var r row
						kind := batch.Insert
						if len(live) > 0 && rng.IntN(3) == 0 {
							j := rng.IntN(len(live))
							r = live[j]
							live = slices.Delete(live, j, j+1)
							kind = batch.Delete
						} else {
							r = row{k: fmt.Sprint("k", rng.IntN(6)), v: int64(rng.IntN(20) - 5), vnull: rng.IntN(8) == 0, f: rng.IntN(2) == 0}
							live = append(live, r)
						}
						ks, vs, vValid, fs = append(ks, r.k), append(vs, r.v), append(vValid, !r.vnull), append(fs, r.f)
						kinds = append(kinds, kind)
					}
					rec := batch.NewRecord(in, []arrow.Array{batch.StringArray(ks, nil), batch.Int64Array(vs, vValid), batch.BooleanArray(fs, nil)}, n)
					if err := op.Process(0, batch.Batch{Rec: rec, Kinds: kinds}, &c); err != nil {
						t.Fatal(err)
					}
				}
				if err := op.Finish(&c); err != nil {
					t.Fatal(err)
				}
				// Recompute from the surviving rows.
				byKey := map[string][]row{}
				for _, r := range live {
					byKey[r.k] = append(byKey[r.k], r)
				}
				var want []string
				for k, rs := range byKey {
					var cnt, cv, sum, cf int64
					var mn, mx *int64
					distinct, distinctF := map[int64]bool{}, map[int64]bool{}
					for _, r := range rs {
						cnt++
						if r.f {
							cf++
						}
						if r.vnull {
							continue
						}
						v := r.v
						cv++
						sum += v
						distinct[v] = true
						if r.f {
							distinctF[v] = true
						}
						if mn == nil || v < *mn {
							mn = &v
						}
						if mx == nil || v > *mx {
							mx = &v
						}
					}
					cellOf := func(p *int64) string {
						if p == nil {
							return fmt.Sprint(cell{null: true})
						}
						return fmt.Sprint(cell{i: *p})
					}
					sumCell := cell{null: true}
					if cv > 0 {
						sumCell = cell{i: sum}
					}
					want = append(want, strings.Join([]string{fmt.Sprint(cell{s: k}), fmt.Sprint(cell{i: cnt}), fmt.Sprint(cell{i: cv}),
						fmt.Sprint(sumCell), cellOf(mn), cellOf(mx), fmt.Sprint(cell{i: int64(len(distinct))}), fmt.Sprint(cell{i: cf}),
						fmt.Sprint(cell{i: int64(len(distinctF))})}, "|"))
				}
				sort.Strings(want)
				got := c.materialize(t)
				if !slices.Equal(got, want) {
					t.Fatalf("%s, seed %d, mini-batch %d:\ngot  %v\nwant %v", backend, seed, mini, got, want)
				}
				if err := op.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestGroupAggEmitsNothingForUnchangedResults checks that a key whose result
// did not change in a mini-batch emits no -U/+U pair.
func TestGroupAggEmitsNothingForUnchangedResults(t *testing.T) {
	in := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeBigInt})
	out := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "m", Type: types.TypeBigInt})
	op := &GroupAgg{Keys: []int{0}, Out: out, MiniBatch: 1,
		Aggs: []AggSpec{{Kind: AggMax, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt}}}
	if err := op.Open(&exec.OpContext{}); err != nil {
		t.Fatal(err)
	}
	var c collectRows
	rec := batch.NewRecord(in, []arrow.Array{batch.Int64Array([]int64{1, 1, 1}, nil), batch.Int64Array([]int64{5, 3, 7}, nil)}, 3)
	if err := op.Process(0, batch.New(rec), &c); err != nil {
		t.Fatal(err)
	}
	// +I(5); 3 keeps MAX at 5 (no change); 7 updates.
	if got := fmt.Sprint(c.kind); got != "[+I -U +U]" {
		t.Fatalf("kinds %s, rows %v", got, c.rows)
	}
}

// TestGroupAggStateTTL: a key idle for longer than the TTL starts over,
// on both backends.
func TestGroupAggStateTTL(t *testing.T) {
	in := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt})
	out := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "c", Type: types.TypeBigInt})
	for _, rocksdb := range []bool{false, true} {
		now := time.Unix(1000, 0)
		op := &GroupAgg{Keys: []int{0}, Out: out, MiniBatch: 1, TTL: time.Minute, RocksDB: rocksdb,
			Aggs: []AggSpec{{Kind: AggCountStar, Arg: -1, Filter: -1, Type: types.TypeBigInt}}}
		if err := op.Open(&exec.OpContext{WorkDir: t.TempDir(), Parallelism: 1, Now: func() time.Time { return now }}); err != nil {
			t.Fatal(err)
		}
		var c collectRows
		one := batch.New(batch.NewRecord(in, []arrow.Array{batch.Int64Array([]int64{7}, nil)}, 1))
		for _, step := range []time.Duration{0, 30 * time.Second, 2 * time.Minute} {
			now = now.Add(step)
			if err := op.Process(0, one, &c); err != nil {
				t.Fatal(err)
			}
		}
		// count 1, then 2 (within the TTL), then a fresh 1 after expiry.
		got := fmt.Sprint(c.kind, c.rows)
		want := "[+I -U +U +I] [{7 0  false}|{1 0  false} {7 0  false}|{1 0  false} {7 0  false}|{2 0  false} {7 0  false}|{1 0  false}]"
		if got != want {
			t.Fatalf("rocksdb=%v: got %s\nwant %s", rocksdb, got, want)
		}
		op.Close()
	}
}

// TestProcTimeWindowAgg: processing-time windows fire on the timer once
// the clock is past their end (plus the grace), ignore watermarks, take a
// row of an already fired window into a new result instead of dropping it,
// and fire what is left at the end of a bounded input.
func TestProcTimeWindowAgg(t *testing.T) {
	for _, rocksdb := range []bool{false, true} {
		now := time.Unix(100, 0)
		var tick func(exec.Collector) error
		a := windowAgg(false, types.TypeBigInt)
		a.ProcTime, a.RocksDB = true, rocksdb
		ctx := &exec.OpContext{WorkDir: t.TempDir(), Parallelism: 1, Now: func() time.Time { return now },
			Every: func(d time.Duration, f func(exec.Collector) error) {
				if d == procTimeTick {
					tick = f
				}
			}}
		if err := a.Open(ctx); err != nil {
			t.Fatal(err)
		}
		var c collectRows
		step := func(what string, f func() error, want int) {
			t.Helper()
			if err := f(); err != nil {
				t.Fatal(err)
			}
			if len(c.rows) != want {
				t.Fatalf("rocksdb=%v, %s: %d result rows, want %d: %v", rocksdb, what, len(c.rows), want, c.rows)
			}
		}
		// windowRows are in seconds: [100, 101) and [101, 102).
		step("rows", func() error { return a.Process(0, windowRows("100 101 1 5", "100 101 2 6", "101 102 1 7"), &c) }, 0)
		step("a watermark far ahead", func() error { return a.ProcessWatermark(500*sec, &c) }, 0)
		now = time.Unix(101, 100_000_000) // [100, 101) ended 100 ms ago: within the grace
		step("tick within the grace", func() error { return tick(&c) }, 0)
		now = time.Unix(101, 300_000_000)
		step("tick after the grace", func() error { return tick(&c) }, 2)
		step("a row of the fired window", func() error { return a.Process(0, windowRows("100 101 1 9"), &c) }, 2)
		now = time.Unix(102, 500_000_000)
		step("next tick", func() error { return tick(&c) }, 4)
		step("more rows", func() error { return a.Process(0, windowRows("105 106 3 1"), &c) }, 4)
		step("end of input", func() error { return a.ProcessWatermark(exec.MaxWatermark, &c) }, 5)
		if a.late.n != 0 {
			t.Fatalf("dropped %d rows as late", a.late.n)
		}
		a.Close()
	}
}
