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
