package ops

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/sql/types"
)

// TestSnapshotFilesCorrupt: every single-bit flip and every truncation of
// each operator's snapshot file is an error; a file whose records are
// garbage under a valid checksum is an error or restores, never a panic.
func TestSnapshotFilesCorrupt(t *testing.T) {
	g := &aggGen{rng: rand.New(rand.NewPCG(8, 8))}
	rg := &rankGen{rng: rand.New(rand.NewPCG(8, 9))}
	jg := &joinGen{rng: rand.New(rand.NewPCG(8, 10))}
	schema := intBatch(1).Rec.Schema()
	cases := []struct {
		name string
		file string
		mk   func() exec.Operator
		feed []step
	}{
		{"GroupAgg", aggSnapFile, func() exec.Operator { return openOp(t, testAgg(g.schema(), false, 4), 0, 1) },
			[]step{proc(0, g.batch(12))}},
		{"window GroupAgg", aggSnapFile, func() exec.Operator { return openOp(t, windowAgg(false, types.TypeBigInt), 0, 1) },
			[]step{proc(0, windowRows("0 10 1 5", "0 10 _ 6", "10 20 1 7"))}},
		{"session GroupAgg", aggSnapFile, func() exec.Operator { return openOp(t, windowAgg(true, types.TypeBigInt), 0, 1) },
			[]step{proc(0, windowRows("0 5 1 5", "3 8 2 6"))}},
		{"Rank", rankSnapFile, func() exec.Operator { return openOp(t, testRank(), 0, 1) }, []step{proc(0, rg.batch(8))}},
		{"Join", joinSnapFile, func() exec.Operator { return openOp(t, testJoin(JoinFull, false), 0, 1) },
			[]step{proc(0, jg.batch(0)), proc(1, jg.batch(1))}},
		{"Sort", sortSnapFile, func() exec.Operator {
			return openOp(t, &Sort{Keys: []SortKey{{Col: 0}}, Limit: -1, Schema: schema}, 0, 1)
		},
			[]step{proc(0, intBatch(3, 1, 2))}},
		{"Limit", limitSnapFile, func() exec.Operator { return openOp(t, &Limit{Limit: 10}, 0, 1) }, []step{proc(0, intBatch(3, 1))}},
		{"Sink", sinkSnapFile, func() exec.Operator { return openOp(t, &Sink{Sink: &txSink{}}, 0, 1) }, nil},
	}
	for _, tc := range cases {
		op := tc.mk()
		var c collectRows
		run(t, op, &c, tc.feed)
		dir := snapshotSync(t, op, &c, false)()
		path := filepath.Join(dir, tc.file)
		good, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		restore := func(data []byte) error {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			op := tc.mk()
			defer op.Close()
			return op.(exec.Stateful).RestoreState(restoreOne(dir))
		}
		if err := restore(good); err != nil {
			t.Fatalf("%s: the intact file: %v", tc.name, err)
		}
		for i := range good {
			for bit := 0; bit < 8; bit += 3 {
				bad := slices.Clone(good)
				bad[i] ^= 1 << bit
				if err := restore(bad); err == nil {
					t.Fatalf("%s: bit %d of byte %d flipped: no error", tc.name, bit, i)
				}
			}
		}
		for n := 0; n < len(good); n++ {
			if err := restore(good[:n]); err == nil {
				t.Fatalf("%s: truncated to %d bytes: no error", tc.name, n)
			}
		}
		if err := restore(append(slices.Clone(good), 0)); err == nil {
			t.Fatalf("%s: a byte appended: no error", tc.name)
		}
		// Garbage under a valid checksum: decoding must fail cleanly.
		rng := rand.New(rand.NewPCG(uint64(len(good)), 1))
		for try := 0; try < 300; try++ {
			bad := slices.Clone(good[:len(good)-4])
			for k := 0; k < 1+rng.IntN(3); k++ {
				i := 8 + rng.IntN(len(bad)-8)
				bad[i] = byte(rng.Uint32())
			}
			bad = binary.LittleEndian.AppendUint32(bad, crc32.Checksum(bad, castagnoli))
			_ = restore(bad) // an error or a restore, never a panic
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := restore(nil); err == nil {
			t.Fatalf("%s: the file written empty: no error", tc.name)
		}
		op.Close()
	}
}

// TestSnapshotFileMissing: a snapshot directory without the operator's file
// is an error.
func TestSnapshotFileMissing(t *testing.T) {
	op := openOp(t, testRank(), 0, 1)
	if err := op.(exec.Stateful).RestoreState(restoreOne(t.TempDir())); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("restore from an empty directory: %v", err)
	}
}

// TestInMemoryOrder: the visit order is a permutation, sorted by address.
func TestInMemoryOrder(t *testing.T) {
	for _, n := range []int{0, 1, 5, 1000, 5000} {
		vals := make([]*int64, n)
		for i := range vals {
			vals[i] = new(int64)
			*vals[i] = int64(i)
		}
		ptrs := slices.Clone(vals)
		rand.New(rand.NewPCG(uint64(n), 0)).Shuffle(n, func(i, j int) { ptrs[i], ptrs[j] = ptrs[j], ptrs[i] })
		inMemoryOrder(ptrs)
		seen := make([]bool, n)
		for i, p := range ptrs {
			if i > 0 && uintptr(unsafe.Pointer(ptrs[i-1])) >= uintptr(unsafe.Pointer(p)) {
				t.Fatalf("n=%d: not in address order at %d", n, i)
			}
			seen[*p] = true
		}
		if slices.Contains(seen, false) {
			t.Fatalf("n=%d: not a permutation", n)
		}
	}
}
