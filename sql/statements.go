package sql

import (
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
)

// statementStarts lists what may begin a statement, for error messages.
const statementStarts = "a statement (SELECT, INSERT, CREATE, DROP, SET, RESET, SHOW, DESCRIBE, EXPLAIN, EXECUTE STATEMENT SET or STOP JOB)"

// unsupportedStatements are statements Flink or MySQL users may type that we
// recognise but do not run.
var unsupportedStatements = []string{"UPDATE", "DELETE", "ALTER", "USE", "LOAD", "UNLOAD", "ANALYZE", "TRUNCATE", "CALL", "REPLACE", "ADD", "REMOVE", "BEGIN"}

// statement parses one statement from the cursor.
func (c *cursor) statement() (ast.Statement, error) {
	t := c.peek()
	switch {
	case t.is("CREATE"):
		return c.create()
	case t.is("DROP"):
		return c.drop()
	case t.is("SHOW"):
		return c.show()
	case t.is("DESCRIBE"), t.is("DESC"):
		c.next()
		name, _, err := c.qualifiedName("a table name after " + strings.ToUpper(t.Raw))
		if err != nil {
			return nil, err
		}
		return &ast.Describe{Name: name, Pos: t.Pos}, nil
	case t.is("SET"):
		return c.set()
	case t.is("RESET"):
		return c.reset()
	case t.is("INSERT"):
		return c.insert()
	case t.is("EXPLAIN"):
		return c.explain()
	case t.is("EXECUTE"), t.is("STATEMENT"):
		return c.statementSet()
	case t.is("STOP"):
		return c.stopJob()
	case t.is("SELECT"), t.is("WITH"), t.is("VALUES"), t.isOp("("):
		sel, err := c.s.queryFromTokens(c.toks[c.i:])
		if err != nil {
			return nil, err
		}
		c.i = len(c.toks)
		return &ast.Query{Select: sel, Pos: t.Pos}, nil
	}
	for _, w := range unsupportedStatements {
		if t.is(w) {
			return nil, notSupported(t.Pos, "%s statements", strings.ToUpper(t.Raw))
		}
	}
	return nil, ast.Errorf(t.Pos, "syntax error at %s: expected %s", t.describe(), statementStarts)
}

func (c *cursor) create() (ast.Statement, error) {
	start := c.next()
	temporary := c.accept("TEMPORARY")
	switch {
	case c.peek().is("TABLE"):
		return c.createTable(start, temporary)
	case c.peek().is("VIEW"):
		return c.createView(start)
	case c.peek().is("FUNCTION"), c.peek().is("SYSTEM"), c.peek().is("CATALOG"), c.peek().is("DATABASE"), c.peek().is("OR"):
		return nil, notSupported(c.here(), "CREATE %s", strings.ToUpper(c.peek().Raw))
	}
	return nil, c.errExpected("TABLE or VIEW after CREATE")
}

// ifExists reads IF [NOT] EXISTS when present.
func (c *cursor) ifExists(not bool) (bool, error) {
	if !c.peek().is("IF") {
		return false, nil
	}
	c.next()
	if not {
		if err := c.expect("NOT", " after IF"); err != nil {
			return false, err
		}
	}
	if err := c.expect("EXISTS", ""); err != nil {
		return false, err
	}
	return true, nil
}

func (c *cursor) createView(start token) (ast.Statement, error) {
	c.next() // VIEW
	ine, err := c.ifExists(true)
	if err != nil {
		return nil, err
	}
	name, _, err := c.qualifiedName("a view name")
	if err != nil {
		return nil, err
	}
	var cols []string
	if c.peek().isOp("(") {
		if cols, err = c.identList("view column names"); err != nil {
			return nil, err
		}
	}
	if err := c.expect("AS", " before the view's query"); err != nil {
		return nil, err
	}
	if c.atEnd() {
		return nil, c.errExpected("a query after AS")
	}
	rest := c.toks[c.i:]
	sel, err := c.s.queryFromTokens(rest)
	if err != nil {
		return nil, err
	}
	c.i = len(c.toks)
	text := c.s.src[rest[0].Off:rest[len(rest)-1].End]
	return &ast.CreateView{Name: name, IfNotExists: ine, Columns: cols, Query: sel, Text: text, Pos: start.Pos}, nil
}

