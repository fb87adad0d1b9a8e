package sql

import "strings"

// splitStatements cuts a token stream at top-level ';'. EXECUTE STATEMENT SET
// BEGIN ... END is one statement even though its inserts end with ';'.
// terminated reports whether the last statement was closed by a ';'.
func splitStatements(toks []token) (stmts [][]token, terminated bool) {
	start := 0
	inSet := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if i == start {
			inSet = isStatementSetStart(toks[i:])
		}
		if inSet && t.is("END") {
			inSet = false
			continue
		}
		if !t.isOp(";") || inSet {
			continue
		}
		if i > start {
			stmts = append(stmts, toks[start:i])
		}
		start = i + 1
	}
	if start < len(toks) {
		stmts = append(stmts, toks[start:])
		return stmts, false
	}
	return stmts, len(toks) > 0
}

// isStatementSetStart reports whether toks begin with EXECUTE STATEMENT SET or
// STATEMENT SET BEGIN (the form EXPLAIN uses).
func isStatementSetStart(toks []token) bool {
	if len(toks) >= 3 && toks[0].is("EXECUTE") && toks[1].is("STATEMENT") && toks[2].is("SET") {
		return true
	}
	if len(toks) >= 4 && toks[0].is("EXPLAIN") {
		return isStatementSetStart(toks[1:])
	}
	return len(toks) >= 3 && toks[0].is("STATEMENT") && toks[1].is("SET") && toks[2].is("BEGIN")
}

// Complete reports whether text ends with a ';' outside strings and comments
// that closes a statement (the shell uses it to decide whether to read
// another line). A ';' inside EXECUTE STATEMENT SET BEGIN ... END does not
// complete the text until END; follows.
func Complete(text string) bool {
	toks, err := lex(text)
	if err != nil {
		if err.incomplete {
			return false
		}
		// A bad character: let Parse report it once the line ends with ';'.
		return strings.HasSuffix(strings.TrimSpace(text), ";")
	}
	_, terminated := splitStatements(toks)
	return terminated && len(toks) > 0 && toks[len(toks)-1].isOp(";")
}
