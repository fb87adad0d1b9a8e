package opts

import (
	"errors"
	"testing"
	"time"

	"github.com/streamsql/streamsql/connectors"
)

func TestDuration(t *testing.T) {
	cases := map[string]time.Duration{
		"500": 500 * time.Millisecond, "10 s": 10 * time.Second, "1min": time.Minute,
		"2 h": 2 * time.Hour, "30 minutes": 30 * time.Minute, "1d": 24 * time.Hour,
	}
	for in, want := range cases {
		got, err := Duration("t", "k", in)
		if err != nil || got != want {
			t.Errorf("Duration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ten s", "5 parsecs", "-1 s", "99999999999999 d"} {
		_, err := Duration("t", "k", bad)
		var oe *connectors.OptionError
		if !errors.As(err, &oe) || oe.Option != "k" {
			t.Errorf("Duration(%q) err = %v, want OptionError naming k", bad, err)
		}
	}
}

func TestMemorySize(t *testing.T) {
	cases := map[string]int64{"128MB": 128 << 20, "64 kb": 64 << 10, "1g": 1 << 30, "100": 100}
	for in, want := range cases {
		got, err := MemorySize("t", "k", in)
		if err != nil || got != want {
			t.Errorf("MemorySize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := MemorySize("t", "k", "12 parsecs"); err == nil {
		t.Error("MemorySize accepted an unknown unit")
	}
}

func TestBoolAndChar(t *testing.T) {
	if v, err := Bool("t", "k", "TRUE"); err != nil || !v {
		t.Errorf("Bool(TRUE) = %v, %v", v, err)
	}
	if _, err := Bool("t", "k", "yes"); err == nil {
		t.Error("Bool accepted 'yes'")
	}
	if c, err := Char("t", "k", `\t`); err != nil || c != '\t' {
		t.Errorf("Char(\\t) = %q, %v", c, err)
	}
	if _, err := Char("t", "k", ";;"); err == nil {
		t.Error("Char accepted two characters")
	}
}
