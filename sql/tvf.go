package sql

import (
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
)

// tvfIntervalArgs names each window TVF's interval arguments in the order
// ast.WindowTVF.Args keeps them.
var tvfIntervalArgs = map[string][]string{
	"TUMBLE":   {"SIZE"},
	"HOP":      {"SLIDE", "SIZE"},
	"CUMULATE": {"STEP", "SIZE"},
	"SESSION":  {"GAP"},
}

// tvfUsage is the signature shown when a window TVF is called wrongly.
var tvfUsage = map[string]string{
	"TUMBLE":   "TUMBLE(TABLE t, DESCRIPTOR(ts), size)",
	"HOP":      "HOP(TABLE t, DESCRIPTOR(ts), slide, size)",
	"CUMULATE": "CUMULATE(TABLE t, DESCRIPTOR(ts), step, size)",
	"SESSION":  "SESSION(TABLE t [PARTITION BY k], DESCRIPTOR(ts), gap)",
}

// windowTVF replaces TABLE(KIND(args)) at ts[i] with a placeholder table and
// parses the arguments ourselves (TiDB has no table functions).
func (fp *frontPass) windowTVF(ts []token, i int) (int, error) {
	start, kindTok := ts[i], ts[i+2]
	outerClose := matchParen(ts, i+1)
	innerClose := matchParen(ts, i+3)
	if outerClose < 0 || innerClose < 0 {
		return 0, ast.Errorf(ts[i+1].Pos, "missing ')' for this '('")
	}
	if innerClose+1 != outerClose {
		return 0, ast.Errorf(ts[innerClose+1].Pos, "expected ')' after the window function's arguments, found %s", ts[innerClose+1].describe())
	}
	kind := strings.ToUpper(kindTok.Raw)
	w := &ast.WindowTVF{Kind: kind, Pos: start.Pos}
	args, err := splitArgs(ts[i+4:innerClose], ts[i+3])
	if err != nil {
		return 0, err
	}
	roles, err := assignTVFArgs(kindTok, kind, args, ts[innerClose])
	if err != nil {
		return 0, err
	}
	if err := fp.tvfTable(w, roles["DATA"]); err != nil {
		return 0, err
	}
	if err := fp.tvfDescriptor(w, roles["TIMECOL"]); err != nil {
		return 0, err
	}
	for _, name := range tvfIntervalArgs[kind] {
		e, err := fp.s.exprFromTokens(roles[name])
		if err != nil {
			return 0, err
		}
		w.Args = append(w.Args, e)
	}
	fp.synth(phTVF+strconv.Itoa(len(fp.tvfs)), start, ts[outerClose], false)
	fp.tvfs = append(fp.tvfs, w)
	fp.tvfEnd = append(fp.tvfEnd, ts[outerClose].End)
	return outerClose - i + 1, nil
}

// splitArgs splits ts at top-level commas; open is the '(' before them.
func splitArgs(ts []token, open token) ([][]token, error) {
	var out [][]token
	prev := open
	for start := 0; start <= len(ts); {
		end := untilTopLevel(ts, start, func(t token) bool { return t.isOp(",") })
		if end == start {
			if end < len(ts) {
				return nil, ast.Errorf(ts[end].Pos, "expected an argument, found ','")
			}
			return nil, ast.Errorf(prev.Pos, "expected an argument after %s", prev.describe())
		}
		out = append(out, ts[start:end])
		if end == len(ts) {
			break
		}
		prev = ts[end]
		start = end + 1
	}
	return out, nil
}

// assignTVFArgs maps positional or named (NAME => value) arguments to
// their roles: DATA, TIMECOL and the interval names.
func assignTVFArgs(kindTok token, kind string, args [][]token, closing token) (map[string][]token, error) {
	want := append([]string{"DATA", "TIMECOL"}, tvfIntervalArgs[kind]...)
	roles := map[string][]token{}
	positional := 0
	for _, a := range args {
		if len(a) >= 2 && (a[0].Kind == tkWord || a[0].Kind == tkQuoted) && a[1].isOp("=>") {
			name := strings.ToUpper(a[0].Val)
			if name == "OFFSET" {
				return nil, notSupported(a[0].Pos, "OFFSET argument of %s", kind)
			}
			known := false
			for _, w := range want {
				known = known || w == name
			}
			if !known {
				return nil, ast.Errorf(a[0].Pos, "unknown argument %s of %s; expected %s", a[0].describe(), kind, tvfUsage[kind])
			}
			if roles[name] != nil {
				return nil, ast.Errorf(a[0].Pos, "argument %s given twice", name)
			}
			if len(a) == 2 {
				return nil, ast.Errorf(a[1].Pos, "expected a value after '=>'")
			}
			roles[name] = a[2:]
			continue
		}
		if len(roles) > positional {
			return nil, ast.Errorf(a[0].Pos, "positional argument after named arguments in %s", kind)
		}
		if positional >= len(want) {
			return nil, ast.Errorf(a[0].Pos, "too many arguments for %s; expected %s", kind, tvfUsage[kind])
		}
		roles[want[positional]] = a
		positional++
	}
	for _, w := range want {
		if roles[w] == nil {
			return nil, ast.Errorf(closing.Pos, "missing argument %s of %s; expected %s", w, kindTok.Raw, tvfUsage[kind])
		}
	}
	return roles, nil
}

// tvfTable reads TABLE name [PARTITION BY k, ...].
func (fp *frontPass) tvfTable(w *ast.WindowTVF, ts []token) error {
	c := &cursor{s: fp.s, toks: ts}
	if err := c.expect("TABLE", " before the window function's input table"); err != nil {
		return err
	}
	if c.peek().isOp("(") {
		return notSupported(c.here(), "window function over a subquery (use a view)")
	}
	name, nt, err := c.qualifiedName("a table name after TABLE")
	if err != nil {
		return err
	}
	w.Input = &ast.TableName{Name: name, Pos: nt.Pos}
	if c.accept("PARTITION", "BY") {
		if w.Kind != "SESSION" {
			return ast.Errorf(ts[c.i-2].Pos, "PARTITION BY is only allowed for SESSION windows")
		}
		if c.peek().isOp("(") {
			if w.PartitionBy, err = c.identList("partition columns"); err != nil {
				return err
			}
		} else {
			for {
				k, _, err := c.ident("a partition column")
				if err != nil {
					return err
				}
				w.PartitionBy = append(w.PartitionBy, k)
				if !c.acceptOp(",") {
					break
				}
			}
		}
	}
	if !c.atEnd() {
		return c.errExpected("',' after the input table")
	}
	return nil
}

// tvfDescriptor reads DESCRIPTOR(col).
func (fp *frontPass) tvfDescriptor(w *ast.WindowTVF, ts []token) error {
	c := &cursor{s: fp.s, toks: ts}
	if err := c.expect("DESCRIPTOR", " naming the time column"); err != nil {
		return err
	}
	if err := c.expectOp("(", " after DESCRIPTOR"); err != nil {
		return err
	}
	col, _, err := c.ident("a time column name")
	if err != nil {
		return err
	}
	if err := c.expectOp(")", " after the time column"); err != nil {
		return err
	}
	if !c.atEnd() {
		return c.errExpected("',' after DESCRIPTOR(...)")
	}
	w.TimeCol = col
	return nil
}
