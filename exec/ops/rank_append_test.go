package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// The append-only Top-N (InputUpdating false) keeps only N rows per
// partition; these tests pin that it emits exactly what the Top-N that
// keeps every row (InputUpdating true) emits on the same insert-only input.

// appendInput is (p STRING, o BIGINT NULL, s STRING NULL, x BIGINT).
var appendInput = types.NewSchema(types.Field{Name: "p", Type: types.TypeString},
	types.Field{Name: "o", Type: types.TypeBigInt}, types.Field{Name: "s", Type: types.TypeString},
	types.Field{Name: "x", Type: types.TypeBigInt})

type rankCase struct {
	limit   int64
	rankCol bool
	order   []SortKey
	mini    int
}

func (c rankCase) String() string {
	return fmt.Sprintf("N=%d rank=%v order=%v mini=%d", c.limit, c.rankCol, c.order, c.mini)
}

// rankBackends are the state backends every Top-N test runs on.
var rankBackends = []string{"hashmap", "rocksdb"}

func (c rankCase) op(updating bool) *Rank { return c.opOn(updating, "hashmap") }

func (c rankCase) opOn(updating bool, backend string) *Rank {
	out := appendInput
	if c.rankCol {
		out = types.NewSchema(append(slices.Clone(appendInput.Fields), types.Field{Name: "rn", Type: types.TypeBigInt})...)
	}
	return &Rank{PartitionKeys: []int{0}, OrderKeys: c.order, Limit: c.limit, RankColumn: c.rankCol,
		In: appendInput, Out: out, MiniBatch: c.mini, InputUpdating: updating, RocksDB: backend == "rocksdb"}
}

// appendGen makes insert-only batches with many ties and NULLs.
type appendGen struct {
	rng   *rand.Rand
	parts int
	x     int64
}

func (g *appendGen) batch(n int) batch.Batch {
	ps, os, ss, xs := make([]string, n), make([]int64, n), make([]string, n), make([]int64, n)
	pv, ov, sv := make([]bool, n), make([]bool, n), make([]bool, n)
	for i := range n {
		g.x++
		p := g.rng.IntN(g.parts)
		ps[i], pv[i] = fmt.Sprint("p", p), p != 0
		os[i], ov[i] = int64(g.rng.IntN(12)), g.rng.IntN(10) != 0
		ss[i], sv[i] = strings.Repeat("s", g.rng.IntN(4)), g.rng.IntN(8) != 0
		xs[i] = g.x
	}
	rec := batch.NewRecord(appendInput, []arrow.Array{batch.StringArray(ps, pv), batch.Int64Array(os, ov),
		batch.StringArray(ss, sv), batch.Int64Array(xs, nil)}, n)
	return batch.Batch{Rec: rec, Kinds: make([]batch.RowKind, n)}
}

func rankCases() []rankCase {
	orders := [][]SortKey{
		{{Col: 1, Desc: true}},
		{{Col: 1}},
		{{Col: 2}, {Col: 1, Desc: true}},
		{{Col: 3, Desc: true}}, // dedup keeping the last row
		{{Col: 3}},             // dedup keeping the first row
	}
	var cases []rankCase
	for _, n := range []int64{0, 1, 2, 3, 10} {
		for _, rc := range []bool{false, true} {
			for _, o := range orders {
				for _, mini := range []int{0, 3} {
					cases = append(cases, rankCase{limit: n, rankCol: rc, order: o, mini: mini})
				}
			}
		}
	}
	return cases
}

