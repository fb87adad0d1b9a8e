package format

import (
	"strconv"
	"strings"
	"time"
)

// ParseDecimal parses s as DECIMAL(p, sc) and returns the unscaled value.
// Extra fraction digits are rounded HALF_UP (as Java's BigDecimal does when
// Flink casts); an exponent ('1.5E2') is accepted. ok is false when s is not
// a number or the value needs more than p digits.
func ParseDecimal(s string, p, sc int) (unscaled int64, ok bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var digits [40]byte
	nd, fracDigits, seen := 0, 0, false
	i := 0
	addDigit := func(c byte) bool {
		if nd == 0 && c == '0' {
			return true // leading zeros carry no precision
		}
		if nd == len(digits) {
			return false
		}
		digits[nd] = c
		nd++
		return true
	}
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if !addDigit(s[i]) {
			return 0, false
		}
		seen = true
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if !addDigit(s[i]) {
				return 0, false
			}
			fracDigits++
			seen = true
		}
	}
	if !seen {
		return 0, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 100 || e < -100 {
			return 0, false
		}
		exp = e
		i = len(s)
	}
	if i != len(s) {
		return 0, false
	}
	// The value is digits * 10^(exp - fracDigits); we want it * 10^sc.
	shift := sc + exp - fracDigits
	ds := digits[:nd]
	var u uint64
	switch {
	case nd == 0:
		return 0, true
	case shift >= 0:
		if nd+shift > p || nd+shift > 18 {
			return 0, false
		}
		for _, c := range ds {
			u = u*10 + uint64(c-'0')
		}
		u *= uint64(pow10(shift))
	default:
		keep := nd + shift // digits left of the rounding point
		roundUp := false
		if keep >= 0 {
			roundUp = ds[keep] >= '5'
		}
		if keep > 18 {
			return 0, false
		}
		for k := 0; k < keep; k++ {
			u = u*10 + uint64(ds[k]-'0')
		}
		if roundUp {
			u++
		}
	}
	if p < 18 && u >= uint64(pow10(p)) || u >= uint64(pow10(18)) {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// ParseDate parses yyyy-mm-dd into days since the epoch.
func ParseDate(s string) (int32, bool) {
	y, m, d, rest, ok := parseYMD(strings.TrimSpace(s))
	if !ok || rest != "" {
		return 0, false
	}
	return int32(daysFromCivil(y, m, d)), true
}

// ParseTimestamp parses "yyyy-mm-dd[ hh:mm[:ss[.fffffffff]]]" with ' ' or
// 'T' between date and time, optionally followed by 'Z' or an offset
// (+hh:mm). It returns micros since the epoch of the wall-clock value (no
// offset applied), the offset in seconds, and whether a zone was given.
// Digits beyond microseconds are truncated.
func ParseTimestamp(s string) (micros int64, offsetSec int, zoned, ok bool) {
	s = strings.TrimSpace(s)
	y, mo, d, rest, ok := parseYMD(s)
	if !ok {
		return 0, 0, false, false
	}
	micros = daysFromCivil(y, mo, d) * microsPerDay
	if rest == "" {
		return micros, 0, false, true
	}
	if rest[0] != ' ' && rest[0] != 'T' {
		return 0, 0, false, false
	}
	rest = rest[1:]
	hh, ok1 := num2(rest, 0)
	mm, ok2 := num2(rest, 3)
	if !ok1 || !ok2 || rest[2] != ':' || hh > 23 || mm > 59 {
		return 0, 0, false, false
	}
	secs := hh*3600 + mm*60
	rest = rest[5:]
	if len(rest) >= 3 && rest[0] == ':' {
		ss, ok := num2(rest, 1)
		if !ok || ss > 59 {
			return 0, 0, false, false
		}
		secs += ss
		rest = rest[3:]
		if len(rest) > 0 && rest[0] == '.' {
			rest = rest[1:]
			var frac int64
			n := 0
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
				if n < 6 {
					frac = frac*10 + int64(rest[n]-'0')
				}
				n++
			}
			if n == 0 || n > 9 {
				return 0, 0, false, false
			}
			for k := n; k < 6; k++ {
				frac *= 10
			}
			micros += frac
			rest = rest[n:]
		}
	}
	micros += int64(secs) * microsPerSecond
	switch {
	case rest == "":
		return micros, 0, false, true
	case rest == "Z" || rest == "z":
		return micros, 0, true, true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num2(rest, 1)
		om, ok2 := num2(rest, 4)
		if !ok1 || !ok2 || oh > 18 || om > 59 {
			return 0, 0, false, false
		}
		off := oh*3600 + om*60
		if rest[0] == '-' {
			off = -off
		}
		return micros, off, true, true
	}
	return 0, 0, false, false
}

// TruncateMicros drops the digits of a microsecond timestamp beyond prec
// fraction digits (flooring, so pre-1970 values truncate consistently).
func TruncateMicros(micros int64, prec int) int64 {
	if prec >= 6 || prec < 0 {
		return micros
	}
	unit := pow10(6 - prec)
	return floorDiv(micros, unit) * unit
}

// LocalToInstant converts wall-clock micros in loc to an instant.
func LocalToInstant(wall int64, loc *time.Location) int64 {
	if loc == nil || loc == time.UTC {
		return wall
	}
	sec := floorDiv(wall, microsPerSecond)
	frac := wall - sec*microsPerSecond
	days := floorDiv(sec, 86400)
	y, m, d := civilFromDays(days)
	rem := sec - days*86400
	t := time.Date(int(y), time.Month(m), d, int(rem/3600), int(rem/60%60), int(rem%60), 0, loc)
	return t.Unix()*microsPerSecond + frac
}

// ParseInterval parses the day-time interval rendering of AppendInterval
// ("+0 00:00:05.000") back into milliseconds.
func ParseInterval(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	neg := s[0] == '-'
	sp := strings.IndexByte(s, ' ')
	if sp < 2 || len(s) != sp+13 || s[sp+3] != ':' || s[sp+6] != ':' || s[sp+9] != '.' {
		return 0, false
	}
	days, err := strconv.ParseInt(s[1:sp], 10, 64)
	t := s[sp+1:]
	hh, ok1 := num2(t, 0)
	mm, ok2 := num2(t, 3)
	ss, ok3 := num2(t, 6)
	ms, err2 := strconv.Atoi(t[9:])
	if err != nil || err2 != nil || !ok1 || !ok2 || !ok3 || days < 0 || days > 100_000_000 || hh > 23 || mm > 59 || ss > 59 || ms < 0 {
		return 0, false
	}
	v := ((days*24+int64(hh))*3600+int64(mm*60+ss))*1000 + int64(ms)
	if neg {
		v = -v
	}
	return v, true
}

func parseYMD(s string) (y int64, m, d int, rest string, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, "", false
	}
	for k := 0; k < 4; k++ {
		if s[k] < '0' || s[k] > '9' {
			return 0, 0, 0, "", false
		}
		y = y*10 + int64(s[k]-'0')
	}
	m, ok1 := num2(s, 5)
	d, ok2 := num2(s, 8)
	if !ok1 || !ok2 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, "", false
	}
	return y, m, d, s[10:], true
}

func daysIn(y int64, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func num2(s string, at int) (int, bool) {
	if at+2 > len(s) {
		return 0, false
	}
	a, b := s[at], s[at+1]
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}
