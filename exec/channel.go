package exec

import (
	"context"
	"sync"
)

// DefaultChannelCapacity is how many data elements a channel buffers before
// its producer blocks (backpressure). Batches are a few thousand rows, so a
// full channel holds tens of thousands of rows at most.
const DefaultChannelCapacity = 8

// Channel is a bounded FIFO from one producer subtask to one consumer
// subtask. Data elements count against the capacity; control elements
// (watermarks, barriers, end-of-input) never block, so a barrier can always
// be sent. A priority push puts an element at the head, overtaking queued
// data (unaligned checkpoints).
type Channel struct {
	mu       sync.Mutex
	buf      []Element // ring buffer
	head     int
	n        int
	data     int // data elements queued
	capacity int

	// space wakes a producer blocked on a full channel.
	space chan struct{}
	// gate is the consumer; it is notified after every push.
	gate *Gate
}

// NewChannel returns an empty channel with the given data capacity.
func NewChannel(capacity int) *Channel {
	if capacity <= 0 {
		capacity = DefaultChannelCapacity
	}
	return &Channel{buf: make([]Element, capacity+4), capacity: capacity, space: make(chan struct{}, 1)}
}

func (c *Channel) grow() {
	nb := make([]Element, len(c.buf)*2)
	for i := 0; i < c.n; i++ {
		nb[i] = c.buf[(c.head+i)%len(c.buf)]
	}
	c.buf = nb
	c.head = 0
}

// Push appends e. It never blocks: a producer checks Full (through
// Output.Available) before it starts its next step and waits there, so a
// task is never stuck in the middle of a batch and can always take a
// checkpoint barrier. One step may overdraw the capacity by its output.
func (c *Channel) Push(ctx context.Context, e Element) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.n == len(c.buf) {
		c.grow()
	}
	c.buf[(c.head+c.n)%len(c.buf)] = e
	c.n++
	if e.Kind == Data {
		c.data++
	}
	c.mu.Unlock()
	c.gate.signal()
	return nil
}

// Full reports whether the queued data reached the capacity.
func (c *Channel) Full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.data >= c.capacity
}

// Space is signalled when a pop takes a full channel below its capacity.
func (c *Channel) Space() <-chan struct{} { return c.space }

// PushPriority puts e at the head of the queue, ahead of queued data. A
// barrier records how many data elements it overtook
// (BarrierInfo.Overtaken): they are in-flight data of an unaligned
// checkpoint, which the consumer persists.
func (c *Channel) PushPriority(e Element) {
	c.mu.Lock()
	if c.n == len(c.buf) {
		c.grow()
	}
	if e.Kind == Barrier {
		e.Barrier.Overtaken = c.data
	}
	c.head = (c.head - 1 + len(c.buf)) % len(c.buf)
	c.buf[c.head] = e
	c.n++
	if e.Kind == Data {
		c.data++
	}
	c.mu.Unlock()
	c.gate.signal()
}

// PrioritizeBarrier moves barrier id, if it is still queued behind data,
// to the head of the queue as if it had been pushed with PushPriority: it
// then overtakes that data (added to its Overtaken count). The producer
// does this when the checkpoint's alignment timeout passes while its
// aligned barrier waits in a backpressured queue. A barrier of an earlier
// checkpoint ahead of it keeps it where it is.
func (c *Channel) PrioritizeBarrier(id int64) bool {
	c.mu.Lock()
	pos, ahead := -1, 0
	for i := 0; i < c.n; i++ {
		e := c.buf[(c.head+i)%len(c.buf)]
		if e.Kind == Barrier {
			if e.Barrier.ID == id {
				pos = i
			}
			break
		}
		if e.Kind == Data {
			ahead++
		}
	}
	if pos <= 0 {
		c.mu.Unlock()
		return pos == 0
	}
	b := c.buf[(c.head+pos)%len(c.buf)]
	b.Barrier.Overtaken += ahead
	for i := pos; i > 0; i-- {
		c.buf[(c.head+i)%len(c.buf)] = c.buf[(c.head+i-1)%len(c.buf)]
	}
	c.buf[c.head] = b
	c.mu.Unlock()
	c.gate.signal()
	return true
}

// PeekData returns the first k data elements in the queue, head first,
// leaving them queued.
func (c *Channel) PeekData(k int) []Element {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Element
	for i := 0; i < c.n && len(out) < k; i++ {
		if e := c.buf[(c.head+i)%len(c.buf)]; e.Kind == Data {
			out = append(out, e)
		}
	}
	return out
}

// OvertakeBarrier looks for barrier id in the queue. If it is there it is
// removed, and the data queued ahead of it plus the data it had itself
// overtaken are returned (the channel's in-flight data for an unaligned
// checkpoint); that data stays queued, to be processed after the snapshot.
func (c *Channel) OvertakeBarrier(id int64) (inflight []Element, found bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pos := -1
	for i := 0; i < c.n; i++ {
		e := c.buf[(c.head+i)%len(c.buf)]
		if e.Kind == Barrier && e.Barrier.ID == id {
			pos = i
			break
		}
		if e.Kind == Data {
			inflight = append(inflight, e)
		}
	}
	if pos < 0 {
		return nil, false
	}
	overtaken := c.buf[(c.head+pos)%len(c.buf)].Barrier.Overtaken
	for i := pos; i < c.n-1; i++ {
		c.buf[(c.head+i)%len(c.buf)] = c.buf[(c.head+i+1)%len(c.buf)]
	}
	c.buf[(c.head+c.n-1)%len(c.buf)] = Element{}
	c.n--
	for i := pos; i < c.n && overtaken > 0; i++ {
		if e := c.buf[(c.head+i)%len(c.buf)]; e.Kind == Data {
			inflight = append(inflight, e)
			overtaken--
		}
	}
	return inflight, true
}

// popBarrier removes the head element only if it is a barrier (a task
// whose output is full still takes barriers that overtook data).
func (c *Channel) popBarrier() (Element, bool) {
	c.mu.Lock()
	if c.n == 0 || c.buf[c.head].Kind != Barrier {
		c.mu.Unlock()
		return Element{}, false
	}
	c.mu.Unlock()
	return c.pop()
}

// pop removes the head element; ok is false when the channel is empty.
func (c *Channel) pop() (Element, bool) {
	c.mu.Lock()
	if c.n == 0 {
		c.mu.Unlock()
		return Element{}, false
	}
	e := c.buf[c.head]
	c.buf[c.head] = Element{}
	c.head = (c.head + 1) % len(c.buf)
	c.n--
	wasFull := false
	if e.Kind == Data {
		wasFull = c.data >= c.capacity
		c.data--
	}
	c.mu.Unlock()
	if wasFull {
		select {
		case c.space <- struct{}{}:
		default:
		}
	}
	return e, true
}

// Queued returns a copy of the queued elements, head first (for persisting
// in-flight data as channel state).
func (c *Channel) Queued() []Element {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Element, c.n)
	for i := range out {
		out[i] = c.buf[(c.head+i)%len(c.buf)]
	}
	return out
}

// Len is the number of queued elements.
func (c *Channel) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
