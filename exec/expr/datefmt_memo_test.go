package expr

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

var memoPatterns = []string{
	"yyyy-MM-dd", "HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyyMMdd'T'HH.SSS", "EEE, d MMM yy h:mm a",
	"ss.SSSSSS", "S", "SS", "SSSSSSSS", "D u E", "kk KK hh a", "MMMM yyyy", "'literal only'", "",
	"yyyy", "mm", "HH", "a", "yyyy-MM-dd a", "h", "K", "k",
}

func TestFormatSpan(t *testing.T) {
	for _, c := range []struct {
		pattern string
		span    int64
	}{
		{"yyyy-MM-dd", usPerDay}, {"HH:mm", usPerMinute}, {"yyyy-MM-dd HH:mm:ss", usPerSecond},
		{"h a", usPerHour}, {"S", 100_000}, {"SSS", 1000}, {"SSSSSS", 1}, {"SSSSSSSSS", 1},
		{"'HH:mm'", usPerDay}, {"", usPerDay}, {"EEE D u", usPerDay},
	} {
		toks, err := parseDateFormat(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatSpan(toks); got != c.span {
			t.Errorf("formatSpan(%q) = %d, want %d", c.pattern, got, c.span)
		}
	}
	if got := formatSpan([]fmtTok{{letter: 'Q', count: 1}}); got != 0 {
		t.Errorf("formatSpan of an unknown letter = %d, want 0", got)
	}
}

// memoValues are wall-clock micros in the order a column might hold them:
// runs within one span (the memo hits), the instants just before, at and
// after day, hour (noon), minute, second and millisecond edges (also
// before 1970 and across a year's end), jumps back and forth, and extremes
// beyond the remembered range.
func memoValues(rng *rand.Rand) []int64 {
	edges := []int64{0, mustTS("2024-12-31 23:59:59.999999") + 1, mustTS("1969-12-31 00:00:00"), mustTS("1900-03-01 00:00:00"),
		mustTS("2000-02-29 12:00:00"), mustTS("2024-03-10 07:00:00"), -usPerDay, -1, usPerDay}
	var vs []int64
	for range 3000 {
		switch rng.IntN(7) {
		case 0: // around an edge
			e := edges[rng.IntN(len(edges))]
			unit := []int64{usPerDay, usPerHour, usPerMinute, usPerSecond, 1000, 1}[rng.IntN(6)]
			e += unit * int64(rng.IntN(5)-2)
			for d := int64(-2); d <= 2; d++ {
				vs = append(vs, e+d)
			}
		case 1: // a random walk of small steps
			v := rng.Int64N(200*365*usPerDay) - 100*365*usPerDay
			for range 20 {
				v += rng.Int64N(3*usPerSecond) - usPerSecond/2
				vs = append(vs, v)
			}
		case 2: // back and forth over a minute edge
			e := rng.Int64N(1000*usPerDay)/usPerMinute*usPerMinute - 500*usPerDay
			for range 6 {
				vs = append(vs, e-1, e, e-usPerMinute, e+usPerMinute-1)
			}
		case 3:
			vs = append(vs, rng.Int64())
		case 5: // over an hour edge (noon, midnight, ...)
			e := rng.Int64N(1000*usPerDay)/usPerHour*usPerHour - 500*usPerDay
			vs = append(vs, e-1, e, e+usPerHour-1, e+usPerHour)
		case 4:
			vs = append(vs, []int64{math.MinInt64, math.MaxInt64, memoRange - 1, memoRange, -memoRange, -memoRange + 1,
				memoRange - 2, math.MinInt64 + 1, math.MaxInt64 - 1}[rng.IntN(9)])
		default:
			if len(vs) > 0 {
				vs = append(vs, vs[rng.IntN(len(vs))]) // a value seen before
			}
		}
	}
	return vs
}

// TestFormatMemoMatchesFormatting: remembered outputs equal fresh ones for
// every pattern over values that cross every kind of edge.
func TestFormatMemoMatchesFormatting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range memoPatterns {
		toks, err := parseDateFormat(p)
		if err != nil {
			t.Fatal(err)
		}
		var m formatMemo
		m.reset(toks)
		hits := 0
		for i, us := range memoValues(rng) {
			if m.valid && us >= m.lo && us < m.hi {
				hits++
			}
			got := string(m.appendFormatted([]byte("prefix"), toks, us))
			want := string(appendFormatted([]byte("prefix"), toks, us))
			if got != want {
				t.Fatalf("%q, value %d (#%d): %q, want %q", p, us, i, got, want)
			}
		}
		if hits == 0 {
			t.Errorf("%q: the memo never hit", p)
		}
	}
}

