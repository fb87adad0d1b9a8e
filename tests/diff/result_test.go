package diff

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Both engines' results are reduced to the same text form before they are
// compared, one string per cell:
//
//   - NULL is the bare word NULL;
//   - strings are Go-quoted ("abc"), so the string 'NULL' is "NULL";
//   - every number is rendered by value, not by type: integers exactly,
//     anything else rounded to 6 decimal places with trailing zeros
//     dropped (so DECIMAL 12.50, DOUBLE 12.5 and sqlite's REAL
//     12.4999999999 all read 12.5, and 3.0 reads 3);
//   - booleans are 1 and 0, as sqlite has no boolean type.
//
// The rounding hides float summation noise and the difference between
// Flink's exact DECIMAL and sqlite's REAL arithmetic; it does not hide a
// wrong integer division (2 vs 2.5) or a type mismatch between a string
// and a number.

const nullCell = "NULL"

// normInt renders an integer cell.
func normInt(v int64) string { return strconv.FormatInt(v, 10) }

// normFloat renders a non-integer-typed number cell.
func normFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', 6, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// normString renders a string cell.
func normString(s string) string { return strconv.Quote(s) }

// rowKey joins a row's cells; NUL never occurs in a rendered cell (strings
// are quoted), so distinct rows have distinct keys.
func rowKey(cells []string) string { return strings.Join(cells, "\x00") }

// showRow renders a row key for people.
func showRow(key string) string { return strings.ReplaceAll(key, "\x00", " | ") }

// multiset is a materialized result: row key -> multiplicity.
type multiset map[string]int

// add applies one changelog row: +I/+U add it, -U/-D remove one copy, and
// removing a row that is not there is an error (the engine retracted
// something it never emitted).
func (m multiset) add(key string, retract bool) error {
	if !retract {
		m[key]++
		return nil
	}
	if m[key] == 0 {
		return fmt.Errorf("retraction of a row not in the result: [%s]", showRow(key))
	}
	m[key]--
	if m[key] == 0 {
		delete(m, key)
	}
	return nil
}

// sorted lists the rows with repetition, sorted.
func (m multiset) sorted() []string {
	var out []string
	for k, n := range m {
		for range n {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// multisetOf counts rows.
func multisetOf(rows []string) multiset {
	m := multiset{}
	for _, r := range rows {
		m[r]++
	}
	return m
}

// maxShown bounds how many rows a mismatch report prints per list, so a
// broken query does not flood the log; the differences come first.
const maxShown = 40

// describeMismatch explains how got (streamsql) differs from want (sqlite).
// ordered compares position by position; otherwise as multisets. It
// returns "" when they agree.
func describeMismatch(got, want []string, ordered bool) string {
	if ordered {
		if slices.EqualFunc(got, want, closeRows) {
			return ""
		}
	} else {
		got, want = slices.Clone(got), slices.Clone(want)
		slices.Sort(got)
		slices.Sort(want)
		if slices.Equal(got, want) {
			return ""
		}
	}
	var b strings.Builder
	gm, wm := multisetOf(got), multisetOf(want)
	onlyGot, onlyWant := surplus(gm, wm), surplus(wm, gm)
	if !ordered && matchClose(onlyGot, onlyWant) {
		return ""
	}
	if ordered && len(onlyGot) == 0 && len(onlyWant) == 0 {
		b.WriteString("same rows, different order\n")
	}
	writeRows(&b, "rows only in streamsql", onlyGot)
	writeRows(&b, "rows only in sqlite", onlyWant)
	writeRows(&b, "streamsql result", got)
	writeRows(&b, "sqlite result", want)
	return b.String()
}

// surplus lists the rows a has more often than b.
func surplus(a, b multiset) []string {
	var out []string
	for k, n := range a {
		for range n - b[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func writeRows(b *strings.Builder, title string, rows []string) {
	fmt.Fprintf(b, "%s (%d rows):\n", title, len(rows))
	for i, r := range rows {
		if i == maxShown {
			fmt.Fprintf(b, "  ... %d more\n", len(rows)-maxShown)
			break
		}
		fmt.Fprintf(b, "  [%s]\n", showRow(r))
	}
}

// Rounding to 6 places is not enough on its own: an exact value on a tie
// (an AVG of cents over 64 rows can be 464.6159375) rounds up or down
// depending on the last bit of a float sum, and that depends on the order
// of summation (parallelism, engine). So rows that differ only in the last
// rounded digit of some numbers are accepted as equal.

// closeTolerance is one unit in the 6th decimal place, plus float slack.
const closeTolerance = 1.5e-6

// closeRows reports whether two row keys are equal but for numbers within
// the tolerance (relative for large magnitudes).
func closeRows(a, b string) bool {
	if a == b {
		return true
	}
	ca, cb := strings.Split(a, "\x00"), strings.Split(b, "\x00")
	if len(ca) != len(cb) {
		return false
	}
	for i := range ca {
		if ca[i] == cb[i] {
			continue
		}
		x, errx := strconv.ParseFloat(ca[i], 64)
		y, erry := strconv.ParseFloat(cb[i], 64)
		// Strings are quoted and NULL is a word, so neither parses.
		if errx != nil || erry != nil {
			return false
		}
		if math.Abs(x-y) > closeTolerance+1e-12*max(math.Abs(x), math.Abs(y)) {
			return false
		}
	}
	return true
}

// matchClose reports whether the rows only one side has can be paired off
// one to one as close rows (greedy: the surplus lists are small, and a
// row is close to at most a few others).
func matchClose(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(want))
	for _, g := range got {
		found := false
		for j, w := range want {
			if !used[j] && closeRows(g, w) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
