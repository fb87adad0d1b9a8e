package planner

import (
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/exec/ops"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Planner binds statements against a catalog.
type Planner struct {
	Catalog  *Catalog
	Settings *Settings
	// Env is handed to connectors when the planner needs to ask a source
	// whether it is bounded.
	Env connectors.Env
}

// scopeCol is a column visible to expressions.
type scopeCol struct {
	Qualifier string
	Name      string
	Type      types.Type
}

// scope resolves identifiers against a relation's columns.
type scope struct {
	cols []scopeCol
}

// Resolve finds the column an identifier names. A ROW column is carried as
// its leaf columns, named "row.field" (types.Flatten), so a field access
// `bid.price` — which the parser reads as table bid, column price — binds
// to leaf "bid.price" when no relation named bid is in scope; a relation of
// that name wins, as in Flink. Likewise t.bid.price and nexmark.bid.price
// (qualifier, then the leaf) and row.sub.field for nested ROWs.
func (s *scope) Resolve(id *ast.Ident) (int, types.Type, error) {
	var qual, name string
	switch {
	case len(id.Parts) == 1:
		name = id.Parts[0]
	case s.hasQualifier(id.Parts[0]):
		qual, name = id.Parts[0], strings.Join(id.Parts[1:], ".")
	default:
		name = strings.Join(id.Parts, ".")
	}
	found := -1
	for i, c := range s.cols {
		if !strings.EqualFold(c.Name, name) || (qual != "" && !strings.EqualFold(c.Qualifier, qual)) {
			continue
		}
		if found >= 0 {
			return 0, types.Type{}, ast.Errorf(id.Pos, "column '%s' is ambiguous", name)
		}
		found = i
	}
	if found >= 0 {
		return found, s.cols[found].Type, nil
	}
	if leaf := s.rowLeaf(qual, name); leaf != "" {
		return 0, types.Type{}, ast.Errorf(id.Pos, "not supported yet: ROW column '%s' as a whole value; read its fields, e.g. %s", name, leaf)
	}
	switch {
	case qual != "":
		return 0, types.Type{}, ast.Errorf(id.Pos, "unknown column '%s.%s'", qual, name)
	case len(id.Parts) > 1 && len(id.Parts) <= 2:
		return 0, types.Type{}, ast.Errorf(id.Pos, "unknown column '%s'", strings.Join(id.Parts, "."))
	case len(id.Parts) > 2:
		return 0, types.Type{}, ast.Errorf(id.Pos, "unknown column '%s' (no table '%s' in scope, and no ROW column of that path)", name, id.Parts[0])
	}
	return 0, types.Type{}, ast.Errorf(id.Pos, "unknown column '%s'", name)
}

// hasQualifier reports whether a relation named q is in scope.
func (s *scope) hasQualifier(q string) bool {
	for _, c := range s.cols {
		if strings.EqualFold(c.Qualifier, q) {
			return true
		}
	}
	return false
}

// rowLeaf returns the first leaf column under ROW (or nested ROW) path
// name, if name is one: an identifier naming a whole ROW.
func (s *scope) rowLeaf(qual, name string) string {
	prefix := strings.ToLower(name) + "."
	for _, c := range s.cols {
		if strings.HasPrefix(strings.ToLower(c.Name), prefix) && (qual == "" || strings.EqualFold(c.Qualifier, qual)) {
			return c.Name
		}
	}
	return ""
}

func scopeOf(qualifier string, s types.Schema) *scope {
	sc := &scope{}
	for _, f := range s.Fields {
		sc.cols = append(sc.cols, scopeCol{Qualifier: qualifier, Name: f.Name, Type: f.Type})
	}
	return sc
}

// relation is a planned FROM item with the names it exposes.
type relation struct {
	node  Node
	scope *scope
}

// queryPlan is a planned query block.
type queryPlan struct {
	node Node
	// ordered: the output order is meaningful (ORDER BY).
	ordered bool
}

// ctx carries query-local names (CTEs) and the names the current query
// block mentions (for reading only the ROW leaves it uses).
type bindCtx struct {
	ctes map[string]*ast.Select
	refs *nameRefs
	// eqs are the block's WHERE conjuncts `column = integer` when the
	// block reads one table alone (see EqualityFilterFactory).
	eqs []colEquals
}

// colEquals is a WHERE conjunct [qualifier.]column = value.
type colEquals struct {
	qual, col string
	value     int64
}

// blockEquals returns the conjuncts `col = n` / `n = col` of a block's
// WHERE when its FROM is a single table name.
func blockEquals(sel *ast.Select) []colEquals {
	if _, ok := sel.From.(*ast.TableName); !ok || sel.Where == nil {
		return nil
	}
	var out []colEquals
	var walk func(e ast.Expr)
	walk = func(e ast.Expr) {
		b, ok := e.(*ast.Binary)
		if !ok {
			return
		}
		if strings.EqualFold(b.Op, "AND") {
			walk(b.L)
			walk(b.R)
			return
		}
		if b.Op != "=" {
			return
		}
		id, ok := b.L.(*ast.Ident)
		lit, ok2 := b.R.(*ast.Literal)
		if !ok || !ok2 {
			id, ok = b.R.(*ast.Ident)
			lit, ok2 = b.L.(*ast.Literal)
		}
		if !ok || !ok2 || lit.Kind != ast.LitInt || len(id.Parts) > 2 {
			return
		}
		v, err := strconv.ParseInt(lit.Value, 10, 64)
		if err != nil {
			return
		}
		ce := colEquals{col: id.Parts[len(id.Parts)-1], value: v}
		if len(id.Parts) == 2 {
			ce.qual = id.Parts[0]
		}
		out = append(out, ce)
	}
	walk(sel.Where)
	return out
}

func (b *bindCtx) with(ctes []ast.CTE) *bindCtx {
	if len(ctes) == 0 {
		return b
	}
	n := &bindCtx{ctes: map[string]*ast.Select{}, refs: b.refs}
	for k, v := range b.ctes {
		n.ctes[k] = v
	}
	for _, c := range ctes {
		n.ctes[strings.ToLower(c.Name)] = c.Query
	}
	return n
}

func noAggregates(what string) expr.BindOptions {
	return expr.BindOptions{OnAggregate: func(c *ast.Call) (expr.Expr, error) {
		if c.Over != nil {
			return nil, ast.Errorf(c.Pos, "not supported yet: OVER window function %s in %s", c.Name, what)
		}
		return nil, ast.Errorf(c.Pos, "aggregate function %s is not allowed in %s", c.Name, what)
	}}
}

// PlanQuery plans a SELECT.
func (p *Planner) PlanQuery(sel *ast.Select) (Node, bool, error) {
	qp, err := p.planSelect(&bindCtx{}, sel)
	if err != nil {
		return nil, false, err
	}
	return qp.node, qp.ordered, nil
}

func (p *Planner) planSelect(bc *bindCtx, sel *ast.Select) (queryPlan, error) {
	bc = bc.with(sel.With)
	qp, err := p.planBlock(bc, sel)
	if err != nil {
		return queryPlan{}, err
	}
	if len(sel.SetOps) == 0 {
		return qp, nil
	}
	inputs := []Node{qp.node}
	for _, op := range sel.SetOps {
		if op.Op != "UNION" || !op.All {
			kind := op.Op
			if !op.All {
				kind += " (without ALL)"
			}
			return queryPlan{}, ast.Errorf(sel.Pos, "not supported yet: %s", kind)
		}
		next, err := p.planBlock(bc, op.Query)
		if err != nil {
			return queryPlan{}, err
		}
		if next.ordered {
			return queryPlan{}, ast.Errorf(op.Query.Pos, "not supported yet: ORDER BY inside UNION ALL")
		}
		inputs = append(inputs, next.node)
	}
	out := qp.node.Schema()
	fields := append([]types.Field{}, out.Fields...)
	for i, in := range inputs[1:] {
		s := in.Schema()
		if s.Len() != out.Len() {
			return queryPlan{}, ast.Errorf(sel.SetOps[i].Query.Pos, "UNION ALL inputs have %d and %d columns", out.Len(), s.Len())
		}
		for c := range s.Fields {
			t, ok := commonType(fields[c].Type, s.Fields[c].Type)
			if !ok {
				return queryPlan{}, ast.Errorf(sel.SetOps[i].Query.Pos,
					"UNION ALL column %d has type %s in the first input but %s here; CAST one side",
					c+1, out.Fields[c].Type.WithNotNull(false), s.Fields[c].Type.WithNotNull(false))
			}
			fields[c].Type = t
		}
	}
	out = types.Schema{Fields: fields}
	for i, in := range inputs {
		widened, err := castTo(in, out, sel.Pos)
		if err != nil {
			return queryPlan{}, err
		}
		inputs[i] = widened
	}
	return queryPlan{node: &Union{In: inputs, Out: out}}, nil
}

// planBlock plans one SELECT ... FROM ... WHERE ... GROUP BY ... HAVING ...
// ORDER BY ... LIMIT.
func (p *Planner) planBlock(bc *bindCtx, sel *ast.Select) (queryPlan, error) {
	bc = &bindCtx{ctes: bc.ctes, refs: blockRefs(sel), eqs: blockEquals(sel)}
	var rel relation
	if sel.From == nil {
		rel = relation{node: &Values{}, scope: &scope{}}
	} else {
		r, err := p.planFrom(bc, sel.From)
		if err != nil {
			return queryPlan{}, err
		}
		rel = r
	}
	var filter expr.Expr
	if sel.Where != nil {
		f, err := expr.Bind(sel.Where, rel.scope, noAggregates("WHERE"))
		if err != nil {
			return queryPlan{}, err
		}
		if f.Type().Kind != types.Boolean && f.Type().Kind != types.Null {
			return queryPlan{}, ast.Errorf(sel.Where.Position(), "WHERE must be a boolean condition, got %s", f.Type())
		}
		filter = pushJoinConditions(rel.node, f)
	}
	hasAgg := len(sel.GroupBy) > 0 || sel.Having != nil
	for _, it := range sel.Items {
		if !it.Star && containsAggregate(it.Expr) {
			hasAgg = true
		}
	}
	var node Node
	var names []string
	var err error
	if hasAgg {
		input := rel.node
		if filter != nil {
			input = &Calc{Input: rel.node, Filter: filter, Exprs: identityExprs(rel.node.Schema()), Out: rel.node.Schema()}
		}
		node, names, err = planAggregate(sel, rel.scope, input)
	} else if idx, call := findRowNumber(sel); call != nil {
		node, names, err = planRank(sel, rel, filter, idx, call)
	} else {
		node, names, err = planProjection(sel, rel, filter)
	}
	if err != nil {
		return queryPlan{}, err
	}
	if sel.Distinct {
		keys := make([]int, node.Schema().Len())
		for i := range keys {
			keys[i] = i
		}
		node = &GroupAgg{Input: node, Keys: keys, Out: node.Schema(), Distinct: true}
	}

	ordered := false
	offset, limit := int64(0), int64(-1)
	if sel.Offset != nil {
		if offset, err = p.constInt(sel.Offset, "OFFSET"); err != nil {
			return queryPlan{}, err
		}
	}
	if sel.Limit != nil {
		if limit, err = p.constInt(sel.Limit, "LIMIT"); err != nil {
			return queryPlan{}, err
		}
	}
	if Updating(node) && (len(sel.OrderBy) > 0 || limit >= 0 || offset > 0) {
		return queryPlan{}, ast.Errorf(sel.Pos, "not supported yet: ORDER BY or LIMIT over an updating result (an aggregation or DISTINCT)")
	}
	if len(sel.OrderBy) > 0 {
		if !node.Bounded() {
			return queryPlan{}, ast.Errorf(sel.OrderBy[0].Expr.Position(),
				"not supported yet: ORDER BY on an unbounded input (it could never emit a first row)")
		}
		keys, err := orderKeys(sel, node.Schema(), names)
		if err != nil {
			return queryPlan{}, err
		}
		node = &SortNode{Input: node, Keys: keys, Offset: offset, Limit: limit}
		ordered = true
	} else if limit >= 0 || offset > 0 {
		if limit < 0 {
			return queryPlan{}, ast.Errorf(sel.Offset.Position(), "not supported yet: OFFSET without LIMIT or ORDER BY")
		}
		node = &LimitNode{Input: node, Offset: offset, Limit: limit}
	}
	return queryPlan{node: node, ordered: ordered}, nil
}

// commonType is the type both UNION ALL inputs widen to, as Flink does:
// numbers to the wider numeric type, strings to STRING, timestamps to the
// larger precision.
func commonType(a, b types.Type) (types.Type, bool) {
	notNull := a.NotNull && b.NotNull
	switch {
	case a.Equal(b):
	case a.Kind == types.Null:
		a = b
	case b.Kind == types.Null:
	case a.IsNumeric() && b.IsNumeric():
		a = widenNumeric(a, b)
	case a.Kind == types.String && b.Kind == types.String:
		a = types.TypeString
	case a.Kind == b.Kind && (a.Kind == types.Timestamp || a.Kind == types.TimestampLTZ):
		a.Precision = max(a.Precision, b.Precision)
	default:
		return types.Type{}, false
	}
	return a.WithNotNull(notNull), true
}

// widenNumeric is the smallest numeric type holding both (DOUBLE beats
// DECIMAL beats BIGINT beats INT; a DECIMAL keeps every integer digit and
// the larger scale, up to our 18-digit cap).
func widenNumeric(a, b types.Type) types.Type {
	intDigits := func(t types.Type) int {
		switch t.Kind {
		case types.Int:
			return 10
		case types.BigInt:
			return 19
		}
		return t.Precision - t.Scale
	}
	switch {
	case a.Kind == types.Double || b.Kind == types.Double:
		return types.TypeDouble
	case a.Kind == types.Decimal || b.Kind == types.Decimal:
		s := max(a.Scale, b.Scale)
		return types.DecimalOf(min(max(intDigits(a), intDigits(b))+s, types.MaxDecimalPrecision), s)
	case a.Kind == types.BigInt || b.Kind == types.BigInt:
		return types.TypeBigInt
	}
	return types.TypeInt
}

// castTo projects n onto the column types of target where they differ.
func castTo(n Node, target types.Schema, pos ast.Pos) (Node, error) {
	s := n.Schema()
	same := true
	exprs := make([]expr.Expr, s.Len())
	sc := scopeOf("", s)
	for i, f := range s.Fields {
		exprs[i] = expr.NewColumn(i, f.Type, f.Name)
		if f.Type.Equal(target.Fields[i].Type) {
			continue
		}
		same = false
		e, err := expr.Bind(&ast.Cast{X: &ast.Ident{Parts: []string{f.Name}, Pos: pos}, To: target.Fields[i].Type.WithNotNull(false), Pos: pos},
			&scope{cols: []scopeCol{sc.cols[i]}}, expr.BindOptions{})
		if err != nil {
			return nil, err
		}
		exprs[i] = expr.Remap(e, map[int]int{0: i})
	}
	if same {
		return n, nil
	}
	fields := make([]types.Field, s.Len())
	for i, f := range s.Fields {
		fields[i] = types.Field{Name: f.Name, Type: exprs[i].Type()}
	}
	return &Calc{Input: n, Exprs: exprs, Out: types.Schema{Fields: fields}}, nil
}

// planProjection plans the select list of a block without aggregation as
// one Calc (with WHERE as its filter).
func planProjection(sel *ast.Select, rel relation, filter expr.Expr) (Node, []string, error) {
	var exprs []expr.Expr
	var names []string
	for i, it := range sel.Items {
		if it.Star {
			matched := false
			for ci, c := range rel.scope.cols {
				if it.StarTable != "" && !strings.EqualFold(c.Qualifier, it.StarTable) {
					continue
				}
				matched = true
				exprs = append(exprs, expr.NewColumn(ci, c.Type, c.Name))
				names = append(names, c.Name)
			}
			if !matched {
				if it.StarTable != "" {
					return nil, nil, ast.Errorf(it.Pos, "unknown table '%s' in %s.*", it.StarTable, it.StarTable)
				}
				return nil, nil, ast.Errorf(it.Pos, "SELECT * needs a FROM clause")
			}
			continue
		}
		e, err := expr.Bind(it.Expr, rel.scope, noAggregates("SELECT"))
		if err != nil {
			return nil, nil, err
		}
		exprs = append(exprs, e)
		names = append(names, itemName(it, i))
	}
	names = dedupeNames(names)
	node := projection(rel.node, filter, exprs, names)
	return node, names, nil
}

// projection is a Calc, or its input when it would change nothing.
func projection(in Node, filter expr.Expr, exprs []expr.Expr, names []string) Node {
	if isIdentity(in, filter, exprs) && sameNames(in.Schema().Names(), names) {
		return in
	}
	fields := make([]types.Field, len(exprs))
	for i, e := range exprs {
		fields[i] = types.Field{Name: names[i], Type: e.Type()}
	}
	return &Calc{Input: in, Filter: filter, Exprs: exprs, Out: types.Schema{Fields: fields}}
}

// planAggregate plans GROUP BY / aggregates / HAVING: a projection of keys
// and aggregate arguments, the GroupAgg, then the select list and HAVING
// as a Calc over the aggregate's output.
func planAggregate(sel *ast.Select, in *scope, input Node) (Node, []string, error) {
	ab, err := newAggBinder(in, sel.GroupBy)
	if err != nil {
		return nil, nil, err
	}
	out := ab.outScope()
	var exprs []expr.Expr
	var names []string
	for i, it := range sel.Items {
		if it.Star {
			return nil, nil, ast.Errorf(it.Pos, "not supported yet: SELECT * with GROUP BY or aggregates")
		}
		e, err := expr.Bind(ab.rewriteKeys(it.Expr), out, ab.bindOptions())
		if err != nil {
			return nil, nil, err
		}
		exprs = append(exprs, e)
		names = append(names, itemName(it, i))
	}
	var having expr.Expr
	if sel.Having != nil {
		h, err := expr.Bind(ab.rewriteKeys(sel.Having), out, ab.bindOptions())
		if err != nil {
			return nil, nil, err
		}
		if h.Type().Kind != types.Boolean {
			return nil, nil, ast.Errorf(sel.Having.Position(), "HAVING must be a boolean condition, got %s", h.Type())
		}
		having = h
	}
	names = dedupeNames(names)
	agg := ab.node(input, false)
	if start, end, ok := windowKeys(input, ab.keyCols); ok {
		agg.Windowed, agg.WindowStart, agg.WindowEnd = true, start, end
		if wa := findWindowAssign(input); wa != nil {
			agg.ProcTime = wa.ProcTime
		}
		if wa := findWindowAssign(input); wa != nil && wa.Kind == ops.Session {
			if !sessionKeysMatch(wa, input, ab.keyCols, start, end) {
				return nil, nil, ast.Errorf(sel.Pos, "not supported yet: a session window aggregation must GROUP BY window_start, window_end and exactly its PARTITION BY columns (%s)", strings.Join(wa.Partition, ", "))
			}
			agg.Session = true
			wa.Aggregated = true
		}
	} else if start, end, ok := cascadedWindowKeys(input, ab.keyCols); ok {
		agg.Windowed, agg.WindowStart, agg.WindowEnd = true, start, end
	}
	return projection(agg, having, exprs, names), names, nil
}

// containsAggregate reports whether an expression calls an aggregate
// function outside any subquery.
func containsAggregate(e ast.Expr) bool {
	found := false
	var walk func(ast.Expr)
	walk = func(e ast.Expr) {
		if e == nil || found {
			return
		}
		switch x := e.(type) {
		case *ast.Call:
			if expr.IsAggregate(x.Name) && x.Over == nil {
				found = true
				return
			}
			for _, a := range x.Args {
				walk(a)
			}
		case *ast.Binary:
			walk(x.L)
			walk(x.R)
		case *ast.Unary:
			walk(x.X)
		case *ast.Cast:
			walk(x.X)
		case *ast.IsNull:
			walk(x.X)
		case *ast.IsBool:
			walk(x.X)
		case *ast.Between:
			walk(x.X)
			walk(x.Lo)
			walk(x.Hi)
		case *ast.In:
			walk(x.X)
			for _, a := range x.List {
				walk(a)
			}
		case *ast.Like:
			walk(x.X)
			walk(x.Pattern)
		case *ast.Case:
			walk(x.Operand)
			for _, w := range x.Whens {
				walk(w.Cond)
				walk(w.Result)
			}
			walk(x.Else)
		case *ast.Extract:
			walk(x.X)
		}
	}
	walk(e)
	return found
}

func sameNames(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func identityExprs(s types.Schema) []expr.Expr {
	out := make([]expr.Expr, s.Len())
	for i, f := range s.Fields {
		out[i] = expr.NewColumn(i, f.Type, f.Name)
	}
	return out
}

// isIdentity reports whether a projection just passes its input through.
func isIdentity(in Node, filter expr.Expr, exprs []expr.Expr) bool {
	if filter != nil || len(exprs) != in.Schema().Len() {
		return false
	}
	for i, e := range exprs {
		c, ok := e.(*expr.ColumnRef)
		if !ok || c.Index != i {
			return false
		}
	}
	return true
}

func (p *Planner) constInt(e ast.Expr, what string) (int64, error) {
	b, err := expr.Bind(e, &scope{}, noAggregates(what))
	if err != nil {
		return 0, err
	}
	v, err := expr.Const(b, &expr.EvalEnv{})
	if err != nil {
		return 0, ast.Errorf(e.Position(), "%s: %v", what, err)
	}
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int32:
		n = int64(x)
	default:
		return 0, ast.Errorf(e.Position(), "%s must be a non-negative integer", what)
	}
	if n < 0 {
		return 0, ast.Errorf(e.Position(), "%s must be a non-negative integer, got %d", what, n)
	}
	return n, nil
}

// orderKeys resolves ORDER BY items against the select list: by alias or
// column name, by ordinal position, or by an expression written exactly as
// a select item.
func orderKeys(sel *ast.Select, out types.Schema, names []string) ([]SortKeySpec, error) {
	var keys []SortKeySpec
	for _, o := range sel.OrderBy {
		col := -1
		switch e := o.Expr.(type) {
		case *ast.Ident:
			name := e.Parts[len(e.Parts)-1]
			for i, n := range names {
				if strings.EqualFold(n, name) {
					col = i
					break
				}
			}
		case *ast.Literal:
			if e.Kind == ast.LitInt {
				n, err := strconv.Atoi(e.Value)
				if err != nil || n < 1 || n > out.Len() {
					return nil, ast.Errorf(e.Pos, "ORDER BY position %s is not in the select list", e.Value)
				}
				col = n - 1
			}
		}
		if col < 0 {
			for i, it := range sel.Items {
				if !it.Star && it.Expr != nil && sameExprText(it, o.Expr) {
					col = i
					break
				}
			}
		}
		if col < 0 {
			return nil, ast.Errorf(o.Expr.Position(), "not supported yet: ORDER BY an expression that is not in the select list")
		}
		keys = append(keys, SortKeySpec{Col: col, Desc: o.Desc})
	}
	return keys, nil
}

func sameExprText(it ast.SelectItem, e ast.Expr) bool {
	// Positions differ; compare the syntax without them.
	return stripPos(it.Expr) == stripPos(e)
}

// stripPos renders an expression without positions, for comparisons.
func stripPos(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return strings.ToLower(strings.Join(x.Parts, "."))
	case *ast.Literal:
		return fmt.Sprintf("lit(%d,%s,%s)", x.Kind, x.Value, x.Unit)
	case *ast.Call:
		args := make([]string, len(x.Args))
		for i, a := range x.Args {
			args[i] = stripPos(a)
		}
		return x.Name + "(" + strings.Join(args, ",") + ")"
	case *ast.Binary:
		return "(" + stripPos(x.L) + x.Op + stripPos(x.R) + ")"
	case *ast.Unary:
		return x.Op + stripPos(x.X)
	case *ast.Cast:
		return "CAST(" + stripPos(x.X) + "," + x.To.String() + ")"
	}
	return fmt.Sprintf("%p", e) // never equal to another node
}

