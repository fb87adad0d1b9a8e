package nexmark

import (
	"math"
	"math/bits"
	"strings"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// The stream is a sequence of events numbered from 0. Event n is of kind
// person, auction or bid by n mod (the sum of the proportions), 1:3:46 by
// default: offsets [0, 1) are people, [1, 4) auctions, [4, 50) bids. One
// such run of events is an epoch. As in the reference generator, ids follow
// from the event number (the k-th person has id 1000+k), and the people,
// auctions and bids an event refers to are chosen among those already
// generated (plus a few ahead), so joins find partners.
//
// Epochs form blocks of blockE consecutive epochs (one epoch for people
// and auctions; for bids as many as make about a full batch, see seq.go).
// Subtask i of P generates blocks i, i+P, i+2P, ...: each subtask sees
// every kind in proportion and event time advances at about the same pace
// in all of them (they differ by at most P blocks), so watermarks of
// parallel splits stay close.

const (
	firstPersonID  = 1000
	firstAuctionID = 1000
	firstCategory  = 10
	numCategories  = 5
	// Hot sellers, bidders and auctions are the first (bidders: second)
	// of each run of this many ids, as in the reference.
	hotRatio = 100
	// idLead is how many not-yet-generated ids a random pick may reach.
	idLead = 10
	// maxMilli is the last event time we generate (9999-12-31 23:59:59.999):
	// the stream ends there rather than overflow.
	maxMilli = 253402300799999

	maxBatchRows  = 4096
	maxBatchBytes = 64 << 20
)

// generator turns event numbers of one kind into columns.
type generator struct {
	c        *config
	t        *tables
	prop     int64 // events per epoch
	lo, hi   int64 // the kind's offsets within an epoch
	rate     uint64
	base     int64  // event time of event 0, ms
	stepQ    int64  // 1000/rate: ms per event, whole part
	stepR    uint64 // and remainder (in 1/rate ms)
	hzQ      int64  // the auction horizon (numInFlightAuctions auctions ahead) in ms,
	hzR      uint64 // as quotient and remainder, like stepQ/stepR
	sel      [maxFields]bool
	isStr    [maxFields]bool
	strMax   [maxFields]int // the longest value of each string field
	strAvg   [maxFields]int // and at least its mean length
	maxRows  int
	bidExtra extraSize // bids have a fixed size before padding

	strFields []int  // the selected string fields that are copied
	stride    int64  // parallelism: a subtask takes every stride-th block
	blockE    int64  // epochs per block
	blockN    int64  // rows of the kind per block
	jumpQ     int64  // the time from an epoch's last event of the kind to
	jumpR     uint64 // the next epoch's first, as quotient and remainder,
	outQ      int64  // and from a block's last to the subtask's next
	outR      uint64 // block's first
	lastStart int64  // the latest time an epoch may start at (see maxMilli)

	// seq[f] is the precomputed sequence field f's values are windows of
	// (bids' channel, url and, unless too long, extra; see seq.go), or nil.
	seq      [maxFields]*seqText
	seqExtra bool // bids' extra comes from seq (else it is drawn per event)
}

// newGenerator returns the generator of a subtask of parallelism stride,
// with f's shared tables.
func newGenerator(c *config, stride int, f *Factory) *generator {
	t := f.tables()
	g := &generator{c: c, t: t, prop: c.proportion(), rate: uint64(c.rate), base: c.baseMilli, stride: int64(stride), blockE: 1}
	g.lo, g.hi = c.span()
	g.stepQ, g.stepR = int64(1000/g.rate), 1000%g.rate
	g.bidExtra = extraFor(32, c.bidSize)
	if c.kind == kindBid {
		// The block size depends on the stream options only (not on the
		// declared columns or the parallelism): values may not either.
		g.blockE = c.bidBlockEpochs()
		chans, extra := f.bidSeqs(t, g.bidExtra)
		g.seq[bChannel], g.seq[bURL], g.seq[bExtra] = chans.names, chans.urls, extra
		g.seqExtra = extra != nil
	}
	g.blockN = g.blockE * (g.hi - g.lo)
	// After the kind's last event of an epoch the times have advanced past
	// it by one event; the next epoch's first event of the kind is this
	// many further on, and the subtask's next block's that many. (At most
	// parallelism*blockRows*3*2^20 events, times 1000: fits easily.)
	jump := uint64(g.prop-(g.hi-g.lo)) * 1000
	g.jumpQ, g.jumpR = int64(jump/g.rate), jump%g.rate
	out := uint64(((g.stride-1)*g.blockE+1)*g.prop-(g.hi-g.lo)) * 1000
	g.outQ, g.outR = int64(out/g.rate), out%g.rate
	// An epoch spans less than (prop*1000/rate + 1) ms.
	g.lastStart = maxMilli - int64(uint64(g.prop)*1000/g.rate) - 1
	k := uint64(numInFlightAuctions*g.prop/c.auctionProp) * 1000
	g.hzQ, g.hzR = int64(k/g.rate), k%g.rate
	for i, d := range kindFields(c.kind) {
		g.isStr[i] = d.t.Kind == types.String
	}
	for _, f := range c.cols {
		if !g.sel[f] && g.isStr[f] && g.seq[f] == nil {
			g.strFields = append(g.strFields, f)
		}
		g.sel[f] = true
	}
	switch c.kind {
	case kindPerson:
		g.strMax = [maxFields]int{pName: 14, pEmail: 15, pCreditCard: 19, pCity: 13, pState: 2, pExtra: maxExtra(c.personSize)}
		g.strAvg = [maxFields]int{pName: 12, pEmail: 14, pCreditCard: 19, pCity: 9, pState: 2, pExtra: c.personSize}
	case kindAuction:
		g.strMax = [maxFields]int{aItemName: 19, aDescription: 99, aExtra: maxExtra(c.auctionSize)}
		g.strAvg = [maxFields]int{aItemName: 12, aDescription: 52, aExtra: c.auctionSize}
	case kindBid:
		g.strMax = [maxFields]int{bChannel: 12, bURL: t.maxURL, bExtra: maxExtra(c.bidSize)}
		g.strAvg = [maxFields]int{bChannel: 10, bURL: t.avgURL, bExtra: int(g.bidExtra.lo+g.bidExtra.span/2) + 1}
	}
	rowBytes := 0
	for f, on := range g.sel {
		if on {
			rowBytes += 8 + g.strMax[f]
		}
	}
	g.maxRows = max(1, min(maxBatchRows, maxBatchBytes/max(rowBytes, 1)))
	return g
}

// extraSize is the padding length of an event: lo + below(span), or none.
type extraSize struct {
	lo, span uint64
}

// extraFor follows the reference's nextExtra: pad an event of cur bytes to
// avg bytes on average, uniformly within ±20 %; nothing when it is already
// larger.
func extraFor(cur, avg int) extraSize {
	if cur > avg {
		return extraSize{}
	}
	d := avg - cur
	delta := (d*2 + 5) / 10 // round(d * 0.2)
	return extraSize{lo: uint64(d - delta), span: uint64(2 * delta)}
}

func maxExtra(avg int) int { return avg + avg/5 + 2 }

// draw returns the padding length and its start in the shared letters,
// both from one random word (the low half of the multiply-high product is
// again uniform): one draw, whether or not the column is read.
func (e extraSize) draw(r *rng) (int, uint64) {
	x := r.next()
	if e.span == 0 {
		return int(e.lo), x >> 48
	}
	hi, lo := bits.Mul64(x, e.span)
	return int(e.lo + hi), lo >> 48
}

// eventMilli is event n's time in ms and the remainder of its division
// (in 1/rate ms), so the next events' times follow by addition; ok is
// false past maxMilli.
func (g *generator) eventMilli(n int64) (ms int64, rem uint64, ok bool) {
	hi, lo := bits.Mul64(uint64(n), 1000)
	if hi >= g.rate {
		return 0, 0, false
	}
	q, r := bits.Div64(hi, lo, g.rate)
	if q > uint64(maxMilli-g.base) {
		return 0, 0, false
	}
	return g.base + int64(q), r, true
}

// strw is a string column under construction. The hot loops copy it into
// a local and store it back once per batch: writes to a local need no GC
// write barrier, and data is written by index into a buffer sized up
// front rather than appended to.
type strw struct {
	offs []int32
	data []byte
	pos  int
}

// put appends row j's value. The caller has reserved room (see reserve),
// so put needs no capacity check and is inlined.
func (w *strw) put(j int, v []byte) {
	w.pos += copy(w.data[w.pos:], v)
	w.offs[j+1] = int32(w.pos)
}

// reserve makes room for n more bytes (rarely needed: buffers are sized
// for the expected lengths plus a margin).
func (w *strw) reserve(n int) {
	if n > len(w.data)-w.pos {
		w.grow(n)
	}
}

// uninitialized returns n bytes of new memory that Go does not zero first:
// the string columns are most of a batch's bytes, and each byte is written
// before it is exposed (a column's buffer is data[:pos]), so zeroing them
// would be a wasted pass over memory. strings.Builder.Grow allocates
// without zeroing; its buffer becomes ours, and nothing else refers to it.
func uninitialized(n int) []byte {
	var sb strings.Builder
	sb.Grow(n + 1)
	sb.WriteByte(0) // a non-empty string has a defined data pointer
	return unsafe.Slice(unsafe.StringData(sb.String()), n)
}

// grow makes room for n more bytes (rare: buffers are sized for the
// expected lengths plus a margin).
func (w *strw) grow(n int) {
	d := uninitialized(max(2*len(w.data), w.pos+n+1024))
	copy(d, w.data[:w.pos])
	w.data = d
}

// cols holds the selected columns of one batch by field id.
type cols struct {
	ints [maxFields][]int64
	strs [maxFields]strw
	// seqAt[f] is the first row's entry in g.seq[f].
	seqAt [maxFields]int64
}

// uninitializedInt64s returns n int64s of new memory that Go does not zero
// (see uninitialized): every row of a batch's int columns is written
// before the batch exposes it. The memory comes from a byte allocation of
// at least 33 bytes: Go aligns those to 8 bytes (only the tiny allocator,
// below 16 bytes, packs objects unaligned; size classes are multiples of 8
// from a page-aligned span, large objects are page-aligned), and it holds
// no pointers, so viewing it as int64s is safe.
func uninitializedInt64s(n int) []int64 {
	if n < 4 {
		return make([]int64, n)
	}
	b := uninitialized(8 * n)
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func (g *generator) alloc(rows int) *cols {
	cs := &cols{}
	for f, on := range g.sel {
		switch {
		case !on || g.seq[f] != nil:
		case g.isStr[f]:
			// The expected size plus a margin far above the spread of a
			// batch's total (a sum of independent lengths).
			size := rows*g.strAvg[f] + min(rows, 64)*g.strMax[f] + 64
			cs.strs[f] = strw{offs: make([]int32, rows+1), data: uninitialized(size)}
		default:
			cs.ints[f] = uninitializedInt64s(rows)
		}
	}
	return cs
}

// window returns rows consecutive entries of s from at as a column's
// offsets and data: the data is s's own (shared, never written: batches
// are immutable once made), the offsets a new array rebased to start at 0,
// so the column looks like any other (its data buffer holds exactly its
// values).
func window(s *seqText, at int64, rows int) (offs []int32, data []byte) {
	src := s.offs[at : at+int64(rows)+1]
	base := src[0]
	if len(src) < 8 {
		offs = make([]int32, len(src))
	} else {
		// Every entry is written below; at least 32 bytes, so 4-aligned
		// (see uninitializedInt64s).
		b := uninitialized(4 * len(src))
		offs = unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(b))), len(src))
	}
	offs = offs[:len(src)]
	for i, o := range src {
		offs[i] = o - base
	}
	// The capacity ends with the values: an append to the column's bytes
	// anywhere downstream reallocates rather than write into the shared
	// sequence.
	end := src[rows]
	return offs, s.data[base:end:end]
}

