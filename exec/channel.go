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

// Push appends e, blocking while the channel is full of data. It returns
// ctx.Err() if ctx ends first.
func (c *Channel) Push(ctx context.Context, e Element) error {
	for {
		c.mu.Lock()
		if e.Kind != Data || c.data < c.capacity {
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
		c.mu.Unlock()
		select {
		case <-c.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// PushPriority puts e at the head of the queue, ahead of queued data.
func (c *Channel) PushPriority(e Element) {
	c.mu.Lock()
	if c.n == len(c.buf) {
		c.grow()
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
