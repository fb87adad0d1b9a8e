package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// intKeyBatch turns the generators' partition column "p<n>" (NULL for
// n = 0) into BIGINT n, keeping the NULLs.
func intKeyBatch(b batch.Batch, in types.Schema) batch.Batch {
	n := b.Len()
	ps := b.Column(0).(*array.String)
	vs, valid := make([]int64, n), make([]bool, n)
	for i := range n {
		if ps.IsValid(i) {
			v, _ := strconv.ParseInt(strings.TrimPrefix(ps.Value(i), "p"), 10, 64)
			vs[i], valid[i] = v, true
		}
	}
	cols := []arrow.Array{batch.Int64Array(vs, valid)}
	for c := 1; c < int(b.Rec.NumCols()); c++ {
		cols = append(cols, b.Column(c))
	}
	return batch.Batch{Rec: batch.NewRecord(in, cols, n), Kinds: b.Kinds}
}

// TestRankIntKeyedMatchesEncodedKeys: a Top-N partitioned by one integer
// column keeps its partitions by value (NULL apart); it emits exactly
// what the same Top-N keeping them by encoded key emits, through TTL
// sweeps, and its snapshot restores into either.
func TestRankIntKeyedMatchesEncodedKeys(t *testing.T) {
	for _, updating := range []bool{false, true} {
		for _, limit := range []int64{1, 2} {
			for _, ttl := range []bool{false, true} {
				t.Run(fmt.Sprintf("updating=%v/N=%d/ttl=%v", updating, limit, ttl), func(t *testing.T) {
					testRankIntKeyed(t, updating, limit, ttl)
				})
			}
		}
	}
}

func testRankIntKeyed(t *testing.T, updating bool, limit int64, ttl bool) {
	base := appendInput
	if updating {
		base = retractInput
	}
	in := types.NewSchema(append([]types.Field{{Name: "p", Type: types.TypeBigInt}}, base.Fields[1:]...)...)
	now := time.Unix(1000, 0)
	var timers []func(exec.Collector) error
	open := func(intKeyed bool) *Rank {
		r := &Rank{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 1, Desc: true}}, Limit: limit,
			In: in, Out: in, InputUpdating: updating}
		if ttl {
			r.TTL = time.Minute
		}
		ctx := &exec.OpContext{Now: func() time.Time { return now },
			Every: func(_ time.Duration, f func(exec.Collector) error) { timers = append(timers, f) }}
		if err := r.Open(ctx); err != nil {
			t.Fatal(err)
		}
		if !r.intKeyed {
			t.Fatal("a BIGINT partition key is not kept by value")
		}
		r.intKeyed = intKeyed // the reference keeps encoded keys
		t.Cleanup(func() { r.Close() })
		return r
	}
	rng := rand.New(rand.NewPCG(uint64(limit), 9))
	ag, rg := &appendGen{rng: rng, parts: 8}, &retractGen{rng: rng, parts: 8}
	run := func(rs [2]*Rank, steps int) {
		t.Helper()
		var logs [2]debugLog
		for range steps {
			var b batch.Batch
			if updating {
				b = rg.batch(1 + rng.IntN(12))
			} else {
				b = ag.batch(1 + rng.IntN(12))
			}
			b = intKeyBatch(b, in)
			if rng.IntN(6) == 0 {
				now = now.Add(time.Duration(rng.IntN(50)) * time.Second)
				for _, f := range timers {
					if err := f(nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i, r := range rs {
				if err := r.Process(0, b, &logs[i]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if l0, l1 := logs[0].take(), logs[1].take(); l0 != l1 || l0 == "" {
			t.Fatalf("by value:\n%s\nby encoded key:\n%s", l0, l1)
		}
	}
	a, ref := open(true), open(false)
	run([2]*Rank{a, ref}, 60)
	if len(a.parts) != 0 || len(a.iparts) == 0 || len(ref.iparts) != 0 {
		t.Fatalf("partitions: by value %d/%d, reference %d/%d", len(a.iparts), len(a.parts), len(ref.iparts), len(ref.parts))
	}
	dir := snapshotSync(t, a, &countRows{}, false)()
	b, c := open(true), open(false)
	for _, r := range []*Rank{b, c} {
		if err := r.RestoreState(restoreOne(dir)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := len(b.allParts()), len(slices.DeleteFunc(a.allParts(), func(p *rankPartition) bool { return len(p.rows) == 0 })); got != want {
		t.Fatalf("restored %d partitions, want %d", got, want)
	}
	// New partitions too, so that the restored Top-Ns emit.
	ag.parts, rg.parts = 40, 40
	run([2]*Rank{b, c}, 40)
}
