package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/exec/ops"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Lookup join table options: Flink's filesystem name, and the shorter one
// of Flink's legacy lookup options. Both are planner options (like
// 'scan.watermark.*'): the connector never sees them.
const (
	KeyLookupJoinCacheTTL = "lookup.join.cache.ttl"
	KeyLookupCacheTTL     = "lookup.cache.ttl"
)

// isLookupOption reports whether k is a lookup join option of a table.
func isLookupOption(k string) bool { return k == KeyLookupJoinCacheTTL || k == KeyLookupCacheTTL }

// validateLookupOption checks a lookup join option's value at CREATE TABLE.
func validateLookupOption(k, v string) error {
	d, err := ParseDuration(v)
	if err != nil {
		return err
	}
	if d <= 0 {
		return fmt.Errorf("expected a positive duration, got '%s'", v)
	}
	return nil
}

// lookupTTL is how long a lookup join uses one load of table t.
func lookupTTL(t *Table) time.Duration {
	for _, k := range []string{KeyLookupJoinCacheTTL, KeyLookupCacheTTL} {
		if v, ok := t.Options[k]; ok {
			if d, err := ParseDuration(v); err == nil && d > 0 {
				return d
			}
		}
	}
	return ops.DefaultLookupCacheTTL
}

// LookupJoinNode is Flink's processing-time lookup join (`JOIN t FOR
// SYSTEM_TIME AS OF left.proctime`): each row of Input looks up the rows of
// Table whose RightKeys equal its LeftKeys, as the table is when the row
// arrives. Table is not an input: the operator reads it itself (whole, per
// subtask), so the join chains onto its probe side without an exchange.
type LookupJoinNode struct {
	Input Node
	Table *Table
	Kind  ast.JoinKind // JoinInner or JoinLeft
	// LeftKeys are expressions over Input; RightKeys over the table's
	// physical columns, pairwise of one key type.
	LeftKeys, RightKeys []expr.Expr
	// Residual is the rest of ON over Input's columns then the table's.
	Residual expr.Expr
	TTL      time.Duration
	Out      types.Schema
}

func (l *LookupJoinNode) Schema() types.Schema { return l.Out }
func (l *LookupJoinNode) Inputs() []Node       { return []Node{l.Input} }
func (l *LookupJoinNode) Bounded() bool        { return l.Input.Bounded() }
func (l *LookupJoinNode) Describe() string {
	joinType := "InnerJoin"
	if l.Kind == ast.JoinLeft {
		joinType = "LeftOuterJoin"
	}
	keys := make([]string, len(l.LeftKeys))
	for i := range l.LeftKeys {
		keys[i] = plainNames(l.RightKeys[i], l.Table.Physical) + "=" + plainNames(l.LeftKeys[i], l.Input.Schema())
	}
	d := fmt.Sprintf("LookupJoin(table=[%s], joinType=[%s], lookup=[%s]", l.Table.Name, joinType, strings.Join(keys, ", "))
	if l.Residual != nil {
		d += ", joinCondition=[" + plainNames(l.Residual, l.Out) + "]"
	}
	return d + ", select=[" + strings.Join(l.Out.Names(), ", ") + "])"
}

// plainNames renders e with the column names of s (bound references carry
// the user's qualified names, S.key; EXPLAIN shows the schema's, as Flink).
func plainNames(e expr.Expr, s types.Schema) string {
	cols := make([]expr.Expr, s.Len())
	for i, f := range s.Fields {
		cols[i] = expr.NewColumn(i, f.Type, f.Name)
	}
	return expr.Substitute(e, cols).String()
}

