package state

import (
	"encoding/binary"
	"slices"
	"strings"
)

// hmState is one named state; the kind-specific types below are views of it.
type hmState struct {
	h      *HashMap
	name   string
	kind   Kind
	spaces map[string]*hmSpace // by namespace
}

type hmSpace struct {
	entries map[string]*hmEntry // by 2-byte key group + key
}

// hmEntry is one value, map or list; ts is the last write (TTL).
type hmEntry struct {
	val  []byte
	ts   int64
	m    map[string]*hmEntry
	list [][]byte
}

func (s *hmState) Name() string { return s.name }

func (s *hmState) space(ns []byte, create bool) *hmSpace {
	sp := s.spaces[string(ns)]
	if sp == nil && create {
		sp = &hmSpace{entries: map[string]*hmEntry{}}
		s.spaces[string(ns)] = sp
	}
	return sp
}

// entry finds the entry of (kg, key, ns), dropping it if it expired.
func (s *hmState) entry(kg int, key, ns []byte) (*hmSpace, *hmEntry) {
	sp := s.spaces[string(ns)]
	if sp == nil {
		return nil, nil
	}
	k := s.h.lookupKey(kg, key)
	e := sp.entries[string(k)]
	if e == nil {
		return sp, nil
	}
	if s.kind != KindMap && s.h.clock.Expired(e.ts) {
		s.remove(sp, ns, k)
		return sp, nil
	}
	return sp, e
}

func (s *hmState) remove(sp *hmSpace, ns, k []byte) {
	delete(sp.entries, string(k))
	if len(sp.entries) == 0 {
		delete(s.spaces, string(ns))
	}
}

// put returns the entry of (kg, key, ns), creating it.
func (s *hmState) put(kg int, key, ns []byte) *hmEntry {
	sp := s.space(ns, true)
	k := s.h.lookupKey(kg, key)
	e := sp.entries[string(k)]
	if e == nil {
		e = &hmEntry{}
		sp.entries[string(k)] = e
	}
	return e
}

func (s *hmState) live(e *hmEntry, deadline int64) bool {
	if s.kind != KindMap {
		return !s.h.clock.Enabled() || e.ts >= deadline
	}
	for _, ue := range e.m {
		if !s.h.clock.Enabled() || ue.ts >= deadline {
			return true
		}
	}
	return false
}