// TestDateFormatMemoColumns: DATE_FORMAT over TIMESTAMP, TIMESTAMP_LTZ
// (a zone with DST changes) and STRING values, with constant and
// per-row patterns, and FROM_UNIXTIME, give in every row what formatting
// that row alone gives, over several batches through one compiled program.
func TestDateFormatMemoColumns(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	schema := types.NewSchema(types.Field{Name: "ts", Type: types.TimestampOf(6)}, types.Field{Name: "ltz", Type: types.TimestampLTZOf(6)},
		types.Field{Name: "pat", Type: types.TypeString}, types.Field{Name: "sec", Type: types.TypeBigInt},
		types.Field{Name: "str", Type: types.TypeString})
	type col struct {
		sql  string
		want func(ts, ltz int64, pat string, sec int64, str string) (string, bool)
	}
	format := func(p string, us int64) string {
		toks, err := parseDateFormat(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(appendFormatted(nil, toks, us))
	}
	var cols []col
	for _, p := range []string{"yyyy-MM-dd", "HH:mm", "yyyy-MM-dd HH:mm:ss.SSS", "h a"} {
		cols = append(cols,
			col{fmt.Sprintf("DATE_FORMAT(ts, '%s')", p), func(ts, _ int64, _ string, _ int64, _ string) (string, bool) {
				return format(p, ts), true
			}},
			col{fmt.Sprintf("DATE_FORMAT(ltz, '%s')", p), func(_, ltz int64, _ string, _ int64, _ string) (string, bool) {
				return format(p, ltzToLocal(loc, ltz)), true
			}},
			col{fmt.Sprintf("FROM_UNIXTIME(sec, '%s')", p), func(_, _ int64, _ string, sec int64, _ string) (string, bool) {
				return format(p, ltzToLocal(loc, sec*usPerSecond)), true
			}})
	}
	cols = append(cols,
		col{"DATE_FORMAT(ts, pat)", func(ts, _ int64, pat string, _ int64, _ string) (string, bool) {
			return format(pat, ts), true
		}},
		col{"FROM_UNIXTIME(sec)", func(_, _ int64, _ string, sec int64, _ string) (string, bool) {
			return format("yyyy-MM-dd HH:mm:ss", ltzToLocal(loc, sec*usPerSecond)), true
		}},
		col{"DATE_FORMAT(str, 'yyyy-MM-dd HH')", func(_, _ int64, _ string, _ int64, str string) (string, bool) {
			us, _, fine := parseTimestamp(str)
			if !fine {
				return "", false
			}
			return format("yyyy-MM-dd HH", us), true
		}})
	var exprs []Expr
	for _, c := range cols {
		pe, err := parseExpr(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		e, err := Bind(pe, fakeScope{schema}, BindOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		exprs = append(exprs, e)
	}
	prog, err := Compile(exprs, &EvalEnv{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	// The DST changes of 2024 in New York, and a random walk around them.
	dst := []int64{mustTS("2024-03-10 07:00:00"), mustTS("2024-11-03 06:00:00")}
	pats := []string{"yyyy-MM-dd", "HH:mm", "ss"}
	for b := 0; b < 6; b++ {
		n := 500
		ts, ltz, sec := make([]int64, n), make([]int64, n), make([]int64, n)
		pat, str := make([]string, n), make([]string, n)
		v := dst[b%2] - 2*usPerHour + rng.Int64N(usPerHour)
		for i := range n {
			v += rng.Int64N(40*usPerSecond) - 10*usPerSecond
			if rng.IntN(50) == 0 {
				v = -v // before 1970 too
			}
			ts[i], ltz[i], sec[i] = v, v, v/usPerSecond
			pat[i] = pats[i/50%len(pats)]
			str[i] = time.UnixMicro(v).UTC().Format("2006-01-02 15:04:05.000000")
			if rng.IntN(40) == 0 {
				str[i] = "not a time"
			}
		}
		rec := batch.NewRecord(schema, []arrow.Array{batch.Int64Array(ts, nil), batch.Int64Array(ltz, nil),
			batch.StringArray(pat, nil), batch.Int64Array(sec, nil), batch.StringArray(str, nil)}, n)
		out, err := prog.Eval(rec)
		if err != nil {
			t.Fatal(err)
		}
		for c, a := range out {
			s := a.(*array.String)
			for i := range n {
				want, valid := cols[c].want(ts[i], ltz[i], pat[i], sec[i], str[i])
				if s.IsNull(i) != !valid || valid && s.Value(i) != want {
					t.Fatalf("batch %d, %s, row %d: %q (null %v), want %q (null %v)", b, cols[c].sql, i, s.Value(i), s.IsNull(i), want, !valid)
				}
			}
			a.Release()
		}
	}
}

// BenchmarkDateFormat: DATE_FORMAT of event times a few ms apart, as
// Nexmark q16's day and minute.
func BenchmarkDateFormat(b *testing.B) {
	schema := types.NewSchema(types.Field{Name: "ts", Type: types.TimestampOf(3)})
	ts := make([]int64, benchRows)
	v := mustTS("2024-03-15 23:59:00")
	for i := range ts {
		v += 20_000 // 20 ms
		ts[i] = v
	}
	rec := batch.NewRecord(schema, []arrow.Array{batch.Int64Array(ts, nil)}, benchRows)
	defer rec.Release()
	for _, p := range []string{"yyyy-MM-dd", "HH:mm", "yyyy-MM-dd HH:mm:ss.SSS"} {
		b.Run(p, func(b *testing.B) {
			pe, err := parseExpr(fmt.Sprintf("DATE_FORMAT(ts, '%s')", p))
			if err != nil {
				b.Fatal(err)
			}
			e, err := Bind(pe, fakeScope{schema}, BindOptions{})
			if err != nil {
				b.Fatal(err)
			}
			prog, err := Compile([]Expr{e}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out, err := prog.Eval(rec)
				if err != nil {
					b.Fatal(err)
				}
				out[0].Release()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
		})
	}
}
