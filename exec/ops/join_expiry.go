package ops

import (
	"fmt"
	"time"

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
func (j *Join) expire(wm int64) error {
	if !j.expiring() || wm == exec.MaxWatermark {
		return nil
	}
	if j.lastSweep != 0 && wm-j.lastSweep < j.sweepStep() {
		return nil
	}
	j.lastSweep = wm
	if j.store != nil {
		return j.store.expire(j, wm)
	}
	for side := range j.sides {
		j.sides[side].dropIf(j.expiredAt(side, wm))
		if l := j.sides[side].log; l != nil {
			l.expire(wm)
		}
	}
	return nil
}

// expiring says the watermark frees state (an interval join).
func (j *Join) expiring() bool { return j.Bounds != nil && j.Kind == JoinInner }

// sweepStep is the event time between two sweeps (µs).
func (j *Join) sweepStep() int64 { return max((j.Bounds.Hi-j.Bounds.Lo)/2, 1_000_000) }

// expiryCol is the time column of a side and the offset that turns its
// time into the watermark at which a row of it can no longer match: a
// row at time t is dropped once wm >= t + offset.
func (j *Join) expiryCol(side int) (col int, offset int64) {
	if side == 0 {
		return j.Bounds.LeftCol, -j.Bounds.Lo
	}
	return j.Bounds.RightCol, j.Bounds.Hi
}

// expiredAt is the test of a side's rows at watermark wm.
func (j *Join) expiredAt(side int, wm int64) func(*joinRow) bool {
	col, off := j.expiryCol(side)
	return func(r *joinRow) bool {
		t := r.cells[col]
		return !t.null && wm >= t.i+off
	}
}

// ttlSweepEvery is how often the TTL sweep runs.
func (j *Join) ttlSweepEvery() time.Duration { return max(j.TTL/4, time.Second) }

// expireTTL drops the rows not written for longer than the TTL. On
// rocksdb it only moves the limit: rows older than it are dropped when
// their bucket is next read (as if this sweep had dropped them), and the
// backend's bulk cleanup frees buckets no batch reads any more.
func (j *Join) expireTTL() error {
	limit := j.now().UnixNano() - int64(j.TTL)
	if j.store != nil {
		return j.store.expireTTL(j, limit)
	}
	for s := range j.sides {
		j.sides[s].dropIf(func(r *joinRow) bool { return r.written < limit })
	}
	return nil
}

// dropIf removes every stored row for which drop holds.
func (s *joinSide) dropIf(drop func(*joinRow) bool) {
	sweepBuckets(s, s.byInt, drop)
	sweepBuckets(s, s.byBytes, drop)
}

// sweepBuckets sweeps every bucket of one of a side's maps.
func sweepBuckets[K comparable](s *joinSide, m map[K]*joinBucket, drop func(*joinRow) bool) {
	for k, bk := range m {
		switch kept, changed := s.sweep(bk, drop); {
		case !changed:
		case kept == nil:
			delete(m, k)
		default:
			m[k] = kept
		}
	}
}

// sweep removes a bucket's rows for which drop holds. It returns the
// bucket to keep under the key (nil: no row is left) and whether that
// differs from what the map holds. A bucket a snapshot being written may
// read (shared) is left as it is: the rows it keeps go to a copy.
func (s *joinSide) sweep(bk *joinBucket, drop func(*joinRow) bool) (*joinBucket, bool) {
	if s.shared(bk) {
		dropped := 0
		for i := range bk.rows {
			if r := bk.rows[i]; drop(&r) {
				dropped++
			}
		}
		switch dropped {
		case 0:
			return bk, false
		case len(bk.rows):
			return nil, true
		}
		bk = bk.clone(s.cow.epoch, 0)
	}
	changed := s.dropRows(bk, drop)
	if len(bk.rows) == 0 {
		return nil, true
	}
	return bk, changed
}

// dropRows removes a bucket's rows for which drop holds; it reports
// whether any went.
func (s *joinSide) dropRows(bk *joinBucket, drop func(*joinRow) bool) bool {
	kept := bk.rows[:0]
	for i := range bk.rows {
		r := bk.rows[i]
		if !drop(&r) {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(bk.rows) {
		return false
	}
	clear(bk.rows[len(kept):])
	bk.rows = kept
	if bk.index != nil {
		bk.index = nil // rebuilt on demand
		if len(kept) >= bucketIndexAt {
			bk.buildIndex(s.seed)
		}
	}
	return true
}

// stateRows counts stored rows (for tests and metrics).
func (s *joinSide) stateRows() int {
	n := 0
	if s.log != nil {
		n = s.log.rowCount()
	}
	for _, bk := range s.byInt {
		n += bk.multiplicity()
	}
	for _, bk := range s.byBytes {
		n += bk.multiplicity()
	}
	return n
}

// multiplicity counts the bucket's rows with their duplicates (an
// insert-only side keeps equal rows apart, others count them).
func (bk *joinBucket) multiplicity() int {
	n := 0
	for i := range bk.rows {
		n += int(bk.rows[i].count)
	}
	return n
}

// ProcessWatermark frees expired interval-join state, then forwards the
// watermark.
func (j *Join) ProcessWatermark(wm int64, out exec.Collector) error {
	if err := j.expire(wm); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	return out.EmitWatermark(wm)
}
