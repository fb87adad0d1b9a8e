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

// BenchmarkPassthrough copies 100-byte JSON records (or the same rows in
// Avro) from one topic to another through the engine (kafka source →
// kafka sink, parallelism 1, checkpoints every second). records/s is
// wall-clock throughput; records/cpu-s divides by the CPU time of the
// whole process, which includes the in-process kfake broker serving both
// sides.
func BenchmarkPassthrough(b *testing.B) {
	const n = 200_000
	br := newBroker(b)
	br.topic("json", 1)
	cl := br.manual()
	recs := make([]*kgo.Record, 0, 1000)
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: "json", Value: benchRecord(i)})
		if len(recs) == cap(recs) {
			if err := cl.ProduceSync(b.Context(), recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	table := func(name, topic, format, extra string) string {
		return "CREATE TABLE " + name + " (id BIGINT, amount DOUBLE, name STRING) WITH ('connector' = 'kafka', 'topic' = '" + topic + "',\n" +
			"  'properties.bootstrap.servers' = '" + br.addr + "', 'format' = '" + format + "', 'scan.bounded.mode' = 'latest-offset'" + extra + ");\n"
	}
	// The Avro input: the same rows, written by the engine.
	br.topic("avro", 1)
	mustRun(b, newSession(b, nil), table("src", "json", "json", "")+table("dst", "avro", "avro", "")+"INSERT INTO dst SELECT * FROM src;")
	topic := 0
	for _, format := range []string{"json", "avro"} {
		for _, mode := range []struct{ name, opts string }{
			{"at-least-once", ", 'sink.delivery-guarantee' = 'at-least-once'"},
			{"exactly-once", ", 'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'bench'"},
		} {
			b.Run(format+"/"+mode.name, func(b *testing.B) {
				var cpu time.Duration
				for it := 0; it < b.N; it++ {
					b.StopTimer()
					topic++
					out := fmt.Sprint("out", topic)
					br.topic(out, 1)
					s := newSession(b, nil)
					script := "SET 'checkpoint.interval.ms' = '1000';\nSET 'checkpoint.dir' = 'chk';\n" +
						table("src", format, format, "") + table("dst", out, format, mode.opts) + "INSERT INTO dst SELECT * FROM src;\n"
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
}
