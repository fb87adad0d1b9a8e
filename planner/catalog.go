// Package planner turns statements into runnable jobs: it binds names
// against the catalog, types expressions (through exec/expr), builds a
// logical plan, and translates it into an exec.Graph whose forward edges are
// chained into single tasks.
package planner

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Column is one column of a catalog table.
type Column struct {
	Name string
	Type types.Type
	// Computed is non-nil for `name AS expr`.
	Computed     ast.Expr
	ComputedText string
	// Metadata columns are read from connector metadata.
	Metadata    bool
	MetadataKey string
	// Virtual metadata columns are read-only: not part of the sink schema.
	Virtual bool
	Pos     ast.Pos
}

// Table is a table registered with CREATE TABLE.
type Table struct {
	Name    string
	Columns []Column
	// Physical is the schema the connector reads: the non-computed
	// columns (metadata columns included), in order. SinkSchema is what
	// it writes.
	Physical  types.Schema
	Watermark *ast.Watermark
	// WatermarkPerRow: 'scan.watermark.emit.strategy' = 'on-event'.
	WatermarkPerRow bool
	// WatermarkIdle: 'scan.watermark.idle-timeout' (0 = never idle).
	WatermarkIdle time.Duration
	PrimaryKey    []string
	// Options is the whole WITH list; ConnectorOptions the part the
	// connector itself validates (without 'connector' and job settings).
	Options          map[string]string
	ConnectorOptions map[string]string
	// OptionPos locates each option key in the DDL (for errors).
	OptionPos map[string]ast.Pos
	Connector string
	Factory   connectors.Factory
	// Changelog: the connector's source may emit updates
	// (connectors.ChangelogSourceFactory).
	Changelog bool
	Pos       ast.Pos
}

// Schema is every column (physical and computed), as SELECT * sees it:
// ROW columns as their leaf columns (types.Flatten).
func (t *Table) Schema() types.Schema {
	fs := make([]types.Field, 0, len(t.Columns))
	for _, c := range t.Columns {
		fs = append(fs, types.Flatten(types.Field{Name: c.Name, Type: c.Type})...)
	}
	return types.Schema{Fields: fs}
}

// physicalSchema is the schema the connector reads: the non-computed
// columns in order, ROW columns as their leaves.
func (t *Table) physicalSchema() types.Schema {
	var fs []types.Field
	for _, c := range t.Columns {
		if c.Computed == nil {
			fs = append(fs, types.Flatten(types.Field{Name: c.Name, Type: c.Type})...)
		}
	}
	return types.Schema{Fields: fs}
}

// rowColumn returns the table's first ROW column, or nil.
func (t *Table) rowColumn() *Column {
	for i := range t.Columns {
		if t.Columns[i].Type.Kind == types.Row {
			return &t.Columns[i]
		}
	}
	return nil
}

// narrowRows returns t reading only the ROW leaves keep accepts (by
// lower-case path, "bid.price"), or t itself when it has no ROW column or
// keeps them all. The copy shares everything else with t: a scan of it asks
// the connector for fewer columns, which is the point (the nexmark table's
// ROW columns are 25 leaves, a view of one kind reads 7 of them).
func (t *Table) narrowRows(keep func(path string) bool) *Table {
	if t.rowColumn() == nil {
		return t
	}
	n := *t
	n.Columns = append([]Column(nil), t.Columns...)
	changed := false
	for i, c := range n.Columns {
		if c.Type.Kind != types.Row {
			continue
		}
		nt, dropped := narrowRow(c.Type, strings.ToLower(c.Name), keep)
		if dropped {
			n.Columns[i].Type = nt
			changed = true
		}
	}
	if !changed {
		return t
	}
	n.Physical = n.physicalSchema()
	return &n
}

// narrowRow drops the leaves of ROW type rt (at path) that keep refuses;
// dropped reports whether any went. A ROW may end up with no fields: it
// then contributes no leaf columns.
func narrowRow(rt types.Type, path string, keep func(string) bool) (types.Type, bool) {
	var fields []types.Field
	dropped := false
	for _, f := range rt.Row.Fields {
		p := path + "." + strings.ToLower(f.Name)
		if f.Type.Kind == types.Row {
			nt, d := narrowRow(f.Type, p, keep)
			dropped = dropped || d
			if len(nt.Row.Fields) > 0 {
				fields = append(fields, types.Field{Name: f.Name, Type: nt})
			}
			continue
		}
		if keep(p) {
			fields = append(fields, f)
		} else {
			dropped = true
		}
	}
	out := types.RowOf(fields...)
	out.NotNull = rt.NotNull
	return out, dropped
}

