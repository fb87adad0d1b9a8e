package exec

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/checkpoint"
	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// cpSource is a seqSource that can be checkpointed and replayed, pacing
// itself so that checkpoints fall between its batches.
type cpSource struct {
	seqSource
	pace time.Duration
}

func (s *cpSource) Next(ctx context.Context) (batch.Batch, error) {
	if s.pace > 0 {
		time.Sleep(s.pace)
	}
	return s.seqSource.Next(ctx)
}

func (s *cpSource) Position() ([]byte, error) {
	return binary.AppendVarint(nil, int64(s.next)), nil
}

func (s *cpSource) Seek(pos []byte) error {
	v, n := binary.Varint(pos)
	if n <= 0 {
		return fmt.Errorf("bad position")
	}
	s.next = int(v)
	return nil
}

// countOp keeps a running count per key and emits (k, count) per row: with
// exactly-once, every key's committed counts are exactly 1..n.
type countOp struct {
	BaseOperator
	counts  map[int64]int64
	maxPar  int
	failOn  *atomic.Int64 // fail once when a key's count reaches this
	shared  *txShared     // ... after a checkpoint was committed (so the restart restores one)
	subtask int
}

var countSchema = types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "c", Type: types.TypeBigInt})

func (c *countOp) Open(ctx *OpContext) error {
	c.counts = map[int64]int64{}
	c.maxPar = ctx.MaxParallelism
	c.subtask = ctx.Subtask
	return nil
}

func (c *countOp) Process(_ int, b batch.Batch, out Collector) error {
	ks := b.Column(0).(*array.Int64).Int64Values()
	cs := make([]int64, len(ks))
	for i, k := range ks {
		c.counts[k]++
		cs[i] = c.counts[k]
		if f := c.failOn.Load(); f > 0 && cs[i] >= f && c.shared.committedOnce() && c.failOn.CompareAndSwap(f, 0) {
			return fmt.Errorf("injected failure at count %d", f)
		}
	}
	rec := batch.NewRecord(countSchema, []arrow.Array{batch.Int64Array(append([]int64(nil), ks...), nil), batch.Int64Array(cs, nil)}, len(ks))
	return out.Collect(batch.New(rec))
}

func (c *countOp) SnapshotState(SnapshotContext) (AsyncSnapshot, error) {
	var buf []byte
	keys := make([]int64, 0, len(c.counts))
	for k := range c.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		buf = binary.AppendVarint(buf, k)
		buf = binary.AppendVarint(buf, c.counts[k])
	}
	return func(w SnapshotWriter) error { return writeFile(w, "counts", buf) }, nil
}

func keyGroupOfInt(k int64, maxPar int) int {
	h := make([]uint64, 1)
	batch.HashColumns([]arrow.Array{batch.Int64Array([]int64{k}, nil)}, h)
	return KeyGroupOf(h[0], maxPar)
}

func (c *countOp) RestoreState(rc RestoreContext) error {
	for _, s := range rc.Snapshots {
		data, err := os.ReadFile(filepath.Join(s.Dir, "counts"))
		if err != nil {
			return err
		}
		for len(data) > 0 {
			k, n := binary.Varint(data)
			data = data[n:]
			v, m := binary.Varint(data)
			data = data[m:]
			if n <= 0 || m <= 0 {
				return fmt.Errorf("corrupt counts")
			}
			if kg := keyGroupOfInt(k, c.maxPar); kg >= rc.KeyGroupStart && kg < rc.KeyGroupEnd {
				c.counts[k] = v
			}
		}
	}
	return nil
}

// txSink commits rows per checkpoint: rows become visible in committed only
// when the checkpoint that covers them completes (or at the end).
type txSink struct {
	BaseOperator
	shared  *txShared
	subtask int
	current [][2]int64
	pending map[int64][][2]int64
	slow    time.Duration
}

type txShared struct {
	mu        sync.Mutex
	committed [][2]int64
	commits   int
	// cpCommits counts commits by a completed checkpoint (not the end of
	// input or a restore): failures wait for one, so a restart always has
	// a checkpoint to restore.
	cpCommits int
	done      map[[2]int64]bool // (subtask, checkpoint) committed: commits are idempotent
	restores  atomic.Int64
}

