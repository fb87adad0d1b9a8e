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

// sharing finds the sub-plans that a job computes more than once — a
// table several INSERTs of a statement set read alike, or a sub-query one
// query repeats (Nexmark q5 reads bid twice into the same HOP count) — so
// they are translated once, as Flink's sub-plan reuse does. Two nodes are
// the same when they are of one type, their inputs are the same and all
// their other fields are equal (bound expressions, keys, schemas are plain
// data, so structural equality is exact); a scan is the same as another of
// the same table. Sinks, the client's collector, ORDER BY and LIMIT are
// never shared. Every other operator is deterministic given its input, so
// one instance serves every reader exactly as separate copies would.
//
// A shared sub-plan ends at a "point": the highest node that is used more
// often than the node above it. Its stream is sealed, so each reader
// starts its own vertex fed by a forward edge (or its own exchange) and
// nothing a single reader does is chained into the shared vertex.
type sharing struct {
	class  map[Node]int   // shareable node → its class of equal nodes
	reps   []Node         // class → its first node, compared with new ones
	uses   []int          // class → how many nodes of the plans are in it
	points map[int]bool   // classes translated once
	built  map[int]stream // point class → its sealed stream
}

func newSharing(roots []Node) *sharing {
	sh := &sharing{class: map[Node]int{}, points: map[int]bool{}, built: map[int]stream{}}
	seen := map[Node]bool{}
	for _, r := range roots {
		sh.classify(r, seen)
	}
	for _, r := range roots {
		sh.mark(r, nil)
	}
	return sh
}

// classify assigns classes bottom-up, so inputs are classified before the
// nodes over them are compared.
func (sh *sharing) classify(n Node, seen map[Node]bool) {
	if seen[n] {
		return
	}
	seen[n] = true
	for _, in := range n.Inputs() {
		sh.classify(in, seen)
	}
	if !sh.shareable(n) {
		return
	}
	for ci, rep := range sh.reps {
		if sh.same(n, rep) {
			sh.class[n] = ci
			sh.uses[ci]++
			return
		}
	}
	sh.class[n] = len(sh.reps)
	sh.reps = append(sh.reps, n)
	sh.uses = append(sh.uses, 1)
}

func (sh *sharing) shareable(n Node) bool {
	switch n.(type) {
	case *SinkNode, *CollectNode, *SortNode, *LimitNode:
		return false
	}
	for _, in := range n.Inputs() {
		if _, ok := sh.class[in]; !ok {
			return false
		}
	}
	return true
}

var (
	nodeType  = reflect.TypeFor[Node]()
	nodesType = reflect.TypeFor[[]Node]()
)

// same reports whether a and b produce the same rows (and watermarks).
func (sh *sharing) same(a, b Node) bool {
	if x, ok := a.(*Scan); ok {
		y, ok := b.(*Scan)
		return ok && x.Table == y.Table && x.bounded == y.bounded
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Type() != vb.Type() || va.Kind() != reflect.Pointer || va.Elem().Kind() != reflect.Struct {
		return false
	}
	// Compare copies whose inputs are cleared, the inputs by class.
	ca, cb := reflect.New(va.Elem().Type()).Elem(), reflect.New(vb.Elem().Type()).Elem()
	ca.Set(va.Elem())
	cb.Set(vb.Elem())
	for i := 0; i < ca.NumField(); i++ {
		fa, fb := ca.Field(i), cb.Field(i)
		switch fa.Type() {
		case nodeType:
			if !fa.CanSet() || !sh.sameClass(fa.Interface(), fb.Interface()) {
				return false
			}
		case nodesType:
			if !fa.CanSet() || fa.Len() != fb.Len() {
				return false
			}
			for j := 0; j < fa.Len(); j++ {
				if !sh.sameClass(fa.Index(j).Interface(), fb.Index(j).Interface()) {
					return false
				}
			}
		default:
			continue
		}
		fa.SetZero()
		fb.SetZero()
	}
	return reflect.DeepEqual(ca.Interface(), cb.Interface())
}

func (sh *sharing) sameClass(a, b any) bool {
	na, ok1 := a.(Node)
	nb, ok2 := b.(Node)
	if !ok1 || !ok2 {
		return false
	}
	ca, ok1 := sh.class[na]
	cb, ok2 := sh.class[nb]
	return ok1 && ok2 && ca == cb
}

// mark finds the points: a class used more than once whose node here has
// a parent used less often (or none that is shareable). A parent's uses
// are at most its input's, so comparing counts suffices.
func (sh *sharing) mark(n, parent Node) {
	if c, ok := sh.class[n]; ok && sh.uses[c] > 1 {
		pc, pok := sh.class[parent]
		if parent == nil || !pok || sh.uses[pc] < sh.uses[c] {
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