// record assembles the declared columns of the first rows rows.
func (g *generator) record(schema *arrow.Schema, cs *cols, rows int) batch.Batch {
	arrs := make([]arrow.Array, len(g.c.cols))
	for i, f := range g.c.cols {
		if g.isStr[f] {
			var offs []int32
			var vals []byte
			if sq := g.seq[f]; sq != nil {
				offs, vals = window(sq, cs.seqAt[f], rows)
			} else {
				s := cs.strs[f]
				offs, vals = s.offs[:rows+1], s.data[:s.pos:s.pos] // see window
			}
			data := array.NewData(arrow.BinaryTypes.String, rows, []*memory.Buffer{nil,
				memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)),
				memory.NewBufferBytes(vals)}, nil, 0, 0)
			arrs[i] = array.NewStringData(data)
			data.Release()
		} else {
			arrs[i] = batch.Int64Array(cs.ints[f][:rows], nil)
		}
	}
	rec := batch.NewRecordArrow(schema, arrs, rows)
	for _, a := range arrs {
		a.Release()
	}
	return batch.New(rec)
}

// cursor is a subtask's place in the stream: its next event is number
// epoch*prop + off, of the table's kind.
type cursor struct {
	epoch, off int64
}

// fill generates up to len(rows) events from cur into cs, stopping at
// event number end, at an event time after due, or at the end of time.
// It advances cur and returns the rows made; exhausted reports that no
// event remains (end or maxMilli reached).
func (g *generator) fill(cs *cols, rows int, cur *cursor, end, due int64) (n int, exhausted bool) {
	if g.c.kind == kindBid {
		rows = min(rows, g.startBlock(cs, *cur))
	}
	ms, rem, ok := g.eventMilli(cur.epoch*g.prop + cur.off)
	for n < rows {
		base := cur.epoch * g.prop
		// Times grow with the event number: while an epoch starts early
		// enough (lastStart), all its events have a time.
		if !ok || base+cur.off >= end || ms > g.lastStart {
			return n, true
		}
		hiEff := g.hi
		if end-base < hiEff {
			hiEff = end - base
		}
		k := min(hiEff-cur.off, int64(rows-n))
		for _, f := range g.strFields {
			cs.strs[f].reserve(int(k) * g.strMax[f])
		}
		var made int
		switch g.c.kind {
		case kindBid:
			made, ms, rem = g.bids(cs, n, cur.epoch, cur.off, k, ms, rem, due)
		case kindAuction:
			made, ms, rem = g.auctions(cs, n, cur.epoch, cur.off, k, ms, rem, due)
		default:
			made, ms, rem = g.people(cs, n, cur.epoch, cur.off, k, ms, rem, due)
		}
		n += made
		cur.off += int64(made)
		if int64(made) < k {
			return n, false // the next event is not due yet
		}
		if cur.off == g.hi {
			// On to this subtask's next epoch, skipping the other kinds'
			// events and, at the end of a block, the other subtasks'
			// blocks.
			cur.off = g.lo
			jq, jr := g.jumpQ, g.jumpR
			if cur.epoch++; cur.epoch%g.blockE == 0 {
				cur.epoch += (g.stride - 1) * g.blockE
				jq, jr = g.outQ, g.outR
			}
			ms += jq
			if rem += jr; rem >= g.rate {
				rem -= g.rate
				ms++
			}
		}
	}
	return n, false
}

