// Package script splits SQL text into statements without parsing it: the
// shell needs to know when a statement is complete, and the golden runner
// runs a file one statement at a time so that an error does not hide the
// statements after it. It only understands what can hide a ';': quotes and
// comments.
package script

import "strings"

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

// Split cuts text at every ';' outside quotes and comments. Pieces that hold
// nothing but whitespace and comments are dropped.
func Split(text string) []Statement {
	var out []Statement
	sc := scanner{src: text}
	start := -1      // byte offset of the current statement, -1 before its first char
	hasCode := false // whether the current piece has anything but comments
	for sc.pos < len(text) {
		c := text[sc.pos]
		if start < 0 && !isSpace(c) {
			start = sc.pos
		}
		switch {
		case c == ';':
			sc.pos++
			if hasCode {
				out = append(out, newStatement(text, start, sc.pos))
			}
			start, hasCode = -1, false
		case sc.comment():
		case sc.quoted():
			hasCode = true
		default:
			if !isSpace(c) {
				hasCode = true
			}
			sc.pos++
		}
	}
	if hasCode {
		out = append(out, newStatement(text, start, len(text)))
	}
	return out
}

// Complete reports whether text ends with a ';' that terminates a
// statement (outside quotes and comments), followed only by whitespace or
// comments: the shell then executes what was typed.
func Complete(text string) bool {
	sc := scanner{src: text}
	complete := false
	for sc.pos < len(text) {
		c := text[sc.pos]
		switch {
		case c == ';':
			complete = true
			sc.pos++
		case sc.comment():
			if sc.unterminated {
				return false
			}
		case sc.quoted():
			if sc.unterminated {
				return false
			}
			complete = false
		default:
			if !isSpace(c) {
				complete = false
			}
			sc.pos++
		}
	}
	return complete
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
	return Statement{Text: strings.TrimRightFunc(text[from:to], isSpaceRune), Line: line, Col: col, Offset: from}
}

// scanner skips quoted literals and comments.
type scanner struct {
	src string
	pos int
	// unterminated is set when the last skipped quote or block comment ran
	// to the end of the text.
	unterminated bool
}

// comment skips a comment at pos and reports whether there was one.
func (s *scanner) comment() bool {
	rest := s.src[s.pos:]
	s.unterminated = false
	switch {
	case strings.HasPrefix(rest, "--"):
		end := strings.IndexByte(rest, '\n')
		if end < 0 {
			s.pos = len(s.src)
		} else {
			s.pos += end + 1
		}
		return true
	case strings.HasPrefix(rest, "/*"):
		end := strings.Index(rest[2:], "*/")
		if end < 0 {
			s.pos = len(s.src)
			s.unterminated = true
		} else {
			s.pos += 2 + end + 2
		}
		return true
	}
	return false
}

// quoted skips a '...', "..." or `...` literal at pos (a doubled quote
// character inside is an escaped quote, and a backslash escapes the next
// character in string literals, as in the TiDB lexer).
func (s *scanner) quoted() bool {
	q := s.src[s.pos]
	if q != '\'' && q != '"' && q != '`' {
		return false
	}
	s.unterminated = true
	i := s.pos + 1
	for i < len(s.src) {
		c := s.src[i]
		switch {
		case c == '\\' && q != '`':
			i += 2
			continue
		case c == q && i+1 < len(s.src) && s.src[i+1] == q:
			i += 2
			continue
		case c == q:
			s.pos = i + 1
			s.unterminated = false
			return true
		}
		i++
	}
	s.pos = len(s.src)
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isSpaceRune(r rune) bool { return r < 128 && isSpace(byte(r)) }
