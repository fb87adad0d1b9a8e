package expr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Calendar arithmetic on day numbers, so that per-row date/time work needs
// no time.Time (proleptic Gregorian, as Java's java.time).

const (
	usPerSecond = int64(1_000_000)
	usPerMinute = 60 * usPerSecond
	usPerHour   = 60 * usPerMinute
	usPerDay    = 24 * usPerHour
	msPerDay    = int64(86_400_000)
)

// daysFromCivil returns days since 1970-01-01 of y-m-d.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysInMonth(y, m int64) int64 {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseTimestamp reads 'yyyy-MM-dd[( |T)HH:mm[:ss[.fffffffff]]]' into
// microseconds; digits is the number of fractional digits written.
func parseTimestamp(s string) (us int64, digits int, ok bool) {
	s = strings.TrimSpace(s)
	datePart, timePart := s, ""
	if i := strings.IndexAny(s, " T"); i >= 0 {
		datePart, timePart = s[:i], strings.TrimSpace(s[i+1:])
	}
	d, ok := parseDate(datePart)
	if !ok {
		return 0, 0, false
	}
	us = int64(d) * usPerDay
	if timePart == "" {
		return us, 0, true
	}
	hms, frac, hasFrac := strings.Cut(timePart, ".")
	parts := strings.Split(hms, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, false
	}
	limits := []int64{24, 60, 60}
	units := []int64{usPerHour, usPerMinute, usPerSecond}
	for i, p := range parts {
		if len(p) == 0 || len(p) > 2 {
			return 0, 0, false
		}
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || n >= limits[i] {
			return 0, 0, false
		}
		us += n * units[i]
	}
	if hasFrac {
		if len(frac) == 0 || len(frac) > 9 || len(parts) != 3 {
			return 0, 0, false
		}
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		digits = len(frac)
		for i := digits; i < 6; i++ {
			n *= 10
		}
		for i := digits; i > 6; i-- {
			n /= 10
		}
		us += n
	}
	return us, digits, true
}

// parseDate reads 'yyyy-MM-dd' (one- or two-digit month and day accepted).
func parseDate(s string) (int32, bool) {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 4 || len(parts[1]) == 0 || len(parts[1]) > 2 || len(parts[2]) == 0 || len(parts[2]) > 2 {
		return 0, false
	}
	var v [3]int64
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		v[i] = n
	}
	if v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > daysInMonth(v[0], v[1]) {
		return 0, false
	}
	return int32(daysFromCivil(v[0], v[1], v[2])), true
}

func pad(b []byte, n int64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], n, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func appendDate(b []byte, days int64) []byte {
	y, m, d := civilFromDays(days)
	b = pad(b, y, 4)
	b = append(b, '-')
	b = pad(b, m, 2)
	b = append(b, '-')
	return pad(b, d, 2)
}

// appendTimestamp renders micros as 'yyyy-MM-dd HH:mm:ss[.f...]' with
// precision fractional digits (Flink's CAST to STRING).
func appendTimestamp(b []byte, us int64, precision int) []byte {
	days := floorDiv(us, usPerDay)
	rem := us - days*usPerDay
	b = appendDate(b, days)
	b = append(b, ' ')
	b = pad(b, rem/usPerHour, 2)
	b = append(b, ':')
	b = pad(b, rem/usPerMinute%60, 2)
	b = append(b, ':')
	b = pad(b, rem/usPerSecond%60, 2)
	if precision > 0 {
		frac := rem % usPerSecond
		b = append(b, '.')
		digits := pad(nil, frac, 6)
		for len(digits) < precision {
			digits = append(digits, '0')
		}
		b = append(b, digits[:precision]...)
	}
	return b
}

func formatTimestamp(us int64, precision int) string {
	return string(appendTimestamp(nil, us, precision))
}

func formatDate(days int32) string { return string(appendDate(nil, int64(days))) }

// formatIntervalMillis renders a day-time interval as Flink prints one:
// +D HH:mm:ss.SSS.
func formatIntervalMillis(ms int64) string {
	sign := byte('+')
	if ms < 0 {
		sign, ms = '-', -ms
	}
	b := []byte{sign}
	b = strconv.AppendInt(b, ms/msPerDay, 10)
	b = append(b, ' ')
	rem := ms % msPerDay
	b = pad(b, rem/3_600_000, 2)
	b = append(b, ':')
	b = pad(b, rem/60_000%60, 2)
	b = append(b, ':')
	b = pad(b, rem/1000%60, 2)
	b = append(b, '.')
	return string(pad(b, rem%1000, 3))
}

