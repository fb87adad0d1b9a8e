package ops

import (
	"context"
	"fmt"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
)

// Sink hands batches to a connector sink.
type Sink struct {
	exec.BaseOperator
	Sink     connectors.Sink
	ctx      context.Context
	finished bool
}

// Open opens the connector sink for this subtask.
func (s *Sink) Open(ctx *exec.OpContext) error {
	s.ctx = ctx.Ctx
	return s.Sink.Open(ctx.Ctx, ctx.Subtask, ctx.Parallelism)
}

// Process writes a batch.
func (s *Sink) Process(_ int, b batch.Batch, _ exec.Collector) error {
	return s.Sink.Write(s.ctx, b)
}

// ProcessWatermark ends here: sinks emit nothing.
func (s *Sink) ProcessWatermark(int64, exec.Collector) error { return nil }

// Finish commits the sink's output at the end of a bounded input.
func (s *Sink) Finish(exec.Collector) error {
	s.finished = true
	if err := s.Sink.Finish(s.ctx); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	return nil
}

// Close releases the connector sink.
func (s *Sink) Close() error { return s.Sink.Close() }

// Collect passes result batches to a function (a SELECT's consumer in the
// session). It runs at parallelism 1, so calls are never concurrent.
type Collect struct {
	exec.BaseOperator
	Fn  func(ctx context.Context, b batch.Batch) error
	ctx context.Context
}

// Open remembers the job's context.
func (c *Collect) Open(ctx *exec.OpContext) error { c.ctx = ctx.Ctx; return nil }

// Process forwards a batch.
func (c *Collect) Process(_ int, b batch.Batch, _ exec.Collector) error { return c.Fn(c.ctx, b) }

// ProcessWatermark ends here.
func (c *Collect) ProcessWatermark(int64, exec.Collector) error { return nil }
