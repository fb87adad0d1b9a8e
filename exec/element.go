// Package exec is streamsql's runtime: a job is a DAG of vertices, each run
// as parallel tasks; a task is one goroutine with one event loop driving a
// chain of operators. Tasks exchange stream elements over bounded channels of
// our own (not bare Go channels) so that a checkpoint barrier can overtake
// queued data and an input can be blocked while others are read.
package exec

import (
	"fmt"
	"math"

	"github.com/streamsql/streamsql/exec/batch"
)

// ElementKind says what a stream element carries.
type ElementKind uint8

const (
	// Data carries a batch.
	Data ElementKind = iota
	// Watermark carries event-time progress (microseconds).
	Watermark
	// Barrier carries a checkpoint barrier.
	Barrier
	// EndOfInput says the producer will send nothing more.
	EndOfInput
)

func (k ElementKind) String() string {
	switch k {
	case Data:
		return "data"
	case Watermark:
		return "watermark"
	case Barrier:
		return "barrier"
	case EndOfInput:
		return "end-of-input"
	}
	return fmt.Sprintf("ElementKind(%d)", uint8(k))
}

// BarrierInfo identifies a checkpoint barrier.
type BarrierInfo struct {
	// ID is the checkpoint id (1, 2, ...).
	ID int64
	// Timestamp is when the coordinator triggered it (Unix ms).
	Timestamp int64
	// Unaligned: the barrier may overtake queued data.
	Unaligned bool
	// Savepoint: the snapshot must be full and self-contained.
	Savepoint bool
	// Overtaken is set by Channel.PushPriority: how many data elements
	// this barrier jumped over in its channel.
	Overtaken int
}

// Element is one item of a stream.
type Element struct {
	Kind      ElementKind
	Batch     batch.Batch
	Watermark int64
	Barrier   BarrierInfo
}

// MinWatermark is the watermark before any event time is known.
const MinWatermark = math.MinInt64

// MaxWatermark is the final watermark of a bounded input: everything is
// complete.
const MaxWatermark = math.MaxInt64

// IdleWatermark is not a time: a watermark element carrying it says its
// channel is idle (a source split without data for
// 'scan.watermark.idle-timeout'), so a task leaves the channel out of its
// minimum until the channel carries data again. It travels from a source's
// watermark assigner to the next exchange; operators never see it.
const IdleWatermark = math.MinInt64 + 1

// DataElement wraps a batch.
func DataElement(b batch.Batch) Element { return Element{Kind: Data, Batch: b} }

// WatermarkElement wraps a watermark.
func WatermarkElement(wm int64) Element { return Element{Kind: Watermark, Watermark: wm} }

// BarrierElement wraps a barrier.
func BarrierElement(b BarrierInfo) Element { return Element{Kind: Barrier, Barrier: b} }

// EndElement is end-of-input.
func EndElement() Element { return Element{Kind: EndOfInput} }
