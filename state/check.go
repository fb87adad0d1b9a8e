package state

import (
	"fmt"
	"time"
)

// CheckScope validates the parts of an entry's scope against the layout
// limits and the owned key-group range. Backends call it on every access:
// an out-of-range key group means the caller routed a key to the wrong
// subtask, which must not pass silently.
func CheckScope(kg, start, end int, key, ns []byte) error {
	if kg < start || kg >= end {
		return fmt.Errorf("state: key group %d outside the owned range [%d, %d)", kg, start, end)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("state: key of %d bytes exceeds %d", len(key), MaxKeyLen)
	}
	if len(ns) > MaxNamespaceLen {
		return fmt.Errorf("state: namespace of %d bytes exceeds %d", len(ns), MaxNamespaceLen)
	}
	return nil
}

// CheckNamespace validates a namespace passed to an iteration.
func CheckNamespace(ns []byte) error {
	if len(ns) > MaxNamespaceLen {
		return fmt.Errorf("state: namespace of %d bytes exceeds %d", len(ns), MaxNamespaceLen)
	}
	return nil
}

// CheckOptions validates backend options.
func CheckOptions(o Options) error {
	if o.KeyGroupStart < 0 || o.KeyGroupEnd > MaxKeyGroups || o.KeyGroupStart >= o.KeyGroupEnd {
		return fmt.Errorf("state: invalid key-group range [%d, %d)", o.KeyGroupStart, o.KeyGroupEnd)
	}
	if o.TTL < 0 {
		return fmt.Errorf("state: negative TTL %v", o.TTL)
	}
	return nil
}

// TTLClock turns Options' TTL and clock into write stamps and expiry checks,
// in milliseconds of processing time.
type TTLClock struct {
	ttlMillis int64
	now       func() time.Time
}

// NewTTLClock builds the clock; with TTL 0 it never reads the time.
func NewTTLClock(o Options) TTLClock {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return TTLClock{ttlMillis: o.TTL.Milliseconds(), now: now}
}

// Enabled reports whether TTL is on.
func (c TTLClock) Enabled() bool { return c.ttlMillis > 0 }

// Stamp returns the write time to store with an entry (0 when TTL is off).
func (c TTLClock) Stamp() int64 {
	if c.ttlMillis <= 0 {
		return 0
	}
	return c.now().UnixMilli()
}

// Expired reports whether an entry written at stamp has outlived the TTL.
func (c TTLClock) Expired(stamp int64) bool {
	return c.ttlMillis > 0 && c.now().UnixMilli()-stamp > c.ttlMillis
}

// Deadline returns the oldest live stamp: entries stamped before it are
// expired. Bulk scans use it to read the clock once.
func (c TTLClock) Deadline() int64 {
	if c.ttlMillis <= 0 {
		return 0
	}
	return c.now().UnixMilli() - c.ttlMillis
}
