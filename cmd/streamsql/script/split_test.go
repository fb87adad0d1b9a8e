package script

import (
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	text := "CREATE TABLE t (a INT);\n" +
		"-- a comment; with a semicolon\n" +
		"SELECT 'x;y', `c;d` FROM t; SELECT \"q;\" /* ; */ FROM t;\n" +
		"\n" +
		"  SELECT 'it''s;' FROM t\n" +
		"-- trailing comment only;\n"
	got := Split(text)
	want := []Statement{
		{Text: "CREATE TABLE t (a INT);", Line: 1, Col: 1},
		{Text: "-- a comment; with a semicolon\nSELECT 'x;y', `c;d` FROM t;", Line: 2, Col: 1},
		{Text: "SELECT \"q;\" /* ; */ FROM t;", Line: 3, Col: 29},
		{Text: "SELECT 'it''s;' FROM t\n-- trailing comment only;", Line: 5, Col: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d statements, want %d: %#v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Text != w.Text || g.Line != w.Line || g.Col != w.Col {
			t.Errorf("statement %d: got %q at %d:%d, want %q at %d:%d", i, g.Text, g.Line, g.Col, w.Text, w.Line, w.Col)
		}
		if text[g.Offset:g.Offset+len(g.Text)] != g.Text {
			t.Errorf("statement %d: offset %d does not point at its text", i, g.Offset)
		}
	}
}

func TestSplitDropsEmptyPieces(t *testing.T) {
	if got := Split(" ;; -- nothing\n/* at all */ ;"); len(got) != 0 {
		t.Fatalf("got %#v, want no statements", got)
	}
}

func TestPaddedKeepsPositions(t *testing.T) {
	text := "SELECT 1;\nSELECT 2; SELECT bad"
	st := Split(text)[2]
	p := st.Padded()
	// The statement must sit at the same line and column in the padded text.
	lines := strings.Split(p, "\n")
	if len(lines) != 2 || strings.Index(lines[1], "SELECT bad") != len("SELECT 2; ") {
		t.Fatalf("padded text %q does not keep line 2 col 11", p)
	}
}

func TestPaddedCountsRunes(t *testing.T) {
	st := Split("SELECT 'é'; SELECT x")[1]
	if st.Col != 13 {
		t.Fatalf("col = %d, want 13 (runes, not bytes)", st.Col)
	}
}

func TestSplitStatementSet(t *testing.T) {
	text := "EXECUTE STATEMENT SET BEGIN\n  INSERT INTO a SELECT * FROM t;\n  INSERT INTO b SELECT * FROM t;\nEND;\nSELECT 1;"
	got := Split(text)
	if len(got) != 2 || !strings.HasSuffix(got[0].Text, "END;") || got[1].Text != "SELECT 1;" || got[1].Line != 5 {
		t.Fatalf("got %#v", got)
	}
}

func TestSplitBackslashIsNotAnEscape(t *testing.T) {
	// As in the sql lexer (and Flink), 'C:\' is a complete literal.
	got := Split(`SELECT 'C:\'; SELECT 2;`)
	if len(got) != 2 {
		t.Fatalf("got %#v", got)
	}
}