// startBlock sets where a batch starting at cur begins in the precomputed
// sequences and returns how many rows it may have: up to the end of cur's
// block or of a sequence, so its rows take consecutive entries.
func (g *generator) startBlock(cs *cols, cur cursor) int {
	b := cur.epoch / g.blockE
	j := (cur.epoch-b*g.blockE)*(g.hi-g.lo) + cur.off - g.lo // row within the block
	ch, ex := blockStarts(b, g.blockN)
	ch, ex = (ch+j)%seqLen, (ex+j)%seqLen
	cs.seqAt[bChannel], cs.seqAt[bURL], cs.seqAt[bExtra] = ch, ch, ex
	return int(min(g.blockN-j, seqLen-ch, seqLen-ex))
}

// nextMilli is the time of the event cur points at (MaxInt64 past the end
// of time).
func (g *generator) nextMilli(cur cursor) int64 {
	ms, _, ok := g.eventMilli(cur.epoch*g.prop + cur.off)
	if !ok {
		return math.MaxInt64
	}
	return ms
}

// step advances an event time by one event.
func (g *generator) step(ms int64, rem uint64) (int64, uint64) {
	ms += g.stepQ
	rem += g.stepR
	if rem >= g.rate {
		rem -= g.rate
		ms++
	}
	return ms, rem
}

