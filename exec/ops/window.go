package ops

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// WatermarkAssigner generates event-time watermarks from a table's
// WATERMARK FOR clause: the watermark is the largest value of the watermark
// expression seen so far (so `ts - INTERVAL '5' SECOND` tolerates rows up
// to five seconds out of order). By default it emits after each batch; with
// PerRow (Flink's 'scan.watermark.emit.strategy' = 'on-event') it emits as
// soon as a row advances it, splitting the batch there.
//
// It is not checkpointed, as in Flink: after a restore it starts over from
// the rows the sources replay. The operators that depend on event time keep
// what matters in their own snapshots (a window aggregate its watermark, an
// interval join its last sweep), and a window aggregate ignores watermarks
// behind the one it restored.
type WatermarkAssigner struct {
	exec.BaseOperator
	Expr   expr.Expr
	PerRow bool
	// IdleTimeout, when > 0, marks this split idle after that long without
	// rows ('scan.watermark.idle-timeout'), so it does not hold back the
	// watermark of the operators after the next exchange.
	IdleTimeout time.Duration

	prog    *expr.Program
	max     int64
	now     func() time.Time
	lastRow time.Time
	idle    bool
}

// Open compiles the watermark expression.
func (w *WatermarkAssigner) Open(ctx *exec.OpContext) error {
	p, err := expr.Compile([]expr.Expr{w.Expr}, &expr.EvalEnv{Now: ctx.Now, Location: ctx.Location})
	if err != nil {
		return fmt.Errorf("compile watermark: %w", err)
	}
	w.prog = p
	w.max = exec.MinWatermark
	w.now = ctx.Now
	if w.now == nil {
		w.now = time.Now
	}
	w.lastRow = w.now()
	if w.IdleTimeout > 0 && ctx.Every != nil {
		ctx.Every(max(w.IdleTimeout/4, 5*time.Millisecond), w.checkIdle)
	}
	return nil
}

// checkIdle marks the split idle once no row arrived for IdleTimeout.
func (w *WatermarkAssigner) checkIdle(out exec.Collector) error {
	if w.idle || w.now().Sub(w.lastRow) < w.IdleTimeout {
		return nil
	}
	w.idle = true
	return out.EmitWatermark(exec.IdleWatermark)
}

// Process forwards the batch and the watermarks it advances.
func (w *WatermarkAssigner) Process(_ int, b batch.Batch, out exec.Collector) error {
	if w.IdleTimeout > 0 {
		w.lastRow, w.idle = w.now(), false
	}
	cols, err := w.prog.Eval(b.Rec)
	if err != nil {
		return fmt.Errorf("watermark: %w", err)
	}
	ts := cols[0].(*array.Int64)
	vals := ts.Int64Values()
	if !w.PerRow {
		advanced := false
		for i, v := range vals {
			if ts.IsValid(i) && v > w.max {
				w.max, advanced = v, true
			}
		}
		if err := out.Collect(b); err != nil {
			return err
		}
		if advanced {
			return out.EmitWatermark(w.max)
		}
		return nil
	}
	from := 0
	for i, v := range vals {
		if ts.IsValid(i) && v > w.max {
			w.max = v
			if err := out.Collect(batch.Slice(b, from, i+1)); err != nil {
				return err
			}
			if err := out.EmitWatermark(w.max); err != nil {
				return err
			}
			from = i + 1
		}
	}
	if from < b.Len() {
		return out.Collect(batch.Slice(b, from, b.Len()))
	}
	return nil
}

// ProcessWatermark: upstream watermarks (the final one of a bounded
// source) pass when they are ahead of ours.
func (w *WatermarkAssigner) ProcessWatermark(wm int64, out exec.Collector) error {
	if wm > w.max {
		w.max = wm
		return out.EmitWatermark(wm)
	}
	return nil
}

// WindowKind is a window table function.
type WindowKind uint8

const (
	Tumble WindowKind = iota
	Hop
	Cumulate
	// Session gives each row the provisional window [t, t+Size) (Size is
	// the gap); the window aggregate merges them.
	Session
)

