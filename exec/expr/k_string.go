package expr

import (
	"encoding/binary"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxPadChars bounds LPAD/RPAD results: a larger request is NULL rather
// than an out-of-memory crash of the job.
const maxPadChars = 1 << 24

// mapRows builds a string result row by row: f appends row i to dst and
// reports false for a NULL result. Rows where an argument is NULL are NULL.
func mapRows(n int, a []*vec, hint int, f func(i int, dst []byte) ([]byte, bool)) *vec {
	sb := newStringBuilder(n, hint)
	for i := 0; i < n; i++ {
		null := false
		for _, v := range a {
			if v.null(i) {
				null = true
				break
			}
		}
		if null {
			sb.appendNull()
			continue
		}
		start := len(sb.data)
		d, ok := f(i, sb.data)
		if !ok {
			sb.data = d[:start]
			sb.appendNull()
			continue
		}
		sb.data = d
		sb.finish()
	}
	return sb.vec()
}

// mapInts builds an INT result row by row (NULL where an argument is NULL).
func mapInts(n int, a []*vec, f func(i int) int32) *vec {
	out := &vec{n: n, i32: make([]int32, n), valid: andValid(n, a...)}
	for i := range out.i32 {
		if ok(out.valid, i) {
			out.i32[i] = f(i)
		}
	}
	return out
}

func dataSize(v *vec) int {
	if v.scalar || len(v.offs) == 0 {
		return 16
	}
	return int(v.offs[len(v.offs)-1] - v.offs[0])
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&highBits != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiCase flips the case of the letters in from..to (upper: 'a'..'z' to
// upper case) of ASCII src into dst, eight bytes at a time: a byte's high
// bit marks "in range" after adding offsets, and 0x20 is the case bit.
func asciiCase(dst, src []byte, upper bool) {
	lo, hi := byte('a'), byte('z')
	if !upper {
		lo, hi = 'A', 'Z'
	}
	addLo := uint64(0x80-lo) * lowBits
	addHi := uint64(0x80-hi-1) * lowBits
	j := 0
	for ; j+8 <= len(src); j += 8 {
		w := binary.LittleEndian.Uint64(src[j:])
		inRange := ((w + addLo) &^ (w + addHi)) & highBits
		binary.LittleEndian.PutUint64(dst[j:], w^(inRange>>2))
	}
	for ; j < len(src); j++ {
		c := src[j]
		if c >= lo && c <= hi {
			c ^= 0x20
		}
		dst[j] = c
	}
}

// caseMap is UPPER / LOWER: when the batch's bytes are all ASCII, one pass
// over the whole buffer, offsets shared with the input.
func caseMap(v *vec, n int, upper bool) *vec {
	if !v.scalar && len(v.offs) > 0 {
		lo, hi := v.offs[0], v.offs[n]
		src := v.data[lo:hi]
		if isASCII(src) {
			out := &vec{n: n, valid: v.valid, data: make([]byte, len(src))}
			asciiCase(out.data, src, upper)
			if lo == 0 {
				out.offs = v.offs[:n+1]
			} else {
				out.offs = make([]int32, n+1)
				for i := range out.offs {
					out.offs[i] = v.offs[i] - lo
				}
			}
			return out
		}
	}
	f := strings.ToLower
	if upper {
		f = strings.ToUpper
	}
	return mapRows(n, []*vec{v}, dataSize(v), func(i int, dst []byte) ([]byte, bool) {
		return append(dst, f(v.str(i))...), true
	})
}

func runeCount(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return utf8.RuneCountInString(s)
		}
	}
	return len(s)
}

// substring implements Flink's SUBSTRING: 1-based; a negative start counts
// from the end; start 0 acts as 1.
func substring(s string, pos, length int64, hasLen bool) (string, bool) {
	if hasLen && length < 0 {
		return "", false
	}
	n := int64(runeCount(s))
	var start int64
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = max(n+pos, 0)
	}
	end := n
	if hasLen && length < end-start {
		end = start + length
	}
	if start >= end {
		return "", true
	}
	if n == int64(len(s)) {
		return s[start:end], true
	}
	r := []rune(s)
	return string(r[start:end]), true
}

