package expr

import (
	"fmt"
	"strings"
)

// Java SimpleDateFormat / DateTimeFormatter patterns, the letters Flink's
// DATE_FORMAT, TO_TIMESTAMP and FROM_UNIXTIME users write.

type fmtTok struct {
	letter byte   // 0 for literal text
	count  int    // repetitions of the letter
	lit    string // literal text
}

func parseDateFormat(f string) ([]fmtTok, error) {
	var toks []fmtTok
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c == '\'':
			j := i + 1
			var sb strings.Builder
			for ; j < len(f); j++ {
				if f[j] == '\'' {
					if j+1 < len(f) && f[j+1] == '\'' {
						sb.WriteByte('\'')
						j++
						continue
					}
					break
				}
				sb.WriteByte(f[j])
			}
			if j >= len(f) && !(i+1 < len(f) && f[i+1] == '\'') {
				return nil, fmt.Errorf("invalid date format '%s': unterminated quote", f)
			}
			if j == i+1 {
				sb.WriteByte('\'') // '' is a quote
			}
			toks = append(toks, fmtTok{lit: sb.String()})
			i = j + 1
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			j := i
			for j < len(f) && f[j] == c {
				j++
			}
			switch c {
			case 'y', 'M', 'd', 'H', 'h', 'k', 'K', 'm', 's', 'S', 'a', 'E', 'D', 'u':
			default:
				return nil, fmt.Errorf("not supported yet: date format letter '%c' in '%s'", c, f)
			}
			toks = append(toks, fmtTok{letter: c, count: j - i})
			i = j
		default:
			toks = append(toks, fmtTok{lit: string(c)})
			i++
		}
	}
	return toks, nil
}

func monthNames() []string {
	return []string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
}

func dayNames() []string {
	return []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
}

func monthName(m int64) string { return monthNames()[m-1] }

func dayName(isodow int64) string { return dayNames()[isodow-1] }

// fields are the calendar fields of a wall-clock microsecond value.
type fields struct {
	y, mo, d, h, mi, s, us, doy, isodow int64
}

func fieldsOf(us int64) fields {
	days := floorDiv(us, usPerDay)
	rem := us - days*usPerDay
	y, m, d := civilFromDays(days)
	return fields{
		y: y, mo: m, d: d,
		h: rem / usPerHour, mi: rem / usPerMinute % 60, s: rem / usPerSecond % 60, us: rem % usPerSecond,
		doy:    days - daysFromCivil(y, 1, 1) + 1,
		isodow: floorMod(days+3, 7) + 1, // 1970-01-01 was a Thursday
	}
}

func appendFormatted(b []byte, toks []fmtTok, us int64) []byte {
	f := fieldsOf(us)
	for _, t := range toks {
		switch t.letter {
		case 0:
			b = append(b, t.lit...)
		case 'y':
			if t.count == 2 {
				b = pad(b, floorMod(f.y, 100), 2)
			} else {
				b = pad(b, f.y, t.count)
			}
		case 'M':
			switch {
			case t.count >= 4:
				b = append(b, monthName(f.mo)...)
			case t.count == 3:
				b = append(b, monthName(f.mo)[:3]...)
			default:
				b = pad(b, f.mo, t.count)
			}
		case 'd':
			b = pad(b, f.d, t.count)
		case 'D':
			b = pad(b, f.doy, t.count)
		case 'H':
			b = pad(b, f.h, t.count)
		case 'k':
			h := f.h
			if h == 0 {
				h = 24
			}
			b = pad(b, h, t.count)
		case 'h':
			h := f.h % 12
			if h == 0 {
				h = 12
			}
			b = pad(b, h, t.count)
		case 'K':
			b = pad(b, f.h%12, t.count)
		case 'm':
			b = pad(b, f.mi, t.count)
		case 's':
			b = pad(b, f.s, t.count)
		case 'S':
			// Fraction of second, as many digits as letters.
			var buf [16]byte
			digits := pad(buf[:0], f.us, 6)
			for len(digits) < t.count {
				digits = append(digits, '0')
			}
			b = append(b, digits[:t.count]...)
		case 'a':
			if f.h < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'E':
			if t.count >= 4 {
				b = append(b, dayName(f.isodow)...)
			} else {
				b = append(b, dayName(f.isodow)[:3]...)
			}
		case 'u':
			b = pad(b, f.isodow, t.count)
		}
	}
	return b
}

// formatSpan is the length in micros of the aligned intervals of
// wall-clock time [k·span, (k+1)·span) within which the pattern's output
// cannot change: a day for 'yyyy-MM-dd', a minute for 'HH:mm', 1 µs for
// six fraction digits; 0 (no reuse) for a letter not listed. A day is a
// multiple of every span, so the intervals nest in the day fieldsOf
// splits on.
func formatSpan(toks []fmtTok) int64 {
	span := usPerDay
	for _, t := range toks {
		var u int64
		switch t.letter {
		case 0:
			continue
		case 'y', 'M', 'd', 'D', 'E', 'u':
			u = usPerDay
		case 'H', 'k', 'h', 'K', 'a':
			u = usPerHour
		case 'm':
			u = usPerMinute
		case 's':
			u = usPerSecond
		case 'S':
			u = usPerSecond
			for c := 0; c < t.count && u > 1; c++ {
				u /= 10
			}
		default:
			return 0
		}
		span = min(span, u)
	}
	return span
}

