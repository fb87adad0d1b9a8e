package exec

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

var testSchema = types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "v", Type: types.TypeBigInt})

// seqSource emits rows (i%keys, i) for its share of [0, n).
type seqSource struct {
	n, keys, batchSize int
	next, end          int
	unbounded          bool
	failAt             int // fail when next reaches it (0 = never)
}

func (s *seqSource) Bounded() bool { return !s.unbounded }
func (s *seqSource) Open(_ context.Context, subtask, par int) error {
	s.next = s.n * subtask / par
	s.end = s.n * (subtask + 1) / par
	return nil
}
func (s *seqSource) Next(ctx context.Context) (batch.Batch, error) {
	if s.failAt > 0 && s.next >= s.failAt {
		return batch.Batch{}, errors.New("boom at row")
	}
	if s.next >= s.end {
		if s.unbounded {
			select {
			case <-ctx.Done():
				return batch.Batch{}, ctx.Err()
			case <-time.After(5 * time.Millisecond):
				return batch.Batch{}, nil
			}
		}
		return batch.Batch{}, io.EOF
	}
	m := min(s.batchSize, s.end-s.next)
	ks := make([]int64, m)
	vs := make([]int64, m)
	for i := range m {
		ks[i] = int64((s.next + i) % s.keys)
		vs[i] = int64(s.next + i)
	}
	s.next += m
	rec := batch.NewRecord(testSchema, []arrow.Array{batch.Int64Array(ks, nil), batch.Int64Array(vs, nil)}, m)
	return batch.New(rec), nil
}
func (s *seqSource) Close() error { return nil }

// collectOp records every row it sees (shared across subtasks).
type collectOp struct {
	BaseOperator
	mu       *sync.Mutex
	rows     *[][2]int64
	subtask  int
	perTask  map[int64]int
	owners   *map[int64]int
	finished *int
	slow     time.Duration
}

func (c *collectOp) Open(ctx *OpContext) error { c.subtask = ctx.Subtask; return nil }
func (c *collectOp) Process(_ int, b batch.Batch, _ Collector) error {
	if c.slow > 0 {
		time.Sleep(c.slow)
	}
	ks := b.Column(0).(interface{ Int64Values() []int64 }).Int64Values()
	vs := b.Column(1).(interface{ Int64Values() []int64 }).Int64Values()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range ks {
		*c.rows = append(*c.rows, [2]int64{ks[i], vs[i]})
		if o, ok := (*c.owners)[ks[i]]; ok && o != c.subtask {
			return errors.New("key seen by two subtasks")
		}
		(*c.owners)[ks[i]] = c.subtask
	}
	return nil
}
func (c *collectOp) Finish(Collector) error {
	c.mu.Lock()
	*c.finished++
	c.mu.Unlock()
	return nil
}

type sink struct {
	mu       sync.Mutex
	rows     [][2]int64
	owners   map[int64]int
	finished int
}

func (s *sink) factory(slow time.Duration) OperatorFactory {
	s.owners = map[int64]int{}
	return OperatorFactory{Name: "Collect", New: func(int) (Operator, error) {
		return &collectOp{mu: &s.mu, rows: &s.rows, owners: &s.owners, finished: &s.finished, slow: slow}, nil
	}}
}

func TestHashExchangeDeliversEveryRowToItsKeyOwner(t *testing.T) {
	const n = 100_000
	var out sink
	g := &Graph{Name: "t", Vertices: []*Vertex{
		{Name: "Source", Parallelism: 3, Source: func(int) (connectors.Source, error) {
			return &seqSource{n: n, keys: 97, batchSize: 1000}, nil
		}},
		{Name: "Keyed", Parallelism: 2, Inputs: []Input{{From: 0, Partitioning: Partitioning{Kind: Hash, Keys: []int{0}}}},
			Chain: []OperatorFactory{out.factory(0)}},
	}}
	if err := Run(context.Background(), g, Env{}); err != nil {
		t.Fatal(err)
	}
	if len(out.rows) != n {
		t.Fatalf("got %d rows, want %d", len(out.rows), n)
	}
	vs := make([]int, 0, n)
	for _, r := range out.rows {
		vs = append(vs, int(r[1]))
	}
	sort.Ints(vs)
	for i, v := range vs {
		if v != i {
			t.Fatalf("row %d missing or duplicated (found %d)", i, v)
		}
	}
	if out.finished != 2 {
		t.Fatalf("Finish called %d times, want 2", out.finished)
	}
}

