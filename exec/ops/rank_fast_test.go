package ops

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// BenchmarkRankAppendQ9 feeds Nexmark q9-like rows (auction joined with
// bid: 15 columns, some long strings) to an append-only Top-1 partitioned
// by the auction id (BIGINT: ~1M possible keys, most rows making a new
// partition; 64K keys, ~16 rows each) and ordered by price DESC,
// bid time ASC: go test -run '^$' -bench RankAppendQ9 -count 5 ./exec/ops
func BenchmarkRankAppendQ9(b *testing.B) {
	str, big := types.TypeString, types.TypeBigInt
	schema := types.NewSchema(
		types.Field{Name: "id", Type: big}, types.Field{Name: "itemName", Type: str},
		types.Field{Name: "description", Type: str}, types.Field{Name: "initialBid", Type: big},
		types.Field{Name: "reserve", Type: big}, types.Field{Name: "dateTime", Type: big},
		types.Field{Name: "expires", Type: big}, types.Field{Name: "seller", Type: big},
		types.Field{Name: "category", Type: big}, types.Field{Name: "extra", Type: str},
		types.Field{Name: "bidder", Type: big}, types.Field{Name: "price", Type: big},
		types.Field{Name: "channel", Type: str}, types.Field{Name: "url", Type: str},
		types.Field{Name: "bidTime", Type: big})
	const (
		batchRows = 1024
		nbatches  = 1024 // 1M rows
		strSets   = 32   // string columns are shared between batches
	)
	rng := rand.New(rand.NewPCG(9, 9))
	rs := func(lo, hi int) string { return strings.Repeat("abcdefghij", 20)[:lo+rng.IntN(hi-lo+1)] }
	type strCols struct{ item, desc, extra, channel, url arrow.Array }
	var sets []strCols
	for range strSets {
		it, de, ex, ch, ur := make([]string, batchRows), make([]string, batchRows), make([]string, batchRows),
			make([]string, batchRows), make([]string, batchRows)
		for i := range it {
			it[i], de[i], ex[i], ch[i] = rs(10, 20), rs(50, 120), rs(0, 150), rs(5, 10)
			ur[i] = fmt.Sprintf("https://www.nexmark.com/%s/item.htm?query=1&channel_id=%d", rs(3, 8), rng.IntN(1e9))
		}
		sets = append(sets, strCols{batch.StringArray(it, nil), batch.StringArray(de, nil),
			batch.StringArray(ex, nil), batch.StringArray(ch, nil), batch.StringArray(ur, nil)})
	}
	ints := func(f func(i int) int64) arrow.Array {
		v := make([]int64, batchRows)
		for i := range v {
			v[i] = f(i)
		}
		return batch.Int64Array(v, nil)
	}
	gen := func(keys int) []batch.Batch {
		var batches []batch.Batch
		for n := range nbatches {
			s := sets[n%strSets]
			t0 := int64(n * batchRows)
			id := make([]int64, batchRows)
			for i := range id {
				id[i] = int64(rng.IntN(keys))
			}
			cols := []arrow.Array{batch.Int64Array(id, nil), s.item, s.desc,
				ints(func(int) int64 { return int64(rng.IntN(1000)) }), ints(func(int) int64 { return int64(rng.IntN(5000)) }),
				ints(func(i int) int64 { return t0 + int64(i) }), ints(func(i int) int64 { return t0 + int64(i) + 10000 }),
				ints(func(int) int64 { return int64(rng.IntN(1e5)) }), ints(func(int) int64 { return int64(10 + rng.IntN(5)) }),
				s.extra, ints(func(int) int64 { return int64(rng.IntN(1e5)) }), ints(func(int) int64 { return int64(rng.IntN(1e7)) }),
				s.channel, s.url, ints(func(i int) int64 { return t0 + int64(i) })}
			rec := batch.NewRecord(schema, cols, batchRows)
			batches = append(batches, batch.Batch{Rec: rec, Kinds: make([]batch.RowKind, batchRows)})
		}
		return batches
	}
	for _, keys := range []int{1 << 20, 1 << 16} {
		batches := gen(keys)
		for _, onlyAppend := range []bool{false, true} {
			name := "Process"
			if onlyAppend {
				name = "processAppend" // the emission aside
			}
			b.Run(fmt.Sprintf("keys=%d/%s", keys, name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r := &Rank{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 11, Desc: true}, {Col: 14}}, Limit: 1,
						In: schema, Out: schema}
					if err := r.Open(&exec.OpContext{Parallelism: 1, MaxParallelism: testMaxPar}); err != nil {
						b.Fatal(err)
					}
					var out countingCollector
					for _, bt := range batches {
						if !onlyAppend {
							if err := r.Process(0, bt, &out); err != nil {
								b.Fatal(err)
							}
							continue
						}
						if err := r.processAppend(bt); err != nil {
							b.Fatal(err)
						}
						b.StopTimer()
						if err := r.emit(&out); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nbatches*batchRows), "ns/row")
			})
		}
	}
}
