package diff

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The random query generator: typed expressions over t1's columns, each
// rendered in both dialects at once. It only builds expressions whose
// meaning is the same in both engines:
//
//   - multiplication has a small literal factor and division/modulo a
//     nonzero literal divisor, so values stay far from overflow (sqlite
//     would silently go to REAL, streamsql fails) and never divide by zero;
//   - % only between integers (sqlite's % truncates REALs to integers);
//   - SUBSTR starts at 1 or later (sqlite and Flink differ at 0 and below);
//   - DECIMAL is never multiplied or divided by DECIMAL, which would grow
//     the precision past what either side represents the same way.

// vtype is the type family of a generated expression.
type vtype int

const (
	vInt vtype = iota // INT or BIGINT
	vDouble
	vDecimal
	vString
	vBool
)

// gexpr is a generated expression in both dialects.
type gexpr struct {
	f, l string // Flink, sqlite
	t    vtype
	lit  bool // a literal (so "literal op literal" can be avoided)
}

func both(s string, t vtype) gexpr { return gexpr{f: s, l: s, t: t} }

// wrap fills fmtStr's %s verbs with args in each dialect. Generated text
// (patterns, string literals) must come in as an argument, never be
// spliced into fmtStr, since it may hold '%'.
func wrap(fmtStr string, t vtype, args ...gexpr) gexpr {
	fs := make([]any, len(args))
	ls := make([]any, len(args))
	for i, a := range args {
		fs[i], ls[i] = a.f, a.l
	}
	return gexpr{f: fmt.Sprintf(fmtStr, fs...), l: fmt.Sprintf(fmtStr, ls...), t: t}
}

type generator struct {
	rng  *rand.Rand
	cols []column
	// noDecimalDiv: no DECIMAL dividends, while building a SUM or AVG
	// argument. streamsql keeps DECIMAL within 18 digits: CASE .. THEN
	// k_few ELSE 79.5 END is DECIMAL(18, 1) (Flink: (20, 1)), and dividing
	// it by 7 rounds to scale 6 (Flink: 12). Each quotient still agrees
	// at 6 places, but a sum of hundreds of them drifts from sqlite's
	// REAL sum at the 5th decimal.
	noDecimalDiv bool
}

func (g *generator) pick(n int) int { return g.rng.IntN(n) }

func (g *generator) colOf(want func(colKind) bool) column {
	var cs []column
	for _, c := range g.cols {
		if want(c.kind) {
			cs = append(cs, c)
		}
	}
	return cs[g.pick(len(cs))]
}

func vtypeOf(k colKind) vtype {
	switch k {
	case kBigInt, kInt:
		return vInt
	case kDouble:
		return vDouble
	case kDecimal:
		return vDecimal
	}
	return vString
}

// numLit is a small numeric literal; negative ones are parenthesized so
// "x - -3" never reads as a comment.
func (g *generator) numLit() gexpr {
	var s string
	t := vInt
	switch g.pick(3) {
	case 0:
		s = strconv.Itoa(g.pick(41) - 20)
	case 1:
		s = strconv.FormatFloat(float64(g.pick(801)-400)/4, 'f', -1, 64)
		if strings.Contains(s, ".") {
			t = vDecimal // Flink reads 2.25 as DECIMAL(3, 2)
		}
	default:
		s = strconv.Itoa(g.pick(1001) - 500)
	}
	if strings.HasPrefix(s, "-") {
		s = "(" + s + ")"
	}
	e := both(s, t)
	e.lit = true
	return e
}

// nonzero is a literal divisor.
func (g *generator) nonzero(intOnly bool) gexpr {
	for {
		n := g.pick(15) - 7
		if n == 0 {
			continue
		}
		s := strconv.Itoa(n)
		if !intOnly && g.pick(3) == 0 {
			s = strconv.FormatFloat(float64(n)/2, 'f', -1, 64)
		}
		if strings.HasPrefix(s, "-") {
			s = "(" + s + ")"
		}
		e := both(s, vInt)
		if strings.Contains(s, ".") {
			e.t = vDecimal
		}
		e.lit = true
		return e
	}
}

