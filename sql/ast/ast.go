// Package ast is streamsql's own syntax tree. The parser (package sql) builds
// it from the TiDB parser's tree plus our Flink DDL parser, so that the
// planner never sees TiDB types and every node carries a position in the
// user's original text.
package ast

import (
	"fmt"

	"github.com/streamsql/streamsql/sql/types"
)

// Pos is a position in the user's text: 1-based line and column (in runes),
// and the 0-based byte offset. The zero Pos means "unknown".
type Pos struct {
	Line, Col int
	Offset    int
}

// IsValid reports whether the position is known.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// ---------------------------------------------------------------------------
// Expressions

// Expr is a scalar expression.
type Expr interface {
	Position() Pos
	exprNode()
}

// Ident is a (possibly qualified) column reference: a, t.a. Parts are as the
// user wrote them, unquoted.
type Ident struct {
	Parts []string
	Pos   Pos
}

// LiteralKind says what a Literal holds.
type LiteralKind uint8

const (
	LitNull LiteralKind = iota
	LitBool
	// LitInt is an integer literal that fits int64 (Value holds digits).
	LitInt
	// LitDecimal is an exact numeric literal with a fraction, e.g. 0.9.
	LitDecimal
	// LitFloat is an approximate numeric literal, e.g. 1e3.
	LitFloat
	LitString
	// LitTimestamp is TIMESTAMP '2024-01-01 00:00:00'; Value is the string.
	LitTimestamp
	// LitDate is DATE '2024-01-01'.
	LitDate
	// LitInterval is INTERVAL '5' SECOND: Value is the quantity as written
	// ('5', '1:30'), Unit the unit (SECOND, MINUTE, HOUR, DAY, ...; singular,
	// upper case).
	LitInterval
)

// Literal is a constant.
type Literal struct {
	Kind  LiteralKind
	Value string // textual form: digits, string contents, "TRUE"/"FALSE"
	Unit  string // for LitInterval
	Pos   Pos
}

// Unary is NOT x or -x (Op "NOT" or "-"; "+" is dropped by the parser).
type Unary struct {
	Op  string
	X   Expr
	Pos Pos
}

// Binary is an infix operator. Op is one of
// + - * / % = <> < <= > >= AND OR ||
type Binary struct {
	Op   string
	L, R Expr
	Pos  Pos
}

// IsNull is x IS [NOT] NULL.
type IsNull struct {
	X   Expr
	Not bool
	Pos Pos
}

// IsBool is x IS [NOT] TRUE|FALSE.
type IsBool struct {
	X     Expr
	Value bool
	Not   bool
	Pos   Pos
}

// Between is x [NOT] BETWEEN lo AND hi.
type Between struct {
	X, Lo, Hi Expr
	Not       bool
	Pos       Pos
}

// In is x [NOT] IN (list...).
type In struct {
	X    Expr
	List []Expr
	Not  bool
	Pos  Pos
}

// Like is x [NOT] LIKE pattern [ESCAPE e]. Escape is empty for the default
// (backslash, as in MySQL/TiDB) or a single character.
type Like struct {
	X, Pattern Expr
	Not        bool
	Escape     string
	Pos        Pos
}

// When is one WHEN ... THEN ... arm of a CASE.
type When struct {
	Cond, Result Expr
}

// Case is CASE [operand] WHEN ... THEN ... [ELSE ...] END.
type Case struct {
	Operand Expr // nil for the searched form
	Whens   []When
	Else    Expr // nil means ELSE NULL
	Pos     Pos
}

// Cast is CAST(x AS type) (and TRY_CAST when Try).
type Cast struct {
	X   Expr
	To  types.Type
	Try bool
	Pos Pos
}

// Call is a function call, including aggregates. Name is upper case.
type Call struct {
	Name     string
	Args     []Expr
	Star     bool // COUNT(*)
	Distinct bool // COUNT(DISTINCT x)
	Filter   Expr // COUNT(*) FILTER (WHERE ...), nil if absent
	Over     *WindowSpec
	Pos      Pos
}

// Extract is EXTRACT(unit FROM x). Unit is upper case (YEAR, MONTH, DAY,
// HOUR, MINUTE, SECOND, ...).
type Extract struct {
	Unit string
	X    Expr
	Pos  Pos
}

// OrderItem is one ORDER BY key.
type OrderItem struct {
	Expr Expr
	Desc bool
}

// WindowSpec is the OVER (...) clause of a window function.
type WindowSpec struct {
	PartitionBy []Expr
	OrderBy     []OrderItem
	// Frame is the frame clause as written (e.g. "RANGE BETWEEN INTERVAL '1'
	// HOUR PRECEDING AND CURRENT ROW"), empty if absent. Kept as text until
	// OVER aggregations are planned.
	Frame string
}

// Subquery is a scalar or IN subquery; the planner refuses it for now.
type Subquery struct {
	Query *Select
	Pos   Pos
}

