package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/exec/ops"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// WatermarkNode generates watermarks from a table's WATERMARK FOR clause.
type WatermarkNode struct {
	Input  Node
	Column string
	Expr   expr.Expr
	// PerRow: 'scan.watermark.emit.strategy' = 'on-event'.
	PerRow bool
	// Idle: 'scan.watermark.idle-timeout'.
	Idle time.Duration
}

func (w *WatermarkNode) Schema() types.Schema { return w.Input.Schema() }
func (w *WatermarkNode) Inputs() []Node       { return []Node{w.Input} }
func (w *WatermarkNode) Bounded() bool        { return w.Input.Bounded() }
func (w *WatermarkNode) Describe() string {
	d := fmt.Sprintf("WatermarkAssigner(rowtime=[%s], watermark=[%s]", w.Column, w.Expr)
	if w.Idle > 0 {
		d += fmt.Sprintf(", idleTimeout=[%s]", w.Idle)
	}
	return d + ")"
}

// WindowAssignNode is a window table function: each row gets the windows it
// falls into (window_start, window_end, window_time appended).
type WindowAssignNode struct {
	Input   Node
	Kind    ops.WindowKind
	Name    string // TUMBLE, HOP, CUMULATE
	TimeCol int
	// Size, Slide, Offset in microseconds (Slide is HOP's slide and
	// CUMULATE's step).
	Size, Slide, Offset int64
	Out                 types.Schema
	// Partition names SESSION's PARTITION BY columns; Aggregated marks a
	// SESSION consumed by a window aggregation (the only place its
	// provisional windows are merged into sessions).
	Partition  []string
	Aggregated bool
	// ProcTime: the time column is PROCTIME(): windows follow the wall
	// clock, not the watermark.
	ProcTime bool
}

func (w *WindowAssignNode) Schema() types.Schema { return w.Out }
func (w *WindowAssignNode) Inputs() []Node       { return []Node{w.Input} }
func (w *WindowAssignNode) Bounded() bool        { return w.Input.Bounded() }
func (w *WindowAssignNode) Describe() string {
	if w.Kind == ops.Session {
		return fmt.Sprintf("WindowTableFunction(window=[SESSION(time_col=[%s], gap=[%s], partition keys=[%s])])",
			w.Input.Schema().Fields[w.TimeCol].Name, durationText(w.Size), strings.Join(w.Partition, ", "))
	}
	d := fmt.Sprintf("WindowTableFunction(window=[%s(time_col=[%s], size=[%s]", w.Name,
		w.Input.Schema().Fields[w.TimeCol].Name, durationText(w.Size))
	switch w.Kind {
	case ops.Hop:
		d += ", slide=[" + durationText(w.Slide) + "]"
	case ops.Cumulate:
		d += ", step=[" + durationText(w.Slide) + "]"
	}
	return d + ")])"
}

func durationText(us int64) string {
	switch {
	case us%3_600_000_000 == 0:
		return fmt.Sprintf("%d h", us/3_600_000_000)
	case us%60_000_000 == 0:
		return fmt.Sprintf("%d min", us/60_000_000)
	case us%1_000_000 == 0:
		return fmt.Sprintf("%d s", us/1_000_000)
	}
	return fmt.Sprintf("%d ms", us/1000)
}

// hasWatermark reports whether event time flows out of n.
func hasWatermark(n Node) bool {
	if _, ok := n.(*WatermarkNode); ok {
		return true
	}
	for _, in := range n.Inputs() {
		if hasWatermark(in) {
			return true
		}
	}
	return false
}

// isProcTime reports whether column col of n is a processing-time
// attribute: PROCTIME() (a computed column or a projection), passed
// through projections and filters unchanged.
func isProcTime(n Node, col int) bool {
	switch x := n.(type) {
	case *Calc:
		switch e := x.Exprs[col].(type) {
		case *expr.Call:
			return e.Fn == "PROCTIME"
		case *expr.ColumnRef:
			return isProcTime(x.Input, e.Index)
		}
	case *WatermarkNode:
		return isProcTime(x.Input, col)
	}
	return false
}