// formatMemo formats wall-clock micros with one pattern, reusing the last
// output while the values stay within its span (formatSpan): a column of
// event times formats about once per day or minute instead of per row.
// One belongs to one call site of a compiled program, which one task
// evaluates (Program is not safe for concurrent use).
type formatMemo struct {
	span   int64 // 0: never reuse
	lo, hi int64 // out is the output for every value in [lo, hi)
	out    []byte
	valid  bool
}

// memoRange bounds the values whose interval is remembered, so that lo
// and hi cannot overflow.
const memoRange = int64(1) << 62

// reset starts over with pattern toks.
func (m *formatMemo) reset(toks []fmtTok) {
	m.span, m.valid = formatSpan(toks), false
}

// appendFormatted is appendFormatted(b, toks, us), toks being the
// pattern of the last reset.
func (m *formatMemo) appendFormatted(b []byte, toks []fmtTok, us int64) []byte {
	if m.valid && us >= m.lo && us < m.hi {
		return append(b, m.out...)
	}
	start := len(b)
	b = appendFormatted(b, toks, us)
	if m.span > 0 && us > -memoRange && us < memoRange {
		m.lo = floorDiv(us, m.span) * m.span
		m.hi = m.lo + m.span
		m.out = append(m.out[:0], b[start:]...)
		m.valid = true
	}
	return b
}

// parseFormatted reads s with the pattern into wall-clock micros.
func parseFormatted(toks []fmtTok, s string) (int64, bool) {
	y, mo, d := int64(1970), int64(1), int64(1)
	var h, mi, sec, frac int64
	pm, hasAMPM := false, false
	pos := 0
	for ti, t := range toks {
		if t.letter == 0 {
			if !strings.HasPrefix(s[pos:], t.lit) {
				return 0, false
			}
			pos += len(t.lit)
			continue
		}
		if t.letter == 'a' {
			switch {
			case strings.HasPrefix(strings.ToUpper(s[pos:]), "AM"):
			case strings.HasPrefix(strings.ToUpper(s[pos:]), "PM"):
				pm = true
			default:
				return 0, false
			}
			hasAMPM = true
			pos += 2
			continue
		}
		if (t.letter == 'M' && t.count >= 3) || t.letter == 'E' {
			names := monthNames()
			if t.letter == 'E' {
				names = dayNames()
			}
			found := false
			for k, nm := range names {
				for _, cand := range []string{nm, nm[:3]} {
					if len(s)-pos >= len(cand) && strings.EqualFold(s[pos:pos+len(cand)], cand) {
						if t.letter == 'M' {
							mo = int64(k + 1)
						}
						pos += len(cand)
						found = true
						break
					}
				}
				if found {
					break
				}
			}
			if !found {
				return 0, false
			}
			continue
		}
		// Numbers: a fixed width when the next token is also a number
		// (yyyyMMdd), otherwise as many digits as there are.
		maxW := 9
		nextNumeric := ti+1 < len(toks) && toks[ti+1].letter != 0 && toks[ti+1].letter != 'a'
		if nextNumeric || t.letter == 'S' {
			maxW = t.count
			if t.letter == 'y' && t.count < 4 && t.count != 2 {
				maxW = 4
			}
		}
		start := pos
		var v int64
		for pos < len(s) && pos-start < maxW && s[pos] >= '0' && s[pos] <= '9' {
			v = v*10 + int64(s[pos]-'0')
			pos++
		}
		w := pos - start
		if w == 0 {
			return 0, false
		}
		switch t.letter {
		case 'y':
			if t.count == 2 && w == 2 {
				v += 2000
			}
			y = v
		case 'M':
			mo = v
		case 'd':
			d = v
		case 'H', 'k':
			h = v
			if t.letter == 'k' && v == 24 {
				h = 0
			}
		case 'h', 'K':
			h = v % 12
		case 'm':
			mi = v
		case 's':
			sec = v
		case 'S':
			for ; w < 6; w++ {
				v *= 10
			}
			for ; w > 6; w-- {
				v /= 10
			}
			frac = v
		case 'D', 'u':
			// Accepted and ignored: the date comes from y, M, d.
		}
	}
	if pos != len(s) {
		return 0, false
	}
	if hasAMPM && pm {
		h += 12
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	return daysFromCivil(y, mo, d)*usPerDay + h*usPerHour + mi*usPerMinute + sec*usPerSecond + frac, true
}
