// Package expr binds scalar SQL expressions (sql/ast) to typed expression
// trees and evaluates them vectorized over Arrow record batches, with SQL
// three-valued NULL logic.
//
// The planner uses this API; its signatures are a contract.
package expr

import (
	"time"

	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Scope resolves column references while binding.
type Scope interface {
	// Resolve returns the input column index and type of an identifier, or
	// an *ast.Error at id.Pos ("unknown column 'x'", "ambiguous column").
	Resolve(id *ast.Ident) (index int, t types.Type, err error)
}

// Expr is a bound, typed expression.
type Expr interface {
	// Type is the result type (NotNull set when the value can never be NULL).
	Type() types.Type
	// String renders the expression for EXPLAIN, e.g. "UPPER($1)".
	String() string
}

// BindOptions tunes binding.
type BindOptions struct {
	// OnAggregate is called for an aggregate call (COUNT, SUM, ...) or any
	// call with OVER; the planner returns the expression that stands for its
	// result (usually a column reference into the aggregate's output). When
	// nil, such calls are an error "aggregate function X is not allowed here".
	OnAggregate func(c *ast.Call) (Expr, error)
}

// EvalEnv is what evaluation may need from the running job.
type EvalEnv struct {
	// Now gives CURRENT_TIMESTAMP / NOW() / PROCTIME values.
	Now func() time.Time
	// Location is the session time zone ('table.local-time-zone'): it is
	// used to convert TIMESTAMP_LTZ to TIMESTAMP and back, and by
	// TO_TIMESTAMP_LTZ / DATE_FORMAT of LTZ values.
	Location *time.Location
}

// NewColumn returns a reference to input column index of type t; name is
// used only for String().
func NewColumn(index int, t types.Type, name string) Expr {
	return &ColumnRef{Index: index, T: t, Name: name}
}

// ColumnRef reads one input column.
type ColumnRef struct {
	Index int
	T     types.Type
	Name  string
}

func (c *ColumnRef) Type() types.Type { return c.T }
func (c *ColumnRef) String() string {
	if c.Name != "" {
		return c.Name
	}
	return "$" + itoa(c.Index)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
