package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mattn/go-runewidth"

	"github.com/streamsql/streamsql/sql/ast"
)

// reportError prints err for a script named name (a file, "<stdin>", or ""
// in the shell): "name:line:col: message", then the offending line of src
// and a caret under the column, so that an editor can jump to it and a
// human sees it at once.
func reportError(w io.Writer, name, src string, err error) {
	prefix := ""
	if name != "" {
		prefix = name + ":"
	}
	var sqlErr *ast.Error
	if !errors.As(err, &sqlErr) || !sqlErr.Pos.IsValid() {
		if prefix == "" {
			fmt.Fprintf(w, "%v\n", err)
		} else {
			fmt.Fprintf(w, "%s %v\n", prefix, err)
		}
		return
	}
	fmt.Fprintf(w, "%s%d:%d: %s\n", prefix, sqlErr.Pos.Line, sqlErr.Pos.Col, sqlErr.Msg)
	if line, ok := sourceLine(src, sqlErr.Pos.Line); ok {
		fmt.Fprintf(w, "%s\n%s^\n", line, caretPad(line, sqlErr.Pos.Col))
	}
}

// sourceLine returns line n (1-based) of src without its line break.
func sourceLine(src string, n int) (string, bool) {
	lines := strings.Split(src, "\n")
	if n < 1 || n > len(lines) {
		return "", false
	}
	return strings.TrimRight(lines[n-1], "\r"), true
}

// caretPad is the blank space before the caret under rune column col of
// line: tabs stay tabs and wide characters take two cells, so the caret
// lines up whatever the terminal's tab stops.
func caretPad(line string, col int) string {
	var sb strings.Builder
	i := 1
	for _, r := range line {
		if i >= col {
			break
		}
		switch {
		case r == '\t':
			sb.WriteByte('\t')
		default:
			sb.WriteString(strings.Repeat(" ", runewidth.RuneWidth(r)))
		}
		i++
	}
	// A column past the end of the line (e.g. "unexpected end") points just
	// after it.
	if i < col {
		sb.WriteString(strings.Repeat(" ", col-i))
	}
	return sb.String()
}
