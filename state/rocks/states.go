package rocks

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/streamsql/streamsql/state"
)

// base is what every kind of state shares: its id and the iterations over
// the pebble key space (which flush the cache first, so they see every
// write; writes made during an iteration go to the cache and do not
// disturb it).
type base struct {
	b    *Backend
	name string
	sid  byte
}

func (s *base) Name() string { return s.name }

func (s *base) key(kg int, key, ns []byte) ([]byte, error) {
	if s.b.db == nil {
		return nil, errClosed
	}
	if err := state.CheckScope(kg, s.b.opts.KeyGroupStart, s.b.opts.KeyGroupEnd, key, ns); err != nil {
		return nil, err
	}
	s.b.kbuf = appendEntryKey(s.b.kbuf[:0], s.sid, ns, kg, key)
	return s.b.kbuf, nil
}

// scan flushes and iterates every entry with the given prefix.
func (s *base) scan(prefix []byte, fn func(k, v []byte) error) error {
	if err := s.b.Flush(); err != nil {
		return err
	}
	it, err := s.b.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return fmt.Errorf("rocks: iterate %s: %w", s.name, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			_ = it.Close()
			if errors.Is(err, state.Stop) {
				return nil
			}
			return err
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("rocks: iterate %s: %w", s.name, err)
	}
	return nil
}

func (s *base) live(v []byte, deadline int64) (bool, error) {
	if !s.b.clock.Enabled() {
		return true, nil
	}
	ts, _, err := splitValue(v, true)
	return err == nil && ts >= deadline, err
}

func (s *base) Keys(ns []byte, fn func(kg int, key []byte) error) error {
	if err := state.CheckNamespace(ns); err != nil {
		return err
	}
	deadline := s.b.clock.Deadline()
	var last []byte // the last key yielded: map entries repeat their key
	lastKG := -1
	return s.scan(appendPrefix(nil, s.sid, ns), func(k, v []byte) error {
		p, err := parseKey(k)
		if err != nil {
			return err
		}
		if p.kg == lastKG && bytes.Equal(p.key, last) {
			return nil
		}
		if ok, err := s.live(v, deadline); err != nil || !ok {
			return err
		}
		last, lastKG = append(last[:0], p.key...), p.kg
		return fn(p.kg, last)
	})
}

func (s *base) Namespaces(fn func(ns []byte) error) error {
	if err := s.b.Flush(); err != nil {
		return err
	}
	deadline := s.b.clock.Deadline()
	lower := []byte{s.sid}
	it, err := s.b.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return fmt.Errorf("rocks: iterate %s: %w", s.name, err)
	}
	var ns, seek []byte
	for ok := it.First(); ok; {
		p, err := parseKey(it.Key())
		if err == nil {
			var live bool
			live, err = s.live(it.Value(), deadline)
			if err == nil && !live {
				ok = it.Next()
				continue
			}
		}
		if err == nil {
			ns = append(ns[:0], p.ns...)
			err = fn(ns)
		}
		if err != nil {
			_ = it.Close()
			if errors.Is(err, state.Stop) {
				return nil
			}
			return err
		}
		seek = prefixEnd(appendPrefix(seek[:0], s.sid, ns))
		ok = it.SeekGE(seek)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("rocks: iterate %s: %w", s.name, err)
	}
	return nil
}

func (s *base) deleteRange(prefix []byte) error {
	if err := s.b.Flush(); err != nil {
		return err
	}
	s.b.dropCache()
	if err := s.b.db.DeleteRange(prefix, prefixEnd(prefix), pebble.NoSync); err != nil {
		return fmt.Errorf("rocks: clear %s: %w", s.name, err)
	}
	return nil
}

// ClearNamespace drops the namespace's cache entries and, if pebble may
// hold some of its entries, deletes their range with the next flush:
// unlike deleteRange, it neither writes the other dirty entries nor drops
// the cache (a firing window must not evict the open ones).
func (s *base) ClearNamespace(ns []byte) error {
	if err := state.CheckNamespace(ns); err != nil {
		return err
	}
	if s.b.db == nil {
		return errClosed
	}
	return s.b.clearPrefix(appendPrefix(nil, s.sid, ns))
}

type valueState struct{ base }

func (s *valueState) Get(kg int, key, ns []byte) ([]byte, bool, error) {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return nil, false, err
	}
	c, err := s.b.load(k)
	if err != nil || !c.present {
		return nil, false, err
	}
	return c.val, true, nil
}

func (s *valueState) Put(kg int, key, ns, value []byte) error {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return err
	}
	return s.b.set(k, value)
}

func (s *valueState) Delete(kg int, key, ns []byte) error {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return err
	}
	return s.b.del(k)
}

type mapState struct{ base }

func (s *mapState) userKey(kg int, key, ns, userKey []byte) ([]byte, error) {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return nil, err
	}
	s.b.kbuf = append(k, userKey...)
	return s.b.kbuf, nil
}

func (s *mapState) Get(kg int, key, ns, userKey []byte) ([]byte, bool, error) {
	k, err := s.userKey(kg, key, ns, userKey)
	if err != nil {
		return nil, false, err
	}
	c, err := s.b.load(k)
	if err != nil || !c.present {
		return nil, false, err
	}
	return c.val, true, nil
}

