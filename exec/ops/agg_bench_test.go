package ops

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

type countingCollector struct{ rows int }

func (c *countingCollector) Collect(b batch.Batch) error { c.rows += b.Len(); return nil }
func (c *countingCollector) EmitWatermark(int64) error   { return nil }

// BenchmarkGroupAggOperator measures the operator alone: 4096-row batches,
// 10 thousand keys, COUNT(*), SUM(v), MAX(v).
func BenchmarkGroupAggOperator(b *testing.B) {
	in := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeBigInt})
	out := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "c", Type: types.TypeBigInt},
		types.Field{Name: "s", Type: types.TypeBigInt}, types.Field{Name: "m", Type: types.TypeBigInt})
	const n = 4096
	var batches []batch.Batch
	x := uint64(1)
	for i := 0; i < 64; i++ {
		ks, vs := make([]int64, n), make([]int64, n)
		for r := range ks {
			x = x*6364136223846793005 + 1442695040888963407
			ks[r] = int64(x>>33) % 10000
			vs[r] = int64(x>>20) % 1000
		}
		batches = append(batches, batch.New(batch.NewRecord(in, []arrow.Array{batch.Int64Array(ks, nil), batch.Int64Array(vs, nil)}, n)))
	}
	op := &GroupAgg{Keys: []int{0}, Out: out, Aggs: []AggSpec{
		{Kind: AggCountStar, Arg: -1, Filter: -1, Type: types.TypeBigInt},
		{Kind: AggSum, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
		{Kind: AggMax, Arg: 1, Filter: -1, ArgType: types.TypeBigInt, Type: types.TypeBigInt},
	}}
	if err := op.Open(&exec.OpContext{}); err != nil {
		b.Fatal(err)
	}
	var c countingCollector
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op.Process(0, batches[i%len(batches)], &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}
