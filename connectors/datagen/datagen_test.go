package datagen

import (
	"context"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

var fixedNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func table(schema types.Schema, options map[string]string) connectors.Table {
	return connectors.Table{
		Name: "gen", Schema: schema, Options: options,
		Env: connectors.Env{Now: func() time.Time { return fixedNow }, Location: time.UTC},
	}
}

// readAll runs subtask of parallelism to the end and returns its batches.
func readAll(t *testing.T, tb connectors.Table, subtask, parallelism int) []batch.Batch {
	t.Helper()
	src, err := New().NewSource(tb)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if !src.Bounded() {
		t.Fatal("expected a bounded source")
	}
	ctx := context.Background()
	if err := src.Open(ctx, subtask, parallelism); err != nil {
		t.Fatal(err)
	}
	var out []batch.Batch
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() > maxBatchRows {
			t.Fatalf("batch of %d rows exceeds %d", b.Len(), maxBatchRows)
		}
		out = append(out, b)
	}
}

func TestOptionErrorsNameTheOption(t *testing.T) {
	schema := types.NewSchema(
		types.Field{Name: "id", Type: types.TypeBigInt},
		types.Field{Name: "name", Type: types.TypeString},
		types.Field{Name: "ts", Type: types.TimestampOf(3)},
		types.Field{Name: "flag", Type: types.TypeBoolean},
		types.Field{Name: "nn", Type: types.TypeInt.WithNotNull(true)},
	)
	cases := map[string]map[string]string{
		"fields.id.kind":                {"fields.id.kind": "foo"},
		"fields.nope.min":               {"fields.nope.min": "1"},
		"fields.id.min":                 {"fields.id.min": "10", "fields.id.max": "1"},
		"fields.id.start":               {"fields.id.kind": "sequence", "fields.id.end": "5"},
		"fields.id.end":                 {"fields.id.kind": "sequence", "fields.id.start": "5"},
		"rows-per-second":               {"rows-per-second": "0"},
		"number-of-rows":                {"number-of-rows": "many"},
		"what":                          {"what": "1"},
		"fields.id.colour":              {"fields.id.colour": "red"},
		"fields.name.length":            {"fields.name.length": "-1"},
		"fields.ts.max-past":            {"fields.ts.max-past": "5 parsecs"},
		"fields.id.null-rate":           {"fields.id.null-rate": "1.5"},
		"fields.nn.null-rate":           {"fields.nn.null-rate": "0.5"},
		"fields.flag.kind":              {"fields.flag.kind": "sequence"},
		"fields.ts.min":                 {"fields.ts.min": "1"},
		"fields.id.max-past":            {"fields.id.max-past": "1 s"},
		"fields.nn.max":                 {"fields.nn.max": "99999999999"},
		"fields.id.start ":              {"fields.id.kind": "sequence", "fields.id.start": "9", "fields.id.end": "1"},
		"fields.name.start":             {"fields.name.start": "1"},
		"fields.id.var-len":             {"fields.id.var-len": "true"},
		"fields.name.var-len":           {"fields.name.var-len": "sometimes"},
		"fields.id.min (with sequence)": {"fields.id.kind": "sequence", "fields.id.start": "1", "fields.id.end": "2", "fields.id.min": "1"},
	}
	for want, options := range cases {
		err := New().Validate(table(schema, options))
		var oe *connectors.OptionError
		if !errors.As(err, &oe) {
			t.Errorf("%v: got %v, want an OptionError", options, err)
			continue
		}
		wantKey := strings.Fields(want)[0]
		if oe.Option != wantKey || oe.Table != "gen" {
			t.Errorf("%v: error names option %q (%v), want %q", options, oe.Option, err, wantKey)
		}
	}
	if err := New().Validate(table(schema, map[string]string{"fields.ID.min": "1", "rows-per-second": "5"})); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
}