// itemName names an output column as Flink does: the alias, the column name
// of a plain reference, or EXPR$<position>.
func itemName(it ast.SelectItem, i int) string {
	if it.Alias != "" {
		return it.Alias
	}
	if id, ok := it.Expr.(*ast.Ident); ok {
		return id.Parts[len(id.Parts)-1]
	}
	return fmt.Sprintf("EXPR$%d", i)
}

// dedupeNames makes output names unique the way Flink does (a, a0, a1).
func dedupeNames(names []string) []string {
	seen := map[string]bool{}
	out := make([]string, len(names))
	for i, n := range names {
		cand := n
		for k := 0; seen[strings.ToLower(cand)]; k++ {
			cand = fmt.Sprintf("%s%d", n, k)
		}
		seen[strings.ToLower(cand)] = true
		out[i] = cand
	}
	return out
}

// planFrom plans a FROM item.
func (p *Planner) planFrom(bc *bindCtx, ref ast.TableRef) (relation, error) {
	switch r := ref.(type) {
	case *ast.TableName:
		return p.planTableName(bc, r)
	case *ast.DerivedTable:
		qp, err := p.planSelect(bc, r.Query)
		if err != nil {
			return relation{}, err
		}
		return relation{node: qp.node, scope: scopeOf(r.Alias, qp.node.Schema())}, nil
	case *ast.Join:
		return p.planJoin(bc, r)
	case *ast.WindowTVF:
		return p.planWindowTVF(bc, r)
	}
	return relation{}, ast.Errorf(ref.Position(), "not supported yet: FROM item %T", ref)
}

