package sql

import (
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
)

// cursor walks one statement's tokens for our own recursive-descent parsers.
type cursor struct {
	s    *script
	toks []token
	i    int
}

func (c *cursor) atEnd() bool { return c.i >= len(c.toks) }

// peek returns the current token, or a zero token at the end.
func (c *cursor) peek() token { return c.peekAt(0) }

func (c *cursor) peekAt(k int) token {
	if c.i+k < len(c.toks) {
		return c.toks[c.i+k]
	}
	return token{}
}

func (c *cursor) next() token {
	t := c.peek()
	if !c.atEnd() {
		c.i++
	}
	return t
}

// endPos is where the statement ends: errors about missing tokens point there.
func (c *cursor) endPos() ast.Pos {
	if len(c.toks) == 0 {
		return ast.Pos{Line: 1, Col: 1}
	}
	return c.s.pos(c.toks[len(c.toks)-1].End)
}

// found describes the current token for "expected X, found Y".
func (c *cursor) found() string {
	if c.atEnd() {
		return "end of statement"
	}
	return c.peek().describe()
}

func (c *cursor) here() ast.Pos {
	if c.atEnd() {
		return c.endPos()
	}
	return c.peek().Pos
}

// errExpected reports what was expected at the current token.
func (c *cursor) errExpected(what string) *ast.Error {
	return ast.Errorf(c.here(), "expected %s, found %s", what, c.found())
}

// accept consumes the words ws if they come next, all of them.
func (c *cursor) accept(ws ...string) bool {
	for k, w := range ws {
		if !c.peekAt(k).is(w) {
			return false
		}
	}
	c.i += len(ws)
	return true
}

func (c *cursor) acceptOp(op string) bool {
	if c.peek().isOp(op) {
		c.i++
		return true
	}
	return false
}

// expect consumes the word w or fails, naming the context.
func (c *cursor) expect(w, context string) error {
	if c.accept(w) {
		return nil
	}
	return c.errExpected(w + context)
}

func (c *cursor) expectOp(op, context string) error {
	if c.acceptOp(op) {
		return nil
	}
	return c.errExpected("'" + op + "'" + context)
}

// ident reads an identifier: a word or a backquoted name.
func (c *cursor) ident(what string) (string, token, error) {
	t := c.peek()
	switch {
	case t.Kind == tkQuoted:
		c.i++
		return t.Val, t, nil
	case t.Kind == tkWord:
		c.i++
		return t.Raw, t, nil
	}
	return "", t, c.errExpected(what)
}

// qualifiedName reads a.b.c, returned as written with '.' separators.
func (c *cursor) qualifiedName(what string) (string, token, error) {
	name, first, err := c.ident(what)
	if err != nil {
		return "", first, err
	}
	parts := []string{name}
	for c.peek().isOp(".") {
		c.i++
		p, _, err := c.ident(what)
		if err != nil {
			return "", first, err
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "."), first, nil
}

// identList reads '(' a, b, ... ')'.
func (c *cursor) identList(what string) ([]string, error) {
	if err := c.expectOp("(", " before "+what); err != nil {
		return nil, err
	}
	var out []string
	for {
		n, _, err := c.ident(what)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if c.acceptOp(",") {
			continue
		}
		if err := c.expectOp(")", " after "+what); err != nil {
			return nil, err
		}
		return out, nil
	}
}

// stringLit reads a 'string'.
func (c *cursor) stringLit(what string) (string, token, error) {
	t := c.peek()
	if t.Kind == tkString {
		c.i++
		return t.Val, t, nil
	}
	return "", t, c.errExpected(what)
}

// matchParen returns the index in toks of the ')' closing the '(' at open,
// or -1.
func matchParen(toks []token, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		switch {
		case toks[i].isOp("("):
			depth++
		case toks[i].isOp(")"):
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// untilTopLevel returns the index of the first token at paren depth 0 (from
// start) that stop accepts, or len(toks).
func untilTopLevel(toks []token, start int, stop func(token) bool) int {
	depth := 0
	for i := start; i < len(toks); i++ {
		t := toks[i]
		if depth == 0 && stop(t) {
			return i
		}
		if t.isOp("(") {
			depth++
		} else if t.isOp(")") {
			depth--
			if depth < 0 {
				return i
			}
		}
	}
	return len(toks)
}

// expectEnd fails unless the statement's tokens are all read.
func (c *cursor) expectEnd() error {
	if c.atEnd() {
		return nil
	}
	return c.errExpected("end of statement")
}
