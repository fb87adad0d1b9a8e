package planner

import (
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/exec/ops"
)

// cascadedWindowKeys finds, for a GROUP BY whose input is not a window TVF
// itself, keys that are the window_start and window_end of one upstream
// event-time window, however renamed: the output of a window aggregation
// grouped again by its window (Nexmark q5's MAX of per-auction counts).
// As in Flink's cascading window aggregation, that GROUP BY is a window
// aggregation too: insert-only, fired when the watermark passes the
// window's end (the upstream emits a window's rows before forwarding the
// watermark that fired it, so none is late downstream). Processing-time
// windows are left alone: both levels fire on their own timers, so the
// downstream one could fire before the upstream's rows arrive.
func cascadedWindowKeys(input Node, keyCols []expr.Expr) (start, end int, ok bool) {
	if Updating(input) {
		return 0, 0, false
	}
	start, end = -1, -1
	var ws, we *WindowAssignNode
	for k, c := range keyCols {
		ref, isRef := c.(*expr.ColumnRef)
		if !isRef {
			continue
		}
		w, which, found := windowColumn(input, ref.Index)
		if !found || w.ProcTime || w.Kind == ops.Session {
			continue
		}
		switch {
		case which == winStart && start < 0:
			start, ws = k, w
		case which == winEnd && end < 0:
			end, we = k, w
		}
	}
	return start, end, start >= 0 && end >= 0 && ws == we
}
