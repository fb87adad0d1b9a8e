package format

import (
	"math"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

func TestAppendDoubleMatchesJava(t *testing.T) {
	cases := []struct {
		v    float64
		want string
	}{
		{108, "108.0"}, {0.1, "0.1"}, {1e7, "1.0E7"}, {1.234e-5, "1.234E-5"},
		{-2.5, "-2.5"}, {0, "0.0"}, {math.Copysign(0, -1), "-0.0"},
		{9999999, "9999999.0"}, {0.001, "0.001"}, {0.000999, "9.99E-4"},
		{123456789.5, "1.234567895E8"}, {1.0 / 3, "0.3333333333333333"},
		{math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
		{1e21, "1.0E21"}, {100.25, "100.25"},
	}
	for _, c := range cases {
		if got := string(AppendDouble(nil, c.v)); got != c.want {
			t.Errorf("AppendDouble(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestAppendDecimal(t *testing.T) {
	cases := []struct {
		v     int64
		scale int
		want  string
	}{
		{1250, 2, "12.50"}, {-5, 2, "-0.05"}, {7, 0, "7"}, {0, 3, "0.000"},
		{math.MinInt64, 18, "-9.223372036854775808"},
	}
	for _, c := range cases {
		if got := string(AppendDecimal(nil, c.v, c.scale)); got != c.want {
			t.Errorf("AppendDecimal(%d, %d) = %q, want %q", c.v, c.scale, got, c.want)
		}
	}
}

func TestDisplayTemporal(t *testing.T) {
	ts := time.Date(2024, 2, 29, 13, 4, 5, 123456000, time.UTC)
	micros := ts.UnixMicro()
	col := batch.Int64Array([]int64{micros, -1}, nil)
	defer col.Release()
	cases := []struct {
		row  int
		t    types.Type
		loc  *time.Location
		want string
	}{
		{0, types.TimestampOf(0), nil, "2024-02-29 13:04:05"},
		{0, types.TimestampOf(3), nil, "2024-02-29 13:04:05.123"},
		{0, types.TimestampOf(6), nil, "2024-02-29 13:04:05.123456"},
		{1, types.TimestampOf(6), nil, "1969-12-31 23:59:59.999999"},
		{0, types.TimestampLTZOf(3), time.FixedZone("X", 2*3600), "2024-02-29 15:04:05.123"},
		{0, types.TimestampLTZOf(0), time.UTC, "2024-02-29 13:04:05"},
	}
	for _, c := range cases {
		if got := Display(col, c.row, c.t, c.loc); got != c.want {
			t.Errorf("Display(%v) = %q, want %q", c.t, got, c.want)
		}
	}
	// Dates across a wide span agree with the time package.
	for _, d := range []int32{-719162, -1, 0, 19782, 2932896} {
		want := time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02")
		arr := batch.Int32Array([]int32{d}, nil)
		if got := Display(arr, 0, types.TypeDate, nil); got != want {
			t.Errorf("Display(DATE %d) = %q, want %q", d, got, want)
		}
		arr.Release()
		if back := daysFromCivil(civilFromDays(int64(d))); back != int64(d) {
			t.Errorf("daysFromCivil(civilFromDays(%d)) = %d", d, back)
		}
	}
}

func TestDisplayScalars(t *testing.T) {
	cases := []struct {
		arr  arrow.Array
		t    types.Type
		want string
	}{
		{batch.BooleanArray([]bool{true}, nil), types.TypeBoolean, "TRUE"},
		{batch.BooleanArray([]bool{false}, nil), types.TypeBoolean, "FALSE"},
		{batch.Int32Array([]int32{-42}, nil), types.TypeInt, "-42"},
		{batch.Int64Array([]int64{1250}, nil), types.DecimalOf(10, 2), "12.50"},
		{batch.Int64Array([]int64{5000}, nil), types.IntervalType, "+0 00:00:05.000"},
		{batch.Int64Array([]int64{-(86400000 + 7200000 + 1)}, nil), types.IntervalType, "-1 02:00:00.001"},
		{batch.Float64Array([]float64{108}, nil), types.TypeDouble, "108.0"},
		{batch.StringArray([]string{"Alice"}, nil), types.TypeString, "Alice"},
	}
	for _, c := range cases {
		if got := Display(c.arr, 0, c.t, nil); got != c.want {
			t.Errorf("Display(%v) = %q, want %q", c.t, got, c.want)
		}
		c.arr.Release()
	}
}