func (p *Planner) planTableName(bc *bindCtx, r *ast.TableName) (relation, error) {
	qual := r.Name
	if r.Alias != "" {
		qual = r.Alias
	}
	if q, ok := bc.ctes[strings.ToLower(r.Name)]; ok {
		// A CTE is planned where it is used; CTEs defined after it are not
		// visible inside it, but that is an error the user sees anyway.
		qp, err := p.planSelect(bc, q)
		if err != nil {
			return relation{}, err
		}
		return relation{node: qp.node, scope: scopeOf(qual, qp.node.Schema())}, nil
	}
	if v, ok := p.Catalog.View(r.Name); ok {
		qp, err := p.planSelect(&bindCtx{}, v.Query)
		if err != nil {
			return relation{}, fmt.Errorf("view %s: %w", v.Name, err)
		}
		node := qp.node
		if len(v.Columns) > 0 {
			node = renameColumns(node, v.Columns)
		}
		return relation{node: node, scope: scopeOf(qual, node.Schema())}, nil
	}
	t, ok := p.Catalog.Table(r.Name)
	if !ok {
		return relation{}, ast.Errorf(r.Pos, "unknown table '%s'", r.Name)
	}
	node, err := p.scanTable(p.pushEquals(t.narrowRows(bc.refs.keeps(t)), qual, bc.eqs))
	if err != nil {
		return relation{}, ast.Errorf(r.Pos, "%v", err)
	}
	return relation{node: node, scope: scopeOf(qual, node.Schema())}, nil
}

