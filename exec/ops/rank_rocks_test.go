package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// retractInput is (p STRING, o BIGINT, d DOUBLE, s STRING, x BIGINT), all
// nullable but x.
var retractInput = types.NewSchema(types.Field{Name: "p", Type: types.TypeString},
	types.Field{Name: "o", Type: types.TypeBigInt}, types.Field{Name: "d", Type: types.TypeDouble},
	types.Field{Name: "s", Type: types.TypeString}, types.Field{Name: "x", Type: types.TypeBigInt})

type retractRow struct {
	p, s   string
	pn, sn bool // NULL
	o      int64
	on     bool
	d      float64
	dn     bool
	x      int64
}

// retractGen makes changelogs with many ties, NULLs, NaN, -0, strings
// holding 0x00, exact duplicate rows, and retractions of random live rows
// (often of the top ones, which makes the rocksdb head refill from its
// tail).
type retractGen struct {
	rng   *rand.Rand
	parts int
	live  []retractRow
	x     int64
}

var retractDoubles = []float64{math.NaN(), math.Inf(-1), -1.5, math.Copysign(0, -1), 0, 2.5, math.Inf(1)}
var retractStrings = []string{"", "a", "a\x00", "a\x00b", "ab", "b"}

func (g *retractGen) batch(n int) batch.Batch {
	rows := make([]retractRow, n)
	kinds := make([]batch.RowKind, n)
	for i := range rows {
		switch k := g.rng.IntN(10); {
		case len(g.live) > 0 && k < 4:
			j := g.rng.IntN(len(g.live))
			if k == 0 {
				j = 0 // the oldest: often at the top
			}
			rows[i] = g.live[j]
			g.live = slices.Delete(g.live, j, j+1)
			kinds[i] = batch.Delete
			if k == 1 {
				kinds[i] = batch.UpdateBefore
			}
		case len(g.live) > 0 && k == 4:
			rows[i] = g.live[g.rng.IntN(len(g.live))] // an exact duplicate
			g.live = append(g.live, rows[i])
			kinds[i] = batch.UpdateAfter
		default:
			g.x++
			p := g.rng.IntN(g.parts)
			r := retractRow{p: fmt.Sprint("p", p), pn: p == 0, o: int64(g.rng.IntN(6)), on: g.rng.IntN(8) == 0,
				d: retractDoubles[g.rng.IntN(len(retractDoubles))], dn: g.rng.IntN(8) == 0,
				s: retractStrings[g.rng.IntN(len(retractStrings))], sn: g.rng.IntN(8) == 0, x: g.x % 5}
			rows[i] = r
			g.live = append(g.live, r)
		}
	}
	ps, os, ds, ss, xs := make([]string, n), make([]int64, n), make([]float64, n), make([]string, n), make([]int64, n)
	pv, ov, dv, sv := make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)
	for i, r := range rows {
		ps[i], pv[i], os[i], ov[i], ds[i], dv[i], ss[i], sv[i], xs[i] = r.p, !r.pn, r.o, !r.on, r.d, !r.dn, r.s, !r.sn, r.x
	}
	rec := batch.NewRecord(retractInput, []arrow.Array{batch.StringArray(ps, pv), batch.Int64Array(os, ov),
		batch.Float64Array(ds, dv), batch.StringArray(ss, sv), batch.Int64Array(xs, nil)}, n)
	return batch.Batch{Rec: rec, Kinds: kinds}
}

func retractRank(limit int64, rankCol bool, order []SortKey, mini int, backend string, ttl time.Duration) *Rank {
	out := retractInput
	if rankCol {
		out = types.NewSchema(append(slices.Clone(retractInput.Fields), types.Field{Name: "rn", Type: types.TypeBigInt})...)
	}
	return &Rank{PartitionKeys: []int{0}, OrderKeys: order, Limit: limit, RankColumn: rankCol, In: retractInput, Out: out,
		MiniBatch: mini, InputUpdating: true, RocksDB: backend == "rocksdb", TTL: ttl}
}