func (cp *compiler) buildString(x *Call) (kernel, bool, error) {
	var impl func(c *ctx, a []*vec, n int) (*vec, error)
	strict := true
	switch x.Fn {
	case "CONCAT":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			hint := 0
			for _, v := range a {
				hint += dataSize(v)
			}
			return mapRows(n, a, hint, func(i int, dst []byte) ([]byte, bool) {
				for _, v := range a {
					dst = append(dst, v.bytesAt(i)...)
				}
				return dst, true
			}), nil
		}
	case "CONCAT_WS":
		// NULL only when the separator is; NULL arguments are skipped.
		strict = false
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			sep := a[0]
			return mapRows(n, a[:1], 0, func(i int, dst []byte) ([]byte, bool) {
				first := true
				for _, v := range a[1:] {
					if v.null(i) {
						continue
					}
					if !first {
						dst = append(dst, sep.bytesAt(i)...)
					}
					first = false
					dst = append(dst, v.bytesAt(i)...)
				}
				return dst, true
			}), nil
		}
	case "UPPER", "LOWER":
		upper := x.Fn == "UPPER"
		impl = func(c *ctx, a []*vec, n int) (*vec, error) { return caseMap(a[0], n, upper), nil }
	case "INITCAP":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapRows(n, a, dataSize(a[0]), func(i int, dst []byte) ([]byte, bool) {
				prev := ' '
				for _, r := range a[0].str(i) {
					if unicode.IsLetter(prev) || unicode.IsDigit(prev) {
						dst = utf8.AppendRune(dst, unicode.ToLower(r))
					} else {
						dst = utf8.AppendRune(dst, unicode.ToUpper(r))
					}
					prev = r
				}
				return dst, true
			}), nil
		}
	case "REVERSE":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapRows(n, a, dataSize(a[0]), func(i int, dst []byte) ([]byte, bool) {
				r := []rune(a[0].str(i))
				for j := len(r) - 1; j >= 0; j-- {
					dst = utf8.AppendRune(dst, r[j])
				}
				return dst, true
			}), nil
		}
	case "CHAR_LENGTH":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapInts(n, a, func(i int) int32 { return int32(runeCount(a[0].str(i))) }), nil
		}
	case "SUBSTRING":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapRows(n, a, dataSize(a[0]), func(i int, dst []byte) ([]byte, bool) {
				var length int64
				if len(a) == 3 {
					length = a[2].i64[a[2].idx(i)]
				}
				s, ok := substring(a[0].str(i), a[1].i64[a[1].idx(i)], length, len(a) == 3)
				return append(dst, s...), ok
			}), nil
		}
	case "TRIM", "LTRIM", "RTRIM":
		fn := x.Fn
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapRows(n, a, dataSize(a[0]), func(i int, dst []byte) ([]byte, bool) {
				cut := " "
				if len(a) == 2 {
					cut = a[1].str(i)
				}
				s := a[0].str(i)
				switch fn {
				case "TRIM":
					s = strings.Trim(s, cut)
				case "LTRIM":
					s = strings.TrimLeft(s, cut)
				default:
					s = strings.TrimRight(s, cut)
				}
				return append(dst, s...), true
			}), nil
		}
	case "REPLACE":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapRows(n, a, dataSize(a[0]), func(i int, dst []byte) ([]byte, bool) {
				s, from := a[0].str(i), a[1].str(i)
				if from == "" {
					return append(dst, s...), true
				}
				return append(dst, strings.ReplaceAll(s, from, a[2].str(i))...), true
			}), nil
		}
	case "LPAD", "RPAD":
		left := x.Fn == "LPAD"
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapRows(n, a, dataSize(a[0]), func(i int, dst []byte) ([]byte, bool) {
				s, want, padS := a[0].str(i), a[1].i64[a[1].idx(i)], []rune(a[2].str(i))
				r := []rune(s)
				switch {
				case want < 0:
					return dst, false
				case int64(len(r)) >= want:
					return append(dst, string(r[:want])...), true
				case len(padS) == 0 || want > maxPadChars:
					return dst, false
				}
				fill := make([]rune, 0, want-int64(len(r)))
				for j := 0; int64(len(fill)) < want-int64(len(r)); j++ {
					fill = append(fill, padS[j%len(padS)])
				}
				if left {
					return append(append(dst, string(fill)...), s...), true
				}
				return append(append(dst, s...), string(fill)...), true
			}), nil
		}
	case "REPEAT":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapRows(n, a, dataSize(a[0]), func(i int, dst []byte) ([]byte, bool) {
				s, times := a[0].bytesAt(i), a[1].i64[a[1].idx(i)]
				if int64(len(s))*times > 1<<28 {
					return dst, false
				}
				for j := int64(0); j < times; j++ {
					dst = append(dst, s...)
				}
				return dst, true
			}), nil
		}
	case "POSITION", "LOCATE":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapInts(n, a, func(i int) int32 {
				sub, s := a[0].str(i), a[1].str(i)
				from := int64(1)
				if len(a) == 3 {
					from = a[2].i64[a[2].idx(i)]
					if from < 1 {
						return 0
					}
				}
				rest, ok := substring(s, from, 0, false)
				if !ok {
					return 0
				}
				j := strings.Index(rest, sub)
				if j < 0 {
					return 0
				}
				return int32(runeCount(rest[:j]) + int(from))
			}), nil
		}
	case "REGEXP", "REGEXP_EXTRACT", "REGEXP_REPLACE":
		return cp.buildRegexp(x)
	case "SPLIT_INDEX":
		impl = func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapRows(n, a, dataSize(a[0]), func(i int, dst []byte) ([]byte, bool) {
				s, sep, idx := a[0].str(i), a[1].str(i), a[2].i64[a[2].idx(i)]
				if sep == "" || idx < 0 {
					return dst, false
				}
				for ; idx > 0; idx-- {
					j := strings.Index(s, sep)
					if j < 0 {
						return dst, false
					}
					s = s[j+len(sep):]
				}
				if j := strings.Index(s, sep); j >= 0 {
					s = s[:j]
				}
				return append(dst, s...), true
			}), nil
		}
	default:
		return nil, false, nil
	}
	k, err := cp.newFunc(x, strict, impl)
	return k, true, err
}