// planLookupJoin plans left JOIN tn FOR SYSTEM_TIME AS OF ... ON j.On, left
// already planned.
func (p *Planner) planLookupJoin(bc *bindCtx, j *ast.Join, left relation, tn *ast.TableName) (relation, error) {
	if _, ok := bc.ctes[strings.ToLower(tn.Name)]; ok {
		return relation{}, ast.Errorf(tn.Pos, "not supported yet: FOR SYSTEM_TIME AS OF the WITH query '%s' (a lookup join reads a table)", tn.Name)
	}
	if _, ok := p.Catalog.View(tn.Name); ok {
		return relation{}, ast.Errorf(tn.Pos, "not supported yet: FOR SYSTEM_TIME AS OF the view '%s' (a lookup join reads a table)", tn.Name)
	}
	t, ok := p.Catalog.Table(tn.Name)
	if !ok {
		return relation{}, ast.Errorf(tn.Pos, "unknown table '%s'", tn.Name)
	}
	if err := checkAsOf(left, tn); err != nil {
		return relation{}, err
	}
	if Updating(left.node) {
		return relation{}, ast.Errorf(tn.SystemTimePos, "not supported yet: a lookup join of an updating input (the left side of JOIN %s FOR SYSTEM_TIME AS OF produces updates)", tn.Name)
	}
	if err := p.checkLookupTable(t, tn.Pos); err != nil {
		return relation{}, err
	}
	qual := tn.Name
	if tn.Alias != "" {
		qual = tn.Alias
	}
	nl := len(left.scope.cols)
	right := scopeOf(qual, t.Physical)
	sc := &scope{cols: append(append([]scopeCol{}, left.scope.cols...), right.cols...)}
	if j.Kind == ast.JoinLeft {
		for i := nl; i < len(sc.cols); i++ {
			sc.cols[i].Type = sc.cols[i].Type.WithNotNull(false)
		}
	}
	node := &LookupJoinNode{Input: Optimize(left.node), Table: t, Kind: j.Kind, TTL: lookupTTL(t)}
	cond, err := expr.Bind(j.On, sc, noAggregates("JOIN ... ON"))
	if err != nil {
		return relation{}, err
	}
	if cond.Type().Kind != types.Boolean {
		return relation{}, ast.Errorf(j.On.Position(), "JOIN ... ON must be a boolean condition, got %s", cond.Type())
	}
	for _, c := range conjuncts(cond) {
		if l, r, ok := lookupKey(c, nl); ok {
			node.LeftKeys = append(node.LeftKeys, l)
			node.RightKeys = append(node.RightKeys, r)
			continue
		}
		node.Residual = andExpr(node.Residual, c)
	}
	if len(node.LeftKeys) == 0 {
		return relation{}, ast.Errorf(j.On.Position(), "a lookup join needs an equality between the left input and the columns of '%s' in ON (e.g. o.id = %s.id)", tn.Name, qual)
	}
	fields := make([]types.Field, len(sc.cols))
	for i, c := range sc.cols {
		fields[i] = types.Field{Name: c.Name, Type: c.Type}
	}
	node.Out = types.Schema{Fields: uniqueFields(fields)}
	return relation{node: node, scope: sc}, nil
}

// checkAsOf accepts only a processing-time attribute of the left input as
// the FOR SYSTEM_TIME AS OF expression.
func checkAsOf(left relation, tn *ast.TableName) error {
	e, err := expr.Bind(tn.SystemTime, left.scope, noAggregates("FOR SYSTEM_TIME AS OF"))
	if err != nil {
		return err
	}
	pos := tn.SystemTime.Position()
	col, ok := e.(*expr.ColumnRef)
	if !ok {
		return ast.Errorf(pos, "FOR SYSTEM_TIME AS OF needs a time attribute column of the left input (a PROCTIME() column), got %s", e)
	}
	if isProcTime(left.node, col.Index) {
		return nil
	}
	if k := col.T.Kind; k == types.Timestamp || k == types.TimestampLTZ {
		return ast.Errorf(pos, "not supported yet: FOR SYSTEM_TIME AS OF %s: an event-time temporal join (against a versioned table); "+
			"only processing-time lookup joins, AS OF a PROCTIME() column of the left input", col.Name)
	}
	return ast.Errorf(pos, "FOR SYSTEM_TIME AS OF needs a time attribute column of the left input (a PROCTIME() column), got %s of type %s", col.Name, col.T)
}

// checkLookupTable refuses tables the full-cache lookup cannot serve.
func (p *Planner) checkLookupTable(t *Table, pos ast.Pos) error {
	if t.Changelog {
		return ast.Errorf(pos, "not supported yet: a lookup join with the changelog table '%s'", t.Name)
	}
	for _, c := range t.Columns {
		if c.Computed != nil {
			return ast.Errorf(pos, "not supported yet: a lookup join with table '%s', which has computed columns", t.Name)
		}
	}
	src, err := t.Factory.NewSource(t.ConnectorTable(p.Env))
	if err != nil {
		return ast.Errorf(pos, "lookup table '%s': %v", t.Name, err)
	}
	bounded := src.Bounded()
	_ = src.Close()
	if !bounded {
		return ast.Errorf(pos, "not supported yet: a lookup join with the unbounded table '%s' (the table is loaded into memory whole, so it must be bounded: a filesystem table, datagen with 'number-of-rows')", t.Name)
	}
	return nil
}

