package sql

import (
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
)

// createTable parses Flink's CREATE TABLE after CREATE [TEMPORARY]; TiDB only
// sees the embedded expressions (computed columns, watermark).
func (c *cursor) createTable(start token, temporary bool) (ast.Statement, error) {
	c.next() // TABLE
	ine, err := c.ifExists(true)
	if err != nil {
		return nil, err
	}
	name, _, err := c.qualifiedName("a table name")
	if err != nil {
		return nil, err
	}
	ct := &ast.CreateTable{Name: name, IfNotExists: ine, Temporary: temporary, Pos: start.Pos}
	if c.peek().is("AS") {
		return nil, notSupported(c.here(), "CREATE TABLE ... AS SELECT")
	}
	if c.peek().is("LIKE") {
		return nil, notSupported(c.here(), "CREATE TABLE ... LIKE")
	}
	if err := c.expectOp("(", " before the column list"); err != nil {
		return nil, err
	}
	for {
		if err := c.tableElement(ct); err != nil {
			return nil, err
		}
		if c.acceptOp(",") {
			continue
		}
		if err := c.expectOp(")", " after column list"); err != nil {
			return nil, err
		}
		break
	}
	if c.accept("COMMENT") {
		if ct.Comment, _, err = c.stringLit("a 'comment' after COMMENT"); err != nil {
			return nil, err
		}
	}
	if c.peek().is("AS") {
		return nil, notSupported(c.here(), "CREATE TABLE ... AS SELECT")
	}
	if c.peek().is("PARTITIONED") {
		return nil, notSupported(c.here(), "PARTITIONED BY")
	}
	if c.accept("WITH") {
		if ct.Options, err = c.options(); err != nil {
			return nil, err
		}
	}
	if !c.atEnd() {
		return nil, c.errExpected("WITH or ';' after the column list")
	}
	return ct, nil
}

// tableElement parses one column, WATERMARK or PRIMARY KEY.
func (c *cursor) tableElement(ct *ast.CreateTable) error {
	t := c.peek()
	switch {
	case t.is("WATERMARK") && c.peekAt(1).is("FOR"):
		return c.watermark(ct)
	case t.is("PRIMARY") && c.peekAt(1).is("KEY"), t.is("CONSTRAINT"):
		return c.primaryKey(ct)
	case t.is("UNIQUE"), t.is("FOREIGN"), t.is("INDEX"), t.is("KEY"):
		return notSupported(t.Pos, "%s constraints", strings.ToUpper(t.Raw))
	}
	return c.column(ct)
}

func (c *cursor) watermark(ct *ast.CreateTable) error {
	start := c.next()
	c.next() // FOR
	if ct.Watermark != nil {
		return ast.Errorf(start.Pos, "a table can have only one WATERMARK")
	}
	col, _, err := c.ident("a column name after WATERMARK FOR")
	if err != nil {
		return err
	}
	if err := c.expect("AS", " after WATERMARK FOR "+col); err != nil {
		return err
	}
	e, text, err := c.elementExpr("a watermark expression")
	if err != nil {
		return err
	}
	ct.Watermark = &ast.Watermark{Column: col, Expr: e, Text: text, Pos: start.Pos}
	return nil
}

func (c *cursor) primaryKey(ct *ast.CreateTable) error {
	start := c.peek()
	if c.accept("CONSTRAINT") {
		if _, _, err := c.ident("a constraint name"); err != nil {
			return err
		}
	}
	if err := c.expect("PRIMARY", ""); err != nil {
		return err
	}
	if err := c.expect("KEY", " after PRIMARY"); err != nil {
		return err
	}
	cols, err := c.identList("primary key columns")
	if err != nil {
		return err
	}
	if err := c.notEnforced(); err != nil {
		return err
	}
	if ct.PrimaryKey != nil {
		return ast.Errorf(start.Pos, "a table can have only one PRIMARY KEY")
	}
	ct.PrimaryKey = cols
	return nil
}

