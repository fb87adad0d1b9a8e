package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/streamsql/streamsql/checkpoint"
	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
)

// OperatorError is an error raised by a named operator of a running job.
type OperatorError struct {
	Operator    string
	Subtask     int
	Parallelism int
	Err         error
}

func (e *OperatorError) Error() string {
	if e.Parallelism > 1 {
		return fmt.Sprintf("%s (subtask %d/%d): %v", e.Operator, e.Subtask+1, e.Parallelism, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Operator, e.Err)
}

func (e *OperatorError) Unwrap() error { return e.Err }

// task is one parallel instance of a vertex: one goroutine, one loop.
type task struct {
	vertex  *Vertex
	subtask int
	ctx     context.Context
	source  connectors.Source // nil for tasks fed by a gate
	gate    *Gate
	mail    *Mailbox
	ops     []Operator
	names   []string
	head    Collector // the chain's entry (collects into ops[0])
	out     *Output   // nil when the chain ends in a sink
	tail    Collector

	counters   *jobCounters
	done       chan struct{} // closed when the task ends (stops timers)
	watermarks []int64       // per input channel
	idle       []bool        // per input channel: marked idle by its source
	currentWM  int64

	// Checkpointing (nil cp = off).
	cp    *taskCheckpointing
	align *alignment
	// finished: the task has consumed all its input and sent end of
	// input; it acknowledges checkpoints as finished from then on.
	finished atomic.Bool
	// restoredFinished: the restored checkpoint says the task had
	// finished; it only sends end of input.
	restoredFinished bool
	vertexIndex      int
	fault            func(task string, subtask int) error
	ids              vertexIDs
	maxParallelism   int
}

// namedLink is a chain link that labels errors with the operator's name.
type namedLink struct {
	t    *task
	i    int
	next Collector
}

func (l *namedLink) wrap(err error) error {
	if err == nil {
		return nil
	}
	var oe *OperatorError
	if errors.As(err, &oe) || errors.Is(err, context.Canceled) {
		return err
	}
	return &OperatorError{Operator: l.t.names[l.i], Subtask: l.t.subtask, Parallelism: l.t.vertex.Parallelism, Err: err}
}

func (l *namedLink) Collect(b batch.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	return l.wrap(l.t.ops[l.i].Process(0, b, l.next))
}

// Skipper returns the operator the link feeds if it is a RowSkipper.
func (l *namedLink) Skipper() RowSkipper {
	s, _ := l.t.ops[l.i].(RowSkipper)
	return s
}

func (l *namedLink) EmitWatermark(wm int64) error {
	if wm == IdleWatermark {
		return l.t.tail.EmitWatermark(wm) // idleness is for the exchange only
	}
	return l.wrap(l.t.ops[l.i].ProcessWatermark(wm, l.next))
}

// link returns the collector feeding operator i.
func (t *task) link(i int) Collector {
	if i == len(t.ops) {
		return t.tail
	}
	return &namedLink{t: t, i: i, next: t.link(i + 1)}
}

func (t *task) open(env *Env) error {
	for i, op := range t.ops {
		i := i
		oc := &OpContext{
			Ctx: t.ctx, Name: t.names[i], Subtask: t.subtask, Parallelism: t.vertex.Parallelism,
			MaxParallelism: env.MaxParallelism, Logger: env.Logger, Now: env.Now, Location: env.Location,
			WorkDir: env.WorkDir,
			Every: func(d time.Duration, fn func(Collector) error) {
				t.every(d, func() error {
					return (&namedLink{t: t, i: i}).wrap(fn(t.link(i + 1)))
				})
			},
		}
		if err := op.Open(oc); err != nil {
			return &OperatorError{Operator: t.names[i], Subtask: t.subtask, Parallelism: t.vertex.Parallelism, Err: err}
		}
	}
	t.maxParallelism = env.MaxParallelism
	t.fault = env.InjectFault
	if t.source != nil {
		if err := t.source.Open(t.ctx, t.subtask, t.vertex.Parallelism); err != nil {
			return &OperatorError{Operator: t.vertex.Name, Subtask: t.subtask, Parallelism: t.vertex.Parallelism, Err: err}
		}
	}
	return nil
}

// every runs fn on the task's goroutine every d, through the mailbox: a
// ticker goroutine only posts mail, so operator state stays single-threaded.
// A tick is skipped while the previous one is still queued.
func (t *task) every(d time.Duration, fn func() error) {
	var queued atomic.Bool
	go func() {
		tk := time.NewTicker(d)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				if queued.CompareAndSwap(false, true) {
					t.mail.Put(func() error {
						queued.Store(false)
						if t.finished.Load() {
							return nil // a finished task's mail loop runs no timers
						}
						return fn()
					})
				}
			case <-t.done:
				return
			case <-t.ctx.Done():
				return
			}
		}
	}()
}