// hasWindowAssign reports whether n's rows carry window columns.
func hasWindowAssign(n Node) bool {
	if _, ok := n.(*WindowAssignNode); ok {
		return true
	}
	if _, ok := n.(*GroupAgg); ok {
		return false // an aggregate's output is no longer windowed rows
	}
	for _, in := range n.Inputs() {
		if hasWindowAssign(in) {
			return true
		}
	}
	return false
}

// planWindowTVF plans TABLE(TUMBLE|HOP|CUMULATE(TABLE t, DESCRIPTOR(ts), ...)).
func (p *Planner) planWindowTVF(bc *bindCtx, w *ast.WindowTVF) (relation, error) {
	in, err := p.planFrom(bc, w.Input)
	if err != nil {
		return relation{}, err
	}
	idx, t, err := in.scope.Resolve(&ast.Ident{Parts: []string{w.TimeCol}, Pos: w.Pos})
	if err != nil {
		return relation{}, ast.Errorf(w.Pos, "%s: DESCRIPTOR(%s) is not a column of its input", w.Kind, w.TimeCol)
	}
	if t.Kind != types.Timestamp && t.Kind != types.TimestampLTZ {
		return relation{}, ast.Errorf(w.Pos, "%s: the time column '%s' must be a TIMESTAMP or TIMESTAMP_LTZ, not %s", w.Kind, w.TimeCol, t)
	}
	procTime := isProcTime(in.node, idx)
	if !procTime && !hasWatermark(in.node) {
		return relation{}, ast.Errorf(w.Pos, "%s over '%s' needs a time attribute: declare WATERMARK FOR %s in the table, or use a PROCTIME() column", w.Kind, w.TimeCol, w.TimeCol)
	}
	args := make([]int64, len(w.Args))
	for i, a := range w.Args {
		us, err := p.intervalMicros(a, w.Kind)
		if err != nil {
			return relation{}, err
		}
		args[i] = us
	}
	node := &WindowAssignNode{Input: in.node, Name: w.Kind, TimeCol: idx, ProcTime: procTime}
	switch w.Kind {
	case "TUMBLE":
		if len(args) < 1 || len(args) > 2 {
			return relation{}, ast.Errorf(w.Pos, "TUMBLE expects (TABLE t, DESCRIPTOR(col), size [, offset])")
		}
		node.Kind, node.Size = ops.Tumble, args[0]
		if len(args) == 2 {
			node.Offset = args[1]
		}
	case "HOP", "CUMULATE":
		// HOP(slide, size) and CUMULATE(step, max size): the size must be
		// a whole number of slides/steps.
		what := map[string][2]string{"HOP": {"slide", "size"}, "CUMULATE": {"step", "max size"}}[w.Kind]
		if len(args) < 2 || len(args) > 3 {
			return relation{}, ast.Errorf(w.Pos, "%s expects (TABLE t, DESCRIPTOR(col), %s, %s [, offset])", w.Kind, what[0], what[1])
		}
		node.Kind, node.Slide, node.Size = ops.Hop, args[0], args[1]
		if w.Kind == "CUMULATE" {
			node.Kind = ops.Cumulate
		}
		if node.Size%node.Slide != 0 {
			return relation{}, ast.Errorf(w.Pos, "%s: the %s must be an integral multiple of the %s", w.Kind, what[1], what[0])
		}
		if len(args) == 3 {
			node.Offset = args[2]
		}
	case "SESSION":
		if len(args) != 1 {
			return relation{}, ast.Errorf(w.Pos, "SESSION expects (TABLE t [PARTITION BY cols], DESCRIPTOR(col), gap)")
		}
		for _, p := range w.PartitionBy {
			if _, _, err := in.scope.Resolve(&ast.Ident{Parts: []string{p}, Pos: w.Pos}); err != nil {
				return relation{}, ast.Errorf(w.Pos, "SESSION: PARTITION BY %s is not a column of its input", p)
			}
		}
		node.Kind, node.Size, node.Partition = ops.Session, args[0], w.PartitionBy
	default:
		return relation{}, ast.Errorf(w.Pos, "unknown window function %s", w.Kind)
	}
	fields := append([]types.Field{}, in.node.Schema().Fields...)
	timeType := types.TimestampOf(3)
	if t.Kind == types.TimestampLTZ {
		timeType = types.TimestampLTZOf(3)
	}
	fields = append(fields,
		types.Field{Name: "window_start", Type: types.TimestampOf(3).WithNotNull(true)},
		types.Field{Name: "window_end", Type: types.TimestampOf(3).WithNotNull(true)},
		types.Field{Name: "window_time", Type: timeType.WithNotNull(true)})
	node.Out = types.Schema{Fields: fields}
	qual := w.Alias
	sc := &scope{}
	for i, f := range fields {
		q := qual
		if q == "" && i < len(in.scope.cols) {
			q = in.scope.cols[i].Qualifier
		}
		sc.cols = append(sc.cols, scopeCol{Qualifier: q, Name: f.Name, Type: f.Type})
	}
	return relation{node: node, scope: sc}, nil
}