func (e *Ident) Position() Pos    { return e.Pos }
func (e *Literal) Position() Pos  { return e.Pos }
func (e *Unary) Position() Pos    { return e.Pos }
func (e *Binary) Position() Pos   { return e.Pos }
func (e *IsNull) Position() Pos   { return e.Pos }
func (e *IsBool) Position() Pos   { return e.Pos }
func (e *Between) Position() Pos  { return e.Pos }
func (e *In) Position() Pos       { return e.Pos }
func (e *Like) Position() Pos     { return e.Pos }
func (e *Case) Position() Pos     { return e.Pos }
func (e *Cast) Position() Pos     { return e.Pos }
func (e *Call) Position() Pos     { return e.Pos }
func (e *Extract) Position() Pos  { return e.Pos }
func (e *Subquery) Position() Pos { return e.Pos }

func (*Ident) exprNode()    {}
func (*Literal) exprNode()  {}
func (*Unary) exprNode()    {}
func (*Binary) exprNode()   {}
func (*IsNull) exprNode()   {}
func (*IsBool) exprNode()   {}
func (*Between) exprNode()  {}
func (*In) exprNode()       {}
func (*Like) exprNode()     {}
func (*Case) exprNode()     {}
func (*Cast) exprNode()     {}
func (*Call) exprNode()     {}
func (*Extract) exprNode()  {}
func (*Subquery) exprNode() {}

// ---------------------------------------------------------------------------
// Queries

// SelectItem is one entry of the select list.
type SelectItem struct {
	Expr  Expr   // nil when Star
	Alias string // "" if none
	// Star is * or t.*; StarTable holds t.
	Star      bool
	StarTable string
	// Text is the item's source text (used to name unaliased columns the way
	// Flink does, e.g. EXPR$0, or the text for EXPLAIN).
	Text string
	Pos  Pos
}

// Select is a query block. A UNION ALL chain is represented by SetOps.
type Select struct {
	With     []CTE
	Distinct bool
	Items    []SelectItem
	From     TableRef // nil for SELECT without FROM
	Where    Expr
	GroupBy  []Expr
	Having   Expr
	OrderBy  []OrderItem
	Limit    Expr // nil if absent
	Offset   Expr
	// SetOps chains further blocks: SELECT ... UNION ALL SELECT ...
	SetOps []SetOp
	Pos    Pos
}

// CTE is one WITH name AS (query).
type CTE struct {
	Name  string
	Query *Select
}

// SetOp is UNION [ALL] / INTERSECT / EXCEPT with the next block.
type SetOp struct {
	Op    string // "UNION", "INTERSECT", "EXCEPT"
	All   bool
	Query *Select
}

// TableRef is something in FROM.
type TableRef interface {
	tableRef()
	Position() Pos
}

// TableName is a catalog table or view, optionally aliased.
type TableName struct {
	Name  string
	Alias string
	// SystemTime is the expression of `FOR SYSTEM_TIME AS OF expr` (a
	// temporal or lookup join's right side), nil if absent; SystemTimePos
	// is where FOR stands.
	SystemTime    Expr
	SystemTimePos Pos
	Pos           Pos
}

// JoinKind names a join type.
type JoinKind uint8

const (
	JoinInner JoinKind = iota
	JoinLeft
	JoinRight
	JoinFull
	JoinCross
)

func (k JoinKind) String() string {
	return [...]string{"INNER", "LEFT", "RIGHT", "FULL", "CROSS"}[k]
}

// Join is left JOIN right ON cond (or USING).
type Join struct {
	Left, Right TableRef
	Kind        JoinKind
	On          Expr
	Using       []string
	Pos         Pos
}

// DerivedTable is (subquery) AS alias.
type DerivedTable struct {
	Query *Select
	Alias string
	Pos   Pos
}

// WindowTVF is a window table-valued function in FROM:
// TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)).
type WindowTVF struct {
	Kind string // TUMBLE, HOP, CUMULATE, SESSION
	// Input is the table argument (a TableName, or a DerivedTable for
	// TABLE(... (SELECT ...)) forms).
	Input TableRef
	// TimeCol is the DESCRIPTOR column.
	TimeCol string
	// PartitionBy holds SESSION's PARTITION BY keys.
	PartitionBy []string
	// Args are the remaining interval arguments in order (size; slide, size;
	// step, max size; gap).
	Args  []Expr
	Alias string
	Pos   Pos
}

func (*TableName) tableRef()    {}
func (*Join) tableRef()         {}
func (*DerivedTable) tableRef() {}
func (*WindowTVF) tableRef()    {}

func (t *TableName) Position() Pos    { return t.Pos }
func (t *Join) Position() Pos         { return t.Pos }
func (t *DerivedTable) Position() Pos { return t.Pos }
func (t *WindowTVF) Position() Pos    { return t.Pos }

// ---------------------------------------------------------------------------
// Statements

// Statement is one SQL statement.
type Statement interface {
	Position() Pos
	stmtNode()
}

