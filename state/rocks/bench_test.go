package rocks_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamsql/streamsql/state"
	"github.com/streamsql/streamsql/state/rocks"
	"github.com/streamsql/streamsql/state/statetest"
)

func BenchmarkUpdate(b *testing.B) {
	statetest.BenchUpdate(b, func(b *testing.B) state.Backend {
		return newRocks(b, state.Options{KeyGroupStart: 0, KeyGroupEnd: 128})
	})
}

// BenchmarkDistinctKeys10M writes 10 M distinct keys (a 24-byte value each,
// in batches of 4096 with a Flush per batch), then snapshots, and reports
// the time and the snapshot's on-disk size. It runs once whatever b.N is:
// it takes tens of seconds, so it only runs when asked for by -bench.
func BenchmarkDistinctKeys10M(b *testing.B) {
	const n = 10_000_000
	be := newRocks(b, state.Options{KeyGroupStart: 0, KeyGroupEnd: 128})
	v, err := be.ValueState("agg")
	if err != nil {
		b.Fatal(err)
	}
	acc := make([]byte, 24)
	key := make([]byte, 8)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint64(key, uint64(i)*0x9e3779b97f4a7c15) // scattered, distinct
		state.PutInt64(acc, 0, int64(i))
		if err := v.Put(i%128, key, nil, acc); err != nil {
			b.Fatal(err)
		}
		if i%4096 == 4095 {
			if err := be.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := be.Flush(); err != nil {
		b.Fatal(err)
	}
	written := time.Since(start)
	snap, err := be.Snapshot(filepath.Join(b.TempDir(), "snap"))
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(written.Seconds(), "write-s")
	b.ReportMetric(float64(n)/written.Seconds(), "puts/s")
	b.ReportMetric(float64(snap.Bytes)/(1<<20), "snapshot-MiB")
	b.ReportMetric(float64(dirSize(b, be.(*rocks.Backend).Dir()))/(1<<20), "db-MiB")
}

func dirSize(b *testing.B, dir string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			total += info.Size()
		}
	}
	return total
}

// BenchmarkMapIterateTopN is a Top-N refill on rocksdb: the cache holds
// many entries (other partitions, values), a batch writes to a few maps,
// then each touched partition iterates its map and stops after 10 entries.
// One op = one partition refilled (a write, an iteration).
func BenchmarkMapIterateTopN(b *testing.B) {
	be := newRocks(b, state.Options{KeyGroupStart: 0, KeyGroupEnd: 128})
	m, err := be.MapState("rank-tail")
	if err != nil {
		b.Fatal(err)
	}
	const parts, perPart = 2000, 25 // 50 k cached entries
	key := func(p int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(p)) }
	uk := make([]byte, 8)
	val := make([]byte, 40)
	for p := 0; p < parts; p++ {
		for i := 0; i < perPart; i++ {
			binary.BigEndian.PutUint64(uk, uint64(i*1000))
			if err := m.Put(p%128, key(p), nil, uk, val); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := be.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		p := (n * 7919) % parts
		binary.BigEndian.PutUint64(uk, uint64(n%1000+1))
		if err := m.Put(p%128, key(p), nil, uk, val); err != nil {
			b.Fatal(err)
		}
		seen := 0
		if err := m.Iterate(p%128, key(p), nil, func(_, _ []byte) error {
			if seen++; seen == 10 {
				return state.Stop
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if n%100 == 99 { // end of a batch
			if err := be.(*rocks.Backend).WriteBack(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refills/s")
}

// BenchmarkCleanupStep times one CleanupExpiredStep(16384) over 1 M stored
// values, half of them expired (alternating runs of 4 and 12 keys), which
// is what an operator's cleanup timer costs the task per tick.
func BenchmarkCleanupStep(b *testing.B) {
	now := time.UnixMilli(1_700_000_000_000)
	be := newRocks(b, state.Options{KeyGroupStart: 0, KeyGroupEnd: 128, TTL: time.Minute, Now: func() time.Time { return now }})
	v, err := be.ValueState("agg")
	if err != nil {
		b.Fatal(err)
	}
	acc := make([]byte, 24)
	key := make([]byte, 8)
	const n = 1 << 20
	put := func(i int) {
		binary.BigEndian.PutUint64(key, uint64(i))
		if err := v.Put(0, key, nil, acc); err != nil {
			b.Fatal(err)
		}
	}
	fresh := func(i int) bool { return i%16 < 4 }
	for i := 0; i < n; i++ {
		if !fresh(i) {
			put(i)
		}
	}
	if err := be.Flush(); err != nil {
		b.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	for i := 0; i < n; i++ {
		if fresh(i) {
			put(i)
		}
	}
	if err := be.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	scanned := 0
	for range b.N {
		if _, err := be.CleanupExpiredStep(1 << 14); err != nil {
			b.Fatal(err)
		}
		scanned += 1 << 14
	}
	b.ReportMetric(float64(scanned)/b.Elapsed().Seconds(), "keys/s")
}
