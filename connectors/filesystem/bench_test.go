package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkFilesystemCSVRead reads a 100k-row CSV file end to end (file
// I/O, line splitting, decoding, batch building).
func BenchmarkFilesystemCSVRead(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	const rows = 100_000
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&sb, "%d,user-%d,%d.%02d\n", i, i%1000, i, i%100)
	}
	if err := os.WriteFile(filepath.Join(dir, "d.csv"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	tb := table(dir, map[string]string{"path": "d.csv", "format": "csv"})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := New().NewSource(tb)
		if err != nil {
			b.Fatal(err)
		}
		if err := src.Open(ctx, 0, 1); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			bt, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += bt.Len()
		}
		src.Close()
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFilesystemAvro writes 100k rows to avro container part files
// through the sink and reads them back through the source, per codec.
func BenchmarkFilesystemAvro(b *testing.B) {
	const rows = 100_000
	ids, names, amounts := make([]int64, rows), make([]string, rows), make([]int64, rows)
	for i := range rows {
		ids[i], names[i], amounts[i] = int64(i), fmt.Sprintf("user-%d", i%1000), int64(i*7)
	}
	bt := makeBatch(ids, names, amounts)
	defer bt.Release()
	ctx := context.Background()
	for _, codec := range []string{"null", "snappy", "deflate"} {
		b.Run(codec, func(b *testing.B) {
			var write, read float64
			for i := 0; i < b.N; i++ {
				tb := table(b.TempDir(), map[string]string{"path": "out", "format": "avro", "avro.codec": codec})
				s, err := New().NewSink(tb)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := s.Open(ctx, 0, 1); err != nil {
					b.Fatal(err)
				}
				if err := s.Write(ctx, bt); err != nil {
					b.Fatal(err)
				}
				if err := s.Finish(ctx); err != nil {
					b.Fatal(err)
				}
				s.Close()
				write += time.Since(start).Seconds()
				start = time.Now()
				src, _ := New().NewSource(tb)
				if err := src.Open(ctx, 0, 1); err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					got, err := src.Next(ctx)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n += got.Len()
					got.Release()
				}
				src.Close()
				read += time.Since(start).Seconds()
				if n != rows {
					b.Fatalf("read %d rows", n)
				}
			}
			b.ReportMetric(float64(rows*b.N)/write, "write-rows/s")
			b.ReportMetric(float64(rows*b.N)/read, "read-rows/s")
		})
	}
}
