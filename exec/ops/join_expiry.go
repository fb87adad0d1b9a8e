package ops

import (
	"github.com/streamsql/streamsql/exec"
)

// TimeBounds describe an interval join: the join condition implies
// Left[LeftCol] - Right[RightCol] is within [Lo, Hi] (microseconds). With
// event time, a stored row that no future row of the other side can match
// any more is dropped when the watermark passes: a left row at time L
// matches right rows up to L - Lo, a right row at time R left rows up to
// R + Hi, and future rows are later than the watermark. Window joins are
// the case Lo = Hi = 0 on window_end.
type TimeBounds struct {
	LeftCol, RightCol int
	Lo, Hi            int64
}

// expire drops the rows the watermark has made unmatchable. It sweeps the
// state at most once per half interval (at least a second) of event time,
// so a row outlives its last possible match by at most that much.
func (j *Join) expire(wm int64) {
	if j.Bounds == nil || j.Kind != JoinInner || wm == exec.MaxWatermark {
		return
	}
	if j.lastSweep != 0 && wm-j.lastSweep < max((j.Bounds.Hi-j.Bounds.Lo)/2, 1_000_000) {
		return
	}
	j.lastSweep = wm
	j.sides[0].dropIf(func(r *joinRow) bool {
		t := r.cells[j.Bounds.LeftCol]
		return !t.null && wm >= t.i-j.Bounds.Lo
	})
	j.sides[1].dropIf(func(r *joinRow) bool {
		t := r.cells[j.Bounds.RightCol]
		return !t.null && wm >= t.i+j.Bounds.Hi
	})
}

// expireTTL drops the rows not written for longer than the TTL.
func (j *Join) expireTTL() {
	limit := j.now().UnixNano() - int64(j.TTL)
	for s := range j.sides {
		j.sides[s].dropIf(func(r *joinRow) bool { return r.written < limit })
	}
}

// dropIf removes every stored row for which drop holds.
func (s *joinSide) dropIf(drop func(*joinRow) bool) {
	sweep := func(bk *joinBucket) bool {
		kept := bk.rows[:0]
		for i := range bk.rows {
			r := bk.rows[i]
			if !drop(&r) {
				kept = append(kept, r)
			}
		}
		clear(bk.rows[len(kept):])
		bk.rows = kept
		if bk.index != nil {
			bk.index = nil // rebuilt on demand
			if len(kept) >= bucketIndexAt {
				bk.buildIndex(s.seed)
			}
		}
		return len(kept) == 0
	}
	for k, bk := range s.byInt {
		if sweep(bk) {
			delete(s.byInt, k)
		}
	}
	for k, bk := range s.byBytes {
		if sweep(bk) {
			delete(s.byBytes, k)
		}
	}
}

// stateRows counts stored rows (for tests and metrics).
func (s *joinSide) stateRows() int {
	n := 0
	for _, bk := range s.byInt {
		n += len(bk.rows)
	}
	for _, bk := range s.byBytes {
		n += len(bk.rows)
	}
	return n
}

// ProcessWatermark frees expired interval-join state, then forwards the
// watermark.
func (j *Join) ProcessWatermark(wm int64, out exec.Collector) error {
	j.expire(wm)
	return out.EmitWatermark(wm)
}
