package ops

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestSnapCaptureChunks checks that records read back intact across chunk
// boundaries, including records larger than a chunk.
func TestSnapCaptureChunks(t *testing.T) {
	for _, hint := range []int{0, 100 << 10, 16 << 20} {
		rng := rand.New(rand.NewPCG(uint64(hint), 7))
		c := newSnapCapture(hint, 0)
		var want [][]byte
		total := 0
		for total < 3*snapChunkSize {
			n := rng.IntN(200 << 10)
			if rng.IntN(50) == 0 {
				n = snapChunkSize + rng.IntN(1<<20) // bigger than a chunk
			}
			rec := make([]byte, n)
			for i := range rec {
				rec[i] = byte(rng.Uint32())
			}
			c.buf = append(c.buf, rec...)
			c.end()
			want = append(want, rec)
			total += n
		}
		if c.len() != len(want) || c.size() != total {
			t.Fatalf("hint %d: %d records of %d bytes, want %d of %d", hint, c.len(), c.size(), len(want), total)
		}
		if len(c.chunks) < 2 {
			t.Fatalf("hint %d: %d full chunks for %d bytes; want several", hint, len(c.chunks), total)
		}
		for i, rec := range want {
			if got := c.record(i); !bytes.Equal(got, rec) {
				t.Fatalf("hint %d: record %d: %d bytes differ from the %d written", hint, i, len(got), len(rec))
			}
		}
	}
}