// ConnectorTable is the table as its connector sees it to read it.
func (t *Table) ConnectorTable(env connectors.Env) connectors.Table {
	return connectors.Table{Name: t.Name, Schema: t.Physical, Options: t.ConnectorOptions, PrimaryKey: t.PrimaryKey,
		Metadata: t.metadata(false), Env: env}
}

// SinkConnectorTable is the table as its connector sees it to write it:
// without VIRTUAL metadata columns.
func (t *Table) SinkConnectorTable(env connectors.Env) connectors.Table {
	ct := t.ConnectorTable(env)
	ct.Schema = t.SinkSchema()
	ct.Metadata = t.metadata(true)
	return ct
}

// SinkSchema is the schema INSERT INTO writes: the physical columns
// without VIRTUAL metadata columns.
func (t *Table) SinkSchema() types.Schema {
	virtual := false
	for _, c := range t.Columns {
		virtual = virtual || c.Virtual
	}
	if !virtual {
		return t.Physical
	}
	var fs []types.Field
	for _, f := range t.Physical.Fields {
		if c := t.column(f.Name); c == nil || !c.Virtual {
			fs = append(fs, f)
		}
	}
	return types.Schema{Fields: fs}
}

func (t *Table) column(name string) *Column {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return &t.Columns[i]
		}
	}
	return nil
}

// metadata lists the metadata columns (without VIRTUAL ones for a sink).
func (t *Table) metadata(sink bool) []connectors.MetadataColumn {
	var out []connectors.MetadataColumn
	for _, c := range t.Columns {
		if c.Metadata && !(sink && c.Virtual) {
			out = append(out, connectors.MetadataColumn{Column: c.Name, Key: c.MetadataKey, Virtual: c.Virtual})
		}
	}
	return out
}

// View is a named query.
type View struct {
	Name   string
	Query  *ast.Select
	Text   string
	Schema types.Schema
	// Columns renames the query's columns when given.
	Columns []string
}

// Catalog holds tables and views of a session. Names are case-insensitive.
type Catalog struct {
	tables map[string]*Table
	views  map[string]*View
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{tables: map[string]*Table{}, views: map[string]*View{}}
}

func key(name string) string { return strings.ToLower(name) }

// Table returns the table named name.
func (c *Catalog) Table(name string) (*Table, bool) {
	t, ok := c.tables[key(name)]
	return t, ok
}

// View returns the view named name.
func (c *Catalog) View(name string) (*View, bool) {
	v, ok := c.views[key(name)]
	return v, ok
}

// Exists reports whether a table or view has the name.
func (c *Catalog) Exists(name string) bool {
	_, t := c.tables[key(name)]
	_, v := c.views[key(name)]
	return t || v
}

// AddTable registers t.
func (c *Catalog) AddTable(t *Table) error {
	if c.Exists(t.Name) {
		return fmt.Errorf("table or view '%s' already exists", t.Name)
	}
	c.tables[key(t.Name)] = t
	return nil
}

// AddView registers v.
func (c *Catalog) AddView(v *View) error {
	if c.Exists(v.Name) {
		return fmt.Errorf("table or view '%s' already exists", v.Name)
	}
	c.views[key(v.Name)] = v
	return nil
}

// DropTable removes a table; it reports whether it existed.
func (c *Catalog) DropTable(name string) bool {
	_, ok := c.tables[key(name)]
	delete(c.tables, key(name))
	return ok
}

// DropView removes a view; it reports whether it existed.
func (c *Catalog) DropView(name string) bool {
	_, ok := c.views[key(name)]
	delete(c.views, key(name))
	return ok
}

// TableNames lists tables (and views when views is true) sorted by name.
func (c *Catalog) TableNames(includeViews bool) []string {
	var out []string
	for _, t := range c.tables {
		out = append(out, t.Name)
	}
	if includeViews {
		for _, v := range c.views {
			out = append(out, v.Name)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}

// ViewNames lists views sorted by name.
func (c *Catalog) ViewNames() []string {
	var out []string
	for _, v := range c.views {
		out = append(out, v.Name)
	}
	sort.Strings(out)
	return out
}