// pushEquals offers a block's `column = n` conjuncts on t's physical
// columns to its connector (EqualityFilterFactory) and returns t with the
// options the connector asks for added, or t itself.
func (p *Planner) pushEquals(t *Table, qual string, eqs []colEquals) *Table {
	ef, ok := t.Factory.(EqualityFilterFactory)
	if !ok || len(eqs) == 0 {
		return t
	}
	out := t
	for _, e := range eqs {
		if (e.qual != "" && !strings.EqualFold(e.qual, qual)) || t.Physical.Index(e.col) < 0 {
			continue
		}
		col := t.Physical.Fields[t.Physical.Index(e.col)].Name
		opts, ok := ef.FilterEquals(out.ConnectorTable(p.Env), col, e.value)
		if !ok {
			continue
		}
		if out == t {
			n := *t
			n.ConnectorOptions = maps.Clone(t.ConnectorOptions)
			out = &n
		}
		maps.Copy(out.ConnectorOptions, opts)
	}
	return out
}

// renameColumns puts a projection with new names over node.
func renameColumns(node Node, names []string) Node {
	s := node.Schema()
	exprs := make([]expr.Expr, s.Len())
	fields := make([]types.Field, s.Len())
	for i, f := range s.Fields {
		exprs[i] = expr.NewColumn(i, f.Type, f.Name)
		fields[i] = types.Field{Name: names[i], Type: f.Type}
	}
	return &Calc{Input: node, Exprs: exprs, Out: types.Schema{Fields: fields}}
}