// notEnforced requires NOT ENFORCED after a primary key: Flink does not
// check uniqueness, and says so in the syntax.
func (c *cursor) notEnforced() error {
	if c.accept("NOT", "ENFORCED") {
		return nil
	}
	return ast.Errorf(c.here(), "expected NOT ENFORCED after PRIMARY KEY, found %s: Flink requires PRIMARY KEY ... NOT ENFORCED because it does not check uniqueness", c.found())
}

func (c *cursor) column(ct *ast.CreateTable) error {
	name, nt, err := c.ident("a column name, WATERMARK or PRIMARY KEY")
	if err != nil {
		return err
	}
	col := ast.ColumnDef{Name: name, Pos: nt.Pos}
	if c.accept("AS") {
		if col.Computed, col.ComputedText, err = c.elementExpr("an expression for computed column " + name); err != nil {
			return err
		}
		if err := c.columnComment(&col); err != nil {
			return err
		}
		ct.Columns = append(ct.Columns, col)
		return nil
	}
	if col.Type, err = c.columnType(); err != nil {
		return err
	}
	switch {
	case c.accept("NOT", "NULL"):
		col.Type.NotNull = true
	case c.accept("NULL"):
	}
	if c.peek().is("PRIMARY") {
		c.next()
		if err := c.expect("KEY", " after PRIMARY"); err != nil {
			return err
		}
		if err := c.notEnforced(); err != nil {
			return err
		}
		if ct.PrimaryKey != nil {
			return ast.Errorf(nt.Pos, "a table can have only one PRIMARY KEY")
		}
		ct.PrimaryKey = []string{name}
	}
	if c.accept("METADATA") {
		col.Metadata = true
		if c.accept("FROM") {
			if col.MetadataKey, _, err = c.stringLit("a 'key' after METADATA FROM"); err != nil {
				return err
			}
		}
		col.Virtual = c.accept("VIRTUAL")
	}
	if err := c.columnComment(&col); err != nil {
		return err
	}
	ct.Columns = append(ct.Columns, col)
	return nil
}

func (c *cursor) columnComment(col *ast.ColumnDef) error {
	if !c.accept("COMMENT") {
		return nil
	}
	var err error
	col.Comment, _, err = c.stringLit("a 'comment' after COMMENT")
	return err
}

// elementExpr parses the expression of a computed column or watermark: the
// tokens up to the next top-level ',' or ')' or COMMENT.
func (c *cursor) elementExpr(what string) (ast.Expr, string, error) {
	end := untilTopLevel(c.toks, c.i, func(t token) bool { return t.isOp(",") || t.isOp(")") || t.is("COMMENT") })
	if end == c.i {
		return nil, "", c.errExpected(what)
	}
	toks := c.toks[c.i:end]
	e, err := c.s.exprFromTokens(toks)
	if err != nil {
		return nil, "", err
	}
	c.i = end
	return e, c.s.src[toks[0].Off:toks[len(toks)-1].End], nil
}

// options parses ('k' = 'v', ...).
func (c *cursor) options() ([]ast.Option, error) {
	if err := c.expectOp("(", " after WITH"); err != nil {
		return nil, err
	}
	var opts []ast.Option
	for {
		k, kt, err := c.stringLit("a quoted option key like 'connector'")
		if err != nil {
			return nil, err
		}
		if err := c.expectOp("=", " after option key '"+k+"'"); err != nil {
			return nil, err
		}
		v, vt, err := c.stringLit("a quoted option value")
		if err != nil {
			return nil, err
		}
		opts = append(opts, ast.Option{Key: k, Value: v, KeyPos: kt.Pos, ValuePos: vt.Pos})
		if c.acceptOp(",") {
			continue
		}
		if err := c.expectOp(")", " after options"); err != nil {
			return nil, err
		}
		return opts, nil
	}
}
