package expr

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/streamsql/streamsql/sql/types"
)

type likeTok struct {
	kind byte // 'l' literal rune, '_' one character, '%' any sequence
	r    rune
}

// likeMatcher is a compiled LIKE pattern. Patterns without '_' whose '%'
// sit only at the ends use plain string operations.
type likeMatcher struct {
	kind byte // '=' exact, '^' prefix, '$' suffix, '*' contains, 'g' general
	lit  string
	toks []likeTok
	// General patterns: the pieces between '%'.
	segs                []likeSeg
	leadStar, trailStar bool
}

func compileLike(pattern string, esc rune) (*likeMatcher, error) {
	var toks []likeTok
	for i := 0; i < len(pattern); {
		r, size := utf8.DecodeRuneInString(pattern[i:])
		i += size
		switch {
		case r == esc:
			if i >= len(pattern) {
				return nil, fmt.Errorf("invalid LIKE pattern '%s': it ends with the escape character", pattern)
			}
			nr, nsize := utf8.DecodeRuneInString(pattern[i:])
			if nr != '%' && nr != '_' && nr != esc {
				return nil, fmt.Errorf("invalid LIKE pattern '%s': escape must be followed by %%, _ or itself", pattern)
			}
			i += nsize
			toks = append(toks, likeTok{kind: 'l', r: nr})
		case r == '%':
			if len(toks) == 0 || toks[len(toks)-1].kind != '%' {
				toks = append(toks, likeTok{kind: '%'})
			}
		case r == '_':
			toks = append(toks, likeTok{kind: '_'})
		default:
			toks = append(toks, likeTok{kind: 'l', r: r})
		}
	}
	m := &likeMatcher{kind: 'g', toks: toks}
	m.segs, m.leadStar, m.trailStar = segments(toks)
	// Classify: literal runs with '%' only at the ends.
	inner := toks
	lead := len(inner) > 0 && inner[0].kind == '%'
	if lead {
		inner = inner[1:]
	}
	trail := len(inner) > 0 && inner[len(inner)-1].kind == '%'
	if trail {
		inner = inner[:len(inner)-1]
	}
	var sb strings.Builder
	for _, t := range inner {
		if t.kind != 'l' {
			return m, nil
		}
		sb.WriteRune(t.r)
	}
	m.lit = sb.String()
	switch {
	case lead && trail:
		m.kind = '*'
	case lead:
		m.kind = '$'
	case trail:
		m.kind = '^'
	default:
		m.kind = '='
	}
	return m, nil
}

func (m *likeMatcher) match(s string) bool {
	switch m.kind {
	case '=':
		return s == m.lit
	case '^':
		return strings.HasPrefix(s, m.lit)
	case '$':
		return strings.HasSuffix(s, m.lit)
	case '*':
		return strings.Contains(s, m.lit)
	}
	return m.matchGeneral(s)
}

// likeSeg is a run of pattern tokens between two '%': literal characters
// and '_', each matching exactly one character. lead is its literal prefix,
// used to find candidate positions with a fast substring search.
type likeSeg struct {
	toks []likeTok
	lead string
}

// segments splits the pattern at '%' (general patterns only).
func segments(toks []likeTok) (segs []likeSeg, leadStar, trailStar bool) {
	leadStar = len(toks) > 0 && toks[0].kind == '%'
	trailStar = len(toks) > 0 && toks[len(toks)-1].kind == '%'
	var cur []likeTok
	flush := func() {
		var sb strings.Builder
		for _, t := range cur {
			if t.kind != 'l' {
				break
			}
			sb.WriteRune(t.r)
		}
		segs = append(segs, likeSeg{toks: cur, lead: sb.String()})
		cur = nil
	}
	for _, t := range toks {
		if t.kind == '%' {
			if len(cur) > 0 {
				flush()
			}
			continue
		}
		cur = append(cur, t)
	}
	if len(cur) > 0 {
		flush()
	}
	return segs, leadStar, trailStar
}

// matchAt matches seg at byte position pos of s and returns where it ends.
func (seg *likeSeg) matchAt(s string, pos int) (int, bool) {
	for _, t := range seg.toks {
		if pos >= len(s) {
			return 0, false
		}
		r, size := rune(s[pos]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[pos:])
		}
		if t.kind == 'l' && t.r != r {
			return 0, false
		}
		pos += size
	}
	return pos, true
}

// find returns the end of the leftmost match of seg at or after from.
func (seg *likeSeg) find(s string, from int) (int, bool) {
	for from <= len(s) {
		if seg.lead != "" {
			j := strings.Index(s[from:], seg.lead)
			if j < 0 {
				return 0, false
			}
			from += j
		}
		if end, ok := seg.matchAt(s, from); ok {
			return end, true
		}
		if from == len(s) {
			return 0, false
		}
		_, size := utf8.DecodeRuneInString(s[from:])
		from += size
	}
	return 0, false
}