func (c *cursor) drop() (ast.Statement, error) {
	start := c.next()
	c.accept("TEMPORARY")
	view := false
	switch {
	case c.accept("TABLE"):
	case c.accept("VIEW"):
		view = true
	default:
		if c.peek().Kind == tkWord {
			return nil, notSupported(c.here(), "DROP %s", strings.ToUpper(c.peek().Raw))
		}
		return nil, c.errExpected("TABLE or VIEW after DROP")
	}
	ie, err := c.ifExists(false)
	if err != nil {
		return nil, err
	}
	name, _, err := c.qualifiedName("a name to drop")
	if err != nil {
		return nil, err
	}
	return &ast.Drop{View: view, Name: name, IfExists: ie, Pos: start.Pos}, nil
}

func (c *cursor) show() (ast.Statement, error) {
	start := c.next()
	switch {
	case c.accept("TABLES"):
		return &ast.ShowTables{Pos: start.Pos}, nil
	case c.accept("VIEWS"):
		return &ast.ShowTables{Views: true, Pos: start.Pos}, nil
	case c.accept("JOBS"):
		if err := c.expectEnd(); err != nil {
			return nil, err
		}
		return &ast.ShowJobs{Pos: start.Pos}, nil
	case c.accept("CHECKPOINTS"):
		return c.showCheckpoints(start)
	case c.peek().Kind == tkWord:
		return nil, notSupported(c.here(), "SHOW %s", strings.ToUpper(c.peek().Raw))
	}
	return nil, c.errExpected("TABLES, VIEWS, JOBS or CHECKPOINTS after SHOW")
}

// showCheckpoints parses the rest of SHOW CHECKPOINTS [FOR JOB 'id'].
func (c *cursor) showCheckpoints(start token) (ast.Statement, error) {
	n := &ast.ShowCheckpoints{Pos: start.Pos}
	if c.atEnd() {
		return n, nil
	}
	if !c.accept("FOR") {
		return nil, c.errExpected("FOR JOB or end of statement after SHOW CHECKPOINTS")
	}
	if err := c.expect("JOB", " after SHOW CHECKPOINTS FOR"); err != nil {
		return nil, err
	}
	id, err := c.jobID("FOR JOB")
	if err != nil {
		return nil, err
	}
	n.Job = id
	if err := c.expectEnd(); err != nil {
		return nil, err
	}
	return n, nil
}

// stopJob parses STOP JOB 'id' [WITH SAVEPOINT] [WITH DRAIN], in Flink's
// order.
func (c *cursor) stopJob() (ast.Statement, error) {
	start := c.next()
	if err := c.expect("JOB", " after STOP"); err != nil {
		return nil, err
	}
	id, err := c.jobID("STOP JOB")
	if err != nil {
		return nil, err
	}
	n := &ast.StopJob{ID: id, Pos: start.Pos}
	if c.atEnd() {
		return n, nil
	}
	if !c.accept("WITH") {
		return nil, c.errExpected("WITH SAVEPOINT, WITH DRAIN or end of statement")
	}
	switch {
	case c.accept("SAVEPOINT"):
		n.WithSavepoint = true
		if c.atEnd() {
			return n, nil
		}
		if !c.accept("WITH") {
			return nil, c.errExpected("WITH DRAIN or end of statement")
		}
		if err := c.expect("DRAIN", " after WITH SAVEPOINT WITH"); err != nil {
			return nil, err
		}
	case c.accept("DRAIN"):
	default:
		return nil, c.errExpected("SAVEPOINT or DRAIN after WITH")
	}
	n.WithDrain = true
	if c.peek().is("WITH") && c.peekAt(1).is("SAVEPOINT") && !n.WithSavepoint {
		return nil, ast.Errorf(c.here(), "expected end of statement, found 'WITH': write WITH SAVEPOINT before WITH DRAIN")
	}
	if err := c.expectEnd(); err != nil {
		return nil, err
	}
	return n, nil
}

// jobID reads the 'id' string literal of a job after what (STOP JOB, FOR JOB).
func (c *cursor) jobID(what string) (string, error) {
	id, t, err := c.stringLit("a job id string after " + what)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", ast.Errorf(t.Pos, "expected a job id string after %s, found an empty string", what)
	}
	return id, nil
}

// optionText reads a SET/RESET key or value: a 'string', or for the legacy
// unquoted form the raw text of the tokens up to stop.
func (c *cursor) optionText(what string, stop func(token) bool) (string, error) {
	if t := c.peek(); t.Kind == tkString {
		c.next()
		return t.Val, nil
	}
	first := c.i
	for !c.atEnd() && !stop(c.peek()) {
		c.next()
	}
	if c.i == first {
		return "", c.errExpected(what)
	}
	return c.s.src[c.toks[first].Off:c.toks[c.i-1].End], nil
}