// ColumnDef is one column of CREATE TABLE. Exactly one of Type (physical
// column) or Computed (name AS expr) is meaningful; Metadata columns carry
// Type and MetadataKey.
type ColumnDef struct {
	Name     string
	Type     types.Type
	Computed Expr
	// ComputedText is the computed expression's source text.
	ComputedText string
	// Metadata is true for `col TYPE METADATA [FROM 'key'] [VIRTUAL]`.
	Metadata    bool
	MetadataKey string
	Virtual     bool
	Comment     string
	Pos         Pos
}

// Watermark is WATERMARK FOR col AS expr.
type Watermark struct {
	Column string
	Expr   Expr
	Text   string
	Pos    Pos
}

// Option is one 'key' = 'value' of a WITH list.
type Option struct {
	Key, Value string
	KeyPos     Pos
	ValuePos   Pos
}

// CreateTable is Flink's CREATE TABLE.
type CreateTable struct {
	Name        string
	IfNotExists bool
	Temporary   bool
	Columns     []ColumnDef
	Watermark   *Watermark
	PrimaryKey  []string // NOT ENFORCED is required, as in Flink
	Options     []Option
	Comment     string
	Pos         Pos
}

// CreateView is CREATE [TEMPORARY] VIEW name [(cols)] AS query.
type CreateView struct {
	Name        string
	IfNotExists bool
	Columns     []string
	Query       *Select
	Text        string // the query's source text
	Pos         Pos
}

// Drop is DROP TABLE|VIEW [IF EXISTS] name.
type Drop struct {
	View     bool
	Name     string
	IfExists bool
	Pos      Pos
}

// ShowTables is SHOW TABLES (and SHOW VIEWS when Views).
type ShowTables struct {
	Views bool
	Pos   Pos
}

// Describe is DESCRIBE / DESC name.
type Describe struct {
	Name string
	Pos  Pos
}

// Set is SET 'key' = 'value', or bare SET (list all) when Key is "".
type Set struct {
	Key, Value string
	Pos        Pos
}

// Reset is RESET 'key', or RESET (all) when Key is "".
type Reset struct {
	Key string
	Pos Pos
}

// Insert is INSERT INTO|OVERWRITE table [(cols)] query.
type Insert struct {
	Table     string
	Columns   []string
	Query     *Select
	Overwrite bool
	Pos       Pos
}

// Query is a bare SELECT statement.
type Query struct {
	Select *Select
	Pos    Pos
}

// Explain is EXPLAIN stmt (stmt is a Query or Insert).
type Explain struct {
	Stmt Statement
	Pos  Pos
}

// StatementSet is EXECUTE STATEMENT SET BEGIN insert; insert; END.
type StatementSet struct {
	Inserts []*Insert
	Pos     Pos
}

// ShowJobs is SHOW JOBS: the jobs of the session, running and finished.
type ShowJobs struct {
	Pos Pos
}

// StopJob is STOP JOB 'id' [WITH SAVEPOINT] [WITH DRAIN] (Flink 1.17).
// WithSavepoint takes a savepoint before the job stops; WithDrain also
// advances the watermark to the end of time first, firing every window.
type StopJob struct {
	ID            string
	WithSavepoint bool
	WithDrain     bool
	Pos           Pos
}

// ShowCheckpoints is SHOW CHECKPOINTS [FOR JOB 'id']: the checkpoints of the
// session's jobs, or of job Job when it is not "".
type ShowCheckpoints struct {
	Job string
	Pos Pos
}

func (s *CreateTable) Position() Pos     { return s.Pos }
func (s *CreateView) Position() Pos      { return s.Pos }
func (s *Drop) Position() Pos            { return s.Pos }
func (s *ShowTables) Position() Pos      { return s.Pos }
func (s *Describe) Position() Pos        { return s.Pos }
func (s *Set) Position() Pos             { return s.Pos }
func (s *Reset) Position() Pos           { return s.Pos }
func (s *Insert) Position() Pos          { return s.Pos }
func (s *Query) Position() Pos           { return s.Pos }
func (s *Explain) Position() Pos         { return s.Pos }
func (s *StatementSet) Position() Pos    { return s.Pos }
func (s *ShowJobs) Position() Pos        { return s.Pos }
func (s *StopJob) Position() Pos         { return s.Pos }
func (s *ShowCheckpoints) Position() Pos { return s.Pos }

func (*CreateTable) stmtNode()     {}
func (*CreateView) stmtNode()      {}
func (*Drop) stmtNode()            {}
func (*ShowTables) stmtNode()      {}
func (*Describe) stmtNode()        {}
func (*Set) stmtNode()             {}
func (*Reset) stmtNode()           {}
func (*Insert) stmtNode()          {}
func (*Query) stmtNode()           {}
func (*Explain) stmtNode()         {}
func (*StatementSet) stmtNode()    {}
func (*ShowJobs) stmtNode()        {}
func (*StopJob) stmtNode()         {}
func (*ShowCheckpoints) stmtNode() {}

// ---------------------------------------------------------------------------
// Errors

// Error is a user-facing SQL error at a position of the user's text. The
// command line prefixes the file name: "job.sql:3:14: unknown column 'x'".
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	if !e.Pos.IsValid() {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Errorf builds an *Error at pos.
func Errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}
