// Package script splits SQL text into statements without parsing it: the
// golden runner runs a file one statement at a time so that an error does
// not hide the statements after it, and sql.Parse stops at the first error
// (the shell uses sql.Complete).
// It follows the sql package's lexer on what can hide a ';' (quotes with
// doubled-quote escapes, -- and /* */ comments) and keeps EXECUTE
// STATEMENT SET BEGIN ... END; together.
package script

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Statement is one statement of a script.
type Statement struct {
	// Text is the statement as written, from its first significant
	// character through its terminating ';' (absent for a final statement
	// without one). Comments before it belong to it.
	Text string
	// Line and Col are the 1-based position of Text in the whole script;
	// Col counts runes, as ast.Pos does.
	Line, Col int
	// Offset is the byte offset of Text in the script.
	Offset int
}

// Padded returns Text preceded by blank lines and spaces so that positions
// the parser reports in it are positions in the whole script.
func (s Statement) Padded() string {
	return strings.Repeat("\n", s.Line-1) + strings.Repeat(" ", s.Col-1) + s.Text
}

// Split cuts text at every ';' that ends a statement. Pieces that hold
// nothing but whitespace and comments are dropped.
func Split(text string) []Statement {
	var out []Statement
	sc := scanner{src: text}
	start := -1 // byte offset of the current statement, -1 before its first char
	for {
		k := sc.next()
		if k == tokEOF {
			break
		}
		if start < 0 && k != tokSpace {
			start = sc.tokStart
		}
		if k == tokEnd {
			if sc.words > 0 {
				out = append(out, newStatement(text, start, sc.pos))
			}
			start = -1
			sc.resetStatement()
		}
	}
	if sc.words > 0 {
		out = append(out, newStatement(text, start, len(text)))
	}
	return out
}

func newStatement(text string, from, to int) Statement {
	line, col := 1, 1
	for _, r := range text[:from] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return Statement{Text: strings.TrimRightFunc(text[from:to], unicode.IsSpace), Line: line, Col: col, Offset: from}
}

type tokKind int

const (
	tokEOF   tokKind = iota
	tokSpace         // whitespace
	tokComment
	tokCode // anything else but a statement-ending ';'
	tokEnd  // a ';' that ends a statement
)

// scanner reads text a lexeme at a time, just well enough to find the
// statement-ending semicolons.
type scanner struct {
	src      string
	pos      int
	tokStart int
	// words counts the current statement's words; first holds its first
	// few (upper case) to recognize a statement set, inSet whether we are
	// between its BEGIN and END.
	words int
	first []string
	inSet bool
}

func (s *scanner) resetStatement() { s.words, s.first, s.inSet = 0, nil, false }

func (s *scanner) next() tokKind {
	s.tokStart = s.pos
	if s.pos >= len(s.src) {
		return tokEOF
	}
	rest := s.src[s.pos:]
	c := rest[0]
	switch {
	case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
		s.pos++
		return tokSpace
	case strings.HasPrefix(rest, "--"):
		if end := strings.IndexByte(rest, '\n'); end >= 0 {
			s.pos += end + 1
		} else {
			s.pos = len(s.src)
		}
		return tokComment
	case strings.HasPrefix(rest, "/*"):
		if end := strings.Index(rest[2:], "*/"); end >= 0 {
			s.pos += end + 4
		} else {
			s.pos = len(s.src)
		}
		return tokComment
	case c == '\'' || c == '"' || c == '`':
		s.skipQuoted(c)
		s.words++
		return tokCode
	case c == ';':
		s.pos++
		if s.inSet {
			return tokCode
		}
		return tokEnd
	}
	r, size := utf8.DecodeRuneInString(rest)
	if !isWordRune(r) {
		s.pos += size
		s.words++
		return tokCode
	}
	n := 0
	for n < len(rest) {
		r, size := utf8.DecodeRuneInString(rest[n:])
		if !isWordRune(r) {
			break
		}
		n += size
	}
	s.pos += n
	s.word(strings.ToUpper(rest[:n]))
	return tokCode
}

// word tracks EXECUTE STATEMENT SET BEGIN ... END (also after EXPLAIN, and
// STATEMENT SET BEGIN), inside which ';' ends the inner INSERTs only.
func (s *scanner) word(w string) {
	s.words++
	if s.inSet {
		if w == "END" {
			s.inSet = false
		}
		return
	}
	if len(s.first) < 5 {
		s.first = append(s.first, w)
		lead := s.first
		if len(lead) > 0 && lead[0] == "EXPLAIN" {
			lead = lead[1:]
		}
		if len(lead) > 0 && lead[0] == "EXECUTE" {
			lead = lead[1:]
		}
		if strings.Join(lead, " ") == "STATEMENT SET BEGIN" {
			s.inSet = true
		}
	}
}

// skipQuoted skips a quoted lexeme; a doubled quote is an escaped quote.
func (s *scanner) skipQuoted(q byte) {
	i := s.pos + 1
	for i < len(s.src) {
		if s.src[i] == q {
			if i+1 < len(s.src) && s.src[i+1] == q {
				i += 2
				continue
			}
			s.pos = i + 1
			return
		}
		i++
	}
	s.pos = len(s.src)
}

func isWordRune(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
