package sql

import (
	"errors"
	"strings"
	"testing"

	"github.com/streamsql/streamsql/sql/ast"
)

// FuzzParse checks that Parse never panics (not even inside the TiDB parser,
// where a recovered panic shows up as an "internal parser error"), that
// errors are positioned, and that statements point into the text.
func FuzzParse(f *testing.F) {
	f.Add("SELECT a FROM t;")
	f.Fuzz(func(t *testing.T, text string) {
		Complete(text)
		stmts, err := Parse(text)
		if err != nil {
			var ae *ast.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not *ast.Error: %v", err, err)
			}
			if strings.Contains(ae.Msg, "internal parser error") {
				t.Fatalf("parser panicked: %v", err)
			}
			if !ae.Pos.IsValid() || ae.Pos.Offset < 0 || ae.Pos.Offset > len(text) {
				t.Fatalf("error position %v (offset %d) outside the text of %d bytes: %v", ae.Pos, ae.Pos.Offset, len(text), err)
			}
			return
		}
		for _, s := range stmts {
			if !s.Pos.IsValid() || !strings.HasPrefix(text[s.Pos.Offset:], s.Text) {
				t.Fatalf("statement %q not at %v", s.Text, s.Pos)
			}
		}
	})
}
