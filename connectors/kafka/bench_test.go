package kafka_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// benchRecord is a 100-byte JSON record.
func benchRecord(i int) []byte {
	v := fmt.Sprintf(`{"id":%d,"amount":%d.25,"name":"`, i, i%1000)
	pad := 100 - len(v) - 2
	return []byte(v + strings.Repeat("x", pad) + `"}`)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPassthrough copies 100-byte JSON records from one topic to
// another through the engine (kafka source → kafka sink, parallelism 1,
// checkpoints every second). records/s is wall-clock throughput;
// records/cpu-s divides by the CPU time of the whole process, which
// includes the in-process kfake broker serving both sides.
func BenchmarkPassthrough(b *testing.B) {
	const n = 200_000
	for _, mode := range []struct{ name, opts string }{
		{"at-least-once", `'sink.delivery-guarantee' = 'at-least-once'`},
		{"exactly-once", `'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'bench'`},
	} {
		b.Run(mode.name, func(b *testing.B) {
			br := newBroker(b)
			br.topic("in", 1)
			cl := br.manual()
			recs := make([]*kgo.Record, 0, 1000)
			for i := 0; i < n; i++ {
				recs = append(recs, &kgo.Record{Topic: "in", Value: benchRecord(i)})
				if len(recs) == cap(recs) {
					if err := cl.ProduceSync(b.Context(), recs...).FirstErr(); err != nil {
						b.Fatal(err)
					}
					recs = recs[:0]
				}
			}
			b.ResetTimer()
			var cpu time.Duration
			for it := 0; it < b.N; it++ {
				b.StopTimer()
				out := fmt.Sprint("out", it)
				br.topic(out, 1)
				s := newSession(b, nil)
				script := `SET 'checkpoint.interval.ms' = '1000';
SET 'checkpoint.dir' = 'chk';
CREATE TABLE src (id BIGINT, amount DOUBLE, name STRING) WITH ('connector' = 'kafka', 'topic' = 'in',
  'properties.bootstrap.servers' = '` + br.addr + `', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset');
CREATE TABLE dst (id BIGINT, amount DOUBLE, name STRING) WITH ('connector' = 'kafka', 'topic' = '` + out + `',
  'properties.bootstrap.servers' = '` + br.addr + `', 'format' = 'json', ` + mode.opts + `);
INSERT INTO dst SELECT * FROM src;
`
				c0 := cpuTime()
				b.StartTimer()
				mustRun(b, s, script)
				b.StopTimer()
				cpu += cpuTime() - c0
				if it == 0 {
					if got := len(br.read(out, true)); got != n {
						b.Fatalf("copied %d records, want %d", got, n)
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "records/cpu-s")
		})
	}
}
