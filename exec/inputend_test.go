package exec

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
)

// endRecorder counts the rows of each input and records, when an input
// ends, how many rows of it it had seen.
type endRecorder struct {
	BaseOperator
	mu    *sync.Mutex
	log   *[]string
	seen  [2]int
	ended [2]bool
	sub   int
}

func (e *endRecorder) Open(ctx *OpContext) error { e.sub = ctx.Subtask; return nil }

func (e *endRecorder) Process(input int, b batch.Batch, _ Collector) error {
	if e.ended[input] {
		return fmt.Errorf("a row of input %d after it ended", input)
	}
	e.seen[input] += b.Len()
	return nil
}

func (e *endRecorder) EndInput(input int, _ Collector) error {
	if e.ended[input] {
		return fmt.Errorf("input %d ended twice", input)
	}
	e.ended[input] = true
	e.mu.Lock()
	*e.log = append(*e.log, fmt.Sprintf("subtask %d: input %d ended after %d rows", e.sub, input, e.seen[input]))
	e.mu.Unlock()
	return nil
}

func (e *endRecorder) Finish(Collector) error {
	if !e.ended[0] || !e.ended[1] {
		return fmt.Errorf("finish before both inputs ended: %v", e.ended)
	}
	return nil
}

// TestEndInputOncePerInputAfterItsLastChannel: a two-input operator at
// parallelism 2, fed by sources of three and two subtasks, learns of each
// input's end once, after the last row of every channel of that input.
func TestEndInputOncePerInputAfterItsLastChannel(t *testing.T) {
	var mu sync.Mutex
	var log []string
	g := &Graph{Name: "t", Vertices: []*Vertex{
		{Name: "Long", Parallelism: 3, Source: func(int) (connectors.Source, error) {
			return &seqSource{n: 30_000, keys: 10, batchSize: 100}, nil
		}},
		{Name: "Short", Parallelism: 2, Source: func(int) (connectors.Source, error) {
			return &seqSource{n: 2_000, keys: 10, batchSize: 100}, nil
		}},
		{Name: "Two", Parallelism: 2, Inputs: []Input{
			{From: 0, Partitioning: Partitioning{Kind: Hash, Keys: []int{0}}},
			{From: 1, Side: 1, Partitioning: Partitioning{Kind: Hash, Keys: []int{0}}},
		}, Chain: []OperatorFactory{{Name: "Rec", New: func(int) (Operator, error) {
			return &endRecorder{mu: &mu, log: &log}, nil
		}}}},
	}}
	if err := Run(context.Background(), g, Env{}); err != nil {
		t.Fatal(err)
	}
	// Keys 0..9 hash to the two subtasks; each subtask's rows of an input
	// are all of that input's rows with its keys.
	if len(log) != 4 {
		t.Fatalf("%d EndInput calls, want 4:\n%v", len(log), log)
	}
	total := map[int]int{}
	for _, l := range log {
		var sub, in, n int
		if _, err := fmt.Sscanf(l, "subtask %d: input %d ended after %d rows", &sub, &in, &n); err != nil {
			t.Fatal(err)
		}
		total[in] += n
	}
	if total[0] != 30_000 || total[1] != 2_000 {
		t.Fatalf("rows seen when the inputs ended: %v, want 30000 and 2000:\n%v", total, log)
	}
}
