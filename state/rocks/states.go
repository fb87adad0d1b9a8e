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
// a prefix, which merge the cache with pebble (see iter.go).
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

func (s *base) Keys(ns []byte, fn func(kg int, key []byte) error) error {
	if err := state.CheckNamespace(ns); err != nil {
		return err
	}
	if s.b.db == nil {
		return errClosed
	}
	var last []byte // the last key yielded: map entries repeat their key
	lastKG := -1
	return s.scanPrefix(appendPrefix(nil, s.sid, ns), false, func(k, _ []byte) error {
		p, err := parseKey(k)
		if err != nil {
			return err
		}
		if p.kg == lastKG && bytes.Equal(p.key, last) {
			return nil
		}
		last, lastKG = append(last[:0], p.key...), p.kg
		return fn(p.kg, last)
	})
}

// Namespaces lists the live namespaces before calling fn (it is used when
// restoring, not per row): pebble's, found by a skip-scan, and the
// cache's, each kept if the merged view holds a live entry in it.
func (s *base) Namespaces(fn func(ns []byte) error) error {
	b := s.b
	if b.db == nil {
		return errClosed
	}
	var cands [][]byte
	for p := range b.ns {
		if p[0] == s.sid {
			cands = append(cands, []byte(p))
		}
	}
	lower := []byte{s.sid}
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return fmt.Errorf("rocks: iterate %s: %w", s.name, err)
	}
	for ok := it.First(); ok; {
		k := it.Key()
		if len(k) < headerBytes || len(k) < headerBytes+int(k[1]) {
			_ = it.Close()
			return fmt.Errorf("rocks: short key %x", k)
		}
		p := append([]byte(nil), prefixOf(k)...)
		cands = append(cands, p)
		ok = it.SeekGE(prefixEnd(p))
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("rocks: iterate %s: %w", s.name, err)
	}
	slices.SortFunc(cands, bytes.Compare)
	cands = slices.CompactFunc(cands, bytes.Equal)
	var live [][]byte
	for _, p := range cands {
		found := false
		if err := s.scanPrefix(p, false, func(_, _ []byte) error {
			found = true
			return state.Stop
		}); err != nil {
			return err
		}
		if found {
			live = append(live, p[headerBytes:])
		}
	}
	for _, ns := range live {
		if err := fn(ns); err != nil {
			if errors.Is(err, state.Stop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (s *base) deleteRange(prefix []byte) error {
	if err := s.b.Flush(); err != nil {
		return err
	}
	s.b.dropCache()
	if err := s.b.resetGetIter(); err != nil {
		return err
	}
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
	c, err := s.b.load(k, 0)
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
	return s.b.set(k, 0, value)
}

func (s *valueState) Delete(kg int, key, ns []byte) error {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return err
	}
	return s.b.del(k, 0)
}

type mapState struct{ base }

// userKey returns the entry key and the length of its map prefix.
func (s *mapState) userKey(kg int, key, ns, userKey []byte) ([]byte, int, error) {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return nil, 0, err
	}
	mp := len(k)
	s.b.kbuf = append(k, userKey...)
	return s.b.kbuf, mp, nil
}

func (s *mapState) Get(kg int, key, ns, userKey []byte) ([]byte, bool, error) {
	k, mp, err := s.userKey(kg, key, ns, userKey)
	if err != nil {
		return nil, false, err
	}
	c, err := s.b.load(k, mp)
	if err != nil || !c.present {
		return nil, false, err
	}
	return c.val, true, nil
}

func (s *mapState) Put(kg int, key, ns, userKey, value []byte) error {
	k, mp, err := s.userKey(kg, key, ns, userKey)
	if err != nil {
		return err
	}
	return s.b.set(k, mp, value)
}

func (s *mapState) Delete(kg int, key, ns, userKey []byte) error {
	k, mp, err := s.userKey(kg, key, ns, userKey)
	if err != nil {
		return err
	}
	return s.b.del(k, mp)
}

// Iterate merges the map's cached entries (found through the cache's
// per-map index) with pebble's, without flushing; see iter.go.
func (s *mapState) Iterate(kg int, key, ns []byte, fn func(userKey, value []byte) error) error {
	k, err := s.key(kg, key, ns)
	if err != nil {
		return err
	}
	prefix := append([]byte(nil), k...)
	b := s.b
	_, may, err := b.pebbleMayHold(prefix[:headerBytes+len(ns)])
	if err != nil {
		return err
	}
	var r run
	if g := b.maps[string(prefix)]; g != nil {
		r = b.cachedRun(g.keys, true)
	}
	return b.mergeScan(s.name, prefix, &r, may, func(k, v []byte) error {
		return fn(k[len(prefix):], v)
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
	c, err := s.b.load(k, 0)
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
	c, err := s.b.load(k, 0)
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
	return s.b.del(k, 0)
}

// Entries implements state.ValueState: the namespace's cached entries
// merged with pebble's (read only when it may hold some the cache does
// not), without flushing; see iter.go.
func (s *valueState) Entries(ns []byte, fn func(kg int, key, value []byte) error) error {
	if err := state.CheckNamespace(ns); err != nil {
		return err
	}
	if s.b.db == nil {
		return errClosed
	}
	return s.scanPrefix(appendPrefix(nil, s.sid, ns), true, func(k, v []byte) error {
		p, err := parseKey(k)
		if err != nil {
			return err
		}
		return fn(p.kg, p.key, v)
	})
}