// lookupKey recognizes left = right where left reads only left columns (at
// least one) and right only the table's; right is returned over the
// table's columns. Keys of different types are cast to a common one (or
// left to the residual).
func lookupKey(e expr.Expr, nl int) (expr.Expr, expr.Expr, bool) {
	c, ok := e.(*expr.Call)
	if !ok || c.Fn != "=" || len(c.Args) != 2 {
		return nil, nil, false
	}
	side := func(x expr.Expr) int { // 0 left, 1 right, -1 neither or both
		refs := expr.Refs(x)
		switch {
		case len(refs) == 0:
			return -1
		case refs[len(refs)-1] < nl:
			return 0
		case refs[0] >= nl:
			return 1
		}
		return -1
	}
	l, r := c.Args[0], c.Args[1]
	switch {
	case side(l) == 0 && side(r) == 1:
	case side(l) == 1 && side(r) == 0:
		l, r = r, l
	default:
		return nil, nil, false
	}
	l, r, ok = sameKeyType(l, r)
	if !ok {
		return nil, nil, false
	}
	m := map[int]int{}
	for _, i := range expr.Refs(r) {
		m[i] = i - nl
	}
	return l, expr.Remap(r, m), true
}

// sameKeyType makes l and r hash alike: the operator compares integers of
// any width as int64, other types by their physical value, so DECIMALs need
// one scale and a DOUBLE needs a DOUBLE.
func sameKeyType(l, r expr.Expr) (expr.Expr, expr.Expr, bool) {
	lt, rt := l.Type(), r.Type()
	isInt := func(k types.Kind) bool { return k == types.Int || k == types.BigInt }
	cast := func(e expr.Expr, to types.Type) expr.Expr {
		return &expr.Call{Fn: "CAST", Args: []expr.Expr{e}, T: to.WithNotNull(e.Type().NotNull), Implicit: true}
	}
	switch {
	case isInt(lt.Kind) && isInt(rt.Kind):
		return l, r, true
	case lt.Kind == types.Decimal && rt.Kind == types.Decimal:
		return l, r, lt.Scale == rt.Scale
	case lt.Kind == types.Double && rt.Kind == types.Double:
		return l, r, true
	case lt.Kind == types.Double && rt.IsNumeric():
		return l, cast(r, types.TypeDouble), true
	case rt.Kind == types.Double && lt.IsNumeric():
		return cast(l, types.TypeDouble), r, true
	case lt.Kind == rt.Kind && lt.Kind != types.Row:
		return l, r, true
	}
	return nil, nil, false
}

func andExpr(a, b expr.Expr) expr.Expr {
	if a == nil {
		return b
	}
	return expr.And(a, b)
}

// lookupJoin translates a LookupJoinNode: the operator chains onto its
// probe side, and each subtask opens its own scans of the table.
func (b *builder) lookupJoin(x *LookupJoinNode) (stream, error) {
	in, err := b.build(x.Input)
	if err != nil {
		return stream{}, err
	}
	kind := ops.JoinInner
	if x.Kind == ast.JoinLeft {
		kind = ops.JoinLeft
	}
	t, env := x.Table, b.p.Env
	lk, rk, residual, ls, out, ttl := x.LeftKeys, x.RightKeys, x.Residual, x.Input.Schema(), x.Out, x.TTL
	newSource := func() (connectors.Source, error) { return t.Factory.NewSource(t.ConnectorTable(env)) }
	return b.chain(in, in.parallelism, exec.OperatorFactory{Name: x.Describe(), New: func(int) (exec.Operator, error) {
		return &ops.LookupJoin{Kind: kind, LeftKeys: lk, RightKeys: rk, Residual: residual, Left: ls, Right: t.Physical, Out: out,
			Table: t.Name, NewSource: newSource, TTL: ttl}, nil
	}}), nil
}