// regexCache compiles patterns once: at compile time for a constant, else
// on change between rows. An invalid pattern gives NULL, as in Flink.
type regexCache struct {
	last string
	re   *regexp.Regexp
	bad  bool
	// required is a literal every match contains ("" if none is known): a
	// string without it cannot match, which strings.Contains tells far
	// faster than the regexp engine (a pattern without a literal prefix,
	// like '(&|^)channel_id=([^&]*)', is otherwise tried at every offset).
	required string
	// before bounds the bytes a match can span ahead of required (-1: no
	// bound); tail is the pattern for a search that starts after the
	// text's beginning (see window). nil when the search cannot be cut.
	before int
	tail   *regexp.Regexp
}

func (rc *regexCache) get(p string) *regexp.Regexp {
	if rc.re != nil && p == rc.last || rc.bad && p == rc.last {
		return rc.re
	}
	rc.last = strings.Clone(p)
	re, err := regexp.Compile(p)
	rc.re, rc.bad = re, err != nil
	rc.required, rc.before, rc.tail = "", -1, nil
	if err == nil {
		rc.required, rc.before = literalWindow(p)
		if rc.before >= 0 {
			rc.tail = tailRegexp(p, re.NumSubexp())
		}
	}
	return re
}

// cannotMatch reports whether s certainly has no match (call after get).
func (rc *regexCache) cannotMatch(s string) bool {
	return rc.required != "" && !strings.Contains(s, rc.required)
}

