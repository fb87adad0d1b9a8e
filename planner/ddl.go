package planner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Connectors looks up a connector factory by name.
type Connectors interface {
	Lookup(name string) (connectors.Factory, error)
}

// BuildTable checks a CREATE TABLE statement and returns the table it
// defines: column names, computed columns, watermark, primary key, and the
// connector's options (validated by the connector now, not when a job runs).
func (p *Planner) BuildTable(ct *ast.CreateTable, reg Connectors) (*Table, error) {
	t := &Table{Name: ct.Name, Pos: ct.Pos, Options: map[string]string{}, ConnectorOptions: map[string]string{},
		OptionPos: map[string]ast.Pos{}, PrimaryKey: ct.PrimaryKey}
	seen := map[string]string{} // lower-case column or leaf name -> its column
	for _, c := range ct.Columns {
		if _, dup := seen[strings.ToLower(c.Name)]; dup {
			return nil, ast.Errorf(c.Pos, "duplicate column '%s'", c.Name)
		}
		seen[strings.ToLower(c.Name)] = c.Name
		if c.Type.Kind == types.Row {
			if c.Metadata {
				return nil, ast.Errorf(c.Pos, "not supported yet: METADATA column '%s' of type ROW", c.Name)
			}
			// The leaves become columns named "row.field": one may not
			// shadow a column of that name.
			for _, leaf := range types.Flatten(types.Field{Name: c.Name, Type: c.Type}) {
				if other, dup := seen[strings.ToLower(leaf.Name)]; dup {
					return nil, ast.Errorf(c.Pos, "field '%s' of ROW column '%s' clashes with column '%s'", leaf.Name, c.Name, other)
				}
				seen[strings.ToLower(leaf.Name)] = c.Name
			}
		}
		col := Column{Name: c.Name, Type: c.Type, Computed: c.Computed, ComputedText: c.ComputedText,
			Metadata: c.Metadata, MetadataKey: c.MetadataKey, Virtual: c.Virtual, Pos: c.Pos}
		if c.Metadata && col.MetadataKey == "" {
			col.MetadataKey = c.Name
		}
		t.Columns = append(t.Columns, col)
	}
	if len(t.Columns) == 0 {
		return nil, ast.Errorf(ct.Pos, "table '%s' has no columns", ct.Name)
	}
	// Primary key columns are NOT NULL, as in Flink.
	for _, k := range ct.PrimaryKey {
		found := false
		for i := range t.Columns {
			if strings.EqualFold(t.Columns[i].Name, k) {
				if t.Columns[i].Computed != nil {
					return nil, ast.Errorf(ct.Pos, "primary key column '%s' cannot be a computed column", k)
				}
				if t.Columns[i].Metadata {
					return nil, ast.Errorf(ct.Pos, "primary key column '%s' cannot be a METADATA column", k)
				}
				if t.Columns[i].Type.Kind == types.Row {
					return nil, ast.Errorf(ct.Pos, "not supported yet: primary key column '%s' of type ROW", k)
				}
				t.Columns[i].Type.NotNull = true
				found = true
			}
		}
		if !found {
			return nil, ast.Errorf(ct.Pos, "primary key column '%s' is not a column of the table", k)
		}
	}
	t.Physical = t.physicalSchema()
	// Computed columns see the physical columns only.
	sc := scopeOf(t.Name, t.Physical)
	for i, c := range t.Columns {
		if c.Computed == nil {
			continue
		}
		e, err := expr.Bind(c.Computed, sc, noAggregates("a computed column"))
		if err != nil {
			return nil, err
		}
		t.Columns[i].Type = e.Type()
	}
	if wm := ct.Watermark; wm != nil {
		if err := p.checkWatermark(t, wm); err != nil {
			return nil, err
		}
		t.Watermark = wm
	}
	for _, o := range ct.Options {
		if _, dup := t.Options[o.Key]; dup {
			return nil, ast.Errorf(o.KeyPos, "option '%s' is given twice", o.Key)
		}
		t.Options[o.Key] = o.Value
		t.OptionPos[o.Key] = o.KeyPos
		switch {
		case o.Key == "connector":
			t.Connector = o.Value
		case strings.HasPrefix(o.Key, "scan.watermark."):
			if err := t.watermarkOption(o.Key, o.Value); err != nil {
				return nil, ast.Errorf(o.ValuePos, "table '%s': option '%s': %v", ct.Name, o.Key, err)
			}
		case isLookupOption(o.Key):
			if err := validateLookupOption(o.Key, o.Value); err != nil {
				return nil, ast.Errorf(o.ValuePos, "table '%s': option '%s': %v", ct.Name, o.Key, err)
			}
		case IsJobSettingKey(o.Key):
			if err := ValidateSetting(o.Key, o.Value); err != nil {
				return nil, ast.Errorf(o.ValuePos, "table '%s': option '%s': %v", ct.Name, o.Key, err)
			}
		default:
			t.ConnectorOptions[o.Key] = o.Value
		}
	}
	if t.Connector == "" {
		return nil, ast.Errorf(ct.Pos, "table '%s' needs a 'connector' option in its WITH clause", ct.Name)
	}
	f, err := reg.Lookup(t.Connector)
	if err != nil {
		return nil, ast.Errorf(t.OptionPos["connector"], "table '%s': %v", ct.Name, err)
	}
	t.Factory = f
	if rc := t.rowColumn(); rc != nil {
		if rf, ok := f.(RowColumnsFactory); !ok || !rf.FlattenedRowColumns() {
			return nil, ast.Errorf(rc.Pos, "not supported yet: ROW column '%s' in a table of connector '%s' (only the nexmark connector reads ROW columns)", rc.Name, t.Connector)
		}
	}
	if err := checkMetadata(t); err != nil {
		return nil, err
	}
	if err := f.Validate(t.ConnectorTable(p.Env)); err != nil {
		var oe *connectors.OptionError
		if errors.As(err, &oe) {
			if pos, ok := t.OptionPos[oe.Option]; ok {
				return nil, ast.Errorf(pos, "%v", err)
			}
		}
		return nil, ast.Errorf(ct.Pos, "%v", err)
	}
	if cf, ok := f.(connectors.ChangelogSourceFactory); ok {
		t.Changelog = cf.ProducesUpdates(t.ConnectorTable(p.Env))
	}
	return t, nil
}