func TestBoundedSplitIsExact(t *testing.T) {
	schema := types.NewSchema(
		types.Field{Name: "id", Type: types.TypeBigInt},
		types.Field{Name: "v", Type: types.TypeInt},
	)
	opts := map[string]string{
		"number-of-rows": "10007", "rows-per-second": "1000000000",
		"fields.id.kind": "sequence", "fields.id.start": "1", "fields.id.end": "1000000",
	}
	collect := func(parallelism int) (ids []int64, vals []int32) {
		for st := 0; st < parallelism; st++ {
			for _, b := range readAll(t, table(schema, opts), st, parallelism) {
				ids = append(ids, b.Column(0).(*array.Int64).Int64Values()...)
				vals = append(vals, b.Column(1).(*array.Int32).Int32Values()...)
				b.Release()
			}
		}
		return ids, vals
	}
	ids1, vals1 := collect(1)
	ids3, vals3 := collect(3)
	for _, ids := range [][]int64{ids1, ids3} {
		if len(ids) != 10007 {
			t.Fatalf("got %d rows, want 10007", len(ids))
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for i, id := range ids {
			if id != int64(i+1) {
				t.Fatalf("sequence has a gap or duplicate at %d: %d", i, id)
			}
		}
	}
	// Random values depend on the row index only: the same multiset at any
	// parallelism (and concatenated in subtask order, the same sequence).
	for i := range vals1 {
		if vals1[i] != vals3[i] {
			t.Fatalf("row %d: value %d at parallelism 1, %d at parallelism 3", i, vals1[i], vals3[i])
		}
	}
}

func TestSequenceExhaustionEndsTable(t *testing.T) {
	schema := types.NewSchema(
		types.Field{Name: "s", Type: types.TypeString},
		types.Field{Name: "d", Type: types.DecimalOf(6, 2)},
	)
	opts := map[string]string{
		"rows-per-second": "1000000000",
		"fields.s.kind":   "sequence", "fields.s.start": "5", "fields.s.end": "24",
		"fields.d.kind": "sequence", "fields.d.start": "1.50", "fields.d.end": "100",
	}
	var got []string
	var decs []int64
	for st := 0; st < 4; st++ {
		for _, b := range readAll(t, table(schema, opts), st, 4) {
			for i := 0; i < b.Len(); i++ {
				got = append(got, b.Column(0).(*array.String).Value(i))
				decs = append(decs, b.Column(1).(*array.Int64).Value(i))
			}
			b.Release()
		}
	}
	if len(got) != 20 {
		t.Fatalf("got %d rows, want 20 (the shorter sequence)", len(got))
	}
	for i, s := range got {
		if want := strconv.Itoa(5 + i); s != want {
			t.Errorf("row %d: %q, want %q", i, s, want)
		}
		if decs[i] != 150+int64(i)*100 {
			t.Errorf("row %d: decimal %d, want %d", i, decs[i], 150+int64(i)*100)
		}
	}
}

func TestRandomRangesAndNulls(t *testing.T) {
	schema := types.NewSchema(
		types.Field{Name: "i", Type: types.TypeInt},
		types.Field{Name: "d", Type: types.TypeDouble},
		types.Field{Name: "m", Type: types.DecimalOf(5, 2)},
		types.Field{Name: "s", Type: types.TypeString},
		types.Field{Name: "ts", Type: types.TimestampOf(3)},
		types.Field{Name: "dt", Type: types.TypeDate},
		types.Field{Name: "b", Type: types.TypeBoolean},
	)
	opts := map[string]string{
		"number-of-rows": "5000", "rows-per-second": "1000000000",
		"fields.i.min": "-3", "fields.i.max": "3",
		"fields.d.min": "1.5", "fields.d.max": "2.5",
		"fields.m.min": "-1.25", "fields.m.max": "1.25",
		"fields.s.length": "20", "fields.s.null-rate": "0.3",
		"fields.ts.max-past": "1 h", "fields.dt.max-past": "3 d",
	}
	nowMicros := fixedNow.UnixMicro()
	today := int32(fixedNow.Unix() / 86400)
	seenI := map[int32]bool{}
	nulls, trues, rows := 0, 0, 0
	for _, b := range readAll(t, table(schema, opts), 0, 1) {
		for r := 0; r < b.Len(); r++ {
			rows++
			iv := b.Column(0).(*array.Int32).Value(r)
			seenI[iv] = true
			if iv < -3 || iv > 3 {
				t.Fatalf("INT %d outside [-3, 3]", iv)
			}
			if d := b.Column(1).(*array.Float64).Value(r); d < 1.5 || d > 2.5 {
				t.Fatalf("DOUBLE %v outside [1.5, 2.5]", d)
			}
			if m := b.Column(2).(*array.Int64).Value(r); m < -125 || m > 125 {
				t.Fatalf("DECIMAL %d outside [-125, 125]", m)
			}
			if b.Column(3).IsNull(r) {
				nulls++
			} else if s := b.Column(3).(*array.String).Value(r); len(s) != 20 || strings.Trim(s, "0123456789abcdef") != "" {
				t.Fatalf("string %q is not 20 hex digits", s)
			}
			ts := b.Column(4).(*array.Int64).Value(r)
			if ts > nowMicros || ts < nowMicros-3600e6 || ts%1000 != 0 {
				t.Fatalf("TIMESTAMP(3) %d outside the last hour or not millisecond-truncated", ts)
			}
			if dt := b.Column(5).(*array.Int32).Value(r); dt > today || dt < today-3 {
				t.Fatalf("DATE %d outside [%d, %d]", dt, today-3, today)
			}
			if b.Column(6).(*array.Boolean).Value(r) {
				trues++
			}
		}
		b.Release()
	}
	if rows != 5000 || len(seenI) != 7 {
		t.Errorf("rows = %d, distinct INTs = %d; want 5000 and 7", rows, len(seenI))
	}
	if nulls < 1200 || nulls > 1800 {
		t.Errorf("null-rate 0.3 gave %d NULLs of 5000", nulls)
	}
	if trues < 2000 || trues > 3000 {
		t.Errorf("BOOLEAN gave %d TRUE of 5000", trues)
	}
}

func TestRateLimitAndCancel(t *testing.T) {
	schema := types.NewSchema(types.Field{Name: "i", Type: types.TypeBigInt})
	src, err := New().NewSource(table(schema, map[string]string{"rows-per-second": "200"}))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.Bounded() {
		t.Fatal("datagen without number-of-rows must be unbounded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := src.Open(ctx, 1, 2); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	total := 0
	for i := 0; i < 5; i++ {
		b, err := src.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += b.Len()
		b.Release()
	}
	// This subtask's share is 100 rows/s: it may not run ahead of that.
	if limit := int(time.Since(start).Seconds()*100) + 1; total > limit {
		t.Errorf("emitted %d rows, rate limit allows %d", total, limit)
	}
	cancel()
	for {
		b, err := src.Next(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("after cancel: %v, want context.Canceled", err)
			}
			break
		}
		b.Release() // rows that were already due may still come out
	}
}

func TestNoSink(t *testing.T) {
	if _, err := New().NewSink(table(types.NewSchema(), nil)); err == nil {
		t.Error("datagen accepted a sink")
	}
}

func BenchmarkDatagen(b *testing.B) {
	schema := types.NewSchema(
		types.Field{Name: "a", Type: types.TypeInt},
		types.Field{Name: "b", Type: types.TypeBigInt},
		types.Field{Name: "c", Type: types.TypeDouble},
		types.Field{Name: "d", Type: types.DecimalOf(10, 2)},
	)
	src, err := New().NewSource(table(schema, map[string]string{"rows-per-second": "1000000000000"}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := src.Open(ctx, 0, 1); err != nil {
		b.Fatal(err)
	}
	rows := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bt, err := src.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rows += bt.Len()
		bt.Release()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func TestClockRelativeTypesUseSessionZone(t *testing.T) {
	schema := types.NewSchema(
		types.Field{Name: "ts", Type: types.TimestampOf(6)},
		types.Field{Name: "ltz", Type: types.TimestampLTZOf(6)},
		types.Field{Name: "s", Type: types.TypeString},
	)
	tb := table(schema, map[string]string{"number-of-rows": "200", "rows-per-second": "1000000000",
		"fields.s.var-len": "true", "fields.s.length": "40"})
	tb.Env.Location = time.FixedZone("X", -2*3600)
	lengths := map[int]bool{}
	for _, b := range readAll(t, tb, 0, 1) {
		for r := 0; r < b.Len(); r++ {
			// max-past defaults to 0: exactly "now", as wall clock and instant.
			if got := b.Column(0).(*array.Int64).Value(r); got != fixedNow.UnixMicro()-2*3600e6 {
				t.Fatalf("TIMESTAMP %d is not the session-zone wall clock", got)
			}
			if got := b.Column(1).(*array.Int64).Value(r); got != fixedNow.UnixMicro() {
				t.Fatalf("TIMESTAMP_LTZ %d is not the current instant", got)
			}
			n := len(b.Column(2).(*array.String).Value(r))
			if n < 1 || n > 40 {
				t.Fatalf("var-len string of length %d", n)
			}
			lengths[n] = true
		}
		b.Release()
	}
	if len(lengths) < 10 {
		t.Errorf("var-len produced only %d distinct lengths", len(lengths))
	}
}

func TestUnboundedSubtasksDiffer(t *testing.T) {
	schema := types.NewSchema(types.Field{Name: "v", Type: types.TypeBigInt})
	first := func(subtask, parallelism int) []int64 {
		src, err := New().NewSource(table(schema, map[string]string{"rows-per-second": "1000000000"}))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		ctx := context.Background()
		if err := src.Open(ctx, subtask, parallelism); err != nil {
			t.Fatal(err)
		}
		for {
			b, err := src.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if b.Len() >= 2 {
				defer b.Release()
				return b.Column(0).(*array.Int64).Int64Values()[:2]
			}
			b.Release()
		}
	}
	// Subtasks of an unbounded table interleave row indexes: subtask 0 of 2
	// produces rows 0, 2, ... and subtask 1 rows 1, 3, ... of the P=1 stream.
	one, even, odd := first(0, 1), first(0, 2), first(1, 2)
	if even[0] != one[0] || odd[0] != one[1] || even[0] == odd[0] {
		t.Errorf("P=1 %v, subtask 0/2 %v, subtask 1/2 %v", one, even, odd)
	}
}

func TestRateLimitedBatchesAreNotTiny(t *testing.T) {
	schema := types.NewSchema(types.Field{Name: "i", Type: types.TypeBigInt})
	src, err := New().NewSource(table(schema, map[string]string{"rows-per-second": "10000"}))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	if err := src.Open(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	for total := 0; total < 2000; {
		b, err := src.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// 10000 rows/s arrive in chunks of ~50 ms (500 rows), not one
		// batch per due row; a slow machine only makes chunks larger.
		if n := b.Len(); n > 0 && n < 490 {
			t.Fatalf("batch of %d rows at 10000 rows/s", n)
		}
		total += b.Len()
		b.Release()
	}
}

func TestSequenceOfEveryNumericType(t *testing.T) {
	schema := types.NewSchema(
		types.Field{Name: "i", Type: types.TypeInt},
		types.Field{Name: "l", Type: types.TypeBigInt},
		types.Field{Name: "d", Type: types.TypeDouble},
	)
	opts := map[string]string{"rows-per-second": "1000000000",
		"fields.i.kind": "sequence", "fields.i.start": "-2", "fields.i.end": "2",
		"fields.l.kind": "sequence", "fields.l.start": "9223372036854775800", "fields.l.end": "9223372036854775807",
		"fields.d.kind": "sequence", "fields.d.start": "100", "fields.d.end": "200",
	}
	var got []string
	for st := 0; st < 2; st++ {
		for _, b := range readAll(t, table(schema, opts), st, 2) {
			got = append(got, strings.Split(strings.TrimSpace(batch.Debug(b)), "\n")...)
			b.Release()
		}
	}
	want := []string{
		"+I[-2, 9223372036854775800, 100]",
		"+I[-1, 9223372036854775801, 101]",
		"+I[0, 9223372036854775802, 102]",
		"+I[1, 9223372036854775803, 103]",
		"+I[2, 9223372036854775804, 104]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkDatagenClock covers the clock-relative types, whose "now" is
// derived per row.
func BenchmarkDatagenClock(b *testing.B) {
	schema := types.NewSchema(
		types.Field{Name: "ts", Type: types.TimestampOf(3)},
		types.Field{Name: "ltz", Type: types.TimestampLTZOf(3)},
		types.Field{Name: "d", Type: types.TypeDate},
		types.Field{Name: "i", Type: types.TypeInt},
	)
	tb := table(schema, map[string]string{"rows-per-second": "1000000000000",
		"fields.ts.max-past": "1 h", "fields.ltz.max-past": "1 h", "fields.d.max-past": "30 d"})
	tb.Env.Location = time.FixedZone("X", 3600)
	src, err := New().NewSource(tb)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := src.Open(ctx, 0, 1); err != nil {
		b.Fatal(err)
	}
	rows := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bt, err := src.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rows += bt.Len()
		bt.Release()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
