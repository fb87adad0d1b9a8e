package ops

// int64Multiset maps an int64 value to its multiplicity per sharing
// aggregate (agg_distinct.go). It replaces a Go map[int64][4]int64: on
// Nexmark q16 a hot group holds hundreds of thousands of values, so every
// lookup misses the cache, and a Go map costs a control-word miss, a slot
// miss, and a second lookup to write the entry back. Here an entry is its
// key and counts side by side in one flat slice (linear probing), and
// upsert returns a pointer into it, so a row costs one probe.
//
// Key 0 marks an empty slot; the value 0 itself is kept outside the slice.
// Deletion shifts the following entries of the cluster back (no
// tombstones), so lookups never scan deleted entries. Not safe for
// concurrent use (operator state belongs to one task).
type int64Multiset struct {
	entries []msetEntry // power-of-two length, or nil while empty
	shift   uint        // 64 - log2(len(entries))
	n       int         // entries in use in entries
	hasZero bool        // the value 0 is present
	zero    [maxSharedDistinct]int64
}

type msetEntry struct {
	key    int64
	counts [maxSharedDistinct]int64
}

const msetMinSize = 16

// msetHash mixes k (fold high bits down, then a Fibonacci multiply); the
// top bits of the product select the slot, so sequential ids spread out.
func msetHash(k int64) uint64 {
	x := uint64(k)
	x ^= x >> 32
	return x * 0x9E3779B97F4A7C15
}

// len is the number of values present.
func (m *int64Multiset) len() int {
	if m.hasZero {
		return m.n + 1
	}
	return m.n
}

// slot returns the index of k (found) or of the empty slot that ends
// its probe sequence; k != 0 and entries is not nil.
func (m *int64Multiset) slot(k int64) (i uint64, found bool) {
	mask := uint64(len(m.entries) - 1)
	for i = msetHash(k) >> m.shift; ; i = (i + 1) & mask {
		switch m.entries[i].key {
		case k:
			return i, true
		case 0:
			return i, false
		}
	}
}

// find returns the counts of k, or nil when k is absent. The pointer is
// valid until the next upsert or remove.
func (m *int64Multiset) find(k int64) *[maxSharedDistinct]int64 {
	if k == 0 {
		if m.hasZero {
			return &m.zero
		}
		return nil
	}
	if m.entries == nil {
		return nil
	}
	if i, ok := m.slot(k); ok {
		return &m.entries[i].counts
	}
	return nil
}

// peek loads k's home slot, to bring it into the cache ahead of upsert:
// its first and last word, as half of the 40-byte entries straddle two
// cache lines.
func (m *int64Multiset) peek(k int64) int64 {
	if len(m.entries) == 0 {
		return 0
	}
	e := &m.entries[msetHash(k)>>m.shift]
	return e.key ^ e.counts[maxSharedDistinct-1]
}

// upsert returns the counts of k, inserting k with zero counts when
// absent. The pointer is valid until the next upsert or remove.
func (m *int64Multiset) upsert(k int64) *[maxSharedDistinct]int64 {
	if k == 0 {
		if !m.hasZero {
			m.hasZero, m.zero = true, [maxSharedDistinct]int64{}
		}
		return &m.zero
	}
	if m.entries == nil {
		m.resize(msetMinSize)
	}
	i, ok := m.slot(k)
	if !ok {
		// Grow past 3/4 full: linear probing degrades fast beyond.
		if (m.n+1)*4 > len(m.entries)*3 {
			m.resize(2 * len(m.entries))
			i, _ = m.slot(k)
		}
		m.n++
		m.entries[i].key = k // (an empty slot's counts are zero)
	}
	return &m.entries[i].counts
}

// remove deletes k if present.
func (m *int64Multiset) remove(k int64) {
	if k == 0 {
		m.hasZero, m.zero = false, [maxSharedDistinct]int64{}
		return
	}
	if m.entries == nil {
		return
	}
	i, ok := m.slot(k)
	if !ok {
		return
	}
	mask := uint64(len(m.entries) - 1)
	// Backward shift: move each later entry of the cluster whose home slot
	// is not cyclically within (i, j] into the hole at i.
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		e := &m.entries[j]
		if e.key == 0 {
			break
		}
		h := msetHash(e.key) >> m.shift
		// The entry at j may fill the hole at i unless its home h lies in
		// the cyclic interval (i, j].
		if (j-h)&mask >= (j-i)&mask {
			m.entries[i] = *e
			i = j
		}
	}
	m.entries[i] = msetEntry{}
	m.n--
}

// resize rehashes into a slice of size entries (a power of two).
func (m *int64Multiset) resize(size int) {
	old := m.entries
	m.entries = make([]msetEntry, size)
	m.shift = 64
	for s := size; s > 1; s >>= 1 {
		m.shift--
	}
	for k := range old {
		if e := &old[k]; e.key != 0 {
			i, _ := m.slot(e.key) // absent: the empty slot it goes to
			m.entries[i] = *e
		}
	}
}

// each calls fn with every value and its counts, in slot order (the same
// order for equal histories of operations).
func (m *int64Multiset) each(fn func(k int64, c *[maxSharedDistinct]int64)) {
	if m.hasZero {
		fn(0, &m.zero)
	}
	for i := range m.entries {
		if e := &m.entries[i]; e.key != 0 {
			fn(e.key, &e.counts)
		}
	}
}

// clone returns an independent copy.
func (m *int64Multiset) clone() *int64Multiset {
	c := *m
	if m.entries != nil {
		c.entries = make([]msetEntry, len(m.entries))
		copy(c.entries, m.entries)
	}
	return &c
}
