package session

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/streamsql/streamsql/exec"
)

// BenchmarkFilterProject is the foundation's throughput target: datagen ->
// filter + projection on 4 numeric columns -> blackhole, in one chained task
// (parallelism 1), batches of 4096 rows. It reports rows/s and rows per
// CPU-second (per core).
func BenchmarkFilterProject(b *testing.B) {
	const rows = 5_000_000
	script := fmt.Sprintf(`
CREATE TABLE src (a BIGINT, b BIGINT, c BIGINT, d DOUBLE) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '%d',
  'fields.a.min' = '0', 'fields.a.max' = '1000',
  'fields.b.min' = '0', 'fields.b.max' = '1000',
  'fields.c.min' = '0', 'fields.c.max' = '1000',
  'fields.d.min' = '0', 'fields.d.max' = '1');
CREATE TABLE sink (ab BIGINT, c2 BIGINT, d2 DOUBLE, b BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT a + b, c * 2, d * 0.9 + 1, b FROM src WHERE a > 100 AND d < 0.5;
`, rows)
	runBench(b, script)
}

// BenchmarkGroupAgg is issue 3's aggregation target: GROUP BY a key with
// 10 thousand values, COUNT/SUM/MAX, into blackhole (parallelism 1).
func BenchmarkGroupAgg(b *testing.B) {
	const rows = 5_000_000
	script := fmt.Sprintf(`
CREATE TABLE src (k BIGINT, v BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '%d',
  'fields.k.min' = '0', 'fields.k.max' = '9999', 'fields.v.min' = '0', 'fields.v.max' = '1000');
CREATE TABLE sink (k BIGINT, c BIGINT, s BIGINT, m BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT k, COUNT(*), SUM(v), MAX(v) FROM src GROUP BY k;
`, rows)
	runBench(b, script)
}

func runBench(b *testing.B, script string) {
	runBenchIn(b, script, func() string { return "" })
}

// runBenchIn runs script b.N times, each in a fresh session whose jobs keep
// their state under workDir(), and reports throughput figures.
func runBenchIn(b *testing.B, script string, workDir func() string) exec.Stats {
	var total exec.Stats
	for i := 0; i < b.N; i++ {
		s, err := New(Options{DMLSync: true, WorkDir: workDir(), OnJobFinished: func(_ string, st exec.Stats) {
			total.RowsIn += st.RowsIn
			total.Wall += st.Wall
			total.CPU += st.CPU
		}})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ExecuteScript(context.Background(), script, discardOutput{}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(total.RowsPerSecond(), "rows/s")
	b.ReportMetric(total.RowsPerCPUSecond(), "rows/cpu-s")
	return total
}

// BenchmarkGroupAggRocksDB is BenchmarkGroupAgg on the pebble backend.
func BenchmarkGroupAggRocksDB(b *testing.B) {
	const rows = 2_000_000
	script := fmt.Sprintf(`
SET 'state.backend' = 'rocksdb';
CREATE TABLE src (k BIGINT, v BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '%d',
  'fields.k.min' = '0', 'fields.k.max' = '9999', 'fields.v.min' = '0', 'fields.v.max' = '1000');
CREATE TABLE sink (k BIGINT, c BIGINT, s BIGINT, m BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT k, COUNT(*), SUM(v), MAX(v) FROM src GROUP BY k;
`, rows)
	runBench(b, script)
}

// BenchmarkGroupAggRocksDBDistinctKeys aggregates 10 million distinct keys
// on the pebble backend (state larger than any cache) and reports the
// state's size on disk. It takes about a minute: run it explicitly.
func BenchmarkGroupAggRocksDBDistinctKeys(b *testing.B) {
	rows := 10_000_000
	if v, err := strconv.Atoi(os.Getenv("STREAMSQL_BENCH_ROWS")); err == nil && v > 0 {
		rows = v // a smaller run for profiling
	}
	script := fmt.Sprintf(`
SET 'state.backend' = 'rocksdb';
CREATE TABLE src (k BIGINT, v BIGINT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '%d',
  'fields.k.kind' = 'sequence', 'fields.k.start' = '1', 'fields.k.end' = '%d',
  'fields.v.min' = '0', 'fields.v.max' = '1000');
CREATE TABLE sink (k BIGINT, c BIGINT, s BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT k, COUNT(*), SUM(v) FROM src GROUP BY k;
`, rows, rows)
	var dir string
	runBenchIn(b, script, func() string { dir = b.TempDir(); return dir })
	b.ReportMetric(float64(dirSize(b, dir))/(1<<20), "state-MiB")
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkTumbleWindow is issue 3's window target: a 10 s tumbling count
// per key over 100 thousand keys, event time advancing 1 ms per row.
func BenchmarkTumbleWindow(b *testing.B) {
	const rows = 5_000_000
	script := fmt.Sprintf(`
CREATE TABLE src (id BIGINT, k BIGINT, ts AS TO_TIMESTAMP_LTZ(id, 3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (
  'connector' = 'datagen', 'rows-per-second' = '1000000000', 'number-of-rows' = '%d',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%d',
  'fields.k.min' = '0', 'fields.k.max' = '99999');
CREATE TABLE sink (ws TIMESTAMP(3), k BIGINT, c BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT window_start, k, COUNT(*) FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, k;
`, rows, rows)
	runBench(b, script)
}