func TestSourceErrorFailsJobNamingOperator(t *testing.T) {
	var out sink
	g := &Graph{Name: "t", Vertices: []*Vertex{
		{Name: "Source(orders)", Parallelism: 1, Source: func(int) (connectors.Source, error) {
			return &seqSource{n: 10_000, keys: 10, batchSize: 100, failAt: 500}, nil
		}},
		{Name: "Keyed", Parallelism: 2, Inputs: []Input{{From: 0, Partitioning: Partitioning{Kind: Hash, Keys: []int{0}}}},
			Chain: []OperatorFactory{out.factory(0)}},
	}}
	err := Run(context.Background(), g, Env{})
	var oe *OperatorError
	if !errors.As(err, &oe) || oe.Operator != "Source(orders)" || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("got %v, want an OperatorError from Source(orders)", err)
	}
}

type failOp struct{ BaseOperator }

func (failOp) Process(int, batch.Batch, Collector) error { return errors.New("bad row") }

func TestOperatorErrorNamesOperator(t *testing.T) {
	g := &Graph{Name: "t", Vertices: []*Vertex{
		{Name: "Source", Parallelism: 1, Source: func(int) (connectors.Source, error) {
			return &seqSource{n: 10, keys: 10, batchSize: 100}, nil
		}, Chain: []OperatorFactory{{Name: "Calc(x / 0)", New: func(int) (Operator, error) { return failOp{}, nil }}}},
	}}
	err := Run(context.Background(), g, Env{})
	if err == nil || !strings.HasPrefix(err.Error(), "Calc(x / 0): bad row") {
		t.Fatalf("got %v", err)
	}
}

func TestCancelStopsUnboundedJobUnderBackpressure(t *testing.T) {
	var out sink
	g := &Graph{Name: "t", ChannelCapacity: 2, Vertices: []*Vertex{
		{Name: "Source", Parallelism: 2, Source: func(int) (connectors.Source, error) {
			return &seqSource{n: 1 << 40, keys: 10, batchSize: 100, unbounded: true}, nil
		}},
		{Name: "Slow", Parallelism: 1, Inputs: []Input{{From: 0, Partitioning: Partitioning{Kind: Rebalance}}},
			Chain: []OperatorFactory{out.factory(2 * time.Millisecond)}},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, g, Env{}) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("job did not stop after cancel")
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	// Backpressure: the slow consumer processed only a bounded amount
	// while sources could have produced without limit.
	if len(out.rows) == 0 {
		t.Fatal("consumer saw no rows")
	}
}

func TestKeyGroupRangesPartitionAllGroups(t *testing.T) {
	for _, maxP := range []int{1, 7, 128} {
		for p := 1; p <= maxP && p <= 16; p++ {
			seen := make([]int, maxP)
			for s := 0; s < p; s++ {
				lo, hi := KeyGroupRange(s, maxP, p)
				for kg := lo; kg < hi; kg++ {
					seen[kg]++
					if got := SubtaskForKeyGroup(kg, maxP, p); got != s {
						t.Fatalf("maxP=%d p=%d: kg %d in range of %d but owned by %d", maxP, p, kg, s, got)
					}
				}
			}
			for kg, c := range seen {
				if c != 1 {
					t.Fatalf("maxP=%d p=%d: key group %d covered %d times", maxP, p, kg, c)
				}
			}
		}
	}
}