// TestRankRocksMatchesHashmap: on a retracting input, the Top-N on rocksdb
// emits exactly what the in-memory one emits, batch by batch.
func TestRankRocksMatchesHashmap(t *testing.T) {
	orders := [][]SortKey{
		{{Col: 1, Desc: true}},
		{{Col: 2}},
		{{Col: 2, Desc: true}, {Col: 3}},
		{{Col: 3, Desc: true}, {Col: 1}},
		{{Col: 4}},             // dedup keeping the first row
		{{Col: 4, Desc: true}}, // dedup keeping the last row
	}
	i := 0
	for _, n := range []int64{1, 2, 3, 20} {
		for _, rc := range []bool{false, true} {
			for _, o := range orders {
				for _, mini := range []int{0, 3} {
					i++
					name := fmt.Sprintf("N=%d rank=%v order=%v mini=%d", n, rc, o, mini)
					t.Run(name, func(t *testing.T) {
						g := &retractGen{rng: rand.New(rand.NewPCG(uint64(i), 21)), parts: 1 + i%4}
						mem := openOp(t, retractRank(n, rc, o, mini, "hashmap", 0), 0, 1).(*Rank)
						rdb := openOp(t, retractRank(n, rc, o, mini, "rocksdb", 0), 0, 1).(*Rank)
						defer rdb.Close()
						var want, got collectRows
						for step := 0; step < 60; step++ {
							b := g.batch(1 + g.rng.IntN(30))
							if err := mem.Process(0, b, &want); err != nil {
								t.Fatal(err)
							}
							if err := rdb.Process(0, b, &got); err != nil {
								t.Fatalf("batch %d: %v", step, err)
							}
							if !slices.Equal(got.rows, want.rows) || !slices.Equal(got.kind, want.kind) {
								t.Fatalf("batch %d: changelog differs\ngot  %v\nwant %v", step, &got, &want)
							}
						}
						if len(want.rows) == 0 {
							t.Fatal("no output: the test proves nothing")
						}
						if maxPartitionRows(t, mem) <= rdb.headCap() {
							t.Fatal("no partition outgrew the rocksdb head: the test proves nothing")
						}
					})
				}
			}
		}
	}
}

// TestRankRocksRetractMissing: retracting a row that was never added is an
// error on both backends (there is no TTL that could have expired it).
func TestRankRocksRetractMissing(t *testing.T) {
	for _, be := range rankBackends {
		op := openOp(t, retractRank(2, true, []SortKey{{Col: 1}}, 0, be, 0), 0, 1)
		g := &retractGen{rng: rand.New(rand.NewPCG(3, 3)), parts: 2}
		b := g.batch(20)
		b.Kinds[len(b.Kinds)-1] = batch.Delete
		b.Kinds[0] = batch.Delete
		err := op.Process(0, b, &collectRows{})
		if err == nil || !strings.Contains(err.Error(), "never added") {
			t.Fatalf("%s: %v", be, err)
		}
		op.Close()
	}
}

// ttlRows builds rows (p, o, x) of rankInput; a leading '-' retracts.
func ttlRows(rows ...string) batch.Batch {
	n := len(rows)
	ps, os, xs := make([]string, n), make([]int64, n), make([]int64, n)
	kinds := make([]batch.RowKind, n)
	for i, r := range rows {
		if strings.HasPrefix(r, "-") {
			kinds[i], r = batch.Delete, r[1:]
		}
		fmt.Sscan(r, &ps[i], &os[i], &xs[i])
	}
	rec := batch.NewRecord(rankInput, []arrow.Array{batch.StringArray(ps, nil), batch.Int64Array(os, nil), batch.Int64Array(xs, nil)}, n)
	return batch.Batch{Rec: rec, Kinds: kinds}
}

// textRows renders a changelog as lines "kind [v1 v2 ...]".
type textRows struct{ strings.Builder }

func (c *textRows) Collect(b batch.Batch) error {
	for i := 0; i < b.Len(); i++ {
		vals := make([]string, b.Rec.NumCols())
		for col := range vals {
			vals[col] = b.Column(col).ValueStr(i)
		}
		fmt.Fprintf(c, "%s [%s]\n", b.Kind(i), strings.Join(vals, " "))
	}
	return nil
}

func (c *textRows) EmitWatermark(int64) error { return nil }

