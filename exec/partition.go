package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
)

// PartitionKind says how an edge distributes rows over consumer subtasks.
type PartitionKind uint8

const (
	// Forward sends subtask i's output to consumer subtask i (equal
	// parallelism). Forward edges are normally chained away by the planner.
	Forward PartitionKind = iota
	// Hash sends each row to the subtask owning its key's key group.
	Hash
	// Broadcast sends everything to every consumer.
	Broadcast
	// Rebalance spreads batches round-robin.
	Rebalance
	// Global sends everything to consumer 0 (a parallelism-1 operator).
	Global
)

func (k PartitionKind) String() string {
	return [...]string{"FORWARD", "HASH", "BROADCAST", "REBALANCE", "GLOBAL"}[k]
}

// Partitioning describes an edge's distribution.
type Partitioning struct {
	Kind PartitionKind
	// Keys are the column indexes hashed by a Hash edge.
	Keys []int
}

func (p Partitioning) String() string {
	if p.Kind == Hash {
		return fmt.Sprintf("HASH%v", p.Keys)
	}
	return p.Kind.String()
}

// edgeWriter writes one producer subtask's output into one edge's channels.
type edgeWriter struct {
	part    Partitioning
	chans   []*Channel // one per consumer subtask (Forward: just one)
	maxPar  int
	rr      int
	hashes  []uint64
	targets [][]int32
}

func (w *edgeWriter) write(ctx context.Context, b batch.Batch) error {
	switch w.part.Kind {
	case Forward, Global:
		return w.chans[0].Push(ctx, DataElement(b))
	case Rebalance:
		w.rr = (w.rr + 1) % len(w.chans)
		return w.chans[w.rr].Push(ctx, DataElement(b))
	case Broadcast:
		for _, c := range w.chans {
			if err := c.Push(ctx, DataElement(b)); err != nil {
				return err
			}
		}
		return nil
	case Hash:
		return w.writeHash(ctx, b)
	}
	return fmt.Errorf("unknown partitioning %v", w.part.Kind)
}

func (w *edgeWriter) writeHash(ctx context.Context, b batch.Batch) error {
	n := b.Len()
	p := len(w.chans)
	if p == 1 {
		return w.chans[0].Push(ctx, DataElement(b))
	}
	if cap(w.hashes) < n {
		w.hashes = make([]uint64, n)
	}
	hashes := w.hashes[:n]
	keys := make([]arrow.Array, len(w.part.Keys))
	for i, k := range w.part.Keys {
		keys[i] = b.Rec.Column(k)
	}
	batch.HashColumns(keys, hashes)
	if w.targets == nil {
		w.targets = make([][]int32, p)
	}
	for t := range w.targets {
		w.targets[t] = w.targets[t][:0]
	}
	for i, h := range hashes {
		t := SubtaskForKeyGroup(KeyGroupOf(h, w.maxPar), w.maxPar, p)
		w.targets[t] = append(w.targets[t], int32(i))
	}
	for t, idx := range w.targets {
		if len(idx) == 0 {
			continue
		}
		part := b
		if len(idx) != n {
			part = batch.TakeBatch(b, idx)
		}
		if err := w.chans[t].Push(ctx, DataElement(part)); err != nil {
			return err
		}
	}
	return nil
}

// broadcastControl sends a control element to every channel of the edge.
func (w *edgeWriter) broadcastControl(ctx context.Context, e Element) error {
	for _, c := range w.chans {
		if err := c.Push(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// Output is a task's writer: it fans a chain's output out to every outgoing
// edge (a source shared by several INSERTs has several).
type Output struct {
	ctx   context.Context
	edges []*edgeWriter
}

// Collect implements Collector.
func (o *Output) Collect(b batch.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	// Batches are immutable once emitted and garbage collected (all memory
	// comes from the Go allocator), so one batch may go to several edges.
	for _, e := range o.edges {
		if err := e.write(o.ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// EmitWatermark implements Collector: watermarks go to every channel.
func (o *Output) EmitWatermark(wm int64) error {
	return o.Broadcast(WatermarkElement(wm))
}

// Broadcast sends a control element (watermark, barrier, end) downstream.
func (o *Output) Broadcast(e Element) error {
	for _, w := range o.edges {
		if err := w.broadcastControl(o.ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// Available reports whether every output channel has room; if not, wait
// is signalled when the first full one gets some.
func (o *Output) Available() (ok bool, wait <-chan struct{}) {
	for _, w := range o.edges {
		for _, c := range w.chans {
			if c.Full() {
				return false, c.Space()
			}
		}
	}
	return true, nil
}

// BroadcastPriority sends e ahead of queued data on every channel
// (unaligned barriers).
// PrioritizeBarrier moves barrier id ahead of the data still queued before
// it in every output channel (Channel.PrioritizeBarrier).
func (o *Output) PrioritizeBarrier(id int64) {
	for _, w := range o.edges {
		for _, c := range w.chans {
			c.PrioritizeBarrier(id)
		}
	}
}

func (o *Output) BroadcastPriority(e Element) {
	for _, w := range o.edges {
		for _, c := range w.chans {
			c.PushPriority(e)
		}
	}
}
