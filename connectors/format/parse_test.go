package format

import (
	"testing"
	"time"
)

func TestParseDecimal(t *testing.T) {
	cases := []struct {
		in    string
		p, s  int
		want  int64
		valid bool
	}{
		{"12.5", 10, 2, 1250, true},
		{"12.345", 10, 2, 1235, true}, // HALF_UP
		{"12.344", 10, 2, 1234, true},
		{"-12.345", 10, 2, -1235, true}, // HALF_UP rounds away from zero
		{" 7 ", 5, 0, 7, true},
		{"0.005", 5, 2, 1, true},
		{"0.004", 5, 2, 0, true},
		{"1.5E2", 5, 1, 1500, true},
		{"+000123.4", 5, 1, 1234, true},
		{"99.995", 4, 2, 0, false}, // rounds to 100.00: 5 digits
		{"1000", 3, 0, 0, false},
		{"abc", 10, 2, 0, false},
		{"1.2.3", 10, 2, 0, false},
		{"", 10, 2, 0, false},
		{".5", 3, 1, 5, true},
		{"999999999999999999", 18, 0, 999999999999999999, true},
		{"9999999999999999999", 18, 0, 0, false},
	}
	for _, c := range cases {
		got, ok := ParseDecimal(c.in, c.p, c.s)
		if ok != c.valid || (ok && got != c.want) {
			t.Errorf("ParseDecimal(%q, %d, %d) = %d, %v; want %d, %v", c.in, c.p, c.s, got, ok, c.want, c.valid)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	base := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC).UnixMicro()
	cases := []struct {
		in     string
		want   int64
		off    int
		zoned  bool
		parsed bool
	}{
		{"2024-01-01 12:00:00", base, 0, false, true},
		{"2024-01-01 12:00:00.5", base + 500000, 0, false, true},
		{"2024-01-01T12:00:00.123456789", base + 123456, 0, false, true},
		{"2024-01-01T12:00:00Z", base, 0, true, true},
		{"2024-01-01T12:00:00.250+02:00", base + 250000, 7200, true, true},
		{"2024-01-01 12:00", base, 0, false, true},
		{"2024-01-01", base - 12*3600*1_000_000, 0, false, true},
		{"2024-02-30 00:00:00", 0, 0, false, false},
		{"2024-01-01 25:00:00", 0, 0, false, false},
		{"yesterday", 0, 0, false, false},
		{"2024-01-01 12:00:00.", 0, 0, false, false},
	}
	for _, c := range cases {
		got, off, zoned, ok := ParseTimestamp(c.in)
		if ok != c.parsed || (ok && (got != c.want || off != c.off || zoned != c.zoned)) {
			t.Errorf("ParseTimestamp(%q) = %d, %d, %v, %v; want %d, %d, %v, %v", c.in, got, off, zoned, ok, c.want, c.off, c.zoned, c.parsed)
		}
	}
}

func TestParseIntervalRoundTrip(t *testing.T) {
	for _, ms := range []int64{0, 5000, -86_400_001, 123_456_789_012} {
		s := string(AppendInterval(nil, ms))
		got, ok := ParseInterval(s)
		if !ok || got != ms {
			t.Errorf("ParseInterval(%q) = %d, %v; want %d", s, got, ok, ms)
		}
	}
	if _, ok := ParseInterval("5 seconds"); ok {
		t.Error("ParseInterval accepted '5 seconds'")
	}
}

func TestLocalToInstant(t *testing.T) {
	loc := time.FixedZone("X", -5*3600)
	wall := time.Date(2024, 3, 1, 8, 30, 0, 0, time.UTC).UnixMicro() + 7
	want := time.Date(2024, 3, 1, 8, 30, 0, 0, loc).UnixMicro() + 7
	if got := LocalToInstant(wall, loc); got != want {
		t.Errorf("LocalToInstant = %d, want %d", got, want)
	}
	if got := TruncateMicros(-1, 3); got != -1000 {
		t.Errorf("TruncateMicros(-1, 3) = %d, want -1000", got)
	}
}
