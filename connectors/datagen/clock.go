package datagen

import (
	"math"
	"math/bits"
	"time"
)

// schedule gives each row of a subtask its "now" for the clock-relative
// types (TIMESTAMP, TIMESTAMP_LTZ, DATE): the subtask's anchor (the clock
// when the job first opened it) plus the row's place in the rows-per-second
// schedule, row k at anchor + k/rate. Reading the clock per batch instead
// would make a replay after Seek produce different timestamps; derived from
// the row count, they are the same. While the consumer keeps up, the
// schedule is the wall clock (to within a batch); behind it, timestamps lag
// with the rows.
type schedule struct {
	anchor int64 // instant of row 0, µs since the epoch
	// perRow is 1/rate seconds in µs as 32.32 fixed point: row k is
	// (k*perRow)>>32 µs after the anchor, a function of k alone (so it
	// does not depend on where batches start) at one multiply per row.
	perRow uint64
	loc    *time.Location

	// The session zone's offset, valid for instants in [zoneFrom, zoneTo)
	// (a zone changes offset rarely: one lookup per transition, not per row).
	zoneOff          int64
	zoneFrom, zoneTo int64
}

func newSchedule(anchor, rate int64, loc *time.Location) schedule {
	return schedule{anchor: anchor, perRow: (1_000_000 << 32) / uint64(max(rate, 1)), loc: loc}
}

// after is how many µs after the anchor row k is due; ok is false when
// that does not fit an int64.
func (s *schedule) after(k int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(k), s.perRow)
	d := hi<<32 | lo>>32
	return int64(d), hi < 1<<31
}

// fill returns the "now" of subtask rows k0 .. k0+n-1, using instants and
// locals (of length n) as its buffers.
func (s *schedule) fill(k0 int64, instants, locals []int64) clockNow {
	n := len(instants)
	if n == 0 {
		return clockNow{}
	}
	// Times grow with k: if the last row's fits, every row's does.
	last, ok := s.after(k0 + int64(n) - 1)
	if !ok || s.anchor > math.MaxInt64-last {
		// Beyond any representable time (absurd row counts): saturate.
		for j := range instants {
			instants[j] = math.MaxInt64
		}
		return clockNow{instants: instants}
	}
	if first, _ := s.after(k0); first == last {
		// The whole batch is due within one µs (a high rate): one "now".
		at := s.anchor + first
		off := s.offset(at)
		return clockNow{uniform: true, at: at, off: satAddInt(at, off) - at}
	}
	for j := range instants {
		hi, lo := bits.Mul64(uint64(k0+int64(j)), s.perRow)
		instants[j] = s.anchor + int64(hi<<32|lo>>32)
	}
	off := s.offset(instants[0])
	if instants[n-1] < s.zoneTo && off <= math.MaxInt64-instants[n-1] {
		// The whole batch is in one zone period: one offset.
		return clockNow{instants: instants, off: off}
	}
	for j, in := range instants {
		locals[j] = satAddInt(in, s.offset(in))
	}
	return clockNow{instants: instants, locals: locals}
}

func satAddInt(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// offset is the session zone's UTC offset at instant (µs), in µs.
func (s *schedule) offset(instant int64) int64 {
	if s.loc == nil {
		return 0
	}
	if instant >= s.zoneFrom && instant < s.zoneTo {
		return s.zoneOff
	}
	t := time.UnixMicro(instant).In(s.loc)
	_, off := t.Zone()
	from, to := t.ZoneBounds()
	s.zoneOff, s.zoneFrom, s.zoneTo = int64(off)*1_000_000, math.MinInt64, math.MaxInt64
	if !from.IsZero() {
		s.zoneFrom = from.UnixMicro()
	}
	if !to.IsZero() {
		s.zoneTo = to.UnixMicro()
	}
	return s.zoneOff
}
