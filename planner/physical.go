package planner

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/ops"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Job is a planned, runnable job.
type Job struct {
	Name string
	// Root is the plan of a single statement; for a statement set, the
	// first INSERT's plan (Roots holds them all).
	Root Node
	// Roots are the plans of every statement the job runs: one for a query
	// or an INSERT, one per INSERT for a statement set.
	Roots    []Node
	Graph    *exec.Graph
	Settings *JobSettings
	// Bounded: every source ends.
	Bounded bool
	// Ordered: the result order is meaningful (ORDER BY).
	Ordered bool
	// InMemoryState lists the kinds of stateful operators that keep their
	// state in memory although 'state.backend' = 'rocksdb'.
	InMemoryState []string
	// Schema is the result schema of a query (the sink's input for INSERT;
	// the first INSERT's for a statement set).
	Schema types.Schema
}

// CollectFunc receives a query's result batches (never concurrently).
type CollectFunc func(ctx context.Context, b batch.Batch) error

// BuildOptions tunes the translation.
type BuildOptions struct {
	// Collect receives the rows of a CollectNode.
	Collect CollectFunc
	// LimitReached is called when a LIMIT has emitted all its rows.
	LimitReached func()
}

// stream is the output of a translated subtree: the vertex whose chain
// produces it (operators may still be chained onto it).
type stream struct {
	vi          int
	parallelism int
	// sealed: another vertex already consumes this one, nothing may be
	// chained onto it any more.
	sealed bool
}

type builder struct {
	// rocks: 'state.backend' = 'rocksdb'.
	rocks bool
	// inMemory names the stateful operators that keep their state in
	// memory although rocks is set.
	inMemory []string
	p        *Planner
	g        *exec.Graph
	opts     BuildOptions
	par      int
	// share is the sub-plans several INSERTs of a statement set read alike
	// (nil for a single statement).
	share *sharing
}

// Build translates a plan into a job graph. Forward edges between operators
// of equal parallelism are chained into one vertex (one task per subtask,
// no queues in between); a change of parallelism or a need for all rows in
// one place (ORDER BY, LIMIT, the client) adds an exchange.
func (p *Planner) Build(name string, root Node, ordered bool, opts BuildOptions) (*Job, error) {
	return p.buildJob(name, []Node{root}, ordered, opts)
}

// buildJob translates one or more plans into one job graph. Job settings are
// resolved over the tables of every plan; sub-plans that several roots read
// alike are translated once (see sharing).
func (p *Planner) buildJob(name string, roots []Node, ordered bool, opts BuildOptions) (*Job, error) {
	opt := make([]Node, len(roots))
	var tables []*Table
	seen := map[*Table]bool{}
	for i, r := range roots {
		opt[i] = Optimize(r)
		for _, t := range collectTables(opt[i]) {
			if !seen[t] {
				seen[t] = true
				tables = append(tables, t)
			}
		}
	}
	js, err := ResolveJobSettings(p.Settings, tables)
	if err != nil {
		return nil, err
	}
	if js.Get(KeyPipelineName) != "" {
		name = js.Get(KeyPipelineName)
	}
	b := &builder{p: p, opts: opts, par: js.Int(KeyParallelism), rocks: js.Get(KeyStateBackend) == "rocksdb",
		g: &exec.Graph{Name: name, MaxParallelism: js.Int(KeyMaxParallelism)}}
	b.share = newSharing(opt)
	bounded := true
	for _, r := range opt {
		if _, err := b.build(r); err != nil {
			return nil, err
		}
		bounded = bounded && r.Bounded()
	}
	return &Job{Name: name, Root: opt[0], Roots: opt, Graph: b.g, Settings: js, Bounded: bounded, Ordered: ordered, Schema: opt[0].Schema(),
		InMemoryState: b.inMemory}, nil
}

// stateInMemory notes an operator whose state stays in memory with
// 'state.backend' = 'rocksdb' (a bounded ORDER BY: pebble holds every
// other operator's state).
func (b *builder) stateInMemory(what string) {
	if b.rocks && !slices.Contains(b.inMemory, what) {
		b.inMemory = append(b.inMemory, what)
	}
}

