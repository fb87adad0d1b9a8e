package exec

import (
	"context"
	"sync"
)

// Gate is a task's view of all its input channels plus its mailbox. The
// task's goroutine is the only reader.
type Gate struct {
	chans []*Channel
	// input says which logical input (0, or 1 for the right side of a join)
	// each channel belongs to.
	input   []int
	blocked []bool
	ended   []bool
	rr      int
	notify  chan struct{}
	mail    *Mailbox
}

// NewGate returns a gate with no channels yet.
func NewGate(mail *Mailbox) *Gate {
	return &Gate{notify: make(chan struct{}, 1), mail: mail}
}

// Add attaches ch as a channel of logical input `input` and returns its index.
func (g *Gate) Add(ch *Channel, input int) int {
	ch.gate = g
	g.chans = append(g.chans, ch)
	g.input = append(g.input, input)
	g.blocked = append(g.blocked, false)
	g.ended = append(g.ended, false)
	return len(g.chans) - 1
}

// NumChannels is the number of input channels.
func (g *Gate) NumChannels() int { return len(g.chans) }

// Input returns the logical input of channel i.
func (g *Gate) Input(i int) int { return g.input[i] }

// Channel returns channel i.
func (g *Gate) Channel(i int) *Channel { return g.chans[i] }

// Block stops delivering channel i's elements (barrier alignment).
func (g *Gate) Block(i int) { g.blocked[i] = true }

// Unblock resumes channel i.
func (g *Gate) Unblock(i int) { g.blocked[i] = false }

// UnblockAll resumes every channel.
func (g *Gate) UnblockAll() {
	for i := range g.blocked {
		g.blocked[i] = false
	}
}

// InputEnded reports whether every channel of logical input `input` has
// delivered its end-of-input.
func (g *Gate) InputEnded(input int) bool {
	for i, in := range g.input {
		if in == input && !g.ended[i] {
			return false
		}
	}
	return true
}

// Ended reports whether channel i has delivered its end-of-input.
func (g *Gate) Ended(i int) bool { return g.ended[i] }

// Blocked reports whether channel i is blocked.
func (g *Gate) Blocked(i int) bool { return g.blocked[i] }

func (g *Gate) signal() {
	select {
	case g.notify <- struct{}{}:
	default:
	}
}

// Next returns the next element and the index of its channel. It returns
// ch = -1 when mail is waiting (the caller runs the mailbox and calls Next
// again), ch = -2 when wake fires, and ctx.Err() when ctx ends. Channels
// are served round-robin so one busy input cannot starve another. With
// dataOK false (the task's output is full) only barriers at the head of a
// channel are taken: an unaligned barrier must get through backpressure.
func (g *Gate) Next(ctx context.Context, dataOK bool, wake <-chan struct{}) (ch int, e Element, err error) {
	for {
		if g.mail != nil && g.mail.Pending() {
			return -1, Element{}, nil
		}
		n := len(g.chans)
		for k := 0; k < n; k++ {
			i := (g.rr + k) % n
			if g.blocked[i] || g.ended[i] {
				continue
			}
			var ok bool
			if dataOK {
				e, ok = g.chans[i].pop()
			} else {
				e, ok = g.chans[i].popBarrier()
			}
			if ok {
				// Stay on a channel while it has data: batches from one
				// producer arrive in runs, and switching costs locality.
				g.rr = i
				if e.Kind == EndOfInput {
					g.ended[i] = true
					g.rr = (i + 1) % n
				}
				return i, e, nil
			}
		}
		g.rr = (g.rr + 1) % max(n, 1)
		var mailNotify <-chan struct{}
		if g.mail != nil {
			mailNotify = g.mail.notify
		}
		select {
		case <-g.notify:
		case <-mailNotify:
			// Re-arm for Pending(): the mail itself stays queued.
			return -1, Element{}, nil
		case <-wake:
			return -2, Element{}, nil
		case <-ctx.Done():
			return 0, Element{}, ctx.Err()
		}
	}
}

// Mailbox queues actions to run on a task's own goroutine (checkpoint
// triggers, completion notifications), so operator state is never touched
// from another goroutine.
type Mailbox struct {
	mu     sync.Mutex
	items  []func() error
	notify chan struct{}
}

// NewMailbox returns an empty mailbox.
func NewMailbox() *Mailbox { return &Mailbox{notify: make(chan struct{}, 1)} }

// Put queues fn.
func (m *Mailbox) Put(fn func() error) {
	m.mu.Lock()
	m.items = append(m.items, fn)
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// Pending reports whether actions are queued.
func (m *Mailbox) Pending() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items) > 0
}

// Run runs every queued action in order, stopping at the first error.
func (m *Mailbox) Run() error {
	for {
		m.mu.Lock()
		items := m.items
		m.items = nil
		m.mu.Unlock()
		if len(items) == 0 {
			return nil
		}
		for _, fn := range items {
			if err := fn(); err != nil {
				return err
			}
		}
	}
}

// Notify is signalled after each Put (for loops that wait on other things).
func (m *Mailbox) Notify() <-chan struct{} { return m.notify }
