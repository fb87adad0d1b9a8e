// Package format renders and parses SQL values as text, and implements the
// row formats (csv, json) that file and message connectors share.
package format

import (
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/sql/types"
)

// Display renders value i of a (logical type t) as Flink's SQL client does:
// BOOLEAN as TRUE/FALSE, DECIMAL with exactly s fraction digits, DOUBLE like
// Java's Double.toString, TIMESTAMP(p) with p fraction digits, TIMESTAMP_LTZ
// in loc, DATE as yyyy-mm-dd and day-time intervals as "+0 00:00:05.000".
// The caller handles NULL (a.IsNull(i)) itself, because the NULL spelling
// differs between outputs.
func Display(a arrow.Array, i int, t types.Type, loc *time.Location) string {
	var buf [64]byte
	return string(AppendDisplay(buf[:0], a, i, t, loc))
}

// AppendDisplay appends Display's rendering to dst (no allocation for
// fixed-width types).
func AppendDisplay(dst []byte, a arrow.Array, i int, t types.Type, loc *time.Location) []byte {
	switch arr := a.(type) {
	case *array.Boolean:
		if arr.Value(i) {
			return append(dst, "TRUE"...)
		}
		return append(dst, "FALSE"...)
	case *array.Int32:
		v := arr.Value(i)
		if t.Kind == types.Date {
			return AppendDate(dst, v)
		}
		return strconv.AppendInt(dst, int64(v), 10)
	case *array.Int64:
		v := arr.Value(i)
		switch t.Kind {
		case types.Decimal:
			return AppendDecimal(dst, v, t.Scale)
		case types.Timestamp:
			return AppendTimestamp(dst, v, t.Precision, ' ')
		case types.TimestampLTZ:
			return AppendTimestampLTZ(dst, v, t.Precision, ' ', loc)
		case types.Interval:
			return AppendInterval(dst, v)
		}
		return strconv.AppendInt(dst, v, 10)
	case *array.Float64:
		return AppendDouble(dst, arr.Value(i))
	case *array.String:
		return append(dst, arr.Value(i)...)
	case *array.Null:
		return append(dst, "NULL"...)
	}
	// Only reachable with an array type outside the physical mapping of
	// sql/types, i.e. a programming error upstream; render it rather than
	// panic so a bad batch still shows up legibly.
	return append(dst, a.ValueStr(i)...)
}

// pow10 returns 10^n for 0 <= n <= 18 (a switch, not a table, so the
// package holds no mutable state; it compiles to a jump table).
func pow10(n int) int64 {
	switch n {
	case 0:
		return 1
	case 1:
		return 10
	case 2:
		return 100
	case 3:
		return 1e3
	case 4:
		return 1e4
	case 5:
		return 1e5
	case 6:
		return 1e6
	case 7:
		return 1e7
	case 8:
		return 1e8
	case 9:
		return 1e9
	case 10:
		return 1e10
	case 11:
		return 1e11
	case 12:
		return 1e12
	case 13:
		return 1e13
	case 14:
		return 1e14
	case 15:
		return 1e15
	case 16:
		return 1e16
	case 17:
		return 1e17
	}
	return 1e18
}

// AppendDecimal appends an unscaled decimal with exactly scale fraction
// digits ("12.50", "-0.05").
func AppendDecimal(dst []byte, unscaled int64, scale int) []byte {
	if scale <= 0 {
		return strconv.AppendInt(dst, unscaled, 10)
	}
	// Work on the magnitude as uint64 so MinInt64 does not overflow.
	u := uint64(unscaled)
	if unscaled < 0 {
		dst = append(dst, '-')
		u = -u
	}
	p := uint64(pow10(min(scale, 18)))
	dst = strconv.AppendUint(dst, u/p, 10)
	dst = append(dst, '.')
	return appendPadded(dst, u%p, scale)
}

// appendPadded appends v with leading zeros to width digits.
func appendPadded(dst []byte, v uint64, width int) []byte {
	var tmp [20]byte
	n := len(tmp)
	for v > 0 || n == len(tmp) {
		n--
		tmp[n] = byte('0' + v%10)
		v /= 10
	}
	for pad := width - (len(tmp) - n); pad > 0; pad-- {
		dst = append(dst, '0')
	}
	return append(dst, tmp[n:]...)
}

