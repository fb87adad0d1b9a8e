package datagen

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/sql/types"
)

const (
	defaultRowsPerSecond = 10000
	defaultStringLength  = 100
)

// config is a validated datagen table definition.
type config struct {
	rowsPerSecond int64
	// total is the number of rows of a bounded table (number-of-rows and/or
	// the shortest sequence), or -1 when unbounded.
	total  int64
	fields []fieldSpec
}

type genKind uint8

const (
	kindRandom genKind = iota
	kindSequence
)

// fieldSpec describes how one column is generated. Integers, decimals
// (unscaled) and intervals use lo/hi; doubles use flo/fhi.
type fieldSpec struct {
	name     string
	t        types.Type
	kind     genKind
	lo, hi   int64
	flo, fhi float64
	maxPast  time.Duration
	length   int
	varLen   bool
	nullRate float64
	seed     uint64

	hasMin, hasMax, hasStart, hasEnd bool
}

// parse validates t's options and schema into a config.
func parse(t connectors.Table) (*config, error) {
	c := &config{rowsPerSecond: defaultRowsPerSecond, total: -1}
	c.fields = make([]fieldSpec, len(t.Schema.Fields))
	for i, f := range t.Schema.Fields {
		fs := &c.fields[i]
		fs.name, fs.t, fs.length = f.Name, f.Type, defaultStringLength
		if f.Type.Kind == types.String && f.Type.Length > 0 {
			fs.length = f.Type.Length
		}
		// Seeds depend on the column position and name only, so a table
		// produces the same values on every run and at any parallelism.
		fs.seed = mix(uint64(i+1)*0x9E3779B97F4A7C15 ^ fnv(f.Name))
		switch f.Type.Kind {
		case types.Interval, types.Null:
			return nil, opts.Errorf(t.Name, "fields."+f.Name+".kind", "not supported yet: datagen for type %s", f.Type)
		}
		setDefaultRange(fs)
	}
	numRows := int64(-1)
	for _, key := range opts.SortedKeys(t.Options) {
		v := t.Options[key]
		switch {
		case key == "rows-per-second":
			n, err := opts.Int64(t.Name, key, v)
			if err != nil {
				return nil, err
			}
			if n <= 0 {
				return nil, opts.Errorf(t.Name, key, "must be positive, got %d", n)
			}
			c.rowsPerSecond = n
		case key == "number-of-rows":
			n, err := opts.Int64(t.Name, key, v)
			if err != nil {
				return nil, err
			}
			if n < 0 {
				return nil, opts.Errorf(t.Name, key, "must not be negative, got %d", n)
			}
			numRows = n
		case strings.HasPrefix(key, "fields."):
			if err := parseFieldOption(t, c, key, v); err != nil {
				return nil, err
			}
		default:
			return nil, opts.Unknown(t.Name, key)
		}
	}
	c.total = numRows
	for i := range c.fields {
		fs := &c.fields[i]
		if err := checkField(t.Name, fs); err != nil {
			return nil, err
		}
		if fs.kind == kindSequence {
			n := fs.hi - fs.lo + 1
			if fs.t.Kind == types.Decimal {
				n = (fs.hi-fs.lo)/pow10(fs.t.Scale) + 1
			}
			if c.total < 0 || n < c.total {
				c.total = n
			}
		}
	}
	return c, nil
}

func parseFieldOption(t connectors.Table, c *config, key, v string) error {
	rest := key[len("fields."):]
	dot := strings.LastIndexByte(rest, '.')
	if dot <= 0 {
		return opts.Unknown(t.Name, key)
	}
	name, prop := rest[:dot], rest[dot+1:]
	idx := t.Schema.Index(name)
	if idx < 0 {
		return opts.Errorf(t.Name, key, "no column '%s' in the table", name)
	}
	fs := &c.fields[idx]
	var err error
	switch prop {
	case "kind":
		switch strings.ToLower(v) {
		case "random":
			fs.kind = kindRandom
		case "sequence":
			fs.kind = kindSequence
			switch fs.t.Kind {
			case types.Boolean, types.Timestamp, types.TimestampLTZ, types.Date:
				return opts.Errorf(t.Name, key, "kind 'sequence' is not supported for %s (only numbers and strings)", fs.t)
			}
		default:
			return opts.Errorf(t.Name, key, "invalid kind '%s' (expected random or sequence)", v)
		}
	case "min", "max", "start", "end":
		if fs.t.Kind == types.Double && (prop == "min" || prop == "max") {
			f, perr := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if perr != nil || math.IsNaN(f) {
				return opts.Errorf(t.Name, key, "invalid number '%s' for %s", v, fs.t)
			}
			if prop == "min" {
				fs.flo, fs.hasMin = f, true
			} else {
				fs.fhi, fs.hasMax = f, true
			}
			return nil
		}
		n, perr := parseNumber(fs.t, v)
		if perr != "" {
			return opts.Errorf(t.Name, key, "%s", perr)
		}
		switch prop {
		case "min":
			fs.lo, fs.hasMin = n, true
		case "max":
			fs.hi, fs.hasMax = n, true
		case "start":
			fs.lo, fs.hasStart = n, true
		case "end":
			fs.hi, fs.hasEnd = n, true
		}
	case "max-past":
		if fs.t.Kind != types.Timestamp && fs.t.Kind != types.TimestampLTZ && fs.t.Kind != types.Date {
			return opts.Errorf(t.Name, key, "max-past applies to timestamps and dates, not %s", fs.t)
		}
		fs.maxPast, err = opts.Duration(t.Name, key, v)
	case "length":
		if fs.t.Kind != types.String {
			return opts.Errorf(t.Name, key, "length applies to strings, not %s", fs.t)
		}
		var n int64
		n, err = opts.Int64(t.Name, key, v)
		if err == nil && (n < 0 || n > 1<<20) {
			err = opts.Errorf(t.Name, key, "must be between 0 and 1048576, got %d", n)
		}
		if err == nil && fs.t.Length > 0 && n > int64(fs.t.Length) {
			err = opts.Errorf(t.Name, key, "length %d exceeds %s", n, fs.t)
		}
		fs.length = int(n)
	case "var-len":
		if fs.t.Kind != types.String {
			return opts.Errorf(t.Name, key, "var-len applies to strings, not %s", fs.t)
		}
		fs.varLen, err = opts.Bool(t.Name, key, v)
	case "null-rate":
		f, perr := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if perr != nil || !(f >= 0 && f <= 1) {
			return opts.Errorf(t.Name, key, "must be a number between 0 and 1, got '%s'", v)
		}
		if f > 0 && fs.t.NotNull {
			return opts.Errorf(t.Name, key, "column '%s' is NOT NULL", fs.name)
		}
		fs.nullRate = f
	default:
		return opts.Unknown(t.Name, key)
	}
	return err
}

