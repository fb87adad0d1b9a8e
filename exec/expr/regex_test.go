package expr

import "testing"

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