// window returns where the search for the leftmost match in s can start,
// and the pattern to search s[k:] with; ok is false when s cannot match.
// Every match contains required, at most before bytes after the match's
// start, so no match starts before the first occurrence of required minus
// before. Cut there (at a rune start, where the engine would also step),
// the search finds the same leftmost match: the engine's choice at a
// position depends only on the text from it, except for assertions on
// the previous rune. ^ / \A cannot hold past the text's beginning, so tail
// has them as no-match; patterns with \b, \B or (?m)^ get no tail.
func (rc *regexCache) window(s string) (k int, re *regexp.Regexp, ok bool) {
	if rc.required == "" {
		return 0, rc.re, true
	}
	i := strings.Index(s, rc.required)
	if i < 0 {
		return 0, nil, false
	}
	if rc.tail == nil || i-rc.before <= 0 {
		return 0, rc.re, true
	}
	k = i - rc.before
	for k > 0 && !utf8.RuneStart(s[k]) {
		k--
	}
	if k == 0 {
		return 0, rc.re, true
	}
	return k, rc.tail, true
}

// match reports whether s contains a match (call after get).
func (rc *regexCache) match(s string) bool {
	k, re, ok := rc.window(s)
	return ok && re.MatchString(s[k:])
}

// findSubmatchIndex is FindStringSubmatchIndex (call after get).
func (rc *regexCache) findSubmatchIndex(s string) []int {
	k, re, ok := rc.window(s)
	if !ok {
		return nil
	}
	m := re.FindStringSubmatchIndex(s[k:])
	if k > 0 {
		for j, x := range m {
			if x >= 0 {
				m[j] = x + k
			}
		}
	}
	return m
}

// requiredLiteral returns the longest case-sensitive literal that a
// match of pattern p must contain: p itself when it is a literal, or a
// literal element of a top-level concatenation; "" when there is none.
func requiredLiteral(p string) string {
	lit, _ := literalWindow(p)
	return lit
}

// literalWindow returns requiredLiteral(p) and the most bytes a match can
// span before it (-1 when unbounded or unknown).
func literalWindow(p string) (string, int) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return "", -1
	}
	re = re.Simplify()
	lit := func(r *syntax.Regexp) string {
		if r.Op != syntax.OpLiteral || r.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(r.Rune)
	}
	switch re.Op {
	case syntax.OpLiteral:
		return lit(re), 0
	case syntax.OpConcat:
		best, at := "", -1
		for i, sub := range re.Sub {
			if l := lit(sub); len(l) > len(best) {
				best, at = l, i
			}
		}
		if at < 0 {
			return "", -1
		}
		before := 0
		for _, sub := range re.Sub[:at] {
			w := maxWidth(sub)
			if w < 0 {
				return best, -1
			}
			before += w
		}
		return best, before
	}
	return "", -1
}

