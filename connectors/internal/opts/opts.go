// Package opts parses connector option values the way Flink writes them
// (durations such as '10 s', memory sizes such as '128MB', booleans) and
// builds *connectors.OptionError values that name the offending option.
package opts

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors"
)

// Errorf returns an *connectors.OptionError for option key of table.
func Errorf(table, key, format string, args ...any) error {
	return &connectors.OptionError{Table: table, Option: key, Msg: fmt.Sprintf(format, args...)}
}

// Unknown returns the error for an option the connector does not know.
func Unknown(table, key string) error {
	return Errorf(table, key, "unknown option")
}

// NotSupported returns the error for a Flink option we do not implement yet.
func NotSupported(table, key string) error {
	return Errorf(table, key, "not supported yet: option '%s'", key)
}

// SortedKeys returns the keys of m in order, so validation reports the same
// option first on every run.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Bool parses 'true'/'false' (case-insensitive), as Flink does.
func Bool(table, key, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, Errorf(table, key, "invalid boolean '%s' (expected true or false)", v)
}

// Int64 parses a decimal integer.
func Int64(table, key, v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, Errorf(table, key, "invalid integer '%s'", v)
	}
	return n, nil
}

// Char parses a single-character option such as a delimiter; Flink also
// accepts the escaped forms '\t' and unicode escapes, of which we take '\t'.
func Char(table, key, v string) (byte, error) {
	if v == `\t` {
		return '\t', nil
	}
	if len(v) != 1 {
		return 0, Errorf(table, key, "must be a single character, got '%s'", v)
	}
	return v[0], nil
}

// durationUnit returns the length of a Flink duration unit.
func durationUnit(u string) (time.Duration, bool) {
	switch u {
	case "ns", "nano", "nanos", "nanosecond", "nanoseconds":
		return time.Nanosecond, true
	case "us", "µs", "micro", "micros", "microsecond", "microseconds":
		return time.Microsecond, true
	case "", "ms", "milli", "millis", "millisecond", "milliseconds":
		return time.Millisecond, true
	case "s", "sec", "secs", "second", "seconds":
		return time.Second, true
	case "m", "min", "mins", "minute", "minutes":
		return time.Minute, true
	case "h", "hour", "hours":
		return time.Hour, true
	case "d", "day", "days":
		return 24 * time.Hour, true
	}
	return 0, false
}

// Duration parses Flink's duration syntax: a number and an optional unit
// ('500 ms', '10s', '1 min', '2 h'); a bare number is milliseconds.
func Duration(table, key, v string) (time.Duration, error) {
	num, unit := splitNumber(v)
	d, ok := durationUnit(strings.ToLower(unit))
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 {
		return 0, Errorf(table, key, "invalid duration '%s' (e.g. '500 ms', '10 s', '5 min')", v)
	}
	if n > math.MaxInt64/int64(d) {
		return 0, Errorf(table, key, "duration '%s' is too large", v)
	}
	return time.Duration(n) * d, nil
}

// memoryUnit returns the size of a Flink memory unit (powers of 1024).
func memoryUnit(u string) (int64, bool) {
	switch u {
	case "", "b", "bytes":
		return 1, true
	case "k", "kb", "kibibytes":
		return 1 << 10, true
	case "m", "mb", "mebibytes":
		return 1 << 20, true
	case "g", "gb", "gibibytes":
		return 1 << 30, true
	case "t", "tb", "tebibytes":
		return 1 << 40, true
	}
	return 0, false
}

// MemorySize parses Flink's memory size syntax ('128MB', '64 kb', '1g');
// a bare number is bytes. Units are powers of 1024, as in Flink.
func MemorySize(table, key, v string) (int64, error) {
	num, unit := splitNumber(v)
	m, ok := memoryUnit(strings.ToLower(unit))
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 {
		return 0, Errorf(table, key, "invalid memory size '%s' (e.g. '128MB', '64 kb')", v)
	}
	if n > math.MaxInt64/m {
		return 0, Errorf(table, key, "memory size '%s' is too large", v)
	}
	return n * m, nil
}

func splitNumber(v string) (num, unit string) {
	v = strings.TrimSpace(v)
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	return v[:i], strings.TrimSpace(v[i:])
}
