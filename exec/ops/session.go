package ops

import (
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
)

// Session windows, as Flink merges them: the SESSION table function gives
// each row the provisional window [ts, ts + gap); the window aggregate
// merges a key's windows that overlap or touch into one session, merging
// their accumulators, and fires a session when the watermark passes its end.

// Over PROCTIME() the provisional window is [now, now + gap): a session
// ends a gap after its last row's processing time and fires on the timer
// (fireProcTime); no row is late, a row of a fired session starts a new one.
//
// On rocksdb (session_rocks.go) a key's sessions are loaded from pebble
// when a batch first touches the key and written back at the batch's end.

// session is one open session of a key.
type session struct {
	start, end int64
	g          *group
}

// foldSessions assigns rows to sessions (merging as needed), then folds
// them into the sessions' accumulators.
func (a *GroupAgg) foldSessions(b batch.Batch) error {
	if !b.InsertOnly() {
		return fmt.Errorf("not supported yet: session windows over an updating input")
	}
	err := a.foldSessionRows(b)
	if a.store != nil && err == nil {
		err = a.storeSessions()
	}
	return err
}

func (a *GroupAgg) foldSessionRows(b batch.Batch) error {
	n := b.Len()
	starts := b.Column(a.Keys[a.WindowStart]).(*array.Int64).Int64Values()
	ends := b.Column(a.Keys[a.WindowEnd]).(*array.Int64).Int64Values()
	var others []arrow.Array
	for i, k := range a.Keys {
		if i != a.WindowStart && i != a.WindowEnd {
			others = append(others, b.Column(k))
		}
	}
	keyCols := make([]arrow.Array, len(a.Keys))
	for i, k := range a.Keys {
		keyCols[i] = b.Column(k)
	}
	if cap(a.rowGroups) < n {
		a.rowGroups = make([]*group, n)
	}
	rowGroups := a.rowGroups[:n]
	if a.store != nil {
		a.store.keyGroups(others, n) // as the exchange routes: by the non-window keys
	}
	keep := make([]int32, 0, n)
	for r := 0; r < n; r++ {
		a.keyBuf = appendKey(a.keyBuf[:0], others, r)
		if a.store != nil {
			if err := a.loadSessions(a.store.kgs[r], keyCols, r); err != nil {
				return err
			}
		}
		list := a.sessions[string(a.keyBuf)]
		// The row's session: its provisional window merged with every
		// open session it overlaps or touches. As in Flink, the row is late
		// only if that merged session has already passed the watermark.
		start, end := starts[r], ends[r]
		for _, s := range list {
			if s.start <= end && start <= s.end {
				start, end = min(start, s.start), max(end, s.end)
			}
		}
		if !a.ProcTime && a.windowFired(end) {
			continue
		}
		var target *session
		kept := list[:0]
		for _, s := range list {
			if s.start <= end && start <= s.end {
				if target == nil {
					target = s
				} else {
					a.mergeGroups(target.g, s.g)
					s.g.mergedInto = target.g
				}
				continue
			}
			kept = append(kept, s)
		}
		if target == nil {
			target = &session{g: a.newGroup(keyCols, r)}
		}
		target.start, target.end = start, end
		a.sessions[string(a.keyBuf)] = append(kept, target)
		if a.sessMinKnown && end < a.sessMinEnd {
			a.sessMinEnd = end
		}
		rowGroups[len(keep)] = target.g
		keep = append(keep, int32(r))
	}
	if dropped := n - len(keep); dropped > 0 {
		a.late.add(dropped, a.watermark)
		if len(keep) == 0 {
			return nil
		}
		b = batch.TakeBatch(b, keep)
	}
	rowGroups = rowGroups[:len(keep)]
	for i, g := range rowGroups {
		for g.mergedInto != nil {
			g = g.mergedInto
		}
		rowGroups[i] = g
		g.rows++
	}
	for i := range a.Aggs {
		if err := a.foldAgg(i, b, rowGroups); err != nil {
			return err
		}
	}
	return nil
}

// mergeGroups folds src's rows and accumulators into dst.
func (a *GroupAgg) mergeGroups(dst, src *group) {
	a.unshare(dst) // multisets merge per aggregate; the next fold shares again
	a.unshare(src)
	dst.rows += src.rows
	for i := range a.Aggs {
		d, s := &dst.accs[i], &src.accs[i]
		if a.Aggs[i].Kind == AggMin || a.Aggs[i].Kind == AggMax {
			if s.n > 0 && (d.n == 0 ||
				(a.Aggs[i].Kind == AggMin && compareCells(s.ext, d.ext, a.Aggs[i].ArgType.Kind) < 0) ||
				(a.Aggs[i].Kind == AggMax && compareCells(s.ext, d.ext, a.Aggs[i].ArgType.Kind) > 0)) {
				d.ext = s.ext
			}
		}
		d.n += s.n
		d.i += s.i
		d.f += s.f
		for v, c := range s.set {
			if d.set == nil {
				d.set = map[cell]int64{}
			}
			d.set[v] += c
		}
		for v, c := range s.iset {
			if d.iset == nil {
				d.iset = map[int64]int64{}
			}
			d.iset[v] += c
		}
		if d.iset != nil && d.set != nil { // one restored, one folded since
			for v, c := range d.set {
				d.iset[v.i] += c
			}
			d.set = nil
		}
	}
}

// fireSessions emits every session whose end the watermark has passed,
// earliest first, with its merged bounds as window_start and window_end.
func (a *GroupAgg) fireSessions(out exec.Collector) error {
	if a.store != nil {
		return a.fireStoredSessions(out)
	}
	if a.sessMinKnown && !a.windowFired(a.sessMinEnd) {
		return nil // no session ends early enough
	}
	var due []*session
	minEnd, any := int64(0), false
	for k, list := range a.sessions {
		kept := list[:0]
		for _, s := range list {
			if a.windowFired(s.end) {
				due = append(due, s)
			} else {
				kept = append(kept, s)
				if !any || s.end < minEnd {
					minEnd, any = s.end, true
				}
			}
		}
		if len(kept) == 0 {
			delete(a.sessions, k)
		} else {
			a.sessions[k] = kept
		}
	}
	// Known from here on: new sessions lower it as they are made (a merge
	// only moves an end later, which leaves it a lower bound).
	a.sessMinEnd, a.sessMinKnown = minEnd, true
	if !any {
		a.sessMinEnd = math.MaxInt64
	}
	return a.emitSessions(due, out)
}

// emitSessions emits fired sessions, earliest end first.
func (a *GroupAgg) emitSessions(due []*session, out exec.Collector) error {
	if len(due) == 0 {
		return nil
	}
	slices.SortStableFunc(due, func(x, y *session) int {
		if x.end != y.end {
			return compareInt(x.end, y.end)
		}
		return compareInt(x.start, y.start)
	})
	a.outCells.reset()
	for _, s := range due {
		g := s.g
		g.prev[a.WindowStart] = cell{i: s.start}
		g.prev[a.WindowEnd] = cell{i: s.end}
		a.resultInto(g, g.prev)
		if err := a.checkRange(g.prev); err != nil {
			return err
		}
		a.appendRow(g.prev)
	}
	return out.Collect(a.outCells.batch(a.schema, a.Out, len(due), nil))
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