// str is the reference's random string of 3 to maxLen-1 characters
// (spaces trimmed): a slice of the shared text.
func (t *tables) str(r *rng, maxLen uint64) []byte {
	hi, lo := bits.Mul64(r.next(), maxLen-3)
	l, o := 3+hi, lo>>48
	s := t.text[o : o+l]
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// putExtra writes n padding letters starting at offset o of the shared
// letters (wrapping around for very long padding).
func (t *tables) putExtra(w *strw, j int, o uint64, n int) {
	if uint64(n) <= letterSlack {
		w.put(j, t.letters[o:o+uint64(n)])
		return
	}
	w.reserve(n)
	for n > 0 {
		chunk := min(n, len(t.letters)-int(o))
		w.pos += copy(w.data[w.pos:], t.letters[o:o+uint64(chunk)])
		n -= chunk
		o = 0
	}
	w.offs[j+1] = int32(w.pos)
}

// nextPerson is the reference's random person id (base 0) for an event
// whose last generated person is lastP: one of the numActivePeople most
// recent people, or a few ahead.
func nextPerson(r *rng, lastP int64) int64 {
	num := lastP + 1
	active := min(num, numActivePeople)
	return num - active + int64(r.below(uint64(active+idLead)))
}

func (g *generator) bids(cs *cols, j int, epoch, off, cnt, ms int64, rem uint64, due int64) (int, int64, uint64) {
	c, t := g.c, g.t
	lastA := epoch*c.auctionProp + c.auctionProp - 1
	lastP := epoch*c.personProp + c.personProp - 1
	hotAuction := lastA/hotRatio*hotRatio + firstAuctionID
	hotBidder := lastP/hotRatio*hotRatio + 1 + firstPersonID
	minA := max(lastA-numInFlightAuctions, 0)
	spanA := uint64(lastA - minA + 1 + idLead)
	ratioA, ratioB := uint64(c.hotAuction), uint64(c.hotBidders)
	auction, bidder, price, dt := cs.ints[bAuction], cs.ints[bBidder], cs.ints[bPrice], cs.ints[bDateTime]
	// put writes no pointers (only positions and bytes), so writing
	// through this needs no GC write barrier.
	extra := &cs.strs[bExtra]
	exOn, copyExtra := g.sel[bExtra], !g.seqExtra
	ex := g.bidExtra
	n := epoch*g.prop + off
	k := int64(0)
	for ; k < cnt; k, j = k+1, j+1 {
		if ms > due {
			break
		}
		r := eventRNG(n + k)
		// The reference's draws, several from one random word where the
		// ranges are small: P(hot auction) = 1 - 1/ratioA, P(hot bidder) =
		// 1 - 1/ratioB. The first word is the stream's seed itself (a
		// splitmix finalizer output, as well mixed as a draw).
		hotA, rest := bits.Mul64(r.s, ratioA)
		a := hotAuction
		if hotA == 0 {
			a = minA + int64(r.below(spanA)) + firstAuctionID
		}
		b := hotBidder
		if hotB, _ := bits.Mul64(rest, ratioB); hotB == 0 {
			b = nextPerson(&r, lastP) + firstPersonID
		}
		p := t.price(r.next())
		// channel and url (and usually extra) are the block's entries of
		// the precomputed sequences (see seq.go): nothing to do per row.
		if copyExtra {
			if size, eo := ex.draw(&r); exOn {
				t.putExtra(extra, j, eo, size)
			}
		}
		if auction != nil {
			auction[j] = a
		}
		if bidder != nil {
			bidder[j] = b
		}
		if price != nil {
			price[j] = p
		}
		if dt != nil {
			dt[j] = ms * 1000
		}
		ms, rem = g.step(ms, rem)
	}
	return int(k), ms, rem
}

func (g *generator) auctions(cs *cols, j int, epoch, off, cnt, ms int64, rem uint64, due int64) (int, int64, uint64) {
	c, t := g.c, g.t
	lastP := epoch*c.personProp + c.personProp - 1
	hotSeller := lastP/hotRatio*hotRatio + firstPersonID
	ratioS := uint64(c.hotSellers)
	id, initial, reserve, dt, expires, seller, category :=
		cs.ints[aID], cs.ints[aInitialBid], cs.ints[aReserve], cs.ints[aDateTime], cs.ints[aExpires], cs.ints[aSeller], cs.ints[aCategory]
	item, desc, extra := &cs.strs[aItemName], &cs.strs[aDescription], &cs.strs[aExtra]
	itemOn, descOn, exOn := g.sel[aItemName], g.sel[aDescription], g.sel[aExtra]
	n := epoch*g.prop + off
	k := int64(0)
	for ; k < cnt; k, j = k+1, j+1 {
		if ms > due {
			break
		}
		r := eventRNG(n + k)
		s := hotSeller
		if r.below(ratioS) == 0 {
			s = nextPerson(&r, lastP) + firstPersonID
		}
		cat := firstCategory + int64(r.below(numCategories))
		ib := t.price(r.next())
		// The auction lasts on average as long as it takes to generate
		// numInFlightAuctions more auctions.
		horizon := g.hzQ
		if rem+g.hzR >= g.rate {
			horizon++
		}
		exp := ms + 1 + int64(r.below(uint64(max(2*horizon, 1))))
		name := t.str(&r, 20)
		d := t.str(&r, 100)
		res := ib + t.price(r.next())
		size, eo := extraFor(8+len(name)+len(d)+40, c.auctionSize).draw(&r)
		if id != nil {
			id[j] = epoch*c.auctionProp + off + k - c.personProp + firstAuctionID
		}
		if itemOn {
			item.put(j, name)
		}
		if descOn {
			desc.put(j, d)
		}
		if initial != nil {
			initial[j] = ib
		}
		if reserve != nil {
			reserve[j] = res
		}
		if dt != nil {
			dt[j] = ms * 1000
		}
		if expires != nil {
			expires[j] = exp * 1000
		}
		if seller != nil {
			seller[j] = s
		}
		if category != nil {
			category[j] = cat
		}
		if exOn {
			t.putExtra(extra, j, eo, size)
		}
		ms, rem = g.step(ms, rem)
	}
	return int(k), ms, rem
}

// Sizes of the reference's word lists.
const (
	nFirst  = 11
	nLast   = 9
	nCities = 10
	nStates = 6
)

// putDigits writes v (< 10000) as 4 digits.
func putDigits(b []byte, v uint64) {
	b[0], b[1], b[2], b[3] = byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10)
}

