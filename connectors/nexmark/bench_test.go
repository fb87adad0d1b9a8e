package nexmark

import (
	"context"
	"testing"
)

// benchKind generates b.N rows of a kind's full table on one subtask and
// reports rows/s, ns/row, and the stream events per second they stand for
// (rows of one kind are a share of the stream's events).
func benchKind(b *testing.B, kind string) {
	src := newTestSource(b, kind, nil, 0, 1)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	rows, bytes := 0, 0
	for rows < b.N {
		bt, err := src.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rows += bt.Len()
		for i := 0; i < int(bt.Rec.NumCols()); i++ {
			for _, buf := range bt.Rec.Column(i).Data().Buffers() {
				if buf != nil {
					bytes += buf.Len()
				}
			}
		}
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	lo, hi := src.cfg.span()
	share := float64(hi-lo) / float64(src.cfg.proportion())
	b.ReportMetric(float64(rows)/sec, "rows/s")
	b.ReportMetric(float64(rows)/share/sec, "events/s")
	b.ReportMetric(sec*1e9/float64(rows), "ns/row")
	b.ReportMetric(float64(bytes)/float64(rows), "B/row")
	b.ReportMetric(0, "ns/op") // per-op time is meaningless here: b.N counts rows
}

func BenchmarkBid(b *testing.B)     { benchKind(b, "bid") }
func BenchmarkAuction(b *testing.B) { benchKind(b, "auction") }
func BenchmarkPerson(b *testing.B)  { benchKind(b, "person") }