// matchGeneral matches segment by segment: anchored first and last
// segments, the middle ones leftmost (any gap is a '%', so the leftmost
// match never loses a solution). Linear for typical patterns.
func (m *likeMatcher) matchGeneral(s string) bool {
	segs := m.segs
	if len(segs) == 0 {
		return m.leadStar || s == "" // "%" or the empty pattern
	}
	pos := 0
	if !m.leadStar {
		end, ok := segs[0].matchAt(s, 0)
		if !ok {
			return false
		}
		if len(segs) == 1 && !m.trailStar {
			return end == len(s)
		}
		pos, segs = end, segs[1:]
	}
	var last *likeSeg
	if !m.trailStar && len(segs) > 0 {
		last, segs = &segs[len(segs)-1], segs[:len(segs)-1]
	}
	for i := range segs {
		end, ok := segs[i].find(s, pos)
		if !ok {
			return false
		}
		pos = end
	}
	if last == nil {
		return true
	}
	// The last segment sits at the end: step back its length in characters.
	start := len(s)
	for range last.toks {
		if start <= pos {
			return false
		}
		_, size := utf8.DecodeLastRuneInString(s[:start])
		start -= size
	}
	if start < pos {
		return false
	}
	end, ok := last.matchAt(s, start)
	return ok && end == len(s)
}

// likeKernel is x [NOT] LIKE pattern.
type likeKernel struct {
	not   bool
	x, p  kernel
	esc   rune
	fixed *likeMatcher // constant pattern
	text  string
}

func (cp *compiler) buildLike(x *Call) (kernel, error) {
	xk, err := cp.build(x.Args[0])
	if err != nil {
		return nil, err
	}
	esc, _ := utf8.DecodeRuneInString(x.Aux)
	if x.Aux == "" {
		esc = '\\'
	}
	k := &likeKernel{not: x.Fn == "NOT LIKE", x: xk, esc: esc, text: x.String()}
	if isConstant(x.Args[1]) {
		v, err := Const(x.Args[1], cp.env)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return &constKernel{v: scalarValue{t: types.TypeBoolean}}, nil
		}
		if k.fixed, err = compileLike(v.(string), esc); err != nil {
			return nil, fmt.Errorf("%s: %w", k.text, err)
		}
		return k, nil
	}
	if k.p, err = cp.build(x.Args[1]); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *likeKernel) eval(c *ctx) (*vec, error) {
	xv, err := k.x.eval(c)
	if err != nil {
		return nil, err
	}
	n := c.n
	if xv.allNull() {
		return nullScalar(n), nil
	}
	out := &vec{n: n, b: make([]bool, n)}
	if k.fixed != nil {
		out.valid = xv.valid
		if xv.scalar {
			out.scalar, out.b = true, []bool{k.fixed.match(xv.str(0)) != k.not}
			return out, nil
		}
		m := k.fixed
		switch m.kind {
		case '*':
			containsRows(xv, n, m.lit, out.b)
			if k.not {
				for i := range out.b {
					out.b[i] = !out.b[i]
				}
			}
		case '^':
			// Prefix test on the raw bytes, no string header per row.
			lit := m.lit
			for i := range out.b {
				b := xv.data[xv.offs[i]:xv.offs[i+1]]
				out.b[i] = (len(b) >= len(lit) && string(b[:len(lit)]) == lit) != k.not
			}
		default:
			for i := range out.b {
				out.b[i] = m.match(xv.str(i)) != k.not
			}
		}
		return out, nil
	}
	pv, err := k.p.eval(c)
	if err != nil {
		return nil, err
	}
	out.valid = andValid(n, xv, pv)
	var last string
	var m *likeMatcher
	for i := range out.b {
		if xv.null(i) || pv.null(i) {
			continue
		}
		if p := pv.str(i); m == nil || p != last {
			if m, err = compileLike(p, k.esc); err != nil {
				return nil, fmt.Errorf("%s: %w", k.text, err)
			}
			last = strings.Clone(p)
		}
		out.b[i] = m.match(xv.str(i)) != k.not
	}
	return out, nil
}

// containsRows marks the rows of a string vec that contain lit, searching
// the batch's whole byte buffer at once (one long search instead of a
// search per row) and skipping to the next row after each hit.
func containsRows(v *vec, n int, lit string, out []bool) {
	if lit == "" {
		for i := range out {
			out[i] = true
		}
		return
	}
	offs := v.offs[:n+1]
	data := v.data[:offs[n]]
	pos := int(offs[0])
	row := 0
	for pos < len(data) {
		j := strings.Index(unsafeString(data[pos:]), lit)
		if j < 0 {
			return
		}
		start := pos + j
		for int(offs[row+1]) <= start {
			row++
		}
		end := int(offs[row+1])
		if start+len(lit) <= end {
			out[row] = true
			pos = end
		} else {
			pos = start + 1
		}
	}
}