func (s *txShared) committedOnce() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cpCommits > 0
}

func (s *txSink) Open(ctx *OpContext) error {
	s.subtask = ctx.Subtask
	s.pending = map[int64][][2]int64{}
	return nil
}

func (s *txSink) Process(_ int, b batch.Batch, _ Collector) error {
	if s.slow > 0 {
		time.Sleep(s.slow)
	}
	ks := b.Column(0).(*array.Int64).Int64Values()
	cs := b.Column(1).(*array.Int64).Int64Values()
	for i := range ks {
		s.current = append(s.current, [2]int64{ks[i], cs[i]})
	}
	return nil
}

func (s *txSink) ProcessWatermark(int64, Collector) error { return nil }

func (s *txSink) SnapshotState(sc SnapshotContext) (AsyncSnapshot, error) {
	s.pending[sc.CheckpointID] = s.current
	s.current = nil
	var buf []byte
	ids := make([]int64, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		buf = binary.AppendVarint(buf, id)
		buf = binary.AppendVarint(buf, int64(len(s.pending[id])))
		for _, r := range s.pending[id] {
			buf = binary.AppendVarint(buf, r[0])
			buf = binary.AppendVarint(buf, r[1])
		}
	}
	return func(w SnapshotWriter) error { return writeFile(w, "pending", buf) }, nil
}

func (s *txSink) RestoreState(rc RestoreContext) error {
	// Recover: commit everything the checkpoint pre-committed.
	s.shared.restores.Add(1)
	for _, snap := range rc.Snapshots {
		data, err := os.ReadFile(filepath.Join(snap.Dir, "pending"))
		if err != nil {
			return err
		}
		r := bytes.NewReader(data)
		for r.Len() > 0 {
			id, _ := binary.ReadVarint(r)
			n, _ := binary.ReadVarint(r)
			var rows [][2]int64
			for range n {
				k, _ := binary.ReadVarint(r)
				c, _ := binary.ReadVarint(r)
				rows = append(rows, [2]int64{k, c})
			}
			s.pending[id] = rows
		}
	}
	return s.NotifyCheckpointComplete(1 << 62)
}

func (s *txSink) NotifyCheckpointComplete(id int64) error {
	s.shared.mu.Lock()
	defer s.shared.mu.Unlock()
	if s.shared.done == nil {
		s.shared.done = map[[2]int64]bool{}
	}
	if id < 1<<62 {
		s.shared.cpCommits++
	}
	for pid, rows := range s.pending {
		if pid <= id {
			if !s.shared.done[[2]int64{int64(s.subtask), pid}] {
				s.shared.committed = append(s.shared.committed, rows...)
				s.shared.done[[2]int64{int64(s.subtask), pid}] = true
				s.shared.commits++
			}
			delete(s.pending, pid)
		}
	}
	return nil
}

func (s *txSink) NotifyCheckpointAborted(int64) error { return nil }

func (s *txSink) Finish(Collector) error {
	if err := s.NotifyCheckpointComplete(1 << 62); err != nil {
		return err
	}
	s.shared.mu.Lock()
	s.shared.committed = append(s.shared.committed, s.current...)
	s.shared.mu.Unlock()
	s.current = nil
	return nil
}

type cpCase struct {
	mode      checkpoint.Mode
	unaligned bool
	alignTO   time.Duration
	failAt    int64
	slowSink  time.Duration
}

