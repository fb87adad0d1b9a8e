package exec

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamsql/streamsql/checkpoint"
	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
)

// countingSource counts its Next calls across attempts.
type countingSource struct {
	cpSource
	nexts *atomic.Int64
}

func (s *countingSource) Next(ctx context.Context) (batch.Batch, error) {
	s.nexts.Add(1)
	return s.cpSource.Next(ctx)
}

// holdSource is a cpSource that does not end before the job was restored
// once: at its end it idles, and fails once a checkpoint has committed,
// so a loaded machine cannot finish the job before the failure the test
// needs (the count operator usually fails first).
type holdSource struct {
	cpSource
	shared *txShared
	failed *atomic.Bool
}

func (s *holdSource) Next(ctx context.Context) (batch.Batch, error) {
	if s.next >= s.end && s.shared.restores.Load() == 0 {
		if s.shared.committedOnce() && s.failed.CompareAndSwap(false, true) {
			return batch.Batch{}, errors.New("injected failure at the end of the input")
		}
		select {
		case <-ctx.Done():
			return batch.Batch{}, ctx.Err()
		case <-time.After(2 * time.Millisecond):
			return batch.Batch{}, nil
		}
	}
	return s.cpSource.Next(ctx)
}

// checkExactCounts checks that each key's committed counts are exactly
// 1..want[k], each once.
func checkExactCounts(t *testing.T, what string, s *txShared, want map[int64]int64) {
	t.Helper()
	seen := map[[2]int64]int{}
	for _, r := range s.committed {
		seen[r]++
	}
	total := int64(0)
	for k, n := range want {
		total += n
		for c := int64(1); c <= n; c++ {
			if got := seen[[2]int64{k, c}]; got != 1 {
				t.Fatalf("%s: key %d count %d committed %d times, want once", what, k, c, got)
			}
		}
	}
	if int64(len(s.committed)) != total {
		t.Fatalf("%s: %d rows committed, want %d", what, len(s.committed), total)
	}
}

func perKey(rows, keys int) map[int64]int64 {
	m := map[int64]int64{}
	for i := 0; i < rows; i++ {
		m[int64(i%keys)]++
	}
	return m
}

// TestCheckpointsAfterTasksFinish: a short source finishes early, and so
// does the branch that only reads it; checkpoints go on (FLIP-147), a
// failure restores from one taken after they finished, they are restored
// as finished (the short source is not read again) and every count is
// committed exactly once on both branches.
func TestCheckpointsAfterTasksFinish(t *testing.T) {
	for _, mode := range []struct {
		name      string
		unaligned bool
	}{{"aligned", false}, {"unaligned", true}} {
		t.Run(mode.name, func(t *testing.T) {
			const shortRows, longRows, keys = 350, 7000, 7
			dir := t.TempDir()
			shared, branch := &txShared{}, &txShared{}
			var fail, never atomic.Int64
			fail.Store(800)
			var shortNexts atomic.Int64
			var srcFailed atomic.Bool
			g := &Graph{Name: "finish", ChannelCapacity: 2, Vertices: []*Vertex{
				{Name: "short", Parallelism: 1, Source: func(int) (connectors.Source, error) {
					return &countingSource{cpSource: cpSource{seqSource: seqSource{n: shortRows, keys: keys, batchSize: 50}}, nexts: &shortNexts}, nil
				}},
				{Name: "long", Parallelism: 2, Source: func(int) (connectors.Source, error) {
					return &holdSource{cpSource: cpSource{seqSource: seqSource{n: longRows, keys: keys, batchSize: 50}, pace: 2 * time.Millisecond},
						shared: shared, failed: &srcFailed}, nil
				}},
				{Name: "count", Parallelism: 2, Inputs: []Input{
					{From: 0, Partitioning: Partitioning{Kind: Hash, Keys: []int{0}}},
					{From: 1, Partitioning: Partitioning{Kind: Hash, Keys: []int{0}}}},
					Chain: []OperatorFactory{{Name: "Count", New: func(int) (Operator, error) { return &countOp{failOn: &fail, shared: shared}, nil }}}},
				{Name: "sink", Parallelism: 2, Inputs: []Input{{From: 2, Partitioning: Partitioning{Kind: Rebalance}}},
					Chain: []OperatorFactory{{Name: "TxSink", New: func(int) (Operator, error) { return &txSink{shared: shared}, nil }}}},
				// A branch that only reads the short source: it finishes
				// entirely before the job does.
				{Name: "count-short", Parallelism: 1, Inputs: []Input{{From: 0, Partitioning: Partitioning{Kind: Global}}},
					Chain: []OperatorFactory{{Name: "CountShort", New: func(int) (Operator, error) { return &countOp{failOn: &never, shared: branch}, nil }}}},
				{Name: "sink-short", Parallelism: 1, Inputs: []Input{{From: 4, Partitioning: Partitioning{Kind: Forward}}},
					Chain: []OperatorFactory{{Name: "TxSinkShort", New: func(int) (Operator, error) { return &txSink{shared: branch}, nil }}}},
			}}
			cfg := checkpoint.Config{Interval: 15 * time.Millisecond, Timeout: 10 * time.Second, MaxConcurrent: 1, Mode: checkpoint.ExactlyOnce,
				Unaligned: mode.unaligned, Retained: 2, RetainOnCancellation: true, Dir: dir}
			var coords []*checkpoint.Coordinator
			env := Env{Checkpoint: &Checkpointing{Config: cfg, JobID: "finish",
				Attach:  func(c *checkpoint.Coordinator) { coords = append(coords, c) },
				Restart: checkpoint.RestartStrategy{Kind: checkpoint.RestartFixedDelay, Attempts: 3, Delay: 5 * time.Millisecond}}}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := Run(ctx, g, env); err != nil {
				t.Fatal(err)
			}
			if shared.restores.Load() == 0 {
				t.Fatal("the job was not restored from a checkpoint")
			}
			checkExactCounts(t, "both sources", shared, perKey(shortRows+longRows, keys))
			checkExactCounts(t, "short branch", branch, perKey(shortRows, keys))
			// 7 batches and the end: read once, in the first attempt only.
			if n := shortNexts.Load(); n != shortRows/50+1 {
				t.Fatalf("the short source was read %d times, want %d (restored as finished, not replayed)", n, shortRows/50+1)
			}
			completedAfter := 0
			for _, c := range coords {
				for _, h := range c.History() {
					if h.Status == checkpoint.StatusCompleted {
						completedAfter++
					}
				}
			}
			meta, err := checkpoint.LoadLatest(dir, "finish", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(meta.Finished) < 3 {
				t.Fatalf("latest checkpoint %d lists %d finished tasks, want the short source and its branch: %+v (%d completed)", meta.ID, len(meta.Finished), meta.Finished, completedAfter)
			}
		})
	}
}