func (g *generator) num(depth int) gexpr {
	if depth <= 0 || g.pick(3) == 0 {
		if g.pick(4) == 0 {
			return g.numLit()
		}
		c := g.colOf(colKind.numeric)
		return both(c.name, vtypeOf(c.kind))
	}
	switch g.pick(10) {
	case 0, 1:
		a, b := g.num(depth-1), g.num(depth-1)
		op := []string{"+", "-"}[g.pick(2)]
		return wrap("(%s "+op+" %s)", widen(a.t, b.t), a, b)
	case 2:
		a := g.num(depth - 1)
		k := both(strconv.Itoa(g.pick(6)), vInt)
		return wrap("(%s * %s)", a.t, a, k)
	case 3:
		// A DECIMAL divisor only under a DOUBLE: Flink rounds INT / 1.5
		// to scale 6 (max(6, s1 + p2 + 1)), and arithmetic on that
		// rounded quotient drifts from sqlite's REAL at the 6th digit.
		a := g.num(depth - 1)
		if g.noDecimalDiv && a.t == vDecimal {
			return wrap("(%s * 2)", a.t, a)
		}
		return wrap("(%s / %s)", a.t, a, g.nonzero(a.t != vDouble))
	case 4:
		a := g.intExpr(depth - 1)
		return wrap("(%s %% %s)", vInt, a, g.nonzero(true))
	case 5:
		a := g.num(depth - 1)
		if g.pick(2) == 0 {
			return wrap("ABS(%s)", a.t, a)
		}
		return wrap("(-%s)", a.t, a)
	case 6:
		a := g.num(depth - 1)
		l := g.numLit()
		t := widen(a.t, l.t)
		return wrap("COALESCE(%s, %s)", t, liteAs(a, t), liteAs(l, t))
	case 7:
		c, a, b := g.pred(depth-1), g.num(depth-1), g.num(depth-1)
		t := widen(a.t, b.t)
		return wrap("CASE WHEN %s THEN %s ELSE %s END", t, c, liteAs(a, t), liteAs(b, t))
	case 8:
		s := g.str(depth - 1)
		return gexpr{f: "CHAR_LENGTH(" + s.f + ")", l: "LENGTH(" + s.l + ")", t: vInt}
	default:
		a := g.num(depth - 1)
		switch {
		case a.t == vInt:
			return gexpr{f: "CAST(" + a.f + " AS DOUBLE)", l: "CAST(" + a.l + " AS REAL)", t: vDouble}
		default:
			// Both truncate toward zero.
			return gexpr{f: "CAST(" + a.f + " AS BIGINT)", l: "CAST(" + a.l + " AS INTEGER)", t: vInt}
		}
	}
}

// intExpr is an integer-typed expression (for %).
func (g *generator) intExpr(depth int) gexpr {
	for range 20 {
		if e := g.num(depth); e.t == vInt && !e.lit {
			return e
		}
	}
	c := g.colOf(func(k colKind) bool { return k == kInt || k == kBigInt })
	return both(c.name, vInt)
}

// liteAs gives e's sqlite side the type t of a CASE or COALESCE it is a
// branch of. Flink types the whole CASE (INT and DECIMAL branches make a
// DECIMAL, so "CASE ... END / 7" divides exactly), but sqlite types each
// row's value, and an INTEGER branch would divide as an integer.
func liteAs(e gexpr, t vtype) gexpr {
	if e.t == vInt && t != vInt {
		e.l = "CAST(" + e.l + " AS REAL)"
	}
	return e
}

// widen is the result family of mixing a and b.
func widen(a, b vtype) vtype {
	switch {
	case a == vDouble || b == vDouble:
		return vDouble
	case a == vDecimal || b == vDecimal:
		return vDecimal
	}
	return vInt
}

func (g *generator) strLit() gexpr {
	v := vocabulary()
	return both(literal(kString, v[g.pick(len(v))]), vString)
}

