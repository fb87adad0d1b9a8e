package rocks

// keyFilter remembers the 64-bit hashes of the keys flushed under one
// prefix, approximately: a chain of blocked bloom filters (one 64-byte
// block per key, so a probe touches one cache line per filter), each four
// times the capacity of the previous one, since how many keys a prefix
// will get is not known. A false positive costs one pebble lookup.
//
// It replaced an exact set (map[uint64]struct{}): at 2 M keys the map's
// probes were 8 % of a distinct-keys aggregation's CPU time, and its budget
// (4 Mi hashes, over 64 MiB) ran out before 10 M keys, after which every
// new key was read from pebble. 12 bits a key (more in the small early
// filters, see filterBits): one prefix of 10 M keys holds 32 MiB of
// filters (the last one, for 16 M keys, partly filled) and answers ~0.8 %
// of never-written keys with a false positive.
type keyFilter struct {
	filters []*bloomBlocks // oldest (smallest) first
	n       int            // keys added
}

const (
	filterBitsPerKey  = 12
	filterProbes      = 7 // bits set per key, 9 bits of position each
	firstFilterKeys   = 4096
	filterGrowth      = 4
	bloomBlockWords   = 8 // 512 bits
	bloomBlockBitMask = 511
)

// bloomBlocks is one blocked bloom filter.
type bloomBlocks struct {
	words  []uint64
	blocks uint64
	n, cap int
}

// filterBits is the bits per key of the i-th filter of a chain. Every
// full filter adds its false positive rate to the chain's, so the small
// early ones (cheap in memory) get more bits: at 10 M keys the chain's
// rate is ~1 % instead of 2.5 % with 12 bits throughout, for 2 % more
// memory.
func filterBits(i int) int { return filterBitsPerKey + 2*max(0, 5-i) }

func newBloomBlocks(capacity, bitsPerKey int) *bloomBlocks {
	blocks := (capacity*bitsPerKey + 511) / 512
	return &bloomBlocks{words: make([]uint64, blocks*bloomBlockWords), blocks: uint64(blocks), cap: capacity}
}

func (f *bloomBlocks) bytes() int { return len(f.words) * 8 }

// block picks the key's block from the hash's upper half (multiply-shift,
// no division); the bit positions come from a remix of the whole hash.
func (f *bloomBlocks) block(h uint64) []uint64 {
	i := int((h >> 32) * f.blocks >> 32)
	return f.words[i*bloomBlockWords : (i+1)*bloomBlockWords]
}

func (f *bloomBlocks) add(h uint64) {
	blk := f.block(h)
	m := h * 0x9e3779b97f4a7c15
	for i := 0; i < filterProbes; i++ {
		pos := m & bloomBlockBitMask
		blk[pos>>6] |= 1 << (pos & 63)
		m >>= 9
	}
	f.n++
}

func (f *bloomBlocks) mayContain(h uint64) bool {
	blk := f.block(h)
	m := h * 0x9e3779b97f4a7c15
	for i := 0; i < filterProbes; i++ {
		pos := m & bloomBlockBitMask
		if blk[pos>>6]&(1<<(pos&63)) == 0 {
			return false
		}
		m >>= 9
	}
	return true
}

// mayContain reports whether h may have been added.
func (kf *keyFilter) mayContain(h uint64) bool {
	for i := len(kf.filters) - 1; i >= 0; i-- { // the newest hold most keys
		if kf.filters[i].mayContain(h) {
			return true
		}
	}
	return false
}

// add adds h unless it may be there already (a key flushed at every batch
// must not fill the filters); it returns the bytes of a filter it had to
// allocate, or 0. budget is the most it may allocate: when the next filter
// would exceed it, add returns false and adds nothing.
func (kf *keyFilter) add(h uint64, budget int) (allocated int, ok bool) {
	if kf.mayContain(h) {
		return 0, true
	}
	var last *bloomBlocks
	if n := len(kf.filters); n > 0 {
		last = kf.filters[n-1]
	}
	if last == nil || last.n >= last.cap {
		capacity := firstFilterKeys
		if last != nil {
			capacity = last.cap * filterGrowth
		}
		last = newBloomBlocks(capacity, filterBits(len(kf.filters)))
		if last.bytes() > budget {
			return 0, false
		}
		allocated = last.bytes()
		kf.filters = append(kf.filters, last)
	}
	last.add(h)
	kf.n++
	return allocated, true
}

// bytes is the memory held by the filters.
func (kf *keyFilter) bytes() int {
	n := 0
	for _, f := range kf.filters {
		n += f.bytes()
	}
	return n
}