// RowColumnsFactory is implemented by connector factories whose sources
// read ROW columns flattened: the table's physical schema (what the
// connector sees) holds one column per ROW leaf, named "col.field"
// (types.Flatten), and may hold only some of them (a scan asks for the
// leaves its query reads). Other connectors are refused ROW columns at
// CREATE TABLE, so no format or sink ever meets one.
type RowColumnsFactory interface {
	FlattenedRowColumns() bool
}

// EqualityFilterFactory is implemented by connectors whose sources can
// emit only the rows where a physical column equals an integer. For a
// query block that reads the table alone, the planner offers each WHERE
// conjunct `column = n`; the options returned are added to that scan's
// connector options. The filter stays in the plan, so the pushdown only
// saves work (Flink's Nexmark views filter the single nexmark table by
// event_type: the source then generates one kind only).
type EqualityFilterFactory interface {
	FilterEquals(t connectors.Table, column string, value int64) (map[string]string, bool)
}

// checkMetadata checks the table's METADATA columns against the keys its
// connector offers (connectors.MetadataFactory).
func checkMetadata(t *Table) error {
	for _, c := range t.Columns {
		if !c.Metadata {
			continue
		}
		mf, ok := t.Factory.(connectors.MetadataFactory)
		if !ok {
			return ast.Errorf(c.Pos, "table '%s': column '%s': connector '%s' has no metadata columns", t.Name, c.Name, t.Connector)
		}
		keys := mf.Metadata()
		var known []string
		found := false
		for _, k := range keys {
			known = append(known, k.Key)
			if k.Key != c.MetadataKey {
				continue
			}
			found = true
			if k.Type.Kind != c.Type.Kind || (k.Type.Kind == types.TimestampLTZ && c.Type.Precision != k.Type.Precision) {
				return ast.Errorf(c.Pos, "table '%s': column '%s': metadata '%s' of connector '%s' has type %s, not %s",
					t.Name, c.Name, c.MetadataKey, t.Connector, k.Type.WithNotNull(false), c.Type.WithNotNull(false))
			}
		}
		if !found {
			return ast.Errorf(c.Pos, "table '%s': column '%s': connector '%s' has no metadata '%s' (available: %s)",
				t.Name, c.Name, t.Connector, c.MetadataKey, strings.Join(known, ", "))
		}
	}
	return nil
}

