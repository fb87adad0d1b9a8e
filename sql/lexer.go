package sql

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/ast"
)

// tokKind classifies a token. Keywords are plain words: whether a word is a
// keyword depends on where it stands, which only the parsers know.
type tokKind uint8

const (
	tkEOF     tokKind = iota // the zero token: past the end
	tkWord                   // unquoted identifier or keyword
	tkQuoted                 // `backquoted identifier`; Val is unquoted
	tkString                 // 'string'; Val has '' folded to '
	tkDString                // "string" (passed through to TiDB as is)
	tkNumber                 // 12, 1.5, .5, 1e3
	tkOp                     // punctuation and operators
)

// token is one lexeme with its place in the script. Raw is the exact source
// text, so the rewritten text handed to TiDB reuses the user's spelling.
type token struct {
	Kind tokKind
	Raw  string
	Val  string // identifier/string value (unquoted), operator text
	Off  int    // byte offset of the first byte
	End  int    // byte offset after the last byte
	Pos  ast.Pos
}

// is reports whether t is the unquoted word w (case-insensitive).
func (t token) is(w string) bool { return t.Kind == tkWord && strings.EqualFold(t.Raw, w) }

// isOp reports whether t is the operator op.
func (t token) isOp(op string) bool { return t.Kind == tkOp && t.Raw == op }

// describe renders t for error messages: 'FORM'.
func (t token) describe() string {
	if t.Kind == tkString {
		return t.Raw
	}
	return "'" + t.Raw + "'"
}

// lexer scans a whole script. It keeps going after an unterminated string or
// comment only far enough to report it.
type lexer struct {
	src  string
	off  int
	line int
	col  int // rune column of off, 1-based
}

// lexError is a scan failure; incomplete is true when the text merely ended
// inside a string, identifier or comment (the shell then reads more lines).
type lexError struct {
	err        *ast.Error
	incomplete bool
}

// twoCharOps are the operators made of two characters; `=>` is for named
// arguments of window table functions.
var twoCharOps = [...]string{"<=", ">=", "<>", "!=", "||", "=>", "&&", "<<", ">>", ":="}

func (l *lexer) pos() ast.Pos { return ast.Pos{Line: l.line, Col: l.col, Offset: l.off} }

// advance moves past n bytes, keeping line and column right.
func (l *lexer) advance(n int) {
	end := l.off + n
	for l.off < end {
		r, size := utf8.DecodeRuneInString(l.src[l.off:])
		l.off += size
		if r == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
	}
}

// lex splits src into tokens, dropping whitespace and comments.
func lex(src string) ([]token, *lexError) {
	l := &lexer{src: src, line: 1, col: 1}
	var toks []token
	for {
		if err := l.skipSpace(); err != nil {
			return toks, err
		}
		if l.off >= len(src) {
			return toks, nil
		}
		t, err := l.next()
		if err != nil {
			return toks, err
		}
		toks = append(toks, t)
	}
}

func (l *lexer) skipSpace() *lexError {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.advance(1)
		case strings.HasPrefix(l.src[l.off:], "--"):
			n := strings.IndexByte(l.src[l.off:], '\n')
			if n < 0 {
				n = len(l.src) - l.off
			}
			l.advance(n)
		case strings.HasPrefix(l.src[l.off:], "/*"):
			start := l.pos()
			n := strings.Index(l.src[l.off+2:], "*/")
			if n < 0 {
				return &lexError{err: ast.Errorf(start, "unterminated comment: missing '*/'"), incomplete: true}
			}
			l.advance(n + 4)
		default:
			return nil
		}
	}
	return nil
}

func isIdentStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool  { return isIdentStart(r) || unicode.IsDigit(r) }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

func (l *lexer) next() (token, *lexError) {
	start := l.pos()
	s := l.src[l.off:]
	c := s[0]
	mk := func(kind tokKind, n int, val string) token {
		l.advance(n)
		return token{Kind: kind, Raw: s[:n], Val: val, Off: start.Offset, End: start.Offset + n, Pos: start}
	}
	switch {
	case c == '\'' || c == '"' || c == '`':
		val, n, ok := scanQuoted(s, c)
		if !ok {
			what := map[byte]string{'\'': "string literal", '"': "string literal", '`': "quoted identifier"}[c]
			return token{}, &lexError{err: ast.Errorf(start, "unterminated %s: missing closing %c", what, c), incomplete: true}
		}
		kind := map[byte]tokKind{'\'': tkString, '"': tkDString, '`': tkQuoted}[c]
		return mk(kind, n, val), nil
	case isDigit(c) || (c == '.' && len(s) > 1 && isDigit(s[1])):
		return mk(tkNumber, scanNumber(s), ""), nil
	}
	r, size := utf8.DecodeRuneInString(s)
	if isIdentStart(r) {
		n := size
		for n < len(s) {
			r2, sz := utf8.DecodeRuneInString(s[n:])
			if !isIdentPart(r2) {
				break
			}
			n += sz
		}
		return mk(tkWord, n, s[:n]), nil
	}
	for _, op := range twoCharOps {
		if strings.HasPrefix(s, op) {
			return mk(tkOp, 2, op), nil
		}
	}
	if strings.ContainsRune("(),;.+-*/%=<>!~&|^?[]{}:@", r) {
		return mk(tkOp, 1, s[:1]), nil
	}
	return token{}, &lexError{err: ast.Errorf(start, "unexpected character %q", r)}
}

// scanQuoted scans a quoted lexeme starting at s[0] == q, where a doubled
// quote stands for one quote character. It returns the unquoted value and the
// lexeme's length.
func scanQuoted(s string, q byte) (string, int, bool) {
	var b strings.Builder
	i := 1
	for i < len(s) {
		if s[i] == q {
			if i+1 < len(s) && s[i+1] == q {
				b.WriteByte(q)
				i += 2
				continue
			}
			return b.String(), i + 1, true
		}
		b.WriteByte(s[i])
		i++
	}
	return "", 0, false
}

func scanNumber(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			i = j
		}
	}
	return i
}
