package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// rankLink feeds a join's output to a Top-N chained after it, as the
// task's link does, offering the Top-N as the join's RowSkipper or not.
type rankLink struct {
	r    *Rank
	out  exec.Collector
	skip bool
	rows int // rows that reached the Top-N
}

func (l *rankLink) Collect(b batch.Batch) error {
	l.rows += b.Len()
	return l.r.Process(0, b, l.out)
}

func (l *rankLink) EmitWatermark(wm int64) error { return l.r.ProcessWatermark(wm, l.out) }

func (l *rankLink) Skipper() exec.RowSkipper {
	if l.skip {
		return l.r
	}
	return nil
}

// sortedLog records each batch's rows, sorted within the batch: a Top-N
// emits the partitions a batch touched in the order it met them, and a
// skipped row may have been the first to touch one.
type sortedLog struct{ batches []string }

func (s *sortedLog) Collect(b batch.Batch) error {
	lines := strings.Split(strings.TrimSpace(batch.Debug(b)), "\n")
	slices.Sort(lines)
	s.batches = append(s.batches, strings.Join(lines, "\n"))
	return nil
}

func (s *sortedLog) EmitWatermark(int64) error { return nil }

// TestJoinSkipsRowsTopNIgnores: a join chained into an append-only Top-N
// builds only the rows the Top-N may keep, and the Top-N's output is
// the same, batch for batch, as when the join builds every row.
func TestJoinSkipsRowsTopNIgnores(t *testing.T) {
	for _, limit := range []int64{1, 2} {
		for _, intKeyed := range []bool{true, false} {
			// Few keys fill partitions at once; many leave some short of
			// N rows when worse rows come.
			for _, keys := range []int{5, 60} {
				for seed := uint64(1); seed <= 3; seed++ {
					t.Run(fmt.Sprintf("N=%d/int=%v/keys=%d/seed=%d", limit, intKeyed, keys, seed), func(t *testing.T) {
						testJoinSkip(t, limit, intKeyed, keys, seed)
					})
				}
			}
		}
	}
}

func testJoinSkip(t *testing.T, limit int64, intKeyed bool, keys int, seed uint64) {
	var logs [2]sortedLog
	var links [2]*rankLink
	for i, skip := range []bool{false, true} {
		j := testJoin(JoinInner, intKeyed)
		j.LeftInsertOnly, j.RightInsertOnly = true, true
		openJoin(t, j, "hashmap", nil)
		// Partition by the left key k, best right w first, then left v.
		r := &Rank{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 4, Desc: true}, {Col: 2}},
			Limit: limit, In: j.Out, Out: j.Out}
		if err := r.Open(&exec.OpContext{}); err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if skip && r.SkipColumns() == nil {
			t.Fatal("an in-memory append-only Top-N offers nothing to skip")
		}
		links[i] = &rankLink{r: r, out: &logs[i], skip: skip}
		rng := rand.New(rand.NewPCG(seed, 5))
		for range 120 {
			side := rng.IntN(2)
			n := 1 + rng.IntN(20)
			rows := make([]jrow, n)
			for x := range rows {
				k, v := int64(rng.IntN(keys)), int64(rng.IntN(50))
				s := fmt.Sprint("t", rng.IntN(2))
				rows[x] = jrow{k: &k, t: &s, v: &v}
			}
			kinds := make([]batch.RowKind, n) // all +I
			if err := j.Process(side, sideBatch(side, rows, kinds), links[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !slices.Equal(logs[0].batches, logs[1].batches) || len(logs[0].batches) == 0 {
		t.Fatalf("the Top-N emits differently when the join skips rows\nbuilding every row:\n%s\nskipping:\n%s",
			strings.Join(logs[0].batches, "\n--\n"), strings.Join(logs[1].batches, "\n--\n"))
	}
	if links[1].rows >= links[0].rows/2 {
		t.Fatalf("the join built %d of %d rows for the Top-N: it skipped (almost) nothing", links[1].rows, links[0].rows)
	}
}

// TestRankSkipsNothingItMightKeep: SkipColumns is nil where processAppend
// does not simply drop rows (an updating input, a TTL, rocksdb state).
func TestRankSkipsNothingItMightKeep(t *testing.T) {
	in := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeBigInt})
	for _, r := range []*Rank{
		{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 1}}, Limit: 1, In: in, Out: in, InputUpdating: true},
		{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 1}}, Limit: 1, In: in, Out: in, TTL: 1e9},
	} {
		if err := r.Open(&exec.OpContext{}); err != nil {
			t.Fatal(err)
		}
		if cols := r.SkipColumns(); cols != nil {
			t.Fatalf("%+v offers columns %v to skip by", r, cols)
		}
		r.Close()
	}
}