// checkWritableMetadata refuses an INSERT into a table whose non-VIRTUAL
// metadata columns the connector cannot write.
func checkWritableMetadata(t *Table, pos ast.Pos) error {
	mf, _ := t.Factory.(connectors.MetadataFactory)
	for _, c := range t.Columns {
		if !c.Metadata || c.Virtual || mf == nil {
			continue
		}
		for _, k := range mf.Metadata() {
			if k.Key == c.MetadataKey && !k.Writable {
				return ast.Errorf(pos, "INSERT INTO %s: metadata column '%s' (FROM '%s') is read-only; declare it VIRTUAL to write to this table",
					t.Name, c.Name, c.MetadataKey)
			}
		}
	}
	return nil
}

func (p *Planner) checkWatermark(t *Table, wm *ast.Watermark) error {
	sc := scopeOf(t.Name, t.Schema())
	idx, typ, err := sc.Resolve(&ast.Ident{Parts: []string{wm.Column}, Pos: wm.Pos})
	if err != nil {
		return ast.Errorf(wm.Pos, "WATERMARK FOR '%s': not a column of the table", wm.Column)
	}
	_ = idx
	if typ.Kind != types.Timestamp && typ.Kind != types.TimestampLTZ {
		return ast.Errorf(wm.Pos, "WATERMARK FOR '%s': the column must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), not %s", wm.Column, typ)
	}
	if typ.Precision > 3 {
		return ast.Errorf(wm.Pos, "WATERMARK FOR '%s': the rowtime precision must be at most 3, not %d", wm.Column, typ.Precision)
	}
	e, err := expr.Bind(wm.Expr, sc, noAggregates("a watermark"))
	if err != nil {
		return err
	}
	if e.Type().Kind != typ.Kind {
		return ast.Errorf(wm.Expr.Position(), "the watermark expression must return %s, not %s", typ, e.Type())
	}
	return nil
}

// PlanInsert plans INSERT INTO t [(cols)] query: the query's columns are
// matched to the table's physical columns (by position, or by the column
// list, the others written as NULL) and widened where Flink allows it
// implicitly.
func (p *Planner) PlanInsert(ins *ast.Insert) (Node, error) {
	if ins.Overwrite {
		return nil, ast.Errorf(ins.Pos, "not supported yet: INSERT OVERWRITE")
	}
	t, ok := p.Catalog.Table(ins.Table)
	if !ok {
		if _, isView := p.Catalog.View(ins.Table); isView {
			return nil, ast.Errorf(ins.Pos, "cannot INSERT INTO view '%s'", ins.Table)
		}
		return nil, ast.Errorf(ins.Pos, "unknown table '%s'", ins.Table)
	}
	if rc := t.rowColumn(); rc != nil {
		return nil, ast.Errorf(ins.Pos, "not supported yet: INSERT INTO %s: ROW column '%s'", t.Name, rc.Name)
	}
	if err := checkWritableMetadata(t, ins.Pos); err != nil {
		return nil, err
	}
	if _, err := t.Factory.NewSink(t.SinkConnectorTable(p.Env)); err != nil {
		return nil, ast.Errorf(ins.Pos, "%v", err)
	}
	qp, err := p.planSelect(&bindCtx{}, ins.Query)
	if err != nil {
		return nil, err
	}
	q := qp.node
	qs := q.Schema()
	target := t.SinkSchema()
	// source[i] is the query column written to target column i, or -1.
	source := make([]int, target.Len())
	if len(ins.Columns) == 0 {
		if qs.Len() != target.Len() {
			return nil, ast.Errorf(ins.Query.Pos, "INSERT INTO %s: the query has %d columns but the table has %d (%s)",
				t.Name, qs.Len(), target.Len(), strings.Join(target.Names(), ", "))
		}
		for i := range source {
			source[i] = i
		}
	} else {
		if len(ins.Columns) != qs.Len() {
			return nil, ast.Errorf(ins.Query.Pos, "INSERT INTO %s: %d columns listed but the query has %d", t.Name, len(ins.Columns), qs.Len())
		}
		for i := range source {
			source[i] = -1
		}
		for qi, name := range ins.Columns {
			ti := target.Index(name)
			if ti < 0 {
				return nil, ast.Errorf(ins.Pos, "INSERT INTO %s: unknown column '%s'", t.Name, name)
			}
			if source[ti] >= 0 {
				return nil, ast.Errorf(ins.Pos, "INSERT INTO %s: column '%s' listed twice", t.Name, name)
			}
			source[ti] = qi
		}
	}
	identity := qs.Len() == target.Len()
	exprs := make([]expr.Expr, target.Len())
	sc := scopeOf("", qs)
	for ti, f := range target.Fields {
		qi := source[ti]
		if qi < 0 {
			if f.Type.NotNull {
				return nil, ast.Errorf(ins.Pos, "INSERT INTO %s: column '%s' is NOT NULL and has no value", t.Name, f.Name)
			}
			e, err := expr.Bind(&ast.Cast{X: &ast.Literal{Kind: ast.LitNull, Pos: ins.Pos}, To: f.Type.WithNotNull(false), Pos: ins.Pos}, sc, expr.BindOptions{})
			if err != nil {
				return nil, err
			}
			exprs[ti] = e
			identity = false
			continue
		}
		if qi != ti {
			identity = false
		}
		from := qs.Fields[qi].Type
		col := expr.NewColumn(qi, from, qs.Fields[qi].Name)
		if from.Equal(f.Type) || (f.Type.Kind == types.String && from.Kind == types.String) {
			exprs[ti] = col
			continue
		}
		if !assignable(from, f.Type) {
			return nil, ast.Errorf(ins.Query.Pos, "INSERT INTO %s: column '%s' has type %s, but the query gives %s; add a CAST",
				t.Name, f.Name, f.Type.WithNotNull(false), from.WithNotNull(false))
		}
		e, err := expr.Bind(&ast.Cast{X: &ast.Ident{Parts: []string{qs.Fields[qi].Name}, Pos: ins.Query.Pos}, To: f.Type.WithNotNull(false), Pos: ins.Query.Pos},
			&scope{cols: []scopeCol{{Name: qs.Fields[qi].Name, Type: from}}}, expr.BindOptions{})
		if err != nil {
			return nil, err
		}
		exprs[ti] = expr.Remap(e, map[int]int{0: qi})
		identity = false
	}
	if !identity {
		fields := make([]types.Field, target.Len())
		for i, f := range target.Fields {
			fields[i] = types.Field{Name: f.Name, Type: exprs[i].Type()}
		}
		q = &Calc{Input: q, Exprs: exprs, Out: types.Schema{Fields: fields}}
	}
	if Updating(q) {
		uf, ok := t.Factory.(connectors.UpdateSinkFactory)
		if !ok || !uf.AcceptsUpdates(t.SinkConnectorTable(p.Env)) {
			return nil, ast.Errorf(ins.Pos, "table '%s' (connector '%s') cannot consume the update changes produced by %s; write to an upsert sink such as print or blackhole",
				t.Name, t.Connector, updatingNode(q).Describe())
		}
	}
	return &SinkNode{Input: q, Table: t}, nil
}