func (t *task) close() error {
	close(t.done)
	var errs []error
	if t.source != nil {
		if err := t.source.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, op := range t.ops {
		if err := op.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// finish ends the chain: each operator's Finish may emit into the next one,
// so they run in chain order; then end-of-input goes downstream.
func (t *task) finish() error {
	for i, op := range t.ops {
		next := t.link(i + 1)
		if err := op.Finish(next); err != nil {
			return (&namedLink{t: t, i: i}).wrap(err)
		}
	}
	if t.out != nil {
		return t.out.Broadcast(EndElement())
	}
	return nil
}

func (t *task) run(env *Env, restore *checkpoint.Metadata) (err error) {
	defer func() {
		if cerr := t.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := t.open(env); err != nil {
		return err
	}
	if t.cp != nil {
		t.cp.scratch = filepath.Join(env.WorkDir, "checkpoints")
	}
	if restore != nil || t.cp != nil {
		if err := t.restore(restore, env.WorkDir); err != nil {
			return err
		}
	}
	t.head = t.link(0)
	switch {
	case t.restoredFinished:
		err = t.runFinished()
	case t.source != nil:
		err = t.runSource()
	default:
		err = t.runInputs()
	}
	if err != nil || t.cp == nil {
		return err
	}
	t.finished.Store(true)
	if err := t.ackFinishedPending(); err != nil {
		return err
	}
	return t.commitAtEndOfJob()
}

// runFinished stands in for a task that had finished when the restored
// checkpoint was taken: its upstream tasks had finished too, so only their
// end of input arrives, and all its output is already in downstream state.
func (t *task) runFinished() error {
	if t.gate != nil {
		for ended := 0; ended < t.gate.NumChannels(); {
			ch, e, err := t.gate.Next(t.ctx, true, nil)
			if err != nil {
				return err
			}
			if ch == -1 {
				if err := t.mail.Run(); err != nil {
					return err
				}
				continue
			}
			if ch < 0 {
				continue
			}
			switch e.Kind {
			case EndOfInput:
				ended++
			case Data:
				return &OperatorError{Operator: t.vertex.Name, Subtask: t.subtask, Parallelism: t.vertex.Parallelism,
					Err: errors.New("restore: data reached a task that the checkpoint records as finished")}
			}
		}
	}
	if t.out == nil {
		return nil
	}
	if err := t.out.Broadcast(WatermarkElement(MaxWatermark)); err != nil {
		return err
	}
	return t.out.Broadcast(EndElement())
}

// commitAtEndOfJob waits, with checkpoints on, until every task of the job
// has finished, then lets two-phase-commit sinks make their last output
// visible. If another task fails meanwhile, the job restarts and that
// output, never visible, is replaced.
func (t *task) commitAtEndOfJob() error {
	jc := t.cp.job
	if jc.unfinished.Add(-1) == 0 {
		close(jc.allFinished)
	}
	// Meanwhile the task still takes part in checkpoints (as finished)
	// and hears of their completion: a sink commits its last output.
	for waiting := true; waiting; {
		select {
		case <-jc.allFinished:
			waiting = false
		case <-t.mail.Notify():
			if err := t.mail.Run(); err != nil {
				return err
			}
		case <-t.ctx.Done():
			return t.ctx.Err()
		}
	}
	for i, op := range t.ops {
		if c, ok := op.(EndOfJobCommitter); ok {
			if err := c.CommitAtEndOfJob(); err != nil {
				return (&namedLink{t: t, i: i}).wrap(err)
			}
		}
	}
	return nil
}

func (t *task) injectFault() error {
	if t.fault == nil {
		return nil
	}
	if err := t.fault(t.vertex.Name, t.subtask); err != nil {
		return &OperatorError{Operator: t.vertex.Name, Subtask: t.subtask, Parallelism: t.vertex.Parallelism, Err: err}
	}
	return nil
}

// waitOutput blocks until the task's output has room, running mail (a
// checkpoint trigger) meanwhile. Checking before each step, instead of
// blocking inside a push, keeps the task at a clean point whenever it
// waits, so a barrier can always be taken.
func (t *task) waitOutput() error {
	for {
		if t.mail.Pending() {
			if err := t.mail.Run(); err != nil {
				return err
			}
		}
		if t.out == nil {
			return nil
		}
		ok, wait := t.out.Available()
		if ok {
			return nil
		}
		select {
		case <-wait:
		case <-t.mail.Notify():
		case <-t.ctx.Done():
			return t.ctx.Err()
		}
	}
}

func (t *task) runSource() error {
	for {
		if err := t.waitOutput(); err != nil {
			return err
		}
		if err := t.ctx.Err(); err != nil {
			return err
		}
		b, err := t.source.Next(t.ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			return &OperatorError{Operator: t.vertex.Name, Subtask: t.subtask, Parallelism: t.vertex.Parallelism, Err: err}
		}
		if b.Len() > 0 {
			t.counters.rowsIn.Add(int64(b.Len()))
			if err := t.head.Collect(b); err != nil {
				return err
			}
			if err := t.injectFault(); err != nil {
				return err
			}
		}
	}
	// A bounded source is complete: event time has reached its end.
	if err := t.head.EmitWatermark(MaxWatermark); err != nil {
		return err
	}
	return t.finish()
}

func (t *task) runInputs() error {
	n := t.gate.NumChannels()
	t.watermarks = make([]int64, n)
	for i := range t.watermarks {
		t.watermarks[i] = MinWatermark
	}
	t.idle = make([]bool, n)
	t.currentWM = MinWatermark
	ended := 0
	for ended < n {
		dataOK, wake := true, (<-chan struct{})(nil)
		if t.out != nil {
			dataOK, wake = t.out.Available()
		}
		ch, e, err := t.gate.Next(t.ctx, dataOK, wake)
		if err != nil {
			return err
		}
		if ch == -1 {
			if err := t.mail.Run(); err != nil {
				return err
			}
			continue
		}
		if ch == -2 {
			continue
		}
		switch e.Kind {
		case Data:
			if t.idle[ch] {
				t.idle[ch] = false
			}
			if t.align != nil {
				t.align.record(ch, e)
			}
			input := t.gate.Input(ch)
			if len(t.ops) == 0 {
				err = t.tail.Collect(e.Batch)
			} else {
				err = (&namedLink{t: t, i: 0, next: t.link(1)}).wrap(t.ops[0].Process(input, e.Batch, t.link(1)))
			}
			if err != nil {
				return err
			}
			if err := t.injectFault(); err != nil {
				return err
			}
		case Watermark:
			if e.Watermark == IdleWatermark {
				if err := t.markIdle(ch); err != nil {
					return err
				}
				continue
			}
			t.idle[ch] = false
			if err := t.advanceWatermark(ch, e.Watermark); err != nil {
				return err
			}
		case EndOfInput:
			ended++
			if err := t.channelEnded(ch); err != nil {
				return err
			}
			if err := t.advanceWatermark(ch, MaxWatermark); err != nil {
				return err
			}
			if err := t.inputEnded(t.gate.Input(ch)); err != nil {
				return err
			}
		case Barrier:
			if err := t.onBarrier(ch, e.Barrier); err != nil {
				return err
			}
		}
	}
	return t.finish()
}

// inputEnded tells the chain's first operator that logical input `input`
// has ended, once its last channel has.
func (t *task) inputEnded(input int) error {
	if len(t.ops) == 0 || !t.gate.InputEnded(input) {
		return nil
	}
	ie, ok := t.ops[0].(InputEnder)
	if !ok {
		return nil
	}
	return (&namedLink{t: t, i: 0, next: t.link(1)}).wrap(ie.EndInput(input, t.link(1)))
}

// advanceWatermark records channel ch's watermark and forwards the minimum
// over all channels when it moves.
func (t *task) advanceWatermark(ch int, wm int64) error {
	if wm <= t.watermarks[ch] {
		return nil
	}
	t.watermarks[ch] = wm
	return t.emitMinWatermark()
}

// emitMinWatermark forwards the minimum watermark over the channels that
// are not idle, when it moves forward.
func (t *task) emitMinWatermark() error {
	min, any := int64(MaxWatermark), false
	for i, w := range t.watermarks {
		if t.idle[i] {
			continue
		}
		any = true
		if w < min {
			min = w
		}
	}
	if !any || min <= t.currentWM {
		return nil
	}
	t.currentWM = min
	return t.head.EmitWatermark(min)
}

// markIdle leaves channel ch out of the minimum; when every channel is idle
// the task's own outputs are idle too.
func (t *task) markIdle(ch int) error {
	t.idle[ch] = true
	for _, idle := range t.idle {
		if !idle {
			return t.emitMinWatermark()
		}
	}
	return t.tail.EmitWatermark(IdleWatermark)
}
