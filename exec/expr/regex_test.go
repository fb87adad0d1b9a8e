package expr

import (
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"testing"
)

// requiredLiteral only names literals every match must contain; the
// prefilter built on it must never reject a string that matches.
func TestRequiredLiteral(t *testing.T) {
	for _, c := range []struct{ p, want string }{
		{"(&|^)channel_id=([^&]*)", "channel_id="},
		{"abc", "abc"},
		{"a(b|c)defg", "defg"},
		{"(?i)channel", ""},
		{"abc|def", ""},
		{"x*", ""},
		{"foo(.*?)(bar)", "foo"},
		{"[", ""},
	} {
		if got := requiredLiteral(c.p); got != c.want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", c.p, got, c.want)
		}
	}
	for _, c := range []struct {
		p, s  string
		match bool
	}{
		{"(&|^)channel_id=([^&]*)", "https://x/y?a=1&channel_id=42", true},
		{"(&|^)channel_id=([^&]*)", "channel_id=7", true},
		{"(&|^)channel_id=([^&]*)", "https://x/y?a=1", false},
		{"a(b|c)defg", "xacdefgx", true},
		{"a(b|c)defg", "adefg", false},
	} {
		var rc regexCache
		re := rc.get(c.p)
		if rc.cannotMatch(c.s) && re.MatchString(c.s) {
			t.Errorf("%q rejected %q, which matches", c.p, c.s)
		}
		if got := !rc.cannotMatch(c.s) && re.MatchString(c.s); got != c.match {
			t.Errorf("%q on %q: %v, want %v", c.p, c.s, got, c.match)
		}
	}
}

// regexWindowPatterns exercise the cut search (regexCache.window): a
// bounded part before the required literal, ^ inside it, multi-byte and
// case-folded elements, and patterns that must not be cut (\b, (?m)^, an
// unbounded prefix).
var regexWindowPatterns = []struct {
	p    string
	tail bool // the search is cut ahead of the literal
}{
	{"(&|^)channel_id=([^&]*)", true},
	{"(^|,)k=([0-9]+)", true},
	{"a(b|c)defg", true},
	{"(?i:x)?abc(d+)", true},
	{"^abc(.)", true}, // cut at the literal: ^ then never holds
	{"(.)(.)abc", true},
	{"(.)ab", true},
	{`(é|\x{FFFD})ab`, true}, // a cut inside 😀 would match its last byte
	{"é?ab(c*)", true},
	{`\bfoo(\w*)`, false},
	{`(?m)^key=(\w+)`, false},
	{"x{2,3}yz(.*)$", true},
	{"(a|bb|)ccc(d|$)", true},
	{"[ä-ü]{0,2}ab(c|d)", true},
	{"(?s).?ab", true},
	{"(a*)ab", false},
	{"(?U)(a{0,3})ab(b*)", true},
	{`\Aa?b(c)`, true},
	{"(a|^)(b|^)ab", true},
	{"(?P<pre>[^=&]{1,3})=(?P<v>[^&]*)", true},
	{"(k|^)=v", true},
}

var regexAlphabet = []string{"a", "b", "c", "d", "k", "x", "y", "z", "=", "&", ",", "ä", "é", "ü", "\n", " ",
	"\xff", "\xc3", "😀", "€", "1", "channel_id", "abc", "ab", "ccc", "_", "K", "\u212a", "defg", "v", "key", "foo"}

func randomRegexInput(r *rand.Rand) string {
	var sb strings.Builder
	for n := r.Intn(12); n > 0; n-- {
		sb.WriteString(regexAlphabet[r.Intn(len(regexAlphabet))])
	}
	return sb.String()
}

// checkRegexWindow compares the cut search with Go's regexp on s.
func checkRegexWindow(t *testing.T, p string, re *regexp.Regexp, rc *regexCache, s string) {
	t.Helper()
	want := re.FindStringSubmatchIndex(s)
	if got := rc.findSubmatchIndex(s); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%q on %q: %v, regexp says %v", p, s, got, want)
	}
	if got := rc.match(s); got != (want != nil) {
		t.Fatalf("%q on %q: match %v, regexp says %v", p, s, got, want != nil)
	}
}

// TestRegexWindow: the literal prefilter and cut search agree with Go's
// regexp on random and adversarial strings.
func TestRegexWindow(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, c := range regexWindowPatterns {
		re := regexp.MustCompile(c.p)
		var rc regexCache
		rc.get(c.p)
		if (rc.tail != nil) != c.tail {
			t.Errorf("%q: cut search %v, want %v (literal %q, before %d)", c.p, rc.tail != nil, c.tail, rc.required, rc.before)
		}
		for _, s := range []string{"", "channel_id=", "x&channel_id=1&channel_id=2", "channel_id=1&x",
			"a,k=1,k=22", "xk=1", "k=", "\xffabcd", "ä\xc3abc", "éabcc", "üäabc", "abab", "aaab", "aaaabbb",
			"xxxyzq", "xyz", "cccd", "bbccc", "ccc", "\nkey=v", "K\u212aabcd", "é\xffab", "a=b&cc=d", "=v", "k=v",
			"x😀ab", "x😀😀abc", "y€ab", "\xffa😀ab"} { // a cut inside a rune
			checkRegexWindow(t, c.p, re, &rc, s)
		}
		for i := 0; i < 3000; i++ {
			checkRegexWindow(t, c.p, re, &rc, randomRegexInput(r))
		}
	}
}

func FuzzRegexWindow(f *testing.F) {
	for _, c := range regexWindowPatterns {
		f.Add(c.p, "x&channel_id=1&k=2,abcé")
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		re, err := regexp.Compile(p)
		if err != nil {
			return
		}
		var rc regexCache
		rc.get(p)
		checkRegexWindow(t, p, re, &rc, s)
	})
}