// maxWidth bounds the bytes a match of r consumes; -1 when unbounded. An
// invalid UTF-8 byte is consumed as one byte (matching U+FFFD), so the
// width of a rune's encoding is an upper bound either way.
func maxWidth(r *syntax.Regexp) int {
	runeWidth := func(c rune) int {
		switch {
		case c < 0x80:
			return 1
		case c < 0x800:
			return 2
		case c < 0x10000:
			return 3
		}
		return 4
	}
	switch r.Op {
	case syntax.OpNoMatch, syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0
	case syntax.OpLiteral:
		w := 0
		for _, c := range r.Rune {
			if r.Flags&syntax.FoldCase != 0 {
				w += utf8.UTFMax // a fold of c may be longer (k and U+212A)
			} else {
				w += runeWidth(c)
			}
		}
		return w
	case syntax.OpCharClass:
		w := 0
		for i := 1; i < len(r.Rune); i += 2 {
			w = max(w, runeWidth(r.Rune[i]))
		}
		return w
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax
	case syntax.OpCapture:
		return maxWidth(r.Sub[0])
	case syntax.OpQuest:
		return maxWidth(r.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		if maxWidth(r.Sub[0]) == 0 {
			return 0
		}
		return -1
	case syntax.OpRepeat:
		w := maxWidth(r.Sub[0])
		if w < 0 || r.Max < 0 {
			return -1
		}
		return w * r.Max
	case syntax.OpConcat, syntax.OpAlternate:
		w := 0
		for _, sub := range r.Sub {
			x := maxWidth(sub)
			if x < 0 {
				return -1
			}
			if r.Op == syntax.OpConcat {
				w += x
			} else {
				w = max(w, x)
			}
		}
		return w
	}
	return -1
}

// tailRegexp compiles p with ^ / \A made no-match, for a search that
// starts past the text's beginning; nil when p asserts on the previous
// rune in another way (\b, \B, (?m)^) or the rewrite fails.
func tailRegexp(p string, nsub int) *regexp.Regexp {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil
	}
	ok := true
	var fix func(r *syntax.Regexp)
	fix = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpBeginLine, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
			ok = false
		case syntax.OpBeginText:
			r.Op = syntax.OpNoMatch
		}
		for _, sub := range r.Sub {
			fix(sub)
		}
	}
	fix(re)
	if !ok {
		return nil
	}
	tail, err := regexp.Compile(re.String())
	if err != nil || tail.NumSubexp() != nsub {
		return nil
	}
	return tail
}

func (cp *compiler) buildRegexp(x *Call) (kernel, bool, error) {
	rc := &regexCache{}
	if isConstant(x.Args[1]) {
		v, err := Const(x.Args[1], cp.env)
		if err != nil {
			return nil, true, err
		}
		if s, ok := v.(string); ok {
			rc.get(s)
		}
	}
	if x.Fn == "REGEXP" {
		k, err := cp.newFunc(x, true, func(c *ctx, a []*vec, n int) (*vec, error) {
			out := &vec{n: n, b: make([]bool, n), valid: andValid(n, a...)}
			for i := range out.b {
				if !ok(out.valid, i) {
					continue
				}
				re := rc.get(a[1].str(i))
				if re == nil {
					if out.valid == nil {
						out.valid = make([]bool, n)
						for j := range out.valid {
							out.valid[j] = true
						}
					}
					out.valid[i] = false
					continue
				}
				out.b[i] = rc.match(a[0].str(i))
			}
			return out, nil
		})
		return k, true, err
	}
	if x.Fn == "REGEXP_REPLACE" {
		k, err := cp.newFunc(x, true, func(c *ctx, a []*vec, n int) (*vec, error) {
			return mapRows(n, a, dataSize(a[0]), func(i int, dst []byte) ([]byte, bool) {
				re := rc.get(a[1].str(i))
				if re == nil {
					return dst, false
				}
				if s := a[0].str(i); rc.cannotMatch(s) {
					return append(dst, s...), true
				}
				return append(dst, re.ReplaceAllString(a[0].str(i), a[2].str(i))...), true
			}), nil
		})
		return k, true, err
	}
	k, err := cp.newFunc(x, true, func(c *ctx, a []*vec, n int) (*vec, error) {
		return mapRows(n, a, dataSize(a[0]), func(i int, dst []byte) ([]byte, bool) {
			re := rc.get(a[1].str(i))
			if re == nil {
				return dst, false
			}
			group := int64(0)
			if len(a) == 3 {
				group = a[2].i64[a[2].idx(i)]
			}
			s := a[0].str(i)
			m := rc.findSubmatchIndex(s)
			if m == nil || group < 0 || int(group) > re.NumSubexp() || m[2*group] < 0 {
				return dst, false
			}
			return append(dst, s[m[2*group]:m[2*group+1]]...), true
		}), nil
	})
	return k, true, err
}
