package planner

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
)

// PlanStatementSet plans every INSERT of EXECUTE STATEMENT SET, in order.
// Errors are PlanInsert's, positioned in the INSERT that failed.
func (p *Planner) PlanStatementSet(set *ast.StatementSet) ([]Node, error) {
	roots := make([]Node, 0, len(set.Inserts))
	for _, ins := range set.Inserts {
		n, err := p.PlanInsert(ins)
		if err != nil {
			return nil, err
		}
		roots = append(roots, n)
	}
	return roots, nil
}

// StatementSetName is the default name of a statement set's job:
// "insert-into_" and the sink tables in statement order, each once. It
// depends only on the statements, so the same set gets the same name (the
// checkpoint job id) in every run.
func StatementSetName(roots []Node) string {
	var names []string
	seen := map[string]bool{}
	for _, r := range roots {
		s, ok := r.(*SinkNode)
		if !ok {
			continue
		}
		if k := strings.ToLower(s.Table.Name); !seen[k] {
			seen[k] = true
			names = append(names, s.Table.Name)
		}
	}
	return "insert-into_" + strings.Join(names, ",")
}

// BuildStatementSet translates the plans of a statement set's INSERTs (from
// PlanStatementSet) into one job graph. A table several INSERTs read, with
// the same computed columns and watermark, is read by one source whose rows
// feed every INSERT; job settings are resolved over the tables of all the
// INSERTs, so two tables that disagree on one are an error. name "" means
// StatementSetName; 'pipeline.name' overrides it, as in Build.
func (p *Planner) BuildStatementSet(name string, roots []Node, opts BuildOptions) (*Job, error) {
	if len(roots) == 0 {
		return nil, fmt.Errorf("a statement set needs at least one INSERT")
	}
	for i, r := range roots {
		if _, ok := r.(*SinkNode); !ok {
			return nil, fmt.Errorf("internal: statement %d of a statement set is %T, not an INSERT", i+1, r)
		}
	}
	if name == "" {
		name = StatementSetName(roots)
	}
	return p.buildJob(name, roots, false, opts)
}

// sharing finds the sub-plans that several roots of one job read alike, so
// they are translated once. Only chains that start at a Scan and continue
// with Calcs and watermark assigners count: they are stateless and run at
// the source's parallelism, so one instance serves every reader exactly as
// separate copies would.
//
// A shared sub-plan ends at a "point": the highest node that more roots
// read than read the node above it. Its stream is sealed, so each reader
// starts its own vertex fed by a forward edge (or its own exchange) and
// nothing a single root does is chained into the shared vertex.
type sharing struct {
	class  map[Node]int   // node of a shareable chain → its class of equal nodes
	reps   []Node         // class → its first node, compared with new ones
	roots  []map[int]bool // class → the roots that read it
	points map[int]bool   // classes translated once
	built  map[int]stream // point class → its sealed stream
}

func newSharing(roots []Node) *sharing {
	sh := &sharing{class: map[Node]int{}, points: map[int]bool{}, built: map[int]stream{}}
	for ri, r := range roots {
		sh.classify(r, ri)
	}
	for _, r := range roots {
		sh.mark(r, nil)
	}
	return sh
}

// classify assigns classes bottom-up, so inputs are classified before the
// nodes over them are compared.
func (sh *sharing) classify(n Node, root int) {
	for _, in := range n.Inputs() {
		sh.classify(in, root)
	}
	if !sh.shareable(n) {
		return
	}
	for ci, rep := range sh.reps {
		if sh.same(n, rep) {
			sh.class[n] = ci
			sh.roots[ci][root] = true
			return
		}
	}
	sh.class[n] = len(sh.reps)
	sh.reps = append(sh.reps, n)
	sh.roots = append(sh.roots, map[int]bool{root: true})
}

func (sh *sharing) shareable(n Node) bool {
	switch x := n.(type) {
	case *Scan:
		return true
	case *Calc:
		_, ok := sh.class[x.Input]
		return ok
	case *WatermarkNode:
		_, ok := sh.class[x.Input]
		return ok
	}
	return false
}

// same reports whether a and b produce the same rows (and watermarks):
// equal inputs and equal bound expressions. Expressions are plain data
// (columns, literals, calls), so structural equality is exact.
func (sh *sharing) same(a, b Node) bool {
	switch x := a.(type) {
	case *Scan:
		y, ok := b.(*Scan)
		return ok && x.Table == y.Table && x.bounded == y.bounded
	case *Calc:
		y, ok := b.(*Calc)
		return ok && sh.class[x.Input] == sh.class[y.Input] && reflect.DeepEqual(x.Filter, y.Filter) &&
			reflect.DeepEqual(x.Exprs, y.Exprs) && reflect.DeepEqual(x.Out, y.Out)
	case *WatermarkNode:
		y, ok := b.(*WatermarkNode)
		return ok && sh.class[x.Input] == sh.class[y.Input] && x.Column == y.Column && x.PerRow == y.PerRow &&
			x.Idle == y.Idle && reflect.DeepEqual(x.Expr, y.Expr)
	}
	return false
}

// mark finds the points: a class read by several roots whose node here has
// a parent read by fewer roots (or none that is shareable). A parent's
// roots are a subset of its input's, so comparing counts suffices.
func (sh *sharing) mark(n, parent Node) {
	if c, ok := sh.class[n]; ok && len(sh.roots[c]) > 1 {
		pc, pok := sh.class[parent]
		if parent == nil || !pok || len(sh.roots[pc]) < len(sh.roots[c]) {
			sh.points[c] = true
		}
	}
	for _, in := range n.Inputs() {
		sh.mark(in, n)
	}
}

func (sh *sharing) point(n Node) bool {
	c, ok := sh.class[n]
	return ok && sh.points[c]
}

// build returns the point's stream, translating it the first time.
func (sh *sharing) build(n Node, translate func(Node) (stream, error)) (stream, error) {
	c := sh.class[n]
	if s, ok := sh.built[c]; ok {
		return s, nil
	}
	s, err := translate(n)
	if err != nil {
		return stream{}, err
	}
	s.sealed = true
	sh.built[c] = s
	return s, nil
}