// AppendDouble appends v as Java's Double.toString does: the shortest
// digits that round-trip, in plain notation when 1e-3 <= |v| < 1e7 (always
// with a fraction digit: "108.0") and as "1.0E7" / "1.234E-5" otherwise.
func AppendDouble(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(v, -1):
		return append(dst, "-Infinity"...)
	case v == 0:
		if math.Signbit(v) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	// Shortest round-trip digits in the form d.ddde±XX.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], v, 'e', -1, 64)
	var digits [24]byte
	nd := 0
	j := 0
	for ; e[j] != 'e'; j++ {
		if e[j] != '.' {
			digits[nd] = e[j]
			nd++
		}
	}
	exp, _ := strconv.Atoi(string(e[j+1:])) // strconv wrote it: always valid
	ds := digits[:nd]
	if v >= 1e-3 && v < 1e7 {
		if exp >= 0 {
			// Integer part is the first exp+1 digits (zero-padded).
			for k := 0; k <= exp; k++ {
				if k < nd {
					dst = append(dst, ds[k])
				} else {
					dst = append(dst, '0')
				}
			}
			dst = append(dst, '.')
			if exp+1 < nd {
				return append(dst, ds[exp+1:]...)
			}
			return append(dst, '0')
		}
		dst = append(dst, '0', '.')
		for k := 0; k < -exp-1; k++ {
			dst = append(dst, '0')
		}
		return append(dst, ds...)
	}
	dst = append(dst, ds[0], '.')
	if nd > 1 {
		dst = append(dst, ds[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

const (
	microsPerSecond = 1_000_000
	microsPerDay    = 86_400 * microsPerSecond
)

// AppendDate appends days since the epoch as yyyy-mm-dd.
func AppendDate(dst []byte, days int32) []byte {
	y, m, d := civilFromDays(int64(days))
	return appendYMD(dst, y, m, d)
}

// AppendTimestamp appends micros since the epoch (no zone) as
// "yyyy-mm-dd hh:mm:ss" plus exactly prec fraction digits when prec > 0; sep
// separates date and time (' ' for SQL, 'T' for ISO-8601).
func AppendTimestamp(dst []byte, micros int64, prec int, sep byte) []byte {
	days := floorDiv(micros, microsPerDay)
	rem := micros - days*microsPerDay
	y, m, d := civilFromDays(days)
	dst = appendYMD(dst, y, m, d)
	dst = append(dst, sep)
	secs := rem / microsPerSecond
	dst = append2(dst, int(secs/3600))
	dst = append(dst, ':')
	dst = append2(dst, int(secs/60%60))
	dst = append(dst, ':')
	dst = append2(dst, int(secs%60))
	return appendFraction(dst, rem%microsPerSecond, prec)
}

// AppendTimestampLTZ appends an instant (micros since the epoch) as local
// time in loc, formatted like AppendTimestamp.
func AppendTimestampLTZ(dst []byte, micros int64, prec int, sep byte, loc *time.Location) []byte {
	if loc == nil || loc == time.UTC {
		return AppendTimestamp(dst, micros, prec, sep)
	}
	sec := floorDiv(micros, microsPerSecond)
	_, offset := time.Unix(sec, 0).In(loc).Zone()
	return AppendTimestamp(dst, micros+int64(offset)*microsPerSecond, prec, sep)
}

// appendFraction appends '.' and prec digits of a microsecond fraction
// (digits beyond microseconds are zeros).
func appendFraction(dst []byte, frac int64, prec int) []byte {
	if prec <= 0 {
		return dst
	}
	dst = append(dst, '.')
	if prec <= 6 {
		return appendPadded(dst, uint64(frac/pow10(6-prec)), prec)
	}
	dst = appendPadded(dst, uint64(frac), 6)
	for k := 6; k < prec; k++ {
		dst = append(dst, '0')
	}
	return dst
}

// AppendInterval appends a day-time interval in milliseconds as Flink
// prints INTERVAL DAY TO SECOND: "+0 00:00:05.000", "-1 02:00:00.000".
func AppendInterval(dst []byte, millis int64) []byte {
	u := uint64(millis)
	if millis < 0 {
		dst = append(dst, '-')
		u = -u
	} else {
		dst = append(dst, '+')
	}
	ms := u % 1000
	s := u / 1000
	dst = strconv.AppendUint(dst, s/86400, 10)
	dst = append(dst, ' ')
	dst = append2(dst, int(s/3600%24))
	dst = append(dst, ':')
	dst = append2(dst, int(s/60%60))
	dst = append(dst, ':')
	dst = append2(dst, int(s%60))
	dst = append(dst, '.')
	return appendPadded(dst, ms, 3)
}

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

func appendYMD(dst []byte, y int64, m, d int) []byte {
	if y < 0 || y > 9999 {
		// Outside four-digit years Java prints a sign; keep it legible.
		dst = strconv.AppendInt(dst, y, 10)
	} else {
		dst = appendPadded(dst, uint64(y), 4)
	}
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	return append2(dst, d)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian
// date without going through time.Time (this is on the rendering hot path).
// Algorithm: Howard Hinnant's days_from_civil inverse.
func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// daysFromCivil converts a proleptic Gregorian date to days since the epoch.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mm := int64(m)
	if mm > 2 {
		mm -= 3
	} else {
		mm += 9
	}
	doy := (153*mm+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