// updatingNode finds the node that makes a plan's output updating.
func updatingNode(n Node) Node {
	switch n.(type) {
	case *GroupAgg, *RankNode, *JoinNode:
		return n
	}
	for _, in := range n.Inputs() {
		if Updating(in) {
			return updatingNode(in)
		}
	}
	return n
}

// assignable reports whether Flink converts from into to implicitly on
// INSERT (widening only).
func assignable(from, to types.Type) bool {
	rank := func(k types.Kind) int {
		switch k {
		case types.Int:
			return 1
		case types.BigInt:
			return 2
		case types.Decimal:
			return 3
		case types.Double:
			return 4
		}
		return 0
	}
	switch {
	case from.Kind == types.Null:
		return true
	case from.IsNumeric() && to.IsNumeric():
		if from.Kind == types.Decimal && to.Kind == types.Decimal {
			return to.Scale >= from.Scale && to.Precision-to.Scale >= from.Precision-from.Scale
		}
		return rank(from.Kind) <= rank(to.Kind)
	case from.Kind == types.Timestamp && to.Kind == types.Timestamp,
		from.Kind == types.TimestampLTZ && to.Kind == types.TimestampLTZ:
		return true
	}
	return false
}

// watermarkOption applies a 'scan.watermark.*' table option: these shape
// the planner's watermark generation, not the connector.
func (t *Table) watermarkOption(k, v string) error {
	switch k {
	case "scan.watermark.emit.strategy":
		switch v {
		case "on-event":
			t.WatermarkPerRow = true
		case "on-periodic":
			t.WatermarkPerRow = false
		default:
			return fmt.Errorf("expected on-event or on-periodic, got '%s'", v)
		}
		return nil
	case "scan.watermark.idle-timeout":
		d, err := ParseDuration(v)
		if err != nil {
			return err
		}
		t.WatermarkIdle = d
		return nil
	}
	return fmt.Errorf("unknown option")
}
