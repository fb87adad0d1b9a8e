package exec

import (
	"context"
	"log/slog"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
)

// Collector receives what an operator emits: the next operator of the chain,
// or the task's output writer at the end of it.
type Collector interface {
	Collect(b batch.Batch) error
	EmitWatermark(wm int64) error
}

// OpContext is what an operator learns when it opens.
type OpContext struct {
	Ctx            context.Context
	Name           string
	Subtask        int
	Parallelism    int
	MaxParallelism int
	Logger         *slog.Logger
	Now            func() time.Time
	Location       *time.Location
	// WorkDir is a directory private to this subtask (for on-disk state).
	WorkDir string
	// Every registers fn to run every d (processing time) on the task's
	// own goroutine, with the operator's output; it stops with the task.
	Every func(d time.Duration, fn func(out Collector) error)
}

// Operator is one step of a chain. All methods are called from the task's
// goroutine only.
type Operator interface {
	// Open prepares the operator.
	Open(ctx *OpContext) error
	// Process handles a batch from logical input `input` (0, or 1 for the
	// second input of a two-input operator).
	Process(input int, b batch.Batch, out Collector) error
	// ProcessWatermark handles event-time progress (the minimum over all
	// inputs); operators without timers just forward it.
	ProcessWatermark(wm int64, out Collector) error
	// Finish is called once after every input has ended: emit what is
	// still held (a bounded job's final results).
	Finish(out Collector) error
	// Close releases resources; called once, also after errors.
	Close() error
}

// InputEnder is implemented by a two-input operator that acts when one of
// its inputs ends before the other: EndInput is called once when every
// channel of logical input `input` has ended (the second input's call comes
// before Finish). A join uses it to stop keeping the other side's rows,
// which nothing can match any more.
type InputEnder interface {
	EndInput(input int, out Collector) error
}

// RowSkipper is an operator that can tell, from a few columns of an
// insert-only batch, which rows it would ignore entirely: no output and no
// state change. An operator chained before it (SkipperOf) may then build
// only the other rows' remaining columns (late materialization): a join
// feeding an append-only Top-N builds whole rows only for those that can
// enter the top N.
type RowSkipper interface {
	// SkipColumns are the input columns SkipRows reads; nil when it can
	// skip nothing.
	SkipColumns() []int
	// SkipRows sets skip[r] for each row r of the batch (all +I) it
	// would ignore, given cols[i] = input column SkipColumns()[i].
	SkipRows(cols []arrow.Array, skip []bool)
}

// SkipperOf returns the RowSkipper out delivers to directly in the same
// chain (out is what Process was given), or nil.
func SkipperOf(out Collector) RowSkipper {
	if l, ok := out.(interface{ Skipper() RowSkipper }); ok {
		return l.Skipper()
	}
	return nil
}

// OperatorFactory makes one operator instance per subtask.
type OperatorFactory struct {
	// Name is shown in EXPLAIN and in errors: "Calc(...)", "Sink(orders)".
	Name string
	// New makes the instance for a subtask.
	New func(subtask int) (Operator, error)
}

// BaseOperator provides no-op defaults; embed it.
type BaseOperator struct{}

func (BaseOperator) Open(*OpContext) error { return nil }
func (BaseOperator) ProcessWatermark(wm int64, out Collector) error {
	return out.EmitWatermark(wm)
}
func (BaseOperator) Finish(Collector) error { return nil }
func (BaseOperator) Close() error           { return nil }

// chainLink feeds an operator's output into the next operator.
type chainLink struct {
	op   Operator
	next Collector
}

func (l *chainLink) Collect(b batch.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	return l.op.Process(0, b, l.next)
}

func (l *chainLink) EmitWatermark(wm int64) error { return l.op.ProcessWatermark(wm, l.next) }

// discard is the collector after a sink: a sink emits nothing.
type discard struct{}

func (discard) Collect(batch.Batch) error { return nil }
func (discard) EmitWatermark(int64) error { return nil }