// maxPartitionRows is the most rows a partition holds in the state: in
// memory, or in pebble (head and tail).
func maxPartitionRows(t testing.TB, r *Rank) int {
	t.Helper()
	m := 0
	if r.store == nil {
		for _, p := range r.parts {
			m = max(m, len(p.rows))
		}
		return m
	}
	if err := r.store.states(); err != nil {
		t.Fatal(err)
	}
	err := r.store.top.Entries(nil, func(_ int, _, v []byte) error {
		d := &decoder{b: v}
		tail := int(d.uvarint())
		head := decodeRankRows(d, r.In.Len())
		if err := d.finish(); err != nil {
			return err
		}
		m = max(m, tail+len(head))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRankAppendOnlyMatchesAllRows: on both backends, the append-only
// Top-N and the one keeping every row emit what the in-memory one keeping
// every row emits.
func TestRankAppendOnlyMatchesAllRows(t *testing.T) {
	for i, c := range rankCases() {
		t.Run(c.String(), func(t *testing.T) {
			g := &appendGen{rng: rand.New(rand.NewPCG(uint64(i), 11)), parts: 1 + i%9}
			ref := openOp(t, c.op(true), 0, 1).(*Rank)
			type subject struct {
				what string
				op   *Rank
				out  collectRows
			}
			var subjects []*subject
			for _, be := range rankBackends {
				for _, updating := range []bool{false, true} {
					if be == "hashmap" && updating {
						continue // the reference
					}
					op := openOp(t, c.opOn(updating, be), 0, 1).(*Rank)
					defer op.Close()
					subjects = append(subjects, &subject{what: fmt.Sprintf("%s updating=%v", be, updating), op: op})
				}
			}
			var want collectRows
			for step := 0; step < 40; step++ {
				b := g.batch(1 + g.rng.IntN(50))
				if err := ref.Process(0, b, &want); err != nil {
					t.Fatal(err)
				}
				for _, s := range subjects {
					if err := s.op.Process(0, b, &s.out); err != nil {
						t.Fatalf("%s: %v", s.what, err)
					}
					if !slices.Equal(s.out.rows, want.rows) || !slices.Equal(s.out.kind, want.kind) {
						t.Fatalf("%s, batch %d: changelog differs\ngot  %v %v\nwant %v %v", s.what, step, s.out.kind, s.out.rows, want.kind, want.rows)
					}
					if !s.op.InputUpdating {
						if m := maxPartitionRows(t, s.op); int64(m) > c.limit {
							t.Fatalf("%s, batch %d: a partition holds %d rows, N = %d", s.what, step, m, c.limit)
						}
					}
				}
			}
			if c.limit > 0 && len(want.rows) == 0 {
				t.Fatal("no output: the test proves nothing")
			}
			if c.limit > 0 && maxPartitionRows(t, ref) <= int(c.limit) {
				t.Fatal("no partition outgrew N: the test proves nothing")
			}
		})
	}
}

// TestRankAppendOnlyRestoresAllRows: a snapshot of a Top-N that kept every
// row (as before append-only Top-N existed) restores into an append-only
// one, which trims it to N and continues with the same changes.
func TestRankAppendOnlyRestoresAllRows(t *testing.T) {
	for _, be := range rankBackends {
		for i, c := range []rankCase{
			{limit: 1, order: []SortKey{{Col: 1, Desc: true}}},
			{limit: 3, rankCol: true, order: []SortKey{{Col: 2}, {Col: 1, Desc: true}}},
		} {
			g := &appendGen{rng: rand.New(rand.NewPCG(uint64(i), 3)), parts: 5}
			var pre, more []step
			for range 10 {
				pre = append(pre, proc(0, g.batch(1+g.rng.IntN(40))))
				more = append(more, proc(0, g.batch(1+g.rng.IntN(40))))
			}
			old := openOp(t, c.opOn(true, be), 0, 1).(*Rank)
			var ignore, want collectRows
			run(t, old, &ignore, pre)
			dir := snapshotSync(t, old, &ignore, false)()
			if maxPartitionRows(t, old) <= int(c.limit) {
				t.Fatalf("%s %v: no partition outgrew N: the test proves nothing", be, c)
			}
			run(t, old, &want, more)
			old.Close()

			top := openOp(t, c.opOn(false, be), 0, 1).(*Rank)
			if err := top.RestoreState(restoreOne(dir)); err != nil {
				t.Fatal(err)
			}
			var got collectRows
			run(t, top, &got, more)
			if !slices.Equal(got.rows, want.rows) || !slices.Equal(got.kind, want.kind) {
				t.Fatalf("%s %v: changelog differs after restore\ngot  %v %v\nwant %v %v", be, c, got.kind, got.rows, want.kind, want.rows)
			}
			// Every partition got rows after the restore: none holds more
			// than N (in pebble, the tail of the old run is gone).
			if m := maxPartitionRows(t, top); int64(m) > c.limit {
				t.Fatalf("%s %v: a restored partition holds %d rows", be, c, m)
			}
			top.Close()
		}
	}
}

func TestRankAppendOnlySnapshotRestore(t *testing.T) {
	c := rankCase{limit: 2, rankCol: true, order: []SortKey{{Col: 1, Desc: true}}}
	g := &appendGen{rng: rand.New(rand.NewPCG(4, 4)), parts: 30}
	var pre, more []step
	var kpre, kmore []keyedInput
	for range 10 {
		b := g.batch(1 + g.rng.IntN(40))
		pre, kpre = append(pre, proc(0, b)), append(kpre, keyedInput{b: b, keys: []int{0}})
	}
	for range 10 {
		b := g.batch(1 + g.rng.IntN(40))
		more, kmore = append(more, proc(0, b)), append(kmore, keyedInput{b: b, keys: []int{0}})
	}
	for _, be := range rankBackends {
		what := "append-only Top-N on " + be
		snapshotRoundTrip(t, what, func() exec.Operator { return openOp(t, c.opOn(false, be), 0, 1) }, pre, more)
		rescaleRoundTrip(t, what, func(s, p int) exec.Operator { return openOp(t, c.opOn(false, be), s, p) }, kpre, kmore)
	}
}

// TestRankAppendOnlyOwnsStrings: kept rows do not alias the input batch's
// buffers (which a source may reuse and which should not stay pinned).
func TestRankAppendOnlyOwnsStrings(t *testing.T) {
	c := rankCase{limit: 2, order: []SortKey{{Col: 1, Desc: true}}}
	top := openOp(t, c.op(false), 0, 1).(*Rank)
	g := &appendGen{rng: rand.New(rand.NewPCG(1, 1)), parts: 3}
	b := g.batch(30)
	var out collectRows
	if err := top.Process(0, b, &out); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range top.parts {
		for _, row := range p.rows {
			want = append(want, fmt.Sprint(row.cells))
		}
	}
	// Overwrite the input's string bytes: the state must not change.
	for _, col := range []int{0, 2} {
		clear(b.Column(col).Data().Buffers()[2].Bytes())
	}
	var got []string
	for _, p := range top.parts {
		for _, row := range p.rows {
			got = append(got, fmt.Sprint(row.cells))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("state changed with the input's buffers\ngot  %v\nwant %v", got, want)
	}
}

func TestRankAppendOnlyRefusesRetraction(t *testing.T) {
	c := rankCase{limit: 1, order: []SortKey{{Col: 1}}}
	for _, be := range rankBackends {
		top := openOp(t, c.opOn(false, be), 0, 1)
		g := &appendGen{rng: rand.New(rand.NewPCG(1, 2)), parts: 3}
		b := g.batch(5)
		b.Kinds[3] = batch.Delete
		if err := top.Process(0, b, &collectRows{}); err == nil {
			t.Fatalf("%s: a retraction into an append-only Top-N was accepted", be)
		}
		top.Close()
	}
}

// BenchmarkRank feeds bid-like rows (auction, price, a string) to a
// Top-N with all rows kept (updating) and with the top N only, on both
// backends: go test -run '^$' -bench Rank -benchtime 3x ./exec/ops
func BenchmarkRank(b *testing.B) {
	schema := types.NewSchema(types.Field{Name: "auction", Type: types.TypeBigInt},
		types.Field{Name: "price", Type: types.TypeBigInt}, types.Field{Name: "url", Type: types.TypeString},
		types.Field{Name: "extra", Type: types.TypeString})
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, parts = 1 << 16, 4096
	var batches []batch.Batch
	for from := 0; from < rows; from += 1024 {
		as, ps, us, es := make([]int64, 1024), make([]int64, 1024), make([]string, 1024), make([]string, 1024)
		for i := range as {
			as[i], ps[i] = int64(rng.IntN(parts)), int64(rng.IntN(1e6))
			us[i], es[i] = fmt.Sprintf("https://www.nexmark.com/item/%d", rng.IntN(1e6)), strings.Repeat("x", rng.IntN(40))
		}
		rec := batch.NewRecord(schema, []arrow.Array{batch.Int64Array(as, nil), batch.Int64Array(ps, nil),
			batch.StringArray(us, nil), batch.StringArray(es, nil)}, 1024)
		batches = append(batches, batch.Batch{Rec: rec, Kinds: make([]batch.RowKind, 1024)})
	}
	for _, be := range rankBackends {
		for _, n := range []int64{1, 10} {
			for _, updating := range []bool{true, false} {
				b.Run(fmt.Sprintf("%s/N=%d/updating=%v", be, n, updating), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						r := &Rank{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 1, Desc: true}}, Limit: n,
							In: schema, Out: schema, InputUpdating: updating, RocksDB: be == "rocksdb"}
						if err := r.Open(&exec.OpContext{WorkDir: b.TempDir(), Parallelism: 1, MaxParallelism: testMaxPar}); err != nil {
							b.Fatal(err)
						}
						var out countingCollector
						for _, bt := range batches {
							if err := r.Process(0, bt, &out); err != nil {
								b.Fatal(err)
							}
						}
						if err := r.Close(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		}
	}
}
