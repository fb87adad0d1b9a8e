package state

import (
	"encoding/binary"
	"fmt"
	"log/slog"
)

// HashMap is the in-memory backend: Go maps keyed by string(key bytes), one
// map per state and namespace, so a window's entries are found without
// scanning other windows. Snapshots serialize everything into one sorted
// binary file (a copy-on-write view, so the task need not wait for the
// write, is a later optimization).
type HashMap struct {
	opts     Options
	clock    TTLClock
	log      *slog.Logger
	states   map[string]*hmState
	kbuf     []byte // scratch for composite lookup keys
	restored bool
}

// NewHashMap creates an empty in-memory backend.
func NewHashMap(opts Options) (*HashMap, error) {
	if err := CheckOptions(opts); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &HashMap{opts: opts, clock: NewTTLClock(opts), log: log, states: map[string]*hmState{}}, nil
}

// KeyGroupRange implements Backend.
func (h *HashMap) KeyGroupRange() (int, int) { return h.opts.KeyGroupStart, h.opts.KeyGroupEnd }

// Flush implements Backend; memory needs no flushing.
func (h *HashMap) Flush() error { return nil }

// Close implements Backend.
func (h *HashMap) Close() error {
	h.states = nil
	return nil
}

func (h *HashMap) state(name string, kind Kind) (*hmState, error) {
	if h.states == nil {
		return nil, fmt.Errorf("state: backend is closed")
	}
	if s, ok := h.states[name]; ok {
		if s.kind != kind {
			return nil, fmt.Errorf("state: %q is a %s state, not a %s state", name, s.kind, kind)
		}
		return s, nil
	}
	s := &hmState{h: h, name: name, kind: kind, spaces: map[string]*hmSpace{}}
	h.states[name] = s
	return s, nil
}

// ValueState implements Backend.
func (h *HashMap) ValueState(name string) (ValueState, error) {
	s, err := h.state(name, KindValue)
	if err != nil {
		return nil, err
	}
	return (*hmValue)(s), nil
}

// MapState implements Backend.
func (h *HashMap) MapState(name string) (MapState, error) {
	s, err := h.state(name, KindMap)
	if err != nil {
		return nil, err
	}
	return (*hmMap)(s), nil
}

// ListState implements Backend.
func (h *HashMap) ListState(name string) (ListState, error) {
	s, err := h.state(name, KindList)
	if err != nil {
		return nil, err
	}
	return (*hmList)(s), nil
}

// CleanupExpired implements Backend.
func (h *HashMap) CleanupExpired() error {
	if !h.clock.Enabled() {
		return nil
	}
	deadline := h.clock.Deadline()
	removed := 0
	for _, s := range h.states {
		for ns, sp := range s.spaces {
			for k, e := range sp.entries {
				if s.kind == KindMap {
					for uk, ue := range e.m {
						if ue.ts < deadline {
							delete(e.m, uk)
							removed++
						}
					}
					if len(e.m) > 0 {
						continue
					}
				} else if e.ts >= deadline {
					continue
				}
				delete(sp.entries, k)
				removed++
			}
			if len(sp.entries) == 0 {
				delete(s.spaces, ns)
			}
		}
	}
	h.log.Debug("state: expired entries removed", "backend", "hashmap", "removed", removed)
	return nil
}

// CleanupExpiredStep implements Backend: in memory a whole pass is cheap
// enough to do at once (and operators on this backend sweep their own
// objects), so every call is a whole pass.
func (h *HashMap) CleanupExpiredStep(int) (bool, error) {
	return true, h.CleanupExpired()
}

// lookupKey builds the composite map key: 2-byte key group, then the key.
// Lookups convert it to a string without allocating.
func (h *HashMap) lookupKey(kg int, key []byte) []byte {
	h.kbuf = binary.BigEndian.AppendUint16(h.kbuf[:0], uint16(kg))
	h.kbuf = append(h.kbuf, key...)
	return h.kbuf
}

func (h *HashMap) check(kg int, key, ns []byte) error {
	if h.states == nil {
		return fmt.Errorf("state: backend is closed")
	}
	return CheckScope(kg, h.opts.KeyGroupStart, h.opts.KeyGroupEnd, key, ns)
}
