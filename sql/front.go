package sql

import (
	"strconv"
	"strings"

	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Placeholder names the front pass puts into the text TiDB parses. The
// double underscore prefix keeps them apart from user functions.
const (
	phLit     = "__ssql_lit"     // __ssql_lit(n): literal n of frontPass.lits
	phCast    = "__ssql_cast"    // __ssql_cast(x, n): CAST to casts[n]
	phFilter  = "__ssql_filter"  // __ssql_filter(agg, cond): agg FILTER (WHERE cond)
	phSession = "__ssql_session" // SESSION( outside a window TVF (a TiDB keyword)
	phTVF     = "__ssql_tvf_"    // __ssql_tvf_n: window TVF n in FROM
)

// reservedAsName are words the MySQL grammar reserves but Flink users name
// columns with; when they stand where a name does (not before '('), the
// front pass backquotes them.
var reservedAsName = map[string]bool{
	"OUT": true, "KEY": true, "RANK": true, "DENSE_RANK": true, "ROW_NUMBER": true,
	"PERCENT_RANK": true, "CUME_DIST": true, "NTILE": true, "LEAD": true, "LAG": true,
	"FIRST_VALUE": true, "LAST_VALUE": true, "NTH_VALUE": true, "SQL": true, "SCHEMA": true,
	"DATABASE": true, "CURSOR": true, "PRIMARY": true, "ARRAY": true, "CONVERT": true,
	"REPEAT": true, "REPLACE": true, "MOD": true, "DIV": true, "IF": true, "INDEX": true,
	"COLUMN": true, "CHECK": true, "UNIQUE": true, "BINARY": true, "CHAR": true,
	"DESCRIBE": true, "EXPLAIN": true, "SHOW": true, "TO": true, "GROUPS": true, "WINDOW": true,
}

// intervalUnits maps the units Flink accepts (singular and plural) to the
// singular form.
var intervalUnits = map[string]string{
	"SECOND": "SECOND", "SECONDS": "SECOND", "MINUTE": "MINUTE", "MINUTES": "MINUTE",
	"HOUR": "HOUR", "HOURS": "HOUR", "DAY": "DAY", "DAYS": "DAY",
	"MONTH": "MONTH", "MONTHS": "MONTH", "YEAR": "YEAR", "YEARS": "YEAR",
	"WEEK": "WEEK", "WEEKS": "WEEK",
}

var tvfKinds = map[string]bool{"TUMBLE": true, "HOP": true, "CUMULATE": true, "SESSION": true}

// castTarget is the type of one rewritten CAST / TRY_CAST.
type castTarget struct {
	To  types.Type
	Try bool
}

// frontPass rewrites one query's (or expression's) tokens into text the
// TiDB parser accepts, keeping aside what it replaced.
type frontPass struct {
	s      *script
	toks   []token // the tokens being rewritten, for position look-ups
	r      renderer
	lits   []*ast.Literal
	casts  []castTarget
	tvfs   []*ast.WindowTVF
	tvfEnd []int          // script offset after each TVF, to skip its tokens
	frames map[int]string // window frame text by the function name's offset
	// asOfs are the FOR SYSTEM_TIME AS OF clauses in source order; each
	// reaches TiDB as its own `AS OF TIMESTAMP expr` after the alias.
	asOfs []asOfClause
}

// asOfClause is one FOR SYSTEM_TIME AS OF: where FOR stands and the script
// offset after the clause (and its alias).
type asOfClause struct {
	pos ast.Pos
	end int
}

// asOfStop are the words that end a FOR SYSTEM_TIME AS OF expression (at
// paren depth 0) besides AS: what may follow a table in FROM.
var asOfStop = map[string]bool{
	"ON": true, "JOIN": true, "LEFT": true, "RIGHT": true, "INNER": true, "FULL": true, "CROSS": true,
	"NATURAL": true, "STRAIGHT_JOIN": true, "USING": true, "WHERE": true, "GROUP": true, "HAVING": true,
	"ORDER": true, "LIMIT": true, "UNION": true, "EXCEPT": true, "INTERSECT": true, "WINDOW": true,
}

// maxNumericDigits bounds the digits of an exact numeric literal handed to
// TiDB: its parser-only decimal (test_driver's MyDecimal) panics beyond 81
// digits, and 65 is MySQL's DECIMAL precision limit.
const maxNumericDigits = 65

func newFrontPass(s *script, toks []token) *frontPass {
	return &frontPass{s: s, toks: toks, frames: map[int]string{}}
}

// synth emits placeholder text standing for the user's tokens from..to.
func (fp *frontPass) synth(text string, from, to token, glue bool) {
	fp.r.emit(text, from.Off, to.End, false, glue)
}

func at(ts []token, i int) token {
	if i >= 0 && i < len(ts) {
		return ts[i]
	}
	return token{}
}

// run rewrites ts in order.
func (fp *frontPass) run(ts []token) error {
	for i := 0; i < len(ts); {
		n, err := fp.step(ts, i)
		if err != nil {
			return err
		}
		i += n
	}
	return nil
}

// step rewrites the construct starting at ts[i] and returns how many tokens
// it consumed.
func (fp *frontPass) step(ts []token, i int) (int, error) {
	t := ts[i]
	if t.Kind == tkNumber && !strings.ContainsAny(t.Raw, "eE") {
		if n := len(t.Raw) - strings.Count(t.Raw, "."); n > maxNumericDigits {
			return 0, ast.Errorf(t.Pos, "numeric literal out of range: %d digits, at most %d", n, maxNumericDigits)
		}
	}
	if t.Kind != tkWord {
		if t.isOp("(") && at(ts, i-1).Kind == tkWord && at(ts, i-1).End < t.Off {
			// MySQL reads `count (` as a column; Flink does not care.
			fp.r.emit(t.Raw, t.Off, t.End, true, true)
			return 1, nil
		}
		fp.r.emitTok(t)
		return 1, nil
	}
	up := strings.ToUpper(t.Raw)
	nx := at(ts, i+1)
	if strings.HasPrefix(up, "__SSQL_") {
		return 0, ast.Errorf(t.Pos, "names starting with __ssql_ are reserved, found %s", t.describe())
	}
	switch up {
	case "INTERVAL":
		return fp.interval(ts, i, false)
	case "TIMESTAMP", "DATE":
		if nx.Kind == tkString {
			kind := ast.LitTimestamp
			if up == "DATE" {
				kind = ast.LitDate
			}
			fp.literal(&ast.Literal{Kind: kind, Value: nx.Val, Pos: t.Pos}, t, nx)
			return 2, nil
		}
	case "CAST", "TRY_CAST":
		if nx.isOp("(") {
			return fp.cast(ts, i, up == "TRY_CAST")
		}
	case "TABLE":
		if nx.isOp("(") && tvfKinds[strings.ToUpper(at(ts, i+2).Raw)] && at(ts, i+2).Kind == tkWord && at(ts, i+3).isOp("(") {
			return fp.windowTVF(ts, i)
		}
	case "FULL":
		// TiDB has no FULL JOIN; STRAIGHT_JOIN (which Flink lacks) carries it.
		n := 1
		if at(ts, i+1).is("OUTER") {
			n++
		}
		if at(ts, i+n).is("JOIN") {
			fp.synth("STRAIGHT_JOIN", t, ts[i+n], false)
			return n + 1, nil
		}
	case "STRAIGHT_JOIN", "LATERAL", "UNNEST", "MATCH_RECOGNIZE":
		return 0, notSupported(t.Pos, "%s", up)
	case "FOR":
		if nx.is("SYSTEM_TIME") {
			return fp.forSystemTime(ts, i)
		}
	case "SESSION":
		if nx.isOp("(") {
			fp.synth(phSession, t, t, false)
			return 1, nil
		}
	}
	if nx.isOp("(") {
		if n, ok, err := fp.call(ts, i); ok || err != nil {
			return n, err
		}
	}
	if reservedAsName[up] && !nx.isOp("(") {
		fp.r.emit("`"+t.Raw+"`", t.Off, t.End, false, at(ts, i-1).isOp(".") && at(ts, i-1).End == t.Off)
		return 1, nil
	}
	fp.r.emitTok(t)
	return 1, nil
}

// literal records lit and emits its placeholder for the tokens from..to.
func (fp *frontPass) literal(lit *ast.Literal, from, to token) {
	fp.synth(phLit+"("+strconv.Itoa(len(fp.lits))+")", from, to, false)
	fp.lits = append(fp.lits, lit)
}

// interval rewrites INTERVAL 'n' UNIT [TO UNIT]. Inside a window frame
// (native) it keeps TiDB's own INTERVAL syntax with a singular unit, as TiDB
// parses frames itself.
func (fp *frontPass) interval(ts []token, i int, native bool) (int, error) {
	t := ts[i]
	q := at(ts, i+1)
	n := 2
	neg := ""
	if q.isOp("-") && at(ts, i+2).Kind == tkNumber {
		neg, q, n = "-", at(ts, i+2), 3
	}
	if q.Kind != tkString && q.Kind != tkNumber {
		if q.Raw == "" {
			return 0, ast.Errorf(fp.s.pos(t.End), "expected a quantity like '5' after INTERVAL, found end of input")
		}
		return 0, ast.Errorf(q.Pos, "expected a quantity like '5' after INTERVAL, found %s", q.describe())
	}
	value := neg + q.Raw
	if q.Kind == tkString {
		value = q.Val
	}
	u := at(ts, i+n)
	unit, ok := intervalUnits[strings.ToUpper(u.Raw)]
	if u.Kind != tkWord || !ok {
		return 0, ast.Errorf(fp.posOrEnd(u, ts), "expected an interval unit (SECOND, MINUTE, HOUR, DAY, MONTH, YEAR), found %s", fp.describeOrEnd(u))
	}
	last := u
	n++
	if at(ts, i+n).is("TO") {
		u2 := at(ts, i+n+1)
		unit2, ok := intervalUnits[strings.ToUpper(u2.Raw)]
		if u2.Kind != tkWord || !ok {
			return 0, ast.Errorf(fp.posOrEnd(u2, ts), "expected an interval unit after TO, found %s", fp.describeOrEnd(u2))
		}
		unit += " TO " + unit2
		last = u2
		n += 2
	}
	if native {
		if strings.Contains(unit, " TO ") {
			return 0, notSupported(t.Pos, "INTERVAL ... TO ... in a window frame")
		}
		fp.r.emitTok(t)
		fp.synth(strconv.Quote(value), q, q, false)
		fp.synth(unit, u, u, false)
		return n, nil
	}
	fp.literal(&ast.Literal{Kind: ast.LitInterval, Value: value, Unit: unit, Pos: t.Pos}, t, last)
	return n, nil
}

func (fp *frontPass) posOrEnd(t token, ts []token) ast.Pos {
	if t.Raw == "" {
		return fp.s.pos(ts[len(ts)-1].End)
	}
	return t.Pos
}

func (fp *frontPass) describeOrEnd(t token) string {
	if t.Raw == "" {
		return "end of input"
	}
	return t.describe()
}

// cast rewrites CAST(x AS type) to __ssql_cast(x, n), parsing the Flink type
// ourselves (TiDB knows neither STRING nor CAST AS BIGINT).
func (fp *frontPass) cast(ts []token, i int, try bool) (int, error) {
	open := i + 1
	closing := matchParen(ts, open)
	if closing < 0 {
		return 0, ast.Errorf(ts[open].Pos, "missing ')' for this '('")
	}
	as := untilTopLevel(ts, open+1, func(t token) bool { return t.is("AS") })
	if as >= closing {
		return 0, ast.Errorf(fp.s.pos(ts[closing].Off), "expected AS <type> in %s, found ')'", strings.ToUpper(ts[i].Raw))
	}
	if as == open+1 {
		return 0, ast.Errorf(ts[as].Pos, "expected an expression before AS in %s", strings.ToUpper(ts[i].Raw))
	}
	tc := &cursor{s: fp.s, toks: ts[as+1 : closing]}
	typ, err := tc.dataType()
	if err != nil {
		if tc.atEnd() && len(tc.toks) == 0 {
			return 0, ast.Errorf(ts[closing].Pos, "expected a type after AS, found ')'")
		}
		return 0, err
	}
	if tc.accept("NOT", "NULL") {
		typ.NotNull = true
	}
	if !tc.atEnd() {
		return 0, tc.errExpected("')' after the type")
	}
	fp.synth(phCast+"(", ts[i], ts[open], false)
	if err := fp.run(ts[open+1 : as]); err != nil {
		return 0, err
	}
	fp.synth(", "+strconv.Itoa(len(fp.casts))+")", ts[as], ts[closing], true)
	fp.casts = append(fp.casts, castTarget{To: typ, Try: try})
	return closing - i + 1, nil
}

// call handles a function call followed by FILTER (WHERE ...) or OVER (...);
// ok is false when there is nothing special to do.
func (fp *frontPass) call(ts []token, i int) (int, bool, error) {
	closing := matchParen(ts, i+1)
	if closing < 0 {
		return 0, false, nil
	}
	after := at(ts, closing+1)
	switch {
	case after.is("FILTER") && at(ts, closing+2).isOp("(") && at(ts, closing+3).is("WHERE"):
		fclose := matchParen(ts, closing+2)
		if fclose < 0 {
			return 0, false, ast.Errorf(ts[closing+2].Pos, "missing ')' for this '('")
		}
		if fclose == closing+4 {
			return 0, false, ast.Errorf(ts[fclose].Pos, "expected a condition after FILTER (WHERE, found ')'")
		}
		fp.synth(phFilter+"(", ts[i], ts[i], false)
		fp.r.emitTok(ts[i])
		if err := fp.run(ts[i+1 : closing+1]); err != nil {
			return 0, false, err
		}
		fp.synth(",", after, after, true)
		if err := fp.run(ts[closing+4 : fclose]); err != nil {
			return 0, false, err
		}
		fp.synth(")", ts[fclose], ts[fclose], true)
		return fclose - i + 1, true, nil
	case after.is("OVER") && at(ts, closing+2).isOp("("):
		oclose := matchParen(ts, closing+2)
		if oclose < 0 {
			return 0, false, ast.Errorf(ts[closing+2].Pos, "missing ')' for this '('")
		}
		fp.r.emitTok(ts[i])
		if err := fp.run(ts[i+1 : closing+1]); err != nil {
			return 0, false, err
		}
		frame := untilTopLevel(ts, closing+3, func(t token) bool { return t.is("ROWS") || t.is("RANGE") })
		if err := fp.run(ts[closing+1 : frame]); err != nil {
			return 0, false, err
		}
		if frame < oclose {
			fp.frames[ts[i].Off] = fp.s.src[ts[frame].Off:ts[oclose-1].End]
			if err := fp.frameTokens(ts[frame:oclose]); err != nil {
				return 0, false, err
			}
		}
		fp.r.emitTok(ts[oclose])
		return oclose - i + 1, true, nil
	}
	return 0, false, nil
}

// frameTokens copies a window frame, keeping INTERVAL in TiDB's syntax.
func (fp *frontPass) frameTokens(ts []token) error {
	for i := 0; i < len(ts); {
		if ts[i].is("INTERVAL") {
			n, err := fp.interval(ts, i, true)
			if err != nil {
				return err
			}
			i += n
			continue
		}
		fp.r.emitTok(ts[i])
		i++
	}
	return nil
}

// values rewrites VALUES (a, b), (c, d) into SELECT a, b UNION ALL SELECT c, d.
func (fp *frontPass) values(ts []token) error {
	i := 1
	for row := 0; ; row++ {
		if !at(ts, i).isOp("(") {
			return ast.Errorf(fp.posOrEnd(at(ts, i), ts), "expected '(' to start a VALUES row, found %s", fp.describeOrEnd(at(ts, i)))
		}
		closing := matchParen(ts, i)
		if closing < 0 {
			return ast.Errorf(ts[i].Pos, "missing ')' for this '('")
		}
		if closing == i+1 {
			return ast.Errorf(ts[closing].Pos, "expected a value, found ')'")
		}
		if row == 0 {
			fp.synth("SELECT", ts[0], ts[0], false)
		} else {
			fp.synth("UNION ALL SELECT", ts[i-1], ts[i-1], false)
		}
		if err := fp.run(ts[i+1 : closing]); err != nil {
			return err
		}
		i = closing + 1
		if i == len(ts) {
			return nil
		}
		if !ts[i].isOp(",") {
			return ast.Errorf(ts[i].Pos, "expected ',' or end of statement after a VALUES row, found %s", ts[i].describe())
		}
		i++
	}
}

// forSystemTime rewrites `t FOR SYSTEM_TIME AS OF expr [[AS] alias]` into
// TiDB's stale-read form `t [AS alias] AS OF TIMESTAMP expr`, which carries
// the expression to the converter with its positions (TiDB wants the alias
// first). The table name is already emitted.
func (fp *frontPass) forSystemTime(ts []token, i int) (int, error) {
	t := ts[i]
	if prev := at(ts, i-1); i == 0 || (prev.Kind != tkWord && prev.Kind != tkQuoted) {
		return 0, ast.Errorf(t.Pos, "FOR SYSTEM_TIME AS OF must follow a table name")
	}
	if !at(ts, i+2).is("AS") || !at(ts, i+3).is("OF") {
		bad := at(ts, i+2)
		if at(ts, i+2).is("AS") {
			bad = at(ts, i+3)
		}
		return 0, ast.Errorf(fp.posOrEnd(bad, ts), "expected AS OF after FOR SYSTEM_TIME, found %s", fp.describeOrEnd(bad))
	}
	start := i + 4
	end := untilTopLevel(ts, start, func(t token) bool {
		return t.isOp(",") || t.isOp(";") || t.is("AS") || (t.Kind == tkWord && asOfStop[strings.ToUpper(t.Raw)])
	})
	if end == start {
		return 0, ast.Errorf(fp.posOrEnd(at(ts, start), ts), "expected an expression after FOR SYSTEM_TIME AS OF, found %s",
			fp.describeOrEnd(at(ts, start)))
	}
	// A bare alias: the last word after a complete operand (`AS OF b.t s`).
	var alias *token
	next := end
	if end-start >= 2 {
		last, prev := ts[end-1], ts[end-2]
		if (last.Kind == tkWord || last.Kind == tkQuoted) && (prev.Kind == tkWord || prev.Kind == tkQuoted || prev.isOp(")")) {
			alias = &ts[end-1]
			end--
		}
	}
	if alias == nil && at(ts, end).is("AS") {
		a := at(ts, end+1)
		if (a.Kind != tkWord && a.Kind != tkQuoted) || (a.Kind == tkWord && asOfStop[strings.ToUpper(a.Raw)]) {
			return 0, ast.Errorf(fp.posOrEnd(a, ts), "expected an alias after AS, found %s", fp.describeOrEnd(a))
		}
		alias = &ts[end+1]
		next = end + 2
	}
	if alias != nil {
		name := alias.Raw
		if alias.Kind == tkWord {
			name = "`" + alias.Raw + "`"
		} else if alias.Kind == tkQuoted {
			name = "`" + strings.ReplaceAll(alias.Val, "`", "``") + "`"
		}
		fp.synth("AS "+name, *alias, *alias, false)
	}
	fp.synth("AS OF TIMESTAMP", t, ts[i+3], false)
	if err := fp.run(ts[start:end]); err != nil {
		return 0, err
	}
	fp.asOfs = append(fp.asOfs, asOfClause{pos: t.Pos, end: ts[next-1].End})
	return next - i, nil
}
