package planner

import (
	"fmt"
	"strings"

	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/types"
)

// Node is a logical plan node.
type Node interface {
	// Schema is the node's output.
	Schema() types.Schema
	// Inputs are the child nodes.
	Inputs() []Node
	// Describe renders the node for EXPLAIN, e.g. "Calc(select=[a, b])".
	Describe() string
	// Bounded reports whether the node's output ends.
	Bounded() bool
}

// Scan reads a catalog table's physical columns.
type Scan struct {
	Table   *Table
	bounded bool
}

func (s *Scan) Schema() types.Schema { return s.Table.Physical }
func (s *Scan) Inputs() []Node       { return nil }
func (s *Scan) Bounded() bool        { return s.bounded }
func (s *Scan) Describe() string {
	return fmt.Sprintf("TableSourceScan(table=[%s], fields=[%s])", s.Table.Name, strings.Join(s.Table.Physical.Names(), ", "))
}

// Values produces one row without columns (SELECT without FROM).
type Values struct{}

func (*Values) Schema() types.Schema { return types.Schema{} }
func (*Values) Inputs() []Node       { return nil }
func (*Values) Bounded() bool        { return true }
func (*Values) Describe() string     { return "Values(tuples=[[]])" }

// Calc filters and projects.
type Calc struct {
	Input  Node
	Filter expr.Expr // nil = keep all rows
	Exprs  []expr.Expr
	Out    types.Schema
}

func (c *Calc) Schema() types.Schema { return c.Out }
func (c *Calc) Inputs() []Node       { return []Node{c.Input} }
func (c *Calc) Bounded() bool        { return c.Input.Bounded() }
func (c *Calc) Describe() string {
	items := make([]string, len(c.Exprs))
	for i, e := range c.Exprs {
		s := e.String()
		if name := c.Out.Fields[i].Name; s != name {
			s += " AS " + name
		}
		items[i] = s
	}
	d := "Calc(select=[" + strings.Join(items, ", ") + "]"
	if c.Filter != nil {
		d += ", where=[" + c.Filter.String() + "]"
	}
	return d + ")"
}

// SortNode orders a bounded input (with optional OFFSET/LIMIT).
type SortNode struct {
	Input  Node
	Keys   []SortKeySpec
	Offset int64
	Limit  int64 // -1 = none
}

// SortKeySpec is an ORDER BY key on an input column.
type SortKeySpec struct {
	Col  int
	Desc bool
}

func (s *SortNode) Schema() types.Schema { return s.Input.Schema() }
func (s *SortNode) Inputs() []Node       { return []Node{s.Input} }
func (s *SortNode) Bounded() bool        { return true }
func (s *SortNode) Describe() string {
	names := s.Input.Schema().Names()
	keys := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		dir := "ASC"
		if k.Desc {
			dir = "DESC"
		}
		keys[i] = names[k.Col] + " " + dir
	}
	d := "Sort(orderBy=[" + strings.Join(keys, ", ") + "]"
	if s.Offset > 0 {
		d += fmt.Sprintf(", offset=[%d]", s.Offset)
	}
	if s.Limit >= 0 {
		d += fmt.Sprintf(", fetch=[%d]", s.Limit)
	}
	return d + ")"
}

// LimitNode passes the first rows of an append-only input.
type LimitNode struct {
	Input  Node
	Offset int64
	Limit  int64
}

func (l *LimitNode) Schema() types.Schema { return l.Input.Schema() }
func (l *LimitNode) Inputs() []Node       { return []Node{l.Input} }
func (l *LimitNode) Bounded() bool        { return l.Input.Bounded() }
func (l *LimitNode) Describe() string {
	return fmt.Sprintf("Limit(offset=[%d], fetch=[%d])", l.Offset, l.Limit)
}

// Union concatenates inputs of one schema (UNION ALL).
type Union struct {
	In  []Node
	Out types.Schema
}

func (u *Union) Schema() types.Schema { return u.Out }
func (u *Union) Inputs() []Node       { return u.In }
func (u *Union) Bounded() bool {
	for _, n := range u.In {
		if !n.Bounded() {
			return false
		}
	}
	return true
}
func (u *Union) Describe() string { return "Union(all=[true])" }

// SinkNode writes into a catalog table.
type SinkNode struct {
	Input Node
	Table *Table
}

func (s *SinkNode) Schema() types.Schema { return s.Input.Schema() }
func (s *SinkNode) Inputs() []Node       { return []Node{s.Input} }
func (s *SinkNode) Bounded() bool        { return s.Input.Bounded() }
func (s *SinkNode) Describe() string {
	return fmt.Sprintf("Sink(table=[%s], fields=[%s])", s.Table.Name, strings.Join(s.Table.SinkSchema().Names(), ", "))
}

// CollectNode returns a query's rows to the client.
type CollectNode struct {
	Input Node
}

func (c *CollectNode) Schema() types.Schema { return c.Input.Schema() }
func (c *CollectNode) Inputs() []Node       { return []Node{c.Input} }
func (c *CollectNode) Bounded() bool        { return c.Input.Bounded() }
func (c *CollectNode) Describe() string {
	return fmt.Sprintf("Collect(fields=[%s])", strings.Join(c.Input.Schema().Names(), ", "))
}

// ExplainTree renders a plan as an indented tree, Flink style.
func ExplainTree(n Node) string {
	var sb strings.Builder
	var walk func(n Node, lead, prefix string)
	walk = func(n Node, lead, prefix string) {
		sb.WriteString(lead + n.Describe() + "\n")
		ins := n.Inputs()
		for i, c := range ins {
			if i < len(ins)-1 {
				walk(c, prefix+":- ", prefix+":  ")
			} else {
				walk(c, prefix+"+- ", prefix+"   ")
			}
		}
	}
	walk(n, "", "")
	return sb.String()
}