func (s *mapState) Put(kg int, key, ns, userKey, value []byte) error {
	k, err := s.userKey(kg, key, ns, userKey)
	if err != nil {
		return err
	}
	return s.b.set(k, value)
}

func (s *mapState) Delete(kg int, key, ns, userKey []byte) error {
	k, err := s.userKey(kg, key, ns, userKey)
	if err != nil {
		return err
	}
	return s.b.del(k)
}

func (s *mapState) Iterate(kg int, key, ns []byte, fn func(userKey, value []byte) error) error {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return err
	}
	prefix := append([]byte(nil), k...)
	deadline := s.b.clock.Deadline()
	ttl := s.b.clock.Enabled()
	return s.scan(prefix, func(k, v []byte) error {
		ts, payload, err := splitValue(v, ttl)
		if err != nil {
			return err
		}
		if ttl && ts < deadline {
			return nil
		}
		return fn(k[len(prefix):], payload)
	})
}

func (s *mapState) Clear(kg int, key, ns []byte) error {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return err
	}
	return s.deleteRange(append([]byte(nil), k...))
}

type listState struct{ base }

func (s *listState) Add(kg int, key, ns, value []byte) error {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return err
	}
	c, err := s.b.load(k)
	if err != nil {
		return err
	}
	if !c.present {
		c.val = c.val[:0]
	}
	c.val = binary.AppendUvarint(c.val, uint64(len(value)))
	c.val = append(c.val, value...)
	c.ts = s.b.clock.Stamp()
	c.present, c.dirty = true, true
	return nil
}

func (s *listState) Get(kg int, key, ns []byte, fn func(value []byte) error) error {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return err
	}
	c, err := s.b.load(k)
	if err != nil || !c.present {
		return err
	}
	// Walk a copy of the slice header: fn may Add to this very list.
	for rest := c.val; len(rest) > 0; {
		n, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) < n {
			return fmt.Errorf("rocks: corrupt list in %s", s.name)
		}
		if err := fn(rest[w : w+int(n)]); err != nil {
			if errors.Is(err, state.Stop) {
				return nil
			}
			return err
		}
		rest = rest[w+int(n):]
	}
	return nil
}

func (s *listState) Clear(kg int, key, ns []byte) error {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return err
	}
	return s.b.del(k)
}

// Entries implements state.ValueState: the namespace's cached entries,
// merged with those pebble holds (read only when it may hold some the
// cache does not), without flushing. Every entry is copied before fn is
// first called, so fn may write to the backend.
func (s *valueState) Entries(ns []byte, fn func(kg int, key, value []byte) error) error {
	if err := state.CheckNamespace(ns); err != nil {
		return err
	}
	b := s.b
	if b.db == nil {
		return errClosed
	}
	prefix := appendPrefix(nil, s.sid, ns)
	info := b.ns[string(prefix)]
	if info == nil {
		if !b.restored {
			return nil // nothing cached, nothing flushed
		}
		var err error
		if info, err = b.nsOf(prefix); err != nil {
			return err
		}
	}
	type span struct{ k, v, kEnd, vEnd int }
	var arena []byte
	var cached []span
	for _, k := range info.keys {
		c := b.cache[k]
		if c == nil || !c.present || b.clock.Expired(c.ts) {
			continue
		}
		e := span{k: len(arena)}
		arena = append(arena, k...)
		e.kEnd, e.v = len(arena), len(arena)
		arena = append(arena, c.val...)
		e.vEnd = len(arena)
		cached = append(cached, e)
	}
	key := func(e span) []byte { return arena[e.k:e.kEnd] }
	slices.SortFunc(cached, func(x, y span) int { return bytes.Compare(key(x), key(y)) })
	var stored []span
	if info.partial || len(info.flushed) > 0 {
		it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return fmt.Errorf("rocks: iterate %s: %w", s.name, err)
		}
		deadline, ttl := b.clock.Deadline(), b.clock.Enabled()
		for ok := it.First(); ok; ok = it.Next() {
			if _, hit := b.cache[string(it.Key())]; hit {
				continue // the cache holds the newer state (maybe a deletion)
			}
			ts, payload, err := splitValue(it.Value(), ttl)
			if err != nil {
				_ = it.Close()
				return err
			}
			if ttl && ts < deadline {
				continue
			}
			e := span{k: len(arena)}
			arena = append(arena, it.Key()...)
			e.kEnd, e.v = len(arena), len(arena)
			arena = append(arena, payload...)
			e.vEnd = len(arena)
			stored = append(stored, e)
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("rocks: iterate %s: %w", s.name, err)
		}
	}
	yield := func(e span) error {
		p, err := parseKey(arena[e.k:e.kEnd])
		if err != nil {
			return err
		}
		return fn(p.kg, p.key, arena[e.v:e.vEnd:e.vEnd])
	}
	// Merge: both runs are sorted and disjoint.
	i, j := 0, 0
	for i < len(cached) || j < len(stored) {
		var e span
		if j == len(stored) || (i < len(cached) && bytes.Compare(key(cached[i]), key(stored[j])) < 0) {
			e, i = cached[i], i+1
		} else {
			e, j = stored[j], j+1
		}
		if err := yield(e); err != nil {
			if errors.Is(err, state.Stop) {
				return nil
			}
			return err
		}
	}
	return nil
}
