package expr

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// likeRegexp is an independent reference: the pattern as an anchored regexp.
func likeRegexp(toks []likeTok) *regexp.Regexp {
	var sb strings.Builder
	sb.WriteString("^(?s:")
	for _, t := range toks {
		switch t.kind {
		case '%':
			sb.WriteString(".*")
		case '_':
			sb.WriteString(".")
		default:
			sb.WriteString(regexp.QuoteMeta(string(t.r)))
		}
	}
	sb.WriteString(")$")
	return regexp.MustCompile(sb.String())
}

func FuzzLikeMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"%iss%ppi", "mississippi"}, {"a_c", "abc"}, {"%", ""}, {"_", "é"}, {"a\\%b", "a%b"},
		{"%a%b%c%", "xaybzc"}, {"abc%", "ab"}, {"%bc", "abcbc"}, {"h_l%o", "hello"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return
		}
		m, err := compileLike(pattern, '\\')
		if err != nil {
			return
		}
		want := likeRegexp(m.toks).MatchString(s)
		if got := m.match(s); got != want {
			t.Fatalf("%q LIKE %q = %v, want %v", s, pattern, got, want)
		}
	})
}

// TestLikeRandom compares the matcher with the regexp reference on many
// random patterns and strings over a small alphabet (so matches happen).
func TestLikeRandom(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	patAlpha := []string{"a", "b", "é", "%", "_", "\\%", "\\_"}
	strAlpha := []string{"a", "b", "é", "%", "_"}
	for n := 0; n < 20000; n++ {
		var pb, sb strings.Builder
		for i := r.Intn(7); i > 0; i-- {
			pb.WriteString(patAlpha[r.Intn(len(patAlpha))])
		}
		for i := r.Intn(9); i > 0; i-- {
			sb.WriteString(strAlpha[r.Intn(len(strAlpha))])
		}
		pattern, s := pb.String(), sb.String()
		m, err := compileLike(pattern, '\\')
		if err != nil {
			t.Fatalf("%q: %v", pattern, err)
		}
		if got, want := m.match(s), likeRegexp(m.toks).MatchString(s); got != want {
			t.Fatalf("%q LIKE %q = %v, want %v", s, pattern, got, want)
		}
	}
}
