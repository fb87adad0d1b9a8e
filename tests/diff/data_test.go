// Package diff is a differential test of streamsql against sqlite3: the
// same deterministic tables are loaded into both, the same queries run in
// both, and the final materialized results must be equal as multisets of
// normalized rows. See diff_test.go for the entry point.
package diff

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// colKind is the kind of a generated column; each maps to one Flink and
// one sqlite type.
type colKind int

const (
	kBigInt colKind = iota
	kInt
	kDouble
	kDecimal // DECIMAL(10, 2), held as the unscaled int64
	kString
)

func (k colKind) flinkType() string {
	switch k {
	case kBigInt:
		return "BIGINT"
	case kInt:
		return "INT"
	case kDouble:
		return "DOUBLE"
	case kDecimal:
		return "DECIMAL(10, 2)"
	}
	return "STRING"
}

// sqliteType gives the column affinity. DECIMAL is REAL, not NUMERIC:
// NUMERIC affinity stores 12.00 as the integer 12, and 12 / 5 would then
// be an integer division in sqlite but not in Flink.
func (k colKind) sqliteType() string {
	switch k {
	case kBigInt, kInt:
		return "INTEGER"
	case kDouble, kDecimal:
		return "REAL"
	}
	return "TEXT"
}

func (k colKind) numeric() bool { return k != kString }

// column describes one generated column: its value range and NULL rate.
type column struct {
	name     string
	kind     colKind
	lo, hi   int64 // integer range (unscaled for DECIMAL, quarters for DOUBLE)
	nullable bool
	unique   bool // a permutation of lo..hi (row keys for ordered checks)
}

// table is a generated table: its columns and rows. A cell is nil (NULL),
// int64 (BIGINT, INT, DECIMAL unscaled), float64 or string.
type table struct {
	name string
	cols []column
	rows [][]any
}

// vocabulary of STRING values: mixed case (UPPER/LOWER, binary ordering),
// the empty string (not NULL), padding (TRIM) and the LIKE
// metacharacters (ESCAPE).
func vocabulary() []string {
	return []string{"apple", "Apple", "APPLE", "banana", "cherry", "date", "fig",
		"grape", "", " kiwi ", "kiwi", "a_b", "a%b", "ab", "x", "melon ", "Zed"}
}

// genTable builds n rows of cols from rng. Values are small on purpose:
// sqlite turns integer overflow into REAL and streamsql fails on it, so
// neither may ever happen; DOUBLEs are multiples of 1/4 so that sums are
// exact in any order.
func genTable(rng *rand.Rand, name string, n int, cols []column) *table {
	t := &table{name: name, cols: cols, rows: make([][]any, n)}
	for r := range t.rows {
		t.rows[r] = make([]any, len(cols))
	}
	vocab := vocabulary()
	for c, col := range cols {
		var perm []int
		if col.unique {
			perm = rng.Perm(n)
		}
		for r := range n {
			if col.nullable && rng.IntN(10) == 0 {
				continue // NULL at ~10%
			}
			switch {
			case col.unique:
				t.rows[r][c] = col.lo + int64(perm[r])
			case col.kind == kString:
				t.rows[r][c] = vocab[rng.IntN(len(vocab))]
			case col.kind == kDouble:
				t.rows[r][c] = float64(col.lo+rng.Int64N(col.hi-col.lo+1)) / 4
			default:
				t.rows[r][c] = col.lo + rng.Int64N(col.hi-col.lo+1)
			}
		}
	}
	return t
}

// genTables builds the table set every query runs over.
func genTables(seed uint64) []*table {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	t1 := genTable(rng, "t1", 1500, []column{
		{name: "id", kind: kBigInt, lo: 1, hi: 1500, unique: true},
		{name: "k_few", kind: kBigInt, lo: 0, hi: 4, nullable: true},
		{name: "k_many", kind: kBigInt, lo: 0, hi: 400, nullable: true},
		{name: "i", kind: kInt, lo: -100, hi: 100, nullable: true},
		{name: "d", kind: kDouble, lo: -1000, hi: 1000, nullable: true},
		{name: "m", kind: kDecimal, lo: -100000, hi: 100000, nullable: true},
		{name: "s", kind: kString, nullable: true},
		{name: "t", kind: kInt, lo: 0, hi: 999, nullable: true},
	})
	t2 := genTable(rng, "t2", 600, []column{
		{name: "id", kind: kBigInt, lo: 1001, hi: 1600, unique: true},
		{name: "k_few", kind: kBigInt, lo: 0, hi: 6, nullable: true},
		{name: "k_many", kind: kBigInt, lo: 0, hi: 400, nullable: true},
		{name: "j", kind: kInt, lo: -20, hi: 20, nullable: true},
		{name: "d", kind: kDouble, lo: -400, hi: 400, nullable: true},
		{name: "s", kind: kString, nullable: true},
	})
	return []*table{t1, t2}
}

// literal renders cell v of kind k as a SQL literal for sqlite's INSERT.
func literal(k colKind, v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		if k == kDecimal {
			return decimalText(x)
		}
		return strconv.FormatInt(x, 10)
	}
	panic(fmt.Sprintf("diff: unexpected cell %T", v))
}

// decimalText renders an unscaled DECIMAL(10, 2) value ("-12.05").
func decimalText(u int64) string {
	sign := ""
	if u < 0 {
		sign, u = "-", -u
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// csvField renders a cell for streamsql's CSV reader: NULL is an empty
// unquoted field, strings are always quoted so "" stays an empty string.
func csvField(k colKind, v any) string {
	if s, ok := v.(string); ok {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	if v == nil {
		return ""
	}
	return literal(k, v)
}

// writeCSV writes t as parts CSV files in dir/<name>/, so that a source at
// parallelism > 1 has several files to split between its subtasks.
func (t *table) writeCSV(dir string, parts int) error {
	tdir := filepath.Join(dir, t.name)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return fmt.Errorf("diff: table dir: %w", err)
	}
	bufs := make([]strings.Builder, parts)
	for r, row := range t.rows {
		b := &bufs[r%parts]
		for c, v := range row {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteString(csvField(t.cols[c].kind, v))
		}
		b.WriteByte('\n')
	}
	for p := range bufs {
		path := filepath.Join(tdir, fmt.Sprintf("part-%d.csv", p))
		if err := os.WriteFile(path, []byte(bufs[p].String()), 0o644); err != nil {
			return fmt.Errorf("diff: write %s: %w", path, err)
		}
	}
	return nil
}

// flinkDDL is the CREATE TABLE of t over its CSV directory.
func (t *table) flinkDDL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (", t.name)
	for c, col := range t.cols {
		if c > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", col.name, col.kind.flinkType())
	}
	fmt.Fprintf(&b, ") WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');", t.name)
	return b.String()
}

// sqliteLoad is the script that creates and fills t in sqlite.
func (t *table) sqliteLoad() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (", t.name)
	for c, col := range t.cols {
		if c > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", col.name, col.kind.sqliteType())
	}
	b.WriteString(");\nBEGIN;\n")
	for _, row := range t.rows {
		fmt.Fprintf(&b, "INSERT INTO %s VALUES (", t.name)
		for c, v := range row {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString(literal(t.cols[c].kind, v))
		}
		b.WriteString(");\n")
	}
	b.WriteString("COMMIT;\n")
	return b.String()
}
