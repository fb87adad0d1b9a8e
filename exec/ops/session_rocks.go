package ops

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/state"
)

// Session windows on rocksdb ('state.backend' = 'rocksdb').
//
// State "agg" holds, per (key group, non-window key), one value with all of
// the key's open sessions (bounds and encoded group each): a row needs
// every session of its key to merge, so one read per key and batch. A
// batch loads the keys it touches, merges and folds in memory exactly as
// the hashmap backend does, and writes them back at its end.
//
// State "sessidx" indexes sessions by end: namespace windowNS(bucket) of
// the session's end bucket (sessionBucket wide), key = the group key. A
// write moves a key's entries to the buckets of its sessions' new ends
// (deleting the others: a session that grows row by row would otherwise
// leave an entry per bucket it passed, each costing a read when it fires).
// A firing reads only the buckets the watermark reached, re-checks each
// key's sessions and clears the buckets it fully passed. The open buckets
// are a small in-memory set, rebuilt from the namespaces on restore.

// sessionBucket is the width of an index bucket (µs): few namespaces, and
// a partially due bucket is re-read at most a second's worth of times.
const sessionBucket = 1_000_000

// sessLoad is a key loaded in this batch: its key group, and the index
// buckets of its stored sessions (none: pebble held no session for it).
type sessLoad struct {
	kg      int
	buckets []int64
}

// bucketOf is the index bucket of a session ending at end (its last
// instant is end - 1µs).
func bucketOf(end int64) int64 {
	q := (end - 1) / sessionBucket
	if (end-1)%sessionBucket < 0 {
		q--
	}
	return q
}

// sessIndex returns the index state, creating it on first use (as value).
func (s *aggStore) sessIndex() (state.ValueState, error) {
	if s.idx == nil {
		vs, err := s.be.ValueState("sessidx")
		if err != nil {
			return nil, fmt.Errorf("rocksdb state: %w", err)
		}
		s.idx = vs
	}
	return s.idx, nil
}

// loadSessions reads the sessions of the key in a.keyBuf (row r's) into
// a.sessions, once per batch.
func (a *GroupAgg) loadSessions(kg int, keyCols []arrow.Array, r int) error {
	if _, ok := a.sessLoaded[string(a.keyBuf)]; ok {
		return nil
	}
	list, err := a.readSessions(kg, a.keyBuf)
	if err != nil {
		return err
	}
	k := string(a.keyBuf)
	a.sessLoaded[k] = sessLoad{kg: kg, buckets: sessionBuckets(nil, list)}
	if len(list) > 0 {
		a.sessions[k] = list
	}
	return nil
}

// readSessions decodes a key's stored sessions (none if absent).
func (a *GroupAgg) readSessions(kg int, key []byte) ([]*session, error) {
	vs, err := a.store.value()
	if err != nil {
		return nil, err
	}
	v, ok, err := vs.Get(kg, key, nil)
	if err != nil {
		return nil, fmt.Errorf("load session state: %w", err)
	}
	if !ok {
		return nil, nil
	}
	d := &decoder{b: v}
	n := d.count()
	list := make([]*session, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		s := &session{start: d.varint(), end: d.varint()}
		s.g = &group{prev: make([]cell, len(a.Keys)+len(a.Aggs)), accs: make([]accum, len(a.Aggs)), epoch: a.epoch, kg: kg}
		decodeGroup(d, s.g)
		list = append(list, s)
	}
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("session state: %w", err)
	}
	return list, nil
}

// sessionBuckets appends the distinct index buckets of the sessions' ends.
func sessionBuckets(dst []int64, list []*session) []int64 {
	for _, s := range list {
		if b := bucketOf(s.end); !slices.Contains(dst, b) {
			dst = append(dst, b)
		}
	}
	return dst
}