func (g *generator) people(cs *cols, j int, epoch, off, cnt, ms int64, rem uint64, due int64) (int, int64, uint64) {
	c, t := g.c, g.t
	id, dt := cs.ints[pID], cs.ints[pDateTime]
	name, email, card, city, state, extra := &cs.strs[pName], &cs.strs[pEmail], &cs.strs[pCreditCard], &cs.strs[pCity], &cs.strs[pState], &cs.strs[pExtra]
	sel := &g.sel
	n := epoch*g.prop + off
	var buf [32]byte
	k := int64(0)
	for ; k < cnt; k, j = k+1, j+1 {
		if ms > due {
			break
		}
		r := eventRNG(n + k)
		// Pairs of small uniform choices come from one draw each.
		nl := r.below(nFirst * nLast)
		first, last := t.firstNames[nl/nLast], t.lastNames[nl%nLast]
		user := t.str(&r, 7)
		host := t.str(&r, 5)
		cc := [19]byte{4: ' ', 9: ' ', 14: ' '}
		for i := range 2 {
			v := r.below(10000 * 10000)
			putDigits(cc[i*10:], v/10000)
			putDigits(cc[i*10+5:], v%10000)
		}
		cs := r.below(nCities * nStates)
		ci, st := t.cities[cs/nStates], t.states[cs%nStates]
		nameLen := len(first) + 1 + len(last)
		emailLen := len(user) + 1 + len(host) + 4
		size, eo := extraFor(8+nameLen+emailLen+len(cc)+len(ci)+len(st), c.personSize).draw(&r)
		if id != nil {
			id[j] = epoch*c.personProp + off + k + firstPersonID
		}
		if sel[pName] {
			b := append(append(append(buf[:0], first...), ' '), last...)
			name.put(j, b)
		}
		if sel[pEmail] {
			b := append(append(append(append(buf[:0], user...), '@'), host...), ".com"...)
			email.put(j, b)
		}
		if sel[pCreditCard] {
			card.put(j, cc[:])
		}
		if sel[pCity] {
			city.put(j, ci)
		}
		if sel[pState] {
			state.put(j, st)
		}
		if dt != nil {
			dt[j] = ms * 1000
		}
		if sel[pExtra] {
			t.putExtra(extra, j, eo, size)
		}
		ms, rem = g.step(ms, rem)
	}
	return int(k), ms, rem
}