// TestRankTTL: state not written for longer than the TTL is forgotten
// without a retraction, as in Flink: in memory the whole partition, on
// rocksdb each entry (here a tail entry expires while the head, rewritten
// since, lives on).
func TestRankTTL(t *testing.T) {
	for _, be := range rankBackends {
		t.Run(be, func(t *testing.T) {
			now := time.Unix(1000, 0)
			var sweep func(exec.Collector) error
			op := testRankOn(be)
			op.Limit, op.TTL = 1, time.Minute
			ctx := &exec.OpContext{WorkDir: t.TempDir(), Parallelism: 1, MaxParallelism: testMaxPar,
				Now:   func() time.Time { return now },
				Every: func(_ time.Duration, fn func(exec.Collector) error) { sweep = fn }}
			if err := op.Open(ctx); err != nil {
				t.Fatal(err)
			}
			defer op.Close()
			if sweep == nil { // hashmap: the partition sweep; rocksdb: the incremental cleanup
				t.Fatal("no sweep timer registered")
			}
			steps := []struct {
				at   time.Duration
				in   batch.Batch
				want string
			}{
				// Head (N + slack = 2 rows) a3 a2; tail a1.
				{0, ttlRows("a 3 1", "a 2 2", "a 1 3", "b 5 9"), "+I [a 3 1 1]\n+I [b 5 9 1]\n"},
				// a0 joins the tail at 50s: the partition (and the head, for
				// its row count) is written then.
				{50 * time.Second, ttlRows("a 0 4"), ""},
				{100 * time.Second, ttlRows("-a 3 1", "-a 2 2"), map[string]string{
					"hashmap": "-U [a 3 1 1]\n+U [a 1 3 1]\n", // written at 50s: all alive
					"rocksdb": "-U [a 3 1 1]\n+U [a 0 4 1]\n", // tail entry a1 (written at 0) expired
				}[be]},
				// Nothing written since 100s: forgotten, a new row is the
				// first of its partition; b expired long ago.
				{200 * time.Second, ttlRows("a -1 5", "b 1 6"), "+I [a -1 5 1]\n+I [b 1 6 1]\n"},
				// Retracting an expired row is no error (it may have been forgotten).
				{400 * time.Second, ttlRows("-a -1 5", "-b 1 6"), ""},
			}
			for i, s := range steps {
				now = time.Unix(1000, 0).Add(s.at)
				var c textRows
				if err := op.Process(0, s.in, &c); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got := c.String(); got != s.want {
					t.Fatalf("step %d at %v: got\n%swant\n%s", i, s.at, got, s.want)
				}
			}
			if be == "hashmap" {
				if len(op.parts) == 0 {
					t.Fatal("no partition left: the sweep test proves nothing")
				}
				now = now.Add(2 * time.Minute)
				if err := sweep(nil); err != nil {
					t.Fatal(err)
				}
				if len(op.parts) != 0 {
					t.Fatalf("%d expired partitions kept after the sweep", len(op.parts))
				}
			} else {
				// The cleanup tick deletes the expired entries from pebble:
				// with the clock set back to their last write they would
				// read as live again if they were only expired.
				now = now.Add(2 * time.Minute)
				if err := sweep(nil); err != nil {
					t.Fatal(err)
				}
				now = time.Unix(1000, 0).Add(200 * time.Second)
				n := 0
				if err := op.store.top.Keys(nil, func(int, []byte) error { n++; return nil }); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Fatalf("%d expired partitions still stored after the cleanup tick", n)
				}
			}
		})
	}
}

// TestRankTTLSnapshot: write times survive a checkpoint: a partition idle
// for longer than the TTL at restore time starts over, as it would have
// live.
func TestRankTTLSnapshot(t *testing.T) {
	for _, be := range rankBackends {
		now := time.Unix(1000, 0)
		mk := func() *Rank {
			op := testRankOn(be)
			op.Limit, op.TTL = 1, time.Minute
			if err := op.Open(&exec.OpContext{WorkDir: t.TempDir(), Parallelism: 1, MaxParallelism: testMaxPar,
				Now: func() time.Time { return now }}); err != nil {
				t.Fatal(err)
			}
			return op
		}
		a := mk()
		var c collectRows
		run(t, a, &c, []step{proc(0, ttlRows("a 1 1"))})
		dir := snapshotSync(t, a, &c, false)()
		a.Close()
		for _, tc := range []struct {
			after time.Duration
			want  string
		}{{30 * time.Second, "-U [a 1 1 1]\n+U [a 2 2 1]\n"}, {2 * time.Minute, "+I [a 2 2 1]\n"}} {
			now = time.Unix(1000, 0).Add(tc.after)
			b := mk()
			if err := b.RestoreState(restoreOne(dir)); err != nil {
				t.Fatal(err)
			}
			var cb textRows
			run(t, b, &cb, []step{proc(0, ttlRows("a 2 2"))})
			if got := cb.String(); got != tc.want {
				t.Fatalf("%s, restored %v later: got\n%swant\n%s", be, tc.after, got, tc.want)
			}
			b.Close()
		}
	}
}