// scanTable reads a table: its physical columns, then its computed columns
// evaluated over them (a Calc), in declared column order.
func (p *Planner) scanTable(t *Table) (Node, error) {
	src, err := t.Factory.NewSource(t.ConnectorTable(p.Env))
	if err != nil {
		return nil, err
	}
	bounded := src.Bounded()
	_ = src.Close()
	var node Node = &Scan{Table: t, bounded: bounded}
	hasComputed := false
	for _, c := range t.Columns {
		if c.Computed != nil {
			hasComputed = true
		}
	}
	if hasComputed {
		node, err = computedColumns(t, node)
		if err != nil {
			return nil, err
		}
	}
	if t.Watermark != nil {
		sc := scopeOf(t.Name, node.Schema())
		e, err := expr.Bind(t.Watermark.Expr, sc, noAggregates("a watermark"))
		if err != nil {
			return nil, err
		}
		node = &WatermarkNode{Input: node, Column: t.Watermark.Column, Expr: e, PerRow: t.WatermarkPerRow, Idle: t.WatermarkIdle}
	}
	return node, nil
}

// computedColumns evaluates a table's computed columns over its physical
// ones, in declared column order.
func computedColumns(t *Table, node Node) (Node, error) {
	sc := scopeOf(t.Name, t.Physical)
	var exprs []expr.Expr
	var fields []types.Field
	phys := 0
	for _, c := range t.Columns {
		if c.Computed == nil {
			for _, leaf := range types.Flatten(types.Field{Name: c.Name, Type: c.Type}) {
				exprs = append(exprs, expr.NewColumn(phys, leaf.Type, leaf.Name))
				fields = append(fields, leaf)
				phys++
			}
			continue
		}
		e, err := expr.Bind(c.Computed, sc, noAggregates("a computed column"))
		if err != nil {
			return nil, err
		}
		exprs = append(exprs, e)
		fields = append(fields, types.Field{Name: c.Name, Type: e.Type()})
	}
	return &Calc{Input: node, Exprs: exprs, Out: types.Schema{Fields: fields}}, nil
}