// intervalMicros evaluates a constant INTERVAL argument.
func (p *Planner) intervalMicros(a ast.Expr, fn string) (int64, error) {
	e, err := expr.Bind(a, &scope{}, noAggregates(fn))
	if err != nil {
		return 0, err
	}
	if e.Type().Kind != types.Interval {
		return 0, ast.Errorf(a.Position(), "%s: expected an INTERVAL, got %s", fn, e.Type())
	}
	v, err := expr.Const(e, &expr.EvalEnv{})
	if err != nil {
		return 0, ast.Errorf(a.Position(), "%s: %v", fn, err)
	}
	ms, ok := v.(int64)
	if !ok || ms <= 0 {
		return 0, ast.Errorf(a.Position(), "%s: the interval must be positive", fn)
	}
	return ms * 1000, nil
}

// windowKeys finds window_start and window_end among the grouping keys of
// an aggregate over windowed rows; the aggregate is then a window
// aggregation (final, insert-only results).
func windowKeys(input Node, keyCols []expr.Expr) (start, end int, ok bool) {
	if !hasWindowAssign(input) {
		return 0, 0, false
	}
	names := input.Schema().Names()
	start = -1
	end = -1
	for k, c := range keyCols {
		ref, isRef := c.(*expr.ColumnRef)
		if !isRef {
			continue
		}
		switch strings.ToLower(names[ref.Index]) {
		case "window_start":
			start = k
		case "window_end":
			end = k
		}
	}
	return start, end, start >= 0 && end >= 0
}

// findWindowAssign returns the window TVF feeding n's rows.
func findWindowAssign(n Node) *WindowAssignNode {
	if w, ok := n.(*WindowAssignNode); ok {
		return w
	}
	if _, ok := n.(*GroupAgg); ok {
		return nil
	}
	for _, in := range n.Inputs() {
		if w := findWindowAssign(in); w != nil {
			return w
		}
	}
	return nil
}

// sessionKeysMatch checks that a session aggregation groups by exactly its
// SESSION's PARTITION BY columns (besides the window columns).
func sessionKeysMatch(w *WindowAssignNode, input Node, keyCols []expr.Expr, start, end int) bool {
	names := input.Schema().Names()
	var keys []string
	for k, c := range keyCols {
		if k == start || k == end {
			continue
		}
		ref, ok := c.(*expr.ColumnRef)
		if !ok {
			return false
		}
		keys = append(keys, strings.ToLower(names[ref.Index]))
	}
	if len(keys) != len(w.Partition) {
		return false
	}
	for _, p := range w.Partition {
		found := false
		for _, k := range keys {
			if k == strings.ToLower(p) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