// InMemoryStateWarning is what a job whose InMemoryState is not empty
// tells the user.
func (j *Job) InMemoryStateWarning() string {
	if len(j.InMemoryState) == 0 {
		return ""
	}
	return "'state.backend' = 'rocksdb' keeps aggregate, window, join and Top-N state in pebble; not supported yet for " +
		strings.Join(j.InMemoryState, ", ") + ": their state stays in memory (and in checkpoints as such)"
}

func collectTables(n Node) []*Table {
	var out []*Table
	seen := map[*Table]bool{}
	var walk func(Node)
	walk = func(n Node) {
		switch x := n.(type) {
		case *Scan:
			if !seen[x.Table] {
				seen[x.Table] = true
				out = append(out, x.Table)
			}
		case *SinkNode:
			if !seen[x.Table] {
				seen[x.Table] = true
				out = append(out, x.Table)
			}
		}
		for _, c := range n.Inputs() {
			walk(c)
		}
	}
	walk(n)
	return out
}

func (b *builder) vertex(i int) *exec.Vertex { return b.g.Vertices[i] }

func (b *builder) addVertex(v *exec.Vertex) stream {
	b.g.Vertices = append(b.g.Vertices, v)
	return stream{vi: len(b.g.Vertices) - 1, parallelism: v.Parallelism}
}

// chain appends an operator to s's vertex, or starts a new vertex fed by
// s through a forward or rebalancing edge when s is sealed or runs at
// another parallelism.
func (b *builder) chain(s stream, par int, f exec.OperatorFactory) stream {
	if !s.sealed && s.parallelism == par {
		v := b.vertex(s.vi)
		v.Chain = append(v.Chain, f)
		return s
	}
	// Equal parallelism here means s is sealed (a sub-plan a statement
	// set's INSERTs share): each reader gets its own vertex, fed one to one.
	kind := exec.Rebalance
	switch {
	case s.parallelism == par:
		kind = exec.Forward
	case par == 1:
		kind = exec.Global
	}
	return b.exchange(s, par, exec.Partitioning{Kind: kind}, f)
}

// exchange starts a new vertex that reads s through the given partitioning.
func (b *builder) exchange(s stream, par int, part exec.Partitioning, f exec.OperatorFactory) stream {
	return b.addVertex(&exec.Vertex{Name: f.Name, Parallelism: par,
		Inputs: []exec.Input{{From: s.vi, Partitioning: part}}, Chain: []exec.OperatorFactory{f}})
}

// build translates n, or returns the stream of the sub-plan it shares with
// other INSERTs of a statement set.
func (b *builder) build(n Node) (stream, error) {
	if b.share != nil && b.share.point(n) {
		return b.share.build(n, b.translate)
	}
	return b.translate(n)
}

