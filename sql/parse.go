// Package sql turns Flink-style SQL text into streamsql's own syntax tree
// (package sql/ast). See README.md for how the work is split between our own
// parsers and the TiDB parser.
package sql

import (
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/ast"
)

// Stmt is one parsed statement.
type Stmt struct {
	Node ast.Statement
	Text string  // the statement's source text, without the trailing ';'
	Pos  ast.Pos // where it starts in the script
}

// Parse parses a script of ';'-separated statements. Errors are *ast.Error
// positioned in text. It never panics.
func Parse(text string) ([]Stmt, error) {
	toks, lerr := lex(text)
	if lerr != nil {
		return nil, lerr.err
	}
	sc := newScript(text)
	groups, _ := splitStatements(toks)
	out := make([]Stmt, 0, len(groups))
	for _, g := range groups {
		node, err := sc.parseStatement(g)
		if err != nil {
			return nil, err
		}
		out = append(out, Stmt{Node: node, Text: text[g[0].Off:g[len(g)-1].End], Pos: g[0].Pos})
	}
	return out, nil
}

// ParseExpr parses a single scalar expression (for tools and tests that
// need one without a statement around it).
func ParseExpr(text string) (ast.Expr, error) {
	toks, lerr := lex(text)
	if lerr != nil {
		return nil, lerr.err
	}
	if len(toks) == 0 {
		return nil, ast.Errorf(ast.Pos{Line: 1, Col: 1}, "expected an expression, found end of input")
	}
	sc := newScript(text)
	return sc.parseExpr(toks)
}

// script holds what every statement of one Parse call shares: the text and
// where its lines start (to turn byte offsets into line:col).
type script struct {
	src        string
	lineStarts []int
}

func newScript(src string) *script {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return &script{src: src, lineStarts: starts}
}

// pos turns a byte offset of the script into a Pos.
func (s *script) pos(off int) ast.Pos {
	off = max(0, min(off, len(s.src)))
	line := sort.Search(len(s.lineStarts), func(i int) bool { return s.lineStarts[i] > off }) - 1
	col := utf8.RuneCountInString(s.src[s.lineStarts[line]:off]) + 1
	return ast.Pos{Line: line + 1, Col: col, Offset: off}
}

// parseStatement parses one statement's tokens, turning a panic in a
// library into an error at the statement start (a last defence: user input
// must never crash the engine).
func (s *script) parseStatement(toks []token) (node ast.Statement, err error) {
	defer func() {
		if r := recover(); r != nil {
			node = nil
			err = ast.Errorf(toks[0].Pos, "internal parser error: %v", r)
		}
	}()
	c := &cursor{s: s, toks: toks}
	node, err = c.statement()
	if err != nil {
		return nil, err
	}
	if !c.atEnd() {
		return nil, c.errExpected("';'")
	}
	return node, nil
}

// parseExpr parses tokens that must form exactly one expression.
func (s *script) parseExpr(toks []token) (e ast.Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			e = nil
			err = ast.Errorf(toks[0].Pos, "internal parser error: %v", r)
		}
	}()
	return s.exprFromTokens(toks)
}

// notSupported builds the error for a construct we know but do not handle.
func notSupported(pos ast.Pos, format string, args ...any) *ast.Error {
	return ast.Errorf(pos, "not supported yet: %s", fmt.Sprintf(format, args...))
}