func (g *generator) str(depth int) gexpr {
	if depth <= 0 || g.pick(3) == 0 {
		if g.pick(5) == 0 {
			return g.strLit()
		}
		return both("s", vString)
	}
	switch g.pick(8) {
	case 0:
		return wrap([]string{"UPPER(%s)", "LOWER(%s)"}[g.pick(2)], vString, g.str(depth-1))
	case 1:
		return wrap([]string{"TRIM(%s)", "LTRIM(%s)", "RTRIM(%s)"}[g.pick(3)], vString, g.str(depth-1))
	case 2:
		return wrap(fmt.Sprintf("SUBSTR(%%s, %d, %d)", 1+g.pick(4), g.pick(5)), vString, g.str(depth-1))
	case 3:
		from := []string{"a", "p", "an", "A", " ", "_"}[g.pick(6)]
		to := []string{"", "x", "ZZ", "a"}[g.pick(4)]
		return wrap(fmt.Sprintf("REPLACE(%%s, '%s', '%s')", from, to), vString, g.str(depth-1))
	case 4:
		return wrap("(%s || %s)", vString, g.str(depth-1), g.str(depth-1))
	case 5:
		return wrap("COALESCE(%s, %s)", vString, g.str(depth-1), g.strLit())
	case 6:
		a := g.intExpr(depth - 1)
		return gexpr{f: "CAST(" + a.f + " AS STRING)", l: "CAST(" + a.l + " AS TEXT)", t: vString}
	default:
		return wrap("CASE WHEN %s THEN %s ELSE %s END", vString, g.pred(depth-1), g.str(depth-1), g.str(depth-1))
	}
}

// likePattern builds a LIKE pattern from vocabulary fragments and
// wildcards.
func (g *generator) likePattern() string {
	parts := []string{"a", "p", "e", "an", "A", "ki", " ", "_", "%", "%", "_"}
	n := 1 + g.pick(3)
	var b strings.Builder
	for range n {
		b.WriteString(parts[g.pick(len(parts))])
	}
	return b.String()
}

func (g *generator) pred(depth int) gexpr {
	cmp := []string{"=", "<>", "<", "<=", ">", ">="}
	if depth <= 0 {
		c := g.num(0)
		return wrap("%s "+cmp[g.pick(len(cmp))]+" %s", vBool, c, g.numLit())
	}
	switch g.pick(12) {
	case 0, 1:
		a, b := g.num(depth-1), g.num(depth-1)
		return wrap("%s "+cmp[g.pick(len(cmp))]+" %s", vBool, a, b)
	case 2:
		a, b := g.str(depth-1), g.str(depth-1)
		return wrap("%s "+cmp[g.pick(len(cmp))]+" %s", vBool, a, b)
	case 3:
		var a gexpr
		if g.pick(2) == 0 {
			a = g.num(depth - 1)
		} else {
			a = g.str(depth - 1)
		}
		return wrap("%s IS "+[]string{"", "NOT "}[g.pick(2)]+"NULL", vBool, a)
	case 4:
		lo, hi := g.numLit(), g.numLit()
		return wrap("%s "+[]string{"", "NOT "}[g.pick(2)]+"BETWEEN %s AND %s", vBool, g.num(depth-1), lo, hi)
	case 5:
		var items []string
		for range 1 + g.pick(5) {
			if g.pick(8) == 0 {
				items = append(items, "NULL")
			} else {
				items = append(items, strconv.Itoa(g.pick(21)-5))
			}
		}
		return wrap("%s "+[]string{"", "NOT "}[g.pick(2)]+"IN (%s)", vBool, g.intExpr(depth-1), both(strings.Join(items, ", "), vInt))
	case 6:
		var items []string
		for range 1 + g.pick(4) {
			items = append(items, g.strLit().f)
		}
		return wrap("%s "+[]string{"", "NOT "}[g.pick(2)]+"IN (%s)", vBool, g.str(depth-1), both(strings.Join(items, ", "), vString))
	case 7:
		// The pattern goes in as an argument: it holds '%'.
		return wrap("%s "+[]string{"", "NOT "}[g.pick(2)]+"LIKE '%s'", vBool, g.str(depth-1), both(g.likePattern(), vString))
	case 8:
		return wrap("(%s AND %s)", vBool, g.pred(depth-1), g.pred(depth-1))
	case 9:
		return wrap("(%s OR %s)", vBool, g.pred(depth-1), g.pred(depth-1))
	case 10:
		return wrap("NOT (%s)", vBool, g.pred(depth-1))
	default:
		return wrap("(%s) IS "+[]string{"TRUE", "FALSE", "NOT TRUE", "NOT FALSE"}[g.pick(4)], vBool, g.pred(depth-1))
	}
}

