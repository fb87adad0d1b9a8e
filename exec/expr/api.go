// Package expr binds scalar SQL expressions (sql/ast) to typed expression
// trees and evaluates them vectorized over Arrow record batches, with SQL
// three-valued NULL logic.
//
// The planner uses this API; its signatures are a contract.
package expr

import (
	"time"

	"github.com/apache/arrow/go/v17/arrow"

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

// The functions below are implemented in the package's other files:
//
//	// Bind type-checks e against scope. Type errors are *ast.Error at the
//	// offending node ("cannot apply '+' to STRING and INT").
//	func Bind(e ast.Expr, scope Scope, opts BindOptions) (Expr, error)
//
//	// IsAggregate reports whether name (upper case) is an aggregate function.
//	func IsAggregate(name string) bool
//
//	// Refs returns the sorted, distinct input column indexes e reads.
//	func Refs(e Expr) []int
//
//	// Remap returns e with every column index i replaced by m[i].
//	func Remap(e Expr, m map[int]int) Expr
//
//	// Compile prepares a list of expressions for repeated evaluation.
//	func Compile(exprs []Expr, env *EvalEnv) (*Program, error)
//	// Eval evaluates every expression over rec; one array per expression,
//	// of the physical type of its Type(). Runtime errors (overflow,
//	// division by zero, bad CAST) name the expression.
//	func (p *Program) Eval(rec arrow.Record) ([]arrow.Array, error)
//
//	// CompilePredicate prepares a boolean expression as a filter.
//	func CompilePredicate(e Expr, env *EvalEnv) (*Predicate, error)
//	// Select appends to sel[:0] the indexes of rows for which the predicate
//	// is TRUE (NULL and FALSE drop the row) and returns it.
//	func (p *Predicate) Select(rec arrow.Record, sel []int32) ([]int32, error)
//
//	// Const evaluates an expression with no column references (interval
//	// arguments of windows, LIMIT). The result is the Go value of the
//	// physical type (int64, int32, float64, bool, string) or nil for NULL.
//	func Const(e Expr, env *EvalEnv) (any, error)
var _ arrow.Record // the API above speaks in arrow.Record