// parseInterval converts INTERVAL 'value' unit into milliseconds. Only
// day-time units: year-month intervals need calendar arithmetic per value.
func parseInterval(value, unit string) (int64, error) {
	unit = strings.ToUpper(strings.TrimSpace(unit))
	v := strings.TrimSpace(value)
	neg := false
	if strings.HasPrefix(v, "-") {
		neg, v = true, v[1:]
	} else if strings.HasPrefix(v, "+") {
		v = v[1:]
	}
	var ms int64
	var err error
	switch unit {
	case "YEAR", "MONTH", "QUARTER", "YEAR TO MONTH":
		return 0, fmt.Errorf("not supported yet: %s intervals", unit)
	case "DAY":
		ms, err = scaled(v, msPerDay)
	case "HOUR":
		ms, err = scaled(v, 3_600_000)
	case "MINUTE":
		ms, err = scaled(v, 60_000)
	case "SECOND":
		ms, err = scaled(v, 1000)
	case "MILLISECOND":
		ms, err = scaled(v, 1)
	case "DAY TO HOUR", "DAY TO MINUTE", "DAY TO SECOND":
		d, rest, ok := strings.Cut(v, " ")
		if !ok {
			return 0, fmt.Errorf("invalid INTERVAL '%s' %s", value, unit)
		}
		var days int64
		if days, err = strconv.ParseInt(d, 10, 64); err == nil {
			ms, err = clock(rest, unit[len("DAY TO "):])
			ms += days * msPerDay
		}
	case "HOUR TO MINUTE", "HOUR TO SECOND", "MINUTE TO SECOND":
		first, last, _ := strings.Cut(unit, " TO ")
		if first == "MINUTE" {
			v = "0:" + v
		}
		ms, err = clock(v, last)
	default:
		return 0, fmt.Errorf("unknown interval unit %s", unit)
	}
	if err != nil {
		return 0, fmt.Errorf("invalid INTERVAL '%s' %s", value, unit)
	}
	if neg {
		ms = -ms
	}
	return ms, nil
}

// scaled parses a non-negative decimal number (e.g. "1.5") times unit ms.
func scaled(v string, unit int64) (int64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f*float64(unit) > 9e18 {
		return 0, fmt.Errorf("bad number %q", v)
	}
	return int64(f*float64(unit) + 0.5), nil
}

// clock parses H:mm[:ss[.fff]] down to the given last unit.
func clock(v, last string) (int64, error) {
	parts := strings.Split(v, ":")
	want := map[string]int{"HOUR": 1, "MINUTE": 2, "SECOND": 3}[last]
	if len(parts) != want {
		return 0, fmt.Errorf("bad clock %q", v)
	}
	units := []int64{3_600_000, 60_000, 1000}
	var ms int64
	for i, p := range parts {
		n, err := scaled(p, units[i])
		if err != nil {
			return 0, err
		}
		ms += n
	}
	return ms, nil
}

// localOffsetMicros returns the offset of loc at the UTC instant us.
func localOffsetMicros(loc *time.Location, us int64) int64 {
	if loc == nil || loc == time.UTC {
		return 0
	}
	_, off := time.UnixMicro(us).In(loc).Zone()
	return int64(off) * usPerSecond
}

// ltzToLocal converts an instant to wall-clock micros in loc.
func ltzToLocal(loc *time.Location, us int64) int64 { return us + localOffsetMicros(loc, us) }

// localToLTZ converts wall-clock micros in loc to an instant (for gaps and
// overlaps, as time.Date resolves them).
func localToLTZ(loc *time.Location, local int64) int64 {
	if loc == nil || loc == time.UTC {
		return local
	}
	days := floorDiv(local, usPerDay)
	rem := local - days*usPerDay
	y, m, d := civilFromDays(days)
	t := time.Date(int(y), time.Month(m), int(d), int(rem/usPerHour), int(rem/usPerMinute%60),
		int(rem/usPerSecond%60), int(rem%usPerSecond)*1000, loc)
	return t.UnixMicro()
}