// nameRefs is what a query block may read of a table's ROW columns: the
// lower-case column paths its identifiers may name (`b.bid.price` gives
// "bid.price" when b names a relation of the block, and "b.bid.price"),
// or everything after a *. It over-approximates on purpose (subqueries'
// names count too): a leaf nobody names is never read, and reading one
// too many only costs its generation.
type nameRefs struct {
	all   bool
	paths map[string]bool
}

// blockRefs collects the names of a query block, subqueries included
// (found by walking the syntax tree, so no node type is missed).
func blockRefs(sel *ast.Select) *nameRefs {
	r := &nameRefs{paths: map[string]bool{}}
	for _, it := range sel.Items {
		r.all = r.all || it.Star
	}
	quals := map[string]bool{}
	var ids []*ast.Ident
	walkAST(reflect.ValueOf(sel), func(n any) {
		switch x := n.(type) {
		case *ast.Ident:
			ids = append(ids, x)
		case *ast.TableName:
			quals[strings.ToLower(x.Name)], quals[strings.ToLower(x.Alias)] = true, true
		case *ast.DerivedTable:
			quals[strings.ToLower(x.Alias)] = true
		case *ast.WindowTVF:
			quals[strings.ToLower(x.Alias)] = true
		}
	})
	for _, id := range ids {
		r.add(id, quals)
	}
	return r
}