// translate turns a node into operators over its translated inputs.
func (b *builder) translate(n Node) (stream, error) {
	switch x := n.(type) {
	case *Scan:
		t := x.Table
		env := b.p.Env
		return b.addVertex(&exec.Vertex{Name: "Source: " + t.Name, Parallelism: b.par,
			Source: func(int) (connectors.Source, error) { return t.Factory.NewSource(t.ConnectorTable(env)) }}), nil
	case *Values:
		return b.addVertex(&exec.Vertex{Name: "Values", Parallelism: 1,
			Source: func(int) (connectors.Source, error) { return &valuesSource{}, nil }}), nil
	case *Calc:
		in, err := b.build(x.Input)
		if err != nil {
			return stream{}, err
		}
		filter, exprs, out := x.Filter, x.Exprs, x.Out
		return b.chain(in, in.parallelism, exec.OperatorFactory{Name: x.Describe(), New: func(int) (exec.Operator, error) {
			return &ops.Calc{Filter: filter, Exprs: exprs, Out: out}, nil
		}}), nil
	case *SortNode:
		b.stateInMemory("ORDER BY")
		in, err := b.build(x.Input)
		if err != nil {
			return stream{}, err
		}
		keys := make([]ops.SortKey, len(x.Keys))
		for i, k := range x.Keys {
			keys[i] = ops.SortKey{Col: k.Col, Desc: k.Desc}
		}
		schema := x.Schema().Arrow()
		offset, limit := x.Offset, x.Limit
		return b.chain(in, 1, exec.OperatorFactory{Name: x.Describe(), New: func(int) (exec.Operator, error) {
			return &ops.Sort{Keys: keys, Offset: offset, Limit: limit, Schema: schema}, nil
		}}), nil
	case *LimitNode:
		in, err := b.build(x.Input)
		if err != nil {
			return stream{}, err
		}
		offset, limit, reached := x.Offset, x.Limit, b.opts.LimitReached
		return b.chain(in, 1, exec.OperatorFactory{Name: x.Describe(), New: func(int) (exec.Operator, error) {
			return &ops.Limit{Offset: offset, Limit: limit, Reached: reached}, nil
		}}), nil
	case *Union:
		var ins []stream
		for _, c := range x.In {
			s, err := b.build(c)
			if err != nil {
				return stream{}, err
			}
			ins = append(ins, s)
		}
		v := &exec.Vertex{Name: "Union", Parallelism: b.par}
		for _, s := range ins {
			kind := exec.Rebalance
			if s.parallelism == b.par {
				kind = exec.Forward
			}
			if b.par == 1 {
				kind = exec.Global
			}
			v.Inputs = append(v.Inputs, exec.Input{From: s.vi, Partitioning: exec.Partitioning{Kind: kind}})
		}
		return b.addVertex(v), nil
	case *JoinNode:
		l, err := b.build(x.Left)
		if err != nil {
			return stream{}, err
		}
		r, err := b.build(x.Right)
		if err != nil {
			return stream{}, err
		}
		kind := map[ast.JoinKind]ops.JoinKind{ast.JoinInner: ops.JoinInner, ast.JoinLeft: ops.JoinLeft,
			ast.JoinRight: ops.JoinRight, ast.JoinFull: ops.JoinFull}[x.Kind]
		lk, rk, ls, rs, out, residual, bounds := x.LeftKeys, x.RightKeys, x.Left.Schema(), x.Right.Schema(), x.Out, x.Residual, x.Bounds
		ttl, _ := ParseDuration(b.p.Settings.Get(KeyStateTTL))
		leftInsertOnly, rightInsertOnly, rocksState := !Updating(x.Left), !Updating(x.Right), b.rocks
		v := &exec.Vertex{Name: x.Describe(), Parallelism: b.par, Chain: []exec.OperatorFactory{{Name: x.Describe(), New: func(int) (exec.Operator, error) {
			var bd *ops.TimeBounds
			if bounds != nil {
				cp := *bounds
				bd = &cp
			}
			return &ops.Join{Kind: kind, LeftKeys: lk, RightKeys: rk, Left: ls, Right: rs, Out: out, Residual: residual, Bounds: bd, TTL: ttl,
				LeftInsertOnly: leftInsertOnly, RightInsertOnly: rightInsertOnly, RocksDB: rocksState}, nil
		}}}}
		lp, rp := exec.Partitioning{Kind: exec.Hash, Keys: lk}, exec.Partitioning{Kind: exec.Hash, Keys: rk}
		if len(lk) == 0 {
			// No equality to partition by: every pair meets in one place.
			v.Parallelism = 1
			lp, rp = exec.Partitioning{Kind: exec.Global}, exec.Partitioning{Kind: exec.Global}
		}
		v.Inputs = []exec.Input{{From: l.vi, Partitioning: lp, Side: 0}, {From: r.vi, Partitioning: rp, Side: 1}}
		return b.addVertex(v), nil
	case *LookupJoinNode:
		return b.lookupJoin(x)
	case *WindowJoinNode:
		l, err := b.build(x.Left)
		if err != nil {
			return stream{}, err
		}
		r, err := b.build(x.Right)
		if err != nil {
			return stream{}, err
		}
		kind := map[ast.JoinKind]ops.JoinKind{ast.JoinInner: ops.JoinInner, ast.JoinLeft: ops.JoinLeft,
			ast.JoinRight: ops.JoinRight, ast.JoinFull: ops.JoinFull}[x.Kind]
		lk, rk := x.LeftKeys, x.RightKeys
		if len(lk) == 0 {
			// Without other keys, the window keeps it parallel.
			lk, rk = []int{x.LeftEnd}, []int{x.RightEnd}
		}
		lend, rend, ls, rs, out, residual, rocks := x.LeftEnd, x.RightEnd, x.Left.Schema(), x.Right.Schema(), x.Out, x.Residual, b.rocks
		v := &exec.Vertex{Name: x.Describe(), Parallelism: b.par, Chain: []exec.OperatorFactory{{Name: x.Describe(), New: func(int) (exec.Operator, error) {
			return &ops.WindowJoin{Kind: kind, LeftKeys: lk, RightKeys: rk, LeftEnd: lend, RightEnd: rend, Left: ls, Right: rs, Out: out,
				Residual: residual, RocksDB: rocks}, nil
		}}}}
		v.Inputs = []exec.Input{{From: l.vi, Partitioning: exec.Partitioning{Kind: exec.Hash, Keys: lk}, Side: 0},
			{From: r.vi, Partitioning: exec.Partitioning{Kind: exec.Hash, Keys: rk}, Side: 1}}
		return b.addVertex(v), nil
	case *RankNode:
		if x.Limit < 0 {
			return stream{}, fmt.Errorf("not supported yet: ROW_NUMBER() OVER (...) without a filter rn <= N on it (Top-N)")
		}
		in, err := b.build(x.Input)
		if err != nil {
			return stream{}, err
		}
		order := make([]ops.SortKey, len(x.Order))
		for i, o := range x.Order {
			order[i] = ops.SortKey{Col: o.Col, Desc: o.Desc}
		}
		part, limit, rankCol, inSchema, out, inUpdating := x.Partition, x.Limit, x.RankColumn, x.Input.Schema(), x.Schema(), Updating(x.Input)
		mini := 0
		if b.p.Settings.IsSet(KeyMiniBatchSize) {
			mini, _ = strconv.Atoi(b.p.Settings.Get(KeyMiniBatchSize))
		}
		ttl, _ := ParseDuration(b.p.Settings.Get(KeyStateTTL))
		rocks := b.rocks
		f := exec.OperatorFactory{Name: x.Describe(), New: func(int) (exec.Operator, error) {
			return &ops.Rank{PartitionKeys: part, OrderKeys: order, Limit: limit, RankColumn: rankCol, In: inSchema, Out: out, MiniBatch: mini,
				InputUpdating: inUpdating, RocksDB: rocks, TTL: ttl}, nil
		}}
		if len(part) == 0 || (b.par == 1 && in.parallelism == 1) {
			return b.chain(in, 1, f), nil
		}
		return b.exchange(in, b.par, exec.Partitioning{Kind: exec.Hash, Keys: part}, f), nil
	case *WatermarkNode:
		in, err := b.build(x.Input)
		if err != nil {
			return stream{}, err
		}
		e, perRow, idle := x.Expr, x.PerRow, x.Idle
		return b.chain(in, in.parallelism, exec.OperatorFactory{Name: x.Describe(), New: func(int) (exec.Operator, error) {
			return &ops.WatermarkAssigner{Expr: e, PerRow: perRow, IdleTimeout: idle}, nil
		}}), nil
	case *WindowAssignNode:
		if x.Kind == ops.Session && !x.Aggregated {
			return stream{}, fmt.Errorf("not supported yet: SESSION windows outside a window aggregation (GROUP BY window_start, window_end, ...)")
		}
		in, err := b.build(x.Input)
		if err != nil {
			return stream{}, err
		}
		w := *x
		return b.chain(in, in.parallelism, exec.OperatorFactory{Name: x.Describe(), New: func(int) (exec.Operator, error) {
			return &ops.WindowAssign{Kind: w.Kind, TimeCol: w.TimeCol, Size: w.Size, Slide: w.Slide, Offset: w.Offset, Out: w.Out}, nil
		}}), nil
	case *GroupAgg:
		in, err := b.build(x.Input)
		if err != nil {
			return stream{}, err
		}
		specs := make([]ops.AggSpec, len(x.Aggs))
		for i, a := range x.Aggs {
			specs[i] = ops.AggSpec{Kind: aggKind(a.Func), Arg: a.Arg, Filter: a.Filter, ArgType: a.ArgType, Type: a.Type, Text: a.Text}
		}
		keys, out, updating := x.Keys, x.Out, Updating(x.Input)
		mini, _ := strconv.Atoi(b.p.Settings.Get(KeyMiniBatchSize))
		var latency time.Duration
		if !x.Bounded() {
			// A bounded job flushes at its end; only an unbounded one needs
			// a timer (which would also make a test's changelog depend on
			// timing).
			latency, _ = ParseDuration(b.p.Settings.Get(KeyMiniBatchDelay))
		}
		windowed, windowStart, windowEnd, rocksState, session, procTime := x.Windowed, x.WindowStart, x.WindowEnd, b.rocks, x.Session, x.ProcTime
		ttl, _ := ParseDuration(b.p.Settings.Get(KeyStateTTL))
		f := exec.OperatorFactory{Name: x.Describe(), New: func(int) (exec.Operator, error) {
			return &ops.GroupAgg{Keys: keys, Aggs: specs, Out: out, InputUpdating: updating, MiniBatch: mini, Latency: latency,
				Windowed: windowed, WindowStart: windowStart, WindowEnd: windowEnd, RocksDB: rocksState, TTL: ttl, Session: session,
				ProcTime: procTime}, nil
		}}
		part := keys
		if session {
			// A key's sessions must meet in one subtask: route by the
			// PARTITION BY keys, not the rows' provisional windows.
			part = nil
			for i, k := range keys {
				if i != windowStart && i != windowEnd {
					part = append(part, k)
				}
			}
		}
		if len(part) == 0 {
			// A global aggregate has one key: it runs in one place.
			return b.chain(in, 1, f), nil
		}
		if b.par == 1 && in.parallelism == 1 {
			return b.chain(in, 1, f), nil // one subtask owns every key group
		}
		return b.exchange(in, b.par, exec.Partitioning{Kind: exec.Hash, Keys: part}, f), nil
	case *SinkNode:
		in, err := b.build(x.Input)
		if err != nil {
			return stream{}, err
		}
		t := x.Table
		env := b.p.Env
		s := b.chain(in, in.parallelism, exec.OperatorFactory{Name: "Sink: " + t.Name, New: func(int) (exec.Operator, error) {
			sk, err := t.Factory.NewSink(t.SinkConnectorTable(env))
			if err != nil {
				return nil, err
			}
			return &ops.Sink{Sink: sk}, nil
		}})
		s.sealed = true
		return s, nil
	case *CollectNode:
		in, err := b.build(x.Input)
		if err != nil {
			return stream{}, err
		}
		fn := b.opts.Collect
		if fn == nil {
			return stream{}, fmt.Errorf("internal: a query needs a collector")
		}
		s := b.chain(in, 1, exec.OperatorFactory{Name: "Collect", New: func(int) (exec.Operator, error) {
			return &ops.Collect{Fn: fn}, nil
		}})
		s.sealed = true
		return s, nil
	}
	return stream{}, fmt.Errorf("not supported yet: plan node %T", n)
}