// writeSessions stores a key's sessions (deleting the key when none is
// left) and moves its index entries from the buckets old (of its stored
// sessions) to those of list.
func (a *GroupAgg) writeSessions(kg int, key []byte, list []*session, old []int64) error {
	vs, err := a.store.value()
	if err != nil {
		return err
	}
	idx, err := a.store.sessIndex()
	if err != nil {
		return err
	}
	cur := sessionBuckets(a.bucketBuf[:0], list)
	a.bucketBuf = cur
	for _, b := range old {
		if !slices.Contains(cur, b) {
			if err := idx.Delete(kg, key, a.store.windowNS(b)); err != nil {
				return fmt.Errorf("write session index: %w", err)
			}
		}
	}
	for _, b := range cur {
		if !slices.Contains(old, b) {
			if err := idx.Put(kg, key, a.store.windowNS(b), []byte{1}); err != nil {
				return fmt.Errorf("write session index: %w", err)
			}
			a.openEnds[b] = true
		}
	}
	if len(list) == 0 {
		if len(old) > 0 {
			if err := vs.Delete(kg, key, nil); err != nil {
				return fmt.Errorf("write session state: %w", err)
			}
		}
		return nil
	}
	buf := binary.AppendUvarint(a.store.buf[:0], uint64(len(list)))
	for _, s := range list {
		buf = binary.AppendVarint(buf, s.start)
		buf = binary.AppendVarint(buf, s.end)
		buf = a.encodeGroup(buf, s.g)
	}
	a.store.buf = buf
	if err := vs.Put(kg, key, nil, buf); err != nil {
		return fmt.Errorf("write session state: %w", err)
	}
	return nil
}

// storeSessions writes back the batch's keys and drops them from memory:
// between batches the sessions live in pebble.
func (a *GroupAgg) storeSessions() error {
	for k, l := range a.sessLoaded {
		if err := a.writeSessions(l.kg, a.store.keyBytes(k), a.sessions[k], l.buckets); err != nil {
			return err
		}
	}
	clear(a.sessions)
	clear(a.sessLoaded)
	if err := a.store.be.WriteBack(); err != nil {
		return fmt.Errorf("flush state: %w", err)
	}
	return nil
}

// fireStoredSessions is fireSessions on rocksdb: the keys of the due
// buckets are read from the index, each key's fired sessions are emitted
// and the rest written back; fully passed buckets are cleared.
func (a *GroupAgg) fireStoredSessions(out exec.Collector) error {
	var due []int64
	for b := range a.openEnds {
		if a.windowFired(b*sessionBucket + 1) { // its earliest possible end
			due = append(due, b)
		}
	}
	if len(due) == 0 {
		return nil
	}
	slices.Sort(due)
	idx, err := a.store.sessIndex()
	if err != nil {
		return err
	}
	type keyRef struct {
		kg  int
		key string
	}
	var keys []keyRef
	seen := map[keyRef]bool{}
	for _, b := range due {
		if err := idx.Entries(windowNS(b), func(kg int, key, _ []byte) error {
			ref := keyRef{kg, string(key)}
			if !seen[ref] {
				seen[ref] = true
				keys = append(keys, ref)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("read session index: %w", err)
		}
	}
	var fired []*session
	for _, ref := range keys {
		key := a.store.keyBytes(ref.key)
		list, err := a.readSessions(ref.kg, key)
		if err != nil {
			return err
		}
		old := sessionBuckets(nil, list)
		kept := list[:0]
		for _, s := range list {
			if a.windowFired(s.end) {
				fired = append(fired, s)
			} else {
				kept = append(kept, s)
			}
		}
		if len(kept) < len(list) {
			if err := a.writeSessions(ref.kg, a.store.keyBytes(ref.key), kept, old); err != nil {
				return err
			}
		}
	}
	for _, b := range due {
		if a.windowFired((b + 1) * sessionBucket) { // every end in it has fired
			if err := idx.ClearNamespace(windowNS(b)); err != nil {
				return fmt.Errorf("free session index: %w", err)
			}
			delete(a.openEnds, b)
		}
	}
	if err := a.store.be.WriteBack(); err != nil {
		return fmt.Errorf("flush state: %w", err)
	}
	return a.emitSessions(fired, out)
}

// restoreSessionIndex rebuilds the open buckets from the index's
// namespaces after a restore.
func (a *GroupAgg) restoreSessionIndex() error {
	idx, err := a.store.sessIndex()
	if err != nil {
		return err
	}
	return idx.Namespaces(func(ns []byte) error {
		b, err := windowOfNS(ns)
		if err != nil {
			return err
		}
		a.openEnds[b] = true
		return nil
	})
}