// generatedQueries builds n random queries over t1.
func generatedQueries(seed uint64, cols []column, n int) []query {
	g := &generator{rng: rand.New(rand.NewPCG(seed, 0x9e4)), cols: cols}
	qs := make([]query, 0, n)
	for i := range n {
		var q gexpr
		switch g.pick(5) {
		case 0:
			q = wrap("SELECT * FROM t1 WHERE %s", vBool, g.pred(3))
		case 1:
			q = wrap("SELECT id, %s FROM t1", vBool, g.pred(3))
		default:
			q = wrap("SELECT id, %s, %s FROM t1 WHERE %s", vBool, g.num(3), g.str(2), g.pred(3))
		}
		qs = append(qs, query{name: fmt.Sprintf("gen_%03d", i), flink: q.f, lite: q.l})
	}
	return qs
}

// aggregate renders one random aggregate call over a generated argument.
func (g *generator) aggregate() gexpr {
	switch g.pick(8) {
	case 0:
		return both("COUNT(*)", vInt)
	case 1:
		return wrap("COUNT(%s)", vInt, g.num(1))
	case 2:
		return wrap("COUNT(DISTINCT %s)", vInt, g.str(1))
	case 3:
		g.noDecimalDiv = true
		a := g.num(2)
		g.noDecimalDiv = false
		return wrap("SUM(%s)", a.t, a)
	case 4:
		a := g.num(2)
		return wrap([]string{"MIN(%s)", "MAX(%s)"}[g.pick(2)], a.t, a)
	case 5:
		return wrap([]string{"MIN(%s)", "MAX(%s)"}[g.pick(2)], vString, g.str(1))
	case 6:
		// Flink's AVG of an integer is an integer, truncated toward zero,
		// as sqlite's CAST of its REAL average is.
		a := g.intExpr(1)
		return gexpr{f: "AVG(" + a.f + ")", l: "CAST(AVG(" + a.l + ") AS INTEGER)", t: vInt}
	default:
		g.noDecimalDiv = true
		a := g.num(2)
		g.noDecimalDiv = false
		return gexpr{f: "AVG(CAST(" + a.f + " AS DOUBLE))", l: "AVG(CAST(" + a.l + " AS REAL))", t: vDouble}
	}
}

// generatedAggQueries builds n random GROUP BY queries over t1. Every
// group is non-empty, so the one place where a streaming aggregate and a
// batch one differ (a global aggregate over no rows) cannot arise.
func generatedAggQueries(seed uint64, cols []column, n int) []query {
	g := &generator{rng: rand.New(rand.NewPCG(seed, 0xa66)), cols: cols}
	keys := []gexpr{both("k_few", vInt), both("k_many", vInt), both("s", vString),
		both("(t / 10) * 10", vInt), both("i % 4", vInt), both("UPPER(s)", vString)}
	qs := make([]query, 0, n)
	for i := range n {
		key := keys[g.pick(len(keys))]
		var aggs []string
		var laggs []string
		for range 1 + g.pick(3) {
			a := g.aggregate()
			aggs, laggs = append(aggs, a.f), append(laggs, a.l)
		}
		f := fmt.Sprintf("SELECT %s AS gk, %s FROM t1", key.f, strings.Join(aggs, ", "))
		l := fmt.Sprintf("SELECT %s AS gk, %s FROM t1", key.l, strings.Join(laggs, ", "))
		if g.pick(2) == 0 {
			p := g.pred(2)
			f, l = f+" WHERE "+p.f, l+" WHERE "+p.l
		}
		f, l = f+" GROUP BY "+key.f, l+" GROUP BY "+key.l
		if g.pick(4) == 0 {
			h := fmt.Sprintf(" HAVING COUNT(*) > %d", g.pick(20))
			f, l = f+h, l+h
		}
		qs = append(qs, query{name: fmt.Sprintf("gen_agg_%03d", i), flink: f, lite: l, stateful: true})
	}
	return qs
}