// parseNumber reads an integer-valued option for an integer, decimal
// (unscaled result) or string-sequence column.
func parseNumber(t types.Type, v string) (int64, string) {
	switch t.Kind {
	case types.Int:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return 0, "invalid INT '" + v + "'"
		}
		return n, ""
	case types.BigInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, "invalid BIGINT '" + v + "'"
		}
		return n, ""
	case types.String, types.Double:
		// Only sequence bounds reach here for these types; sequences step
		// by 1 and are rendered from integers.
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, "invalid sequence bound '" + v + "' (an integer)"
		}
		return n, ""
	case types.Decimal:
		n, ok := format.ParseDecimal(v, t.Precision, t.Scale)
		if !ok {
			return 0, "invalid " + t.String() + " '" + v + "'"
		}
		return n, ""
	}
	return 0, "option does not apply to " + t.String()
}

// setDefaultRange sets Flink's default random ranges: the full range of the
// type (for DOUBLE, Flink's [Double.MIN_VALUE, Double.MAX_VALUE]).
func setDefaultRange(fs *fieldSpec) {
	switch fs.t.Kind {
	case types.Int:
		fs.lo, fs.hi = math.MinInt32, math.MaxInt32
	case types.BigInt:
		fs.lo, fs.hi = math.MinInt64, math.MaxInt64
	case types.Decimal:
		p := min(fs.t.Precision, 18)
		fs.hi = pow10(p) - 1
		if p == 18 {
			fs.hi = 999_999_999_999_999_999
		}
		fs.lo = -fs.hi
	case types.Double:
		fs.flo, fs.fhi = math.SmallestNonzeroFloat64, math.MaxFloat64
	}
}

func checkField(table string, fs *fieldSpec) error {
	prefix := "fields." + fs.name + "."
	if fs.kind == kindSequence {
		if !fs.hasStart {
			return opts.Errorf(table, prefix+"start", "required for kind 'sequence'")
		}
		if !fs.hasEnd {
			return opts.Errorf(table, prefix+"end", "required for kind 'sequence'")
		}
		if fs.hasMin || fs.hasMax {
			key := prefix + "min"
			if !fs.hasMin {
				key = prefix + "max"
			}
			return opts.Errorf(table, key, "applies to kind 'random', not 'sequence'")
		}
		if fs.lo > fs.hi {
			return opts.Errorf(table, prefix+"start", "start %d is greater than end %d", fs.lo, fs.hi)
		}
		if fs.lo < 0 && fs.hi > math.MaxInt64+fs.lo-1 {
			return opts.Errorf(table, prefix+"end", "sequence is too long")
		}
		return nil
	}
	if fs.hasStart || fs.hasEnd {
		key := prefix + "start"
		if !fs.hasStart {
			key = prefix + "end"
		}
		return opts.Errorf(table, key, "applies to kind 'sequence', not 'random'")
	}
	if (fs.hasMin || fs.hasMax) && !fs.t.IsNumeric() {
		key := prefix + "min"
		if !fs.hasMin {
			key = prefix + "max"
		}
		return opts.Errorf(table, key, "min/max apply to numeric columns, not %s", fs.t)
	}
	if fs.t.Kind == types.Double && fs.flo > fs.fhi || fs.t.Kind != types.Double && fs.lo > fs.hi {
		return opts.Errorf(table, prefix+"min", "min is greater than max")
	}
	if fs.t.Kind == types.Double && math.IsInf(fs.fhi-fs.flo, 0) {
		return opts.Errorf(table, prefix+"max", "range [min, max] is too wide for DOUBLE")
	}
	return nil
}

func pow10(n int) int64 {
	v := int64(1)
	for ; n > 0; n-- {
		v *= 10
	}
	return v
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
