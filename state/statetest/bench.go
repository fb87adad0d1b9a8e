package statetest

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/streamsql/streamsql/state"
)

// BenchUpdate measures what a GROUP BY operator does: batches of 4096 rows
// over 10 k keys, each row a read-modify-write of a 24-byte accumulator
// (count, sum, max), with a Flush at the end of every batch. It reports
// updates/s (one update = one row).
func BenchUpdate(b *testing.B, newBackend func(b *testing.B) state.Backend) {
	const (
		nKeys     = 10_000
		batchRows = 4096
	)
	be := newBackend(b)
	v, err := be.ValueState("agg")
	if err != nil {
		b.Fatal(err)
	}
	keys := make([][]byte, nKeys)
	kgs := make([]int, nKeys)
	for i := range keys {
		keys[i] = state.NamespaceInt64(nil, int64(i)) // any 8-byte key
		kgs[i] = i % 128
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]int, batchRows*16)
	for i := range rows {
		rows[i] = rng.IntN(nKeys)
	}
	acc := make([]byte, 24)
	b.ResetTimer()
	start := time.Now()
	updates := 0
	for n := 0; n < b.N; n++ {
		off := (n % 16) * batchRows
		for _, k := range rows[off : off+batchRows] {
			cur, ok, err := v.Get(kgs[k], keys[k], nil)
			if err != nil {
				b.Fatal(err)
			}
			if ok {
				copy(acc, cur)
			} else {
				clear(acc)
			}
			state.PutInt64(acc, 0, state.Int64At(acc, 0)+1)
			state.PutInt64(acc, 8, state.Int64At(acc, 8)+int64(k))
			state.PutInt64(acc, 16, max(state.Int64At(acc, 16), int64(k)))
			if err := v.Put(kgs[k], keys[k], nil, acc); err != nil {
				b.Fatal(err)
			}
		}
		if err := be.Flush(); err != nil {
			b.Fatal(err)
		}
		updates += batchRows
	}
	b.ReportMetric(float64(updates)/time.Since(start).Seconds(), "updates/s")
}