func (s *hmState) Keys(ns []byte, fn func(kg int, key []byte) error) error {
	if err := CheckNamespace(ns); err != nil {
		return err
	}
	sp := s.spaces[string(ns)]
	if sp == nil {
		return nil
	}
	deadline := s.h.clock.Deadline()
	keys := make([]string, 0, len(sp.entries))
	for k, e := range sp.entries {
		if s.live(e, deadline) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareCompositeKeys)
	var buf []byte
	for _, k := range keys {
		buf = append(buf[:0], k[2:]...)
		if err := fn(int(binary.BigEndian.Uint16([]byte(k[:2]))), buf); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

// compareCompositeKeys orders 2-byte-key-group-prefixed keys as CompareKeys.
func compareCompositeKeys(a, b string) int {
	if c := strings.Compare(a[:2], b[:2]); c != 0 {
		return c
	}
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func compareNamespaceStrings(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func (s *hmState) Namespaces(fn func(ns []byte) error) error {
	deadline := s.h.clock.Deadline()
	names := make([]string, 0, len(s.spaces))
	for ns, sp := range s.spaces {
		for _, e := range sp.entries {
			if s.live(e, deadline) {
				names = append(names, ns)
				break
			}
		}
	}
	slices.SortFunc(names, compareNamespaceStrings)
	var buf []byte
	for _, ns := range names {
		buf = append(buf[:0], ns...)
		if err := fn(buf); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

func (s *hmState) ClearNamespace(ns []byte) error {
	if err := CheckNamespace(ns); err != nil {
		return err
	}
	delete(s.spaces, string(ns))
	return nil
}

func (s *hmState) clear(kg int, key, ns []byte) error {
	if err := s.h.check(kg, key, ns); err != nil {
		return err
	}
	if sp := s.spaces[string(ns)]; sp != nil {
		s.remove(sp, ns, s.h.lookupKey(kg, key))
	}
	return nil
}

func stopOK(err error) error {
	if err == Stop {
		return nil
	}
	return err
}

// setBytes copies v into dst, reusing dst's memory when it fits: the
// read-modify-write of an accumulator then allocates nothing.
func setBytes(dst, v []byte) []byte {
	if cap(dst) >= len(v) {
		dst = dst[:len(v)]
		copy(dst, v)
		return dst
	}
	return append([]byte(nil), v...)
}

type hmValue hmState

func (v *hmValue) s() *hmState { return (*hmState)(v) }

func (v *hmValue) Name() string { return v.name }
func (v *hmValue) Keys(ns []byte, fn func(int, []byte) error) error {
	return v.s().Keys(ns, fn)
}
func (v *hmValue) Namespaces(fn func([]byte) error) error { return v.s().Namespaces(fn) }
func (v *hmValue) ClearNamespace(ns []byte) error         { return v.s().ClearNamespace(ns) }

func (v *hmValue) Get(kg int, key, ns []byte) ([]byte, bool, error) {
	if err := v.h.check(kg, key, ns); err != nil {
		return nil, false, err
	}
	_, e := v.s().entry(kg, key, ns)
	if e == nil {
		return nil, false, nil
	}
	return e.val, true, nil
}

func (v *hmValue) Put(kg int, key, ns, value []byte) error {
	if err := v.h.check(kg, key, ns); err != nil {
		return err
	}
	e := v.s().put(kg, key, ns)
	e.val = setBytes(e.val, value)
	e.ts = v.h.clock.Stamp()
	return nil
}

func (v *hmValue) Delete(kg int, key, ns []byte) error { return v.s().clear(kg, key, ns) }

// Entries implements ValueState; values are copied first, so fn may write.
func (v *hmValue) Entries(ns []byte, fn func(kg int, key, value []byte) error) error {
	if err := CheckNamespace(ns); err != nil {
		return err
	}
	sp := v.spaces[string(ns)]
	if sp == nil {
		return nil
	}
	deadline := v.h.clock.Deadline()
	type kv struct {
		k string
		v []byte
	}
	var arena []byte
	ents := make([]kv, 0, len(sp.entries))
	for k, e := range sp.entries {
		if v.s().live(e, deadline) {
			arena = append(arena, e.val...)
			ents = append(ents, kv{k: k, v: arena[len(arena)-len(e.val):]})
		}
	}
	slices.SortFunc(ents, func(a, b kv) int { return compareCompositeKeys(a.k, b.k) })
	var buf []byte
	for _, e := range ents {
		buf = append(buf[:0], e.k[2:]...)
		if err := fn(int(binary.BigEndian.Uint16([]byte(e.k[:2]))), buf, e.v[:len(e.v):len(e.v)]); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

type hmMap hmState

func (m *hmMap) s() *hmState { return (*hmState)(m) }

func (m *hmMap) Name() string { return m.name }
func (m *hmMap) Keys(ns []byte, fn func(int, []byte) error) error {
	return m.s().Keys(ns, fn)
}
func (m *hmMap) Namespaces(fn func([]byte) error) error { return m.s().Namespaces(fn) }
func (m *hmMap) ClearNamespace(ns []byte) error         { return m.s().ClearNamespace(ns) }

func (m *hmMap) Get(kg int, key, ns, userKey []byte) ([]byte, bool, error) {
	if err := m.h.check(kg, key, ns); err != nil {
		return nil, false, err
	}
	sp, e := m.s().entry(kg, key, ns)
	if e == nil {
		return nil, false, nil
	}
	ue := e.m[string(userKey)]
	if ue == nil {
		return nil, false, nil
	}
	if m.h.clock.Expired(ue.ts) {
		delete(e.m, string(userKey))
		if len(e.m) == 0 {
			m.s().remove(sp, ns, m.h.lookupKey(kg, key))
		}
		return nil, false, nil
	}
	return ue.val, true, nil
}

func (m *hmMap) Put(kg int, key, ns, userKey, value []byte) error {
	if err := m.h.check(kg, key, ns); err != nil {
		return err
	}
	e := m.s().put(kg, key, ns)
	if e.m == nil {
		e.m = map[string]*hmEntry{}
	}
	ue := e.m[string(userKey)]
	if ue == nil {
		ue = &hmEntry{}
		e.m[string(userKey)] = ue
	}
	ue.val = setBytes(ue.val, value)
	ue.ts = m.h.clock.Stamp()
	return nil
}

func (m *hmMap) Delete(kg int, key, ns, userKey []byte) error {
	if err := m.h.check(kg, key, ns); err != nil {
		return err
	}
	sp, e := m.s().entry(kg, key, ns)
	if e == nil {
		return nil
	}
	delete(e.m, string(userKey))
	if len(e.m) == 0 {
		m.s().remove(sp, ns, m.h.lookupKey(kg, key))
	}
	return nil
}

func (m *hmMap) Iterate(kg int, key, ns []byte, fn func(userKey, value []byte) error) error {
	if err := m.h.check(kg, key, ns); err != nil {
		return err
	}
	_, e := m.s().entry(kg, key, ns)
	if e == nil {
		return nil
	}
	deadline := m.h.clock.Deadline()
	type kv struct {
		k string
		v []byte
	}
	items := make([]kv, 0, len(e.m))
	for uk, ue := range e.m {
		if !m.h.clock.Enabled() || ue.ts >= deadline {
			items = append(items, kv{uk, ue.val})
		}
	}
	slices.SortFunc(items, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	var kbuf, vbuf []byte
	for _, it := range items {
		kbuf = append(kbuf[:0], it.k...)
		vbuf = append(vbuf[:0], it.v...)
		if err := fn(kbuf, vbuf); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

func (m *hmMap) Clear(kg int, key, ns []byte) error { return m.s().clear(kg, key, ns) }

type hmList hmState

func (l *hmList) s() *hmState { return (*hmState)(l) }

func (l *hmList) Name() string { return l.name }
func (l *hmList) Keys(ns []byte, fn func(int, []byte) error) error {
	return l.s().Keys(ns, fn)
}
func (l *hmList) Namespaces(fn func([]byte) error) error { return l.s().Namespaces(fn) }
func (l *hmList) ClearNamespace(ns []byte) error         { return l.s().ClearNamespace(ns) }

func (l *hmList) Add(kg int, key, ns, value []byte) error {
	if err := l.h.check(kg, key, ns); err != nil {
		return err
	}
	_, e := l.s().entry(kg, key, ns) // drops an expired list first
	if e == nil {
		e = l.s().put(kg, key, ns)
	}
	e.list = append(e.list, append([]byte(nil), value...))
	e.ts = l.h.clock.Stamp()
	return nil
}

func (l *hmList) Get(kg int, key, ns []byte, fn func(value []byte) error) error {
	if err := l.h.check(kg, key, ns); err != nil {
		return err
	}
	_, e := l.s().entry(kg, key, ns)
	if e == nil {
		return nil
	}
	// Iterate a copy of the slice header: fn may Add to this very list.
	for _, v := range slices.Clip(e.list) {
		if err := fn(v); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

func (l *hmList) Clear(kg int, key, ns []byte) error { return l.s().clear(kg, key, ns) }