// WindowAssign implements TUMBLE, HOP and CUMULATE: it appends
// window_start, window_end and window_time (end minus one millisecond) to
// each row, once per window the row's time column falls into. All sizes
// are in microseconds. It keeps nothing across batches (nothing to
// checkpoint).
type WindowAssign struct {
	exec.BaseOperator
	Kind    WindowKind
	TimeCol int
	// Size is the window size (TUMBLE, HOP) or the maximum size (CUMULATE).
	Size int64
	// Slide is HOP's slide or CUMULATE's step.
	Slide int64
	// Offset shifts window starts (0 = aligned to the epoch).
	Offset int64
	Out    types.Schema

	schema *arrow.Schema
}

// Open prepares the output schema.
func (w *WindowAssign) Open(*exec.OpContext) error {
	w.schema = w.Out.Arrow()
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// windows appends the [start, end) windows containing t.
func (w *WindowAssign) windows(t int64, dst [][2]int64) [][2]int64 {
	switch w.Kind {
	case Tumble:
		start := floorDiv(t-w.Offset, w.Size)*w.Size + w.Offset
		return append(dst, [2]int64{start, start + w.Size})
	case Hop:
		last := floorDiv(t-w.Offset, w.Slide)*w.Slide + w.Offset
		for start := last; start > t-w.Size; start -= w.Slide {
			dst = append(dst, [2]int64{start, start + w.Size})
		}
		return dst
	case Session:
		return append(dst, [2]int64{t, t + w.Size})
	default: // Cumulate: windows [s, s+step), [s, s+2step), ... up to size
		start := floorDiv(t-w.Offset, w.Size)*w.Size + w.Offset
		for end := start + w.Slide; end <= start+w.Size; end += w.Slide {
			if t < end {
				dst = append(dst, [2]int64{start, end})
			}
		}
		return dst
	}
}

// Process expands rows into (row, window) pairs; rows with a NULL time are
// dropped, as Flink does.
func (w *WindowAssign) Process(_ int, b batch.Batch, out exec.Collector) error {
	if !b.InsertOnly() {
		return fmt.Errorf("not supported yet: window table functions over an updating input")
	}
	tc := b.Column(w.TimeCol).(*array.Int64)
	tv := tc.Int64Values()
	var idx []int32
	var starts, ends []int64
	var buf [][2]int64
	for r := range tv {
		if tc.IsNull(r) {
			continue
		}
		buf = w.windows(tv[r], buf[:0])
		for _, win := range buf {
			idx = append(idx, int32(r))
			starts = append(starts, win[0])
			ends = append(ends, win[1])
		}
	}
	if len(idx) == 0 {
		return nil
	}
	expanded := b
	if len(idx) != b.Len() || !isIota(idx) {
		expanded = batch.TakeBatch(b, idx)
	}
	times := make([]int64, len(ends))
	for i, e := range ends {
		times[i] = e - 1000 // window_time: the last millisecond of the window
	}
	cols := make([]arrow.Array, 0, expanded.Rec.NumCols()+3)
	cols = append(cols, expanded.Rec.Columns()...)
	cols = append(cols, batch.Int64Array(starts, nil), batch.Int64Array(ends, nil), batch.Int64Array(times, nil))
	return out.Collect(batch.New(array.NewRecord(w.schema, cols, int64(len(idx)))))
}

func isIota(idx []int32) bool {
	for i, v := range idx {
		if int(v) != i {
			return false
		}
	}
	return true
}

// lateRows counts and logs rows dropped because their window had already
// fired.
type lateRows struct {
	n      int64
	logger *slog.Logger
	name   string
}

func (l *lateRows) add(n int, wm int64) {
	if n == 0 {
		return
	}
	l.n += int64(n)
	if l.logger != nil {
		l.logger.Warn("dropped late rows", "operator", l.name, "rows", n, "total", l.n, "watermark_us", wm)
	}
}
