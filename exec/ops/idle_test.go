package ops

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

var tsSchema = types.NewSchema(types.Field{Name: "ts", Type: types.TimestampOf(3)})

// tickSource emits one row per call with an advancing timestamp, or
// nothing at all when silent (an idle split).
type tickSource struct {
	silent bool
	next   int64
}

func (s *tickSource) Bounded() bool                        { return false }
func (s *tickSource) Open(context.Context, int, int) error { return nil }
func (s *tickSource) Close() error                         { return nil }
func (s *tickSource) Next(ctx context.Context) (batch.Batch, error) {
	select {
	case <-ctx.Done():
		return batch.Batch{}, ctx.Err()
	case <-time.After(2 * time.Millisecond):
	}
	if s.silent {
		return batch.Batch{}, nil
	}
	s.next += 1000
	rec := batch.NewRecord(tsSchema, []arrow.Array{batch.Int64Array([]int64{s.next}, nil)}, 1)
	return batch.New(rec), nil
}

// watermarkProbe records the watermarks its task forwards.
type watermarkProbe struct {
	exec.BaseOperator
	mu   *sync.Mutex
	last *int64
}

func (p *watermarkProbe) Process(int, batch.Batch, exec.Collector) error { return nil }
func (p *watermarkProbe) ProcessWatermark(wm int64, _ exec.Collector) error {
	if wm == exec.IdleWatermark {
		return errors.New("an operator saw the idle marker")
	}
	p.mu.Lock()
	*p.last = wm
	p.mu.Unlock()
	return nil
}

// TestIdleSplitDoesNotHoldBackWatermarks: two source subtasks feed one
// consumer; one never produces. Without an idle timeout the consumer's
// watermark stays at its minimum; with one, it follows the busy split.
func TestIdleSplitDoesNotHoldBackWatermarks(t *testing.T) {
	for _, idle := range []time.Duration{0, 20 * time.Millisecond} {
		var mu sync.Mutex
		last := int64(exec.MinWatermark)
		col := expr.NewColumn(0, types.TimestampOf(3), "ts")
		g := &exec.Graph{Name: "idle", Vertices: []*exec.Vertex{
			{Name: "Source", Parallelism: 2,
				Source: func(i int) (connectors.Source, error) { return &tickSource{silent: i == 1}, nil },
				Chain: []exec.OperatorFactory{{Name: "Watermarks", New: func(int) (exec.Operator, error) {
					return &WatermarkAssigner{Expr: col, IdleTimeout: idle}, nil
				}}}},
			{Name: "Probe", Parallelism: 1, Inputs: []exec.Input{{From: 0, Partitioning: exec.Partitioning{Kind: exec.Global}}},
				Chain: []exec.OperatorFactory{{Name: "Probe", New: func(int) (exec.Operator, error) {
					return &watermarkProbe{mu: &mu, last: &last}, nil
				}}}},
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		err := exec.Run(ctx, g, exec.Env{})
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, io.EOF) {
			t.Fatalf("idle=%v: %v", idle, err)
		}
		mu.Lock()
		got := last
		mu.Unlock()
		if idle == 0 && got != exec.MinWatermark {
			t.Fatalf("without an idle timeout the silent split must hold the watermark back, got %d", got)
		}
		if idle > 0 && got < 10_000 {
			t.Fatalf("with an idle timeout the watermark should follow the busy split, got %d", got)
		}
	}
}