func aggKind(f AggFunc) ops.AggKind {
	switch f {
	case AggCountStar:
		return ops.AggCountStar
	case AggCount:
		return ops.AggCount
	case AggCountDistinct:
		return ops.AggCountDistinct
	case AggSum:
		return ops.AggSum
	case AggAvg:
		return ops.AggAvg
	case AggMin:
		return ops.AggMin
	}
	return ops.AggMax
}

// Explain renders the logical plan, the job graph and the job's settings.
func (j *Job) Explain() string {
	var sb strings.Builder
	sb.WriteString("== Logical Plan ==\n")
	roots := j.Roots
	if len(roots) == 0 {
		roots = []Node{j.Root}
	}
	for i, r := range roots {
		if i > 0 {
			sb.WriteString("\n")
		}
		sb.WriteString(ExplainTree(r))
	}
	sb.WriteString("\n== Job Graph ==\n")
	for i, v := range j.Graph.Vertices {
		names := []string{}
		if v.Source != nil {
			names = append(names, v.Name)
		}
		for _, f := range v.Chain {
			names = append(names, f.Name)
		}
		if len(names) == 0 {
			names = append(names, v.Name)
		}
		fmt.Fprintf(&sb, "[%d] %s  (parallelism %d)\n", i+1, strings.Join(names, " -> "), v.Parallelism)
		for _, in := range v.Inputs {
			fmt.Fprintf(&sb, "    <- [%d] %s\n", in.From+1, in.Partitioning)
		}
	}
	if w := j.InMemoryStateWarning(); w != "" {
		sb.WriteString("\n== Note ==\n" + w + "\n")
	}
	sb.WriteString("\n== Job Settings ==\n")
	for _, r := range j.Settings.List {
		v := r.Value
		if v == "" {
			v = "(none)"
		}
		fmt.Fprintf(&sb, "%s = %s  (%s)\n", r.Key, v, r.Origin)
	}
	return sb.String()
}