func runCountJob(t *testing.T, c cpCase, dir string) (*txShared, []*checkpoint.Coordinator, error) {
	t.Helper()
	const rows, keys = 6000, 7
	shared := &txShared{}
	var fail atomic.Int64
	fail.Store(c.failAt)
	g := &Graph{Name: "count", ChannelCapacity: 2, Vertices: []*Vertex{
		{Name: "src", Parallelism: 2, Source: func(int) (connectors.Source, error) {
			return &cpSource{seqSource: seqSource{n: rows, keys: keys, batchSize: 50}, pace: time.Millisecond}, nil
		}},
		{Name: "count", Parallelism: 2, Inputs: []Input{{From: 0, Partitioning: Partitioning{Kind: Hash, Keys: []int{0}}}},
			Chain: []OperatorFactory{{Name: "Count", New: func(int) (Operator, error) { return &countOp{failOn: &fail, shared: shared}, nil }}}},
		{Name: "sink", Parallelism: 2, Inputs: []Input{{From: 1, Partitioning: Partitioning{Kind: Rebalance}}},
			Chain: []OperatorFactory{{Name: "TxSink", New: func(int) (Operator, error) {
				return &txSink{shared: shared, slow: c.slowSink}, nil
			}}}},
	}}
	cfg := checkpoint.Config{Interval: 15 * time.Millisecond, Timeout: 10 * time.Second, MaxConcurrent: 1, Mode: c.mode,
		Unaligned: c.unaligned, AlignmentTimeout: c.alignTO, Retained: 2, RetainOnCancellation: true, Dir: dir}
	var coords []*checkpoint.Coordinator
	env := Env{Checkpoint: &Checkpointing{Config: cfg, JobID: "count",
		Attach:  func(c *checkpoint.Coordinator) { coords = append(coords, c) },
		Restart: checkpoint.RestartStrategy{Kind: checkpoint.RestartFixedDelay, Attempts: 3, Delay: 5 * time.Millisecond}}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := Run(ctx, g, env)
	return shared, coords, err
}

func checkCounts(t *testing.T, s *txShared, exactlyOnce bool) {
	t.Helper()
	seen := map[int64]map[int64]int{}
	for _, r := range s.committed {
		if seen[r[0]] == nil {
			seen[r[0]] = map[int64]int{}
		}
		seen[r[0]][r[1]]++
	}
	const rows, keys = 6000, 7
	for k := int64(0); k < keys; k++ {
		n := int64(rows / keys)
		if k < rows%keys {
			n++
		}
		for c := int64(1); c <= n; c++ {
			switch got := seen[k][c]; {
			case got == 0:
				t.Fatalf("key %d: count %d lost", k, c)
			case got > 1 && exactlyOnce:
				t.Fatalf("key %d: count %d committed %d times", k, c, got)
			}
		}
		if exactlyOnce && int64(len(seen[k])) != n {
			t.Fatalf("key %d: %d distinct counts, want %d", k, len(seen[k]), n)
		}
	}
}

func TestCheckpointRecoveryModes(t *testing.T) {
	cases := map[string]cpCase{
		"aligned":              {mode: checkpoint.ExactlyOnce, failAt: 500},
		"unaligned":            {mode: checkpoint.ExactlyOnce, unaligned: true, failAt: 500, slowSink: 100 * time.Microsecond},
		"alignment-timeout":    {mode: checkpoint.ExactlyOnce, unaligned: true, alignTO: time.Millisecond, failAt: 500, slowSink: 100 * time.Microsecond},
		"at-least-once":        {mode: checkpoint.AtLeastOnce, failAt: 500},
		"aligned-no-failure":   {mode: checkpoint.ExactlyOnce},
		"unaligned-no-failure": {mode: checkpoint.ExactlyOnce, unaligned: true, slowSink: 100 * time.Microsecond},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, coords, err := runCountJob(t, c, dir)
			if err != nil {
				t.Fatal(err)
			}
			checkCounts(t, s, c.mode == checkpoint.ExactlyOnce)
			if s.commits == 0 {
				t.Fatal("no checkpoint committed")
			}
			if c.failAt > 0 && s.restores.Load() == 0 {
				t.Fatal("the job was not restored from a checkpoint")
			}
			var inflight int64
			for _, co := range coords {
				for _, h := range co.History() {
					inflight += h.InFlightBytes
				}
			}
			if c.unaligned && c.alignTO == 0 && inflight == 0 {
				t.Fatal("unaligned checkpoints persisted no in-flight data under backpressure")
			}
			if !c.unaligned && inflight != 0 {
				t.Fatalf("aligned checkpoints persisted %d bytes of in-flight data", inflight)
			}
			sums, err := checkpoint.List(filepath.Join(dir, "count"))
			if err != nil {
				t.Fatal(err)
			}
			if len(sums) == 0 {
				t.Fatal("no checkpoint on disk")
			}
		})
	}
}