// add records the paths id may name: all of it, and without its first
// part when that is a relation name.
func (r *nameRefs) add(id *ast.Ident, quals map[string]bool) {
	r.paths[strings.ToLower(strings.Join(id.Parts, "."))] = true
	if len(id.Parts) > 1 && quals[strings.ToLower(id.Parts[0])] {
		r.paths[strings.ToLower(strings.Join(id.Parts[1:], "."))] = true
	}
}

// walkAST calls f for every non-nil pointer reachable from v through
// exported fields (the syntax tree is a tree: no cycles).
func walkAST(v reflect.Value, f func(any)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.Kind() == reflect.Pointer {
			f(v.Interface())
		}
		walkAST(v.Elem(), f)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				walkAST(v.Field(i), f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkAST(v.Index(i), f)
		}
	}
}

// keeps returns which ROW leaves of t a scan in this block reads: those
// named (the leaf or a ROW above it) in the block, in a computed column or
// in the watermark; all of them with no block (nil refs) or after a *.
func (r *nameRefs) keeps(t *Table) func(path string) bool {
	if r == nil || r.all || t.rowColumn() == nil {
		return func(string) bool { return true }
	}
	paths := r.paths
	extra := &nameRefs{paths: map[string]bool{}}
	quals := map[string]bool{strings.ToLower(t.Name): true}
	collect := func(n any) {
		if id, ok := n.(*ast.Ident); ok {
			extra.add(id, quals)
		}
	}
	for _, c := range t.Columns {
		if c.Computed != nil {
			walkAST(reflect.ValueOf(c.Computed), collect)
		}
	}
	if t.Watermark != nil {
		walkAST(reflect.ValueOf(t.Watermark.Expr), collect)
	}
	return func(path string) bool {
		// path is "bid.price" or "r.s.b": kept if it or a ROW above it is named.
		for p := path; ; {
			if paths[p] || extra.paths[p] {
				return true
			}
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				return false
			}
			p = p[:i]
		}
	}
}
