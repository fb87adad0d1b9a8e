package sql

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	tast "github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	// The test driver supplies TiDB's literal values; without it every parse
	// panics with "no parser driver".
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/streamsql/streamsql/sql/ast"
)

// tidbMode: || is concatenation (as in Flink), and backslashes in strings
// are plain characters (Flink has no backslash escapes).
const tidbMode = mysql.ModePipesAsConcat | mysql.ModeNoBackslashEscapes

// parseTiDB parses the rewritten text. A parser is made per call: they are
// not safe for concurrent use and we keep no package-level state.
func (fp *frontPass) parseTiDB() (tast.StmtNode, error) {
	text := fp.r.text()
	p := parser.New()
	p.SetSQLMode(tidbMode)
	p.EnableWindowFunc(true)
	stmts, _, err := p.ParseSQL(text)
	if err != nil {
		return nil, fp.mapError(text, err)
	}
	if len(stmts) != 1 {
		return nil, ast.Errorf(fp.toks[0].Pos, "expected one statement")
	}
	return stmts[0], nil
}

// mapError turns a TiDB error (`line L column C near "rest..."`) into an
// error at the offending token of the user's text.
func (fp *frontPass) mapError(text string, err error) *ast.Error {
	msg := err.Error()
	k := strings.Index(msg, ` near "`)
	if k < 0 {
		m := msg
		if j := strings.Index(m, "]"); strings.HasPrefix(m, "[") && j > 0 {
			m = strings.TrimSpace(m[j+1:])
		}
		return ast.Errorf(fp.toks[0].Pos, "%s", m)
	}
	rest := msg[k+len(` near "`):]
	off := -1
	if j := strings.LastIndex(rest, "(total length "); j >= 0 {
		if n, convErr := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest[j+len("(total length "):]), ")")); convErr == nil {
			off = len(text) - n
		}
	}
	for q := len(rest) - 1; off < 0 && q >= 0; q-- {
		if rest[q] == '"' && strings.HasSuffix(text, rest[:q]) {
			off = len(text) - q
		}
	}
	if off < 0 || off >= len(text) {
		last := fp.toks[len(fp.toks)-1]
		return ast.Errorf(fp.s.pos(last.End), "syntax error at end of input after %s", last.describe())
	}
	orig := fp.r.origStart(off)
	i := sort.Search(len(fp.toks), func(i int) bool { return fp.toks[i].End > orig })
	if i >= len(fp.toks) {
		last := fp.toks[len(fp.toks)-1]
		return ast.Errorf(fp.s.pos(last.End), "syntax error at end of input after %s", last.describe())
	}
	t := fp.toks[i]
	// TiDB takes a misspelt keyword (SELECT a FORM t) for an alias and
	// stumbles on the next token; point at the misspelling instead.
	if i > 0 {
		if kw := nearKeyword(fp.toks[i-1]); kw != "" {
			return ast.Errorf(fp.toks[i-1].Pos, "syntax error at %s: expected %s", fp.toks[i-1].describe(), kw)
		}
	}
	if kw := nearKeyword(t); kw != "" {
		return ast.Errorf(t.Pos, "syntax error at %s: expected %s", t.describe(), kw)
	}
	return ast.Errorf(t.Pos, "syntax error at %s", t.describe())
}

// clauseKeywords are the words a typo is most likely meant to be.
var clauseKeywords = []string{"SELECT", "FROM", "WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "UNION", "JOIN", "INSERT", "INTO", "VALUES"}

// nearKeyword returns the clause keyword t is one typo away from, if any.
func nearKeyword(t token) string {
	if t.Kind != tkWord {
		return ""
	}
	w := strings.ToUpper(t.Raw)
	for _, kw := range clauseKeywords {
		if w != kw && oneEditApart(w, kw) {
			if kw == "GROUP" || kw == "ORDER" {
				return kw + " BY"
			}
			return kw
		}
	}
	return ""
}

// oneEditApart reports whether a and b differ by one insertion, deletion,
// substitution or swap of adjacent letters.
func oneEditApart(a, b string) bool {
	if len(a) < 3 || len(b) < 3 {
		return false
	}
	if len(a) == len(b) {
		diff := []int{}
		for i := range a {
			if a[i] != b[i] {
				diff = append(diff, i)
			}
		}
		switch len(diff) {
		case 1:
			return true
		case 2:
			i, j := diff[0], diff[1]
			return j == i+1 && a[i] == b[j] && a[j] == b[i]
		}
		return false
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a) != len(b)+1 {
		return false
	}
	for i := range b {
		if a[i] != b[i] {
			return a[i+1:] == b[i:]
		}
	}
	return true
}

// queryFromTokens parses a query (SELECT, WITH, VALUES or a parenthesised
// query) through the front pass and TiDB.
func (s *script) queryFromTokens(toks []token) (*ast.Select, error) {
	fp := newFrontPass(s, toks)
	var err error
	if toks[0].is("VALUES") {
		err = fp.values(toks)
	} else {
		err = fp.run(toks)
	}
	if err != nil {
		return nil, err
	}
	node, err := fp.parseTiDB()
	if err != nil {
		return nil, err
	}
	cv := newConverter(fp)
	rs, ok := node.(tast.ResultSetNode)
	if !ok {
		return nil, notSupported(toks[0].Pos, "this kind of statement (expected a query)")
	}
	return cv.query(rs)
}

// exprFromTokens parses tokens that must form one scalar expression, by
// parsing SELECT <expr> and taking the only field.
func (s *script) exprFromTokens(toks []token) (ast.Expr, error) {
	if len(toks) == 0 {
		return nil, ast.Errorf(ast.Pos{}, "expected an expression")
	}
	fp := newFrontPass(s, toks)
	fp.synth("SELECT", toks[0], toks[0], false)
	fp.r.pieces[0].oEnd = toks[0].Off // stands for nothing the user wrote
	if err := fp.run(toks); err != nil {
		return nil, err
	}
	node, err := fp.parseTiDB()
	if err != nil {
		return nil, err
	}
	sel, ok := node.(*tast.SelectStmt)
	if !ok || sel.From != nil || sel.Where != nil || sel.GroupBy != nil || sel.Having != nil ||
		sel.OrderBy != nil || sel.Limit != nil || sel.Fields == nil || len(sel.Fields.Fields) != 1 ||
		sel.Fields.Fields[0].Expr == nil || sel.Fields.Fields[0].AsName.O != "" {
		return nil, ast.Errorf(toks[0].Pos, "expected a single expression, found %s", strings.Join(rawTexts(toks, 6), " "))
	}
	return newConverter(fp).expr(sel.Fields.Fields[0].Expr)
}

// rawTexts returns up to n token texts, with "..." when cut.
func rawTexts(toks []token, n int) []string {
	var out []string
	for i, t := range toks {
		if i == n {
			out = append(out, "...")
			break
		}
		out = append(out, t.Raw)
	}
	return out
}
