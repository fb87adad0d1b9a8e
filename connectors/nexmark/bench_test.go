package nexmark

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/streamsql/streamsql/sql/types"
)

// cpuTime is the process's user+system CPU time so far: on a shared
// machine wall time varies with other load, CPU time much less (it
// includes the GC's work on other threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchKind generates b.N rows of a kind's full table on one subtask and
// reports rows/s, ns/row, and the stream events per second they stand for
// (rows of one kind are a share of the stream's events).
func benchKind(b *testing.B, kind string) {
	src := newTestSource(b, kind, nil, 0, 1)
	ctx := context.Background()
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	cpu0 := cpuTime()
	rows, bytes, batches := 0, 0, 0
	for rows < b.N {
		bt, err := src.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rows += bt.Len()
		batches++
		for i := 0; i < int(bt.Rec.NumCols()); i++ {
			for _, buf := range bt.Rec.Column(i).Data().Buffers() {
				if buf != nil {
					bytes += buf.Len()
				}
			}
		}
	}
	b.StopTimer()
	cpu := (cpuTime() - cpu0).Seconds()
	sec := b.Elapsed().Seconds()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(batches), "allocs/batch")
	lo, hi := src.cfg.span()
	share := float64(hi-lo) / float64(src.cfg.proportion())
	b.ReportMetric(float64(rows)/sec, "rows/s")
	b.ReportMetric(float64(rows)/share/sec, "events/s")
	b.ReportMetric(sec*1e9/float64(rows), "ns/row")
	b.ReportMetric(float64(bytes)/float64(rows), "B/row")
	b.ReportMetric(cpu*1e9/float64(rows), "cpu-ns/row")
	b.ReportMetric(float64(rows)/share/cpu, "events/cpu-s")
	b.ReportMetric(0, "ns/op") // per-op time is meaningless here: b.N counts rows
}

func BenchmarkBid(b *testing.B)     { benchKind(b, "bid") }
func BenchmarkAuction(b *testing.B) { benchKind(b, "auction") }
func BenchmarkPerson(b *testing.B)  { benchKind(b, "person") }

// BenchmarkBidNumbers generates only the bid table's numeric columns: the
// cost of the generator's logic without the string copies.
func BenchmarkBidNumbers(b *testing.B) {
	tb := testTable("bid", nil)
	s := fullSchema("bid")
	tb.Schema.Fields = []types.Field{s.Fields[0], s.Fields[1], s.Fields[2], s.Fields[5]}
	src := openTable(b, tb, 0, 1)
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	rows := 0
	for rows < b.N {
		bt, err := src.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rows += bt.Len()
	}
	b.StopTimer()
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e9/float64(rows), "cpu-ns/row")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(rows), "ns/row")
	b.ReportMetric(0, "ns/op")
}