func (c *cursor) set() (ast.Statement, error) {
	start := c.next()
	if c.atEnd() {
		return &ast.Set{Pos: start.Pos}, nil
	}
	key, err := c.optionText("a quoted key after SET", func(t token) bool { return t.isOp("=") })
	if err != nil {
		return nil, err
	}
	if err := c.expectOp("=", " after the key in SET 'key' = 'value'"); err != nil {
		return nil, err
	}
	val, err := c.optionText("a quoted value after '='", func(token) bool { return false })
	if err != nil {
		return nil, err
	}
	return &ast.Set{Key: key, Value: val, Pos: start.Pos}, nil
}

func (c *cursor) reset() (ast.Statement, error) {
	start := c.next()
	if c.atEnd() {
		return &ast.Reset{Pos: start.Pos}, nil
	}
	key, err := c.optionText("a quoted key after RESET", func(token) bool { return false })
	if err != nil {
		return nil, err
	}
	return &ast.Reset{Key: key, Pos: start.Pos}, nil
}

func (c *cursor) insert() (ast.Statement, error) {
	start := c.next()
	overwrite := false
	switch {
	case c.accept("INTO"):
	case c.accept("OVERWRITE"):
		overwrite = true
	default:
		return nil, c.errExpected("INTO or OVERWRITE after INSERT")
	}
	c.accept("TABLE")
	name, _, err := c.qualifiedName("a table name")
	if err != nil {
		return nil, err
	}
	if c.peek().is("PARTITION") {
		return nil, notSupported(c.here(), "INSERT ... PARTITION")
	}
	var cols []string
	if c.peek().isOp("(") && !isQueryStart(c.peekAt(1)) {
		if cols, err = c.identList("the column list"); err != nil {
			return nil, err
		}
	}
	if c.atEnd() {
		return nil, c.errExpected("a query (SELECT or VALUES)")
	}
	if t := c.peek(); !isQueryStart(t) && !t.isOp("(") {
		return nil, c.errExpected("a query (SELECT or VALUES)")
	}
	sel, err := c.s.queryFromTokens(c.toks[c.i:])
	if err != nil {
		return nil, err
	}
	c.i = len(c.toks)
	return &ast.Insert{Table: name, Columns: cols, Query: sel, Overwrite: overwrite, Pos: start.Pos}, nil
}

func isQueryStart(t token) bool { return t.is("SELECT") || t.is("WITH") || t.is("VALUES") }

func (c *cursor) explain() (ast.Statement, error) {
	start := c.next()
	c.accept("PLAN", "FOR")
	if c.atEnd() {
		return nil, c.errExpected("a statement after EXPLAIN")
	}
	inner, err := c.statement()
	if err != nil {
		return nil, err
	}
	switch inner.(type) {
	case *ast.Query, *ast.Insert, *ast.StatementSet:
	default:
		return nil, notSupported(inner.Position(), "EXPLAIN of this statement (only SELECT, INSERT and STATEMENT SET)")
	}
	return &ast.Explain{Stmt: inner, Pos: start.Pos}, nil
}

// statementSet parses EXECUTE STATEMENT SET BEGIN insert; ... END (also
// STATEMENT SET BEGIN ... END after EXPLAIN).
func (c *cursor) statementSet() (ast.Statement, error) {
	start := c.peek()
	if c.accept("EXECUTE") && c.peek().is("INSERT") {
		ins, err := c.insert()
		if err != nil {
			return nil, err
		}
		return &ast.StatementSet{Inserts: []*ast.Insert{ins.(*ast.Insert)}, Pos: start.Pos}, nil
	}
	if err := c.expect("STATEMENT", ""); err != nil {
		return nil, err
	}
	if err := c.expect("SET", " after STATEMENT"); err != nil {
		return nil, err
	}
	if err := c.expect("BEGIN", " after STATEMENT SET"); err != nil {
		return nil, err
	}
	set := &ast.StatementSet{Pos: start.Pos}
	for {
		if c.accept("END") {
			if len(set.Inserts) == 0 {
				return nil, ast.Errorf(c.toks[c.i-1].Pos, "expected INSERT INTO in STATEMENT SET, found 'END'")
			}
			return set, nil
		}
		if !c.peek().is("INSERT") {
			return nil, c.errExpected("INSERT or END in STATEMENT SET")
		}
		end := untilTopLevel(c.toks, c.i, func(t token) bool { return t.isOp(";") })
		sub := &cursor{s: c.s, toks: c.toks[c.i:end]}
		ins, err := sub.insert()
		if err != nil {
			return nil, err
		}
		set.Inserts = append(set.Inserts, ins.(*ast.Insert))
		c.i = end
		if err := c.expectOp(";", " after INSERT in STATEMENT SET"); err != nil {
			return nil, err
		}
	}
}
