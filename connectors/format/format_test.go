package format

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// allTypes is a schema with one column of every supported type.
var allTypes = types.NewSchema(
	types.Field{Name: "b", Type: types.TypeBoolean},
	types.Field{Name: "i", Type: types.TypeInt},
	types.Field{Name: "l", Type: types.TypeBigInt},
	types.Field{Name: "d", Type: types.TypeDouble},
	types.Field{Name: "m", Type: types.DecimalOf(10, 2)},
	types.Field{Name: "s", Type: types.TypeString},
	types.Field{Name: "ts", Type: types.TimestampOf(3)},
	types.Field{Name: "ltz", Type: types.TimestampLTZOf(6)},
	types.Field{Name: "dt", Type: types.TypeDate},
	types.Field{Name: "iv", Type: types.IntervalType},
)

// sampleBatch returns rows covering edge values, awkward strings and a row
// of NULLs.
func sampleBatch() batch.Batch {
	ts := time.Date(2024, 1, 1, 12, 0, 0, 123_000_000, time.UTC).UnixMicro()
	valid := []bool{true, true, true, true, false}
	cols := []arrow.Array{
		batch.BooleanArray([]bool{true, false, true, false, false}, valid),
		batch.Int32Array([]int32{1, -2147483648, 2147483647, 0, 0}, valid),
		batch.Int64Array([]int64{1, math.MinInt64, math.MaxInt64, 0, 0}, valid),
		batch.Float64Array([]float64{108, 0.1, 1e7, math.Inf(-1), 0}, valid),
		batch.Int64Array([]int64{1250, -5, 99999999, 0, 0}, valid),
		batch.StringArray([]string{"Alice", `say "hi", then`, "", "line1\nline2\\ é#", ""}, valid),
		batch.Int64Array([]int64{ts, -1000, 0, ts + 5000, 0}, valid),
		batch.Int64Array([]int64{ts + 456, -1, 0, ts, 0}, valid),
		batch.Int32Array([]int32{19723, -1, 0, 2932896, 0}, valid),
		batch.Int64Array([]int64{5000, -86_400_001, 0, 1, 0}, valid),
	}
	rec := batch.NewRecord(allTypes, cols, 5)
	for _, c := range cols {
		c.Release()
	}
	return batch.New(rec)
}

func mustFormat(t testing.TB, name string, options map[string]string) *Format {
	t.Helper()
	f, err := New("t", name, options, allTypes)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// roundTrip encodes every row of b, decodes the lines back and compares
// the result value by value.
func roundTrip(t *testing.T, f *Format, b batch.Batch) []string {
	t.Helper()
	enc, dec := f.NewEncoder(), f.NewDecoder()
	rb := NewRowBuilder(allTypes, time.FixedZone("X", 3600))
	var lines []string
	for r := 0; r < b.Len(); r++ {
		line := enc.Encode(nil, b, r)
		lines = append(lines, string(line))
		if err := dec.Decode(line, rb); err != nil {
			t.Fatalf("decoding %q: %v", line, err)
		}
	}
	got := rb.Build()
	defer got.Release()
	if got.Len() != b.Len() {
		t.Fatalf("decoded %d rows, want %d", got.Len(), b.Len())
	}
	for c := range allTypes.Fields {
		for r := 0; r < b.Len(); r++ {
			want, have := b.Column(c), got.Column(c)
			if want.IsNull(r) != have.IsNull(r) {
				t.Errorf("%s: column %s row %d: NULL mismatch (line %q)", f.Name(), allTypes.Fields[c].Name, r, lines[r])
				continue
			}
			if !want.IsNull(r) && want.ValueStr(r) != have.ValueStr(r) {
				t.Errorf("%s: column %s row %d: got %s, want %s (line %q)", f.Name(), allTypes.Fields[c].Name, r, have.ValueStr(r), want.ValueStr(r), lines[r])
			}
		}
	}
	return lines
}

func TestCSVRoundTrip(t *testing.T) {
	b := sampleBatch()
	defer b.Release()
	lines := roundTrip(t, mustFormat(t, "csv", nil), b)
	if want := "true,1,1,108.0,12.50,Alice,2024-01-01 12:00:00.123,2024-01-01 12:00:00.123456Z,2024-01-01,+0 00:00:05.000"; lines[0] != want {
		t.Errorf("line 0 = %q, want %q", lines[0], want)
	}
	if want := `false,-2147483648,-9223372036854775808,0.1,-0.05,"say ""hi"", then",1969-12-31 23:59:59.999,1969-12-31 23:59:59.999999Z,1969-12-31,-1 00:00:00.001`; lines[1] != want {
		t.Errorf("line 1 = %q, want %q", lines[1], want)
	}
	if !strings.Contains(lines[2], `,"",`) {
		t.Errorf("empty string not quoted: %q", lines[2])
	}
	if want := ",,,,,,,,,"; lines[4] != want {
		t.Errorf("NULL row = %q, want %q", lines[4], want)
	}
	// Other delimiter, a null literal, an escape character.
	roundTrip(t, mustFormat(t, "csv", map[string]string{
		"csv.field-delimiter": ";", "csv.null-literal": "n/a", "csv.escape-character": "\\", "csv.allow-comments": "true",
	}), b)
	roundTrip(t, mustFormat(t, "csv", map[string]string{"csv.field-delimiter": `\t`, "csv.quote-character": "'"}), b)
}

func TestJSONRoundTrip(t *testing.T) {
	b := sampleBatch()
	defer b.Release()
	lines := roundTrip(t, mustFormat(t, "json", nil), b)
	want := `{"b":true,"i":1,"l":1,"d":108.0,"m":12.50,"s":"Alice","ts":"2024-01-01 12:00:00.123","ltz":"2024-01-01 12:00:00.123456Z","dt":"2024-01-01","iv":"+0 00:00:05.000"}`
	if lines[0] != want {
		t.Errorf("line 0 = %s\nwant      %s", lines[0], want)
	}
	if !strings.Contains(lines[3], `"d":"-Infinity"`) || !strings.Contains(lines[3], `"s":"line1\nline2\\ é#"`) {
		t.Errorf("line 3 = %s", lines[3])
	}
	if !strings.Contains(lines[4], `"b":null,"i":null`) {
		t.Errorf("NULL row = %s", lines[4])
	}
	iso := roundTrip(t, mustFormat(t, "json", map[string]string{"json.timestamp-format.standard": "ISO-8601"}), b)
	if !strings.Contains(iso[0], `"ts":"2024-01-01T12:00:00.123"`) {
		t.Errorf("ISO line = %s", iso[0])
	}
}

func TestJSONDecodeFieldMatching(t *testing.T) {
	schema := types.NewSchema(
		types.Field{Name: "id", Type: types.TypeInt},
		types.Field{Name: "Name", Type: types.TypeString},
		types.Field{Name: "amount", Type: types.DecimalOf(10, 2)},
	)
	f, err := New("t", "json", nil, schema)
	if err != nil {
		t.Fatal(err)
	}
	dec := f.NewDecoder()
	rb := NewRowBuilder(schema, nil)
	for _, rec := range []string{
		`{"id": "7", "name": {"x": [1, 2]}, "extra": 1, "amount": 1.005}`,
		`{"amount": null, "id": 8}`,
	} {
		if err := dec.Decode([]byte(rec), rb); err != nil {
			t.Fatalf("%s: %v", rec, err)
		}
	}
	b := rb.Build()
	defer b.Release()
	if got := batch.Debug(b); got != "+I[7, {\"x\":[1,2]}, 101]\n+I[8, NULL, NULL]\n" {
		t.Errorf("decoded:\n%s", got)
	}
	strict, err := New("t", "json", map[string]string{"json.fail-on-missing-field": "true"}, schema)
	if err != nil {
		t.Fatal(err)
	}
	rb = NewRowBuilder(schema, nil)
	if err := strict.NewDecoder().Decode([]byte(`{"id": 1, "amount": 2}`), rb); err == nil || !strings.Contains(err.Error(), "column 'Name': field is missing") {
		t.Errorf("missing field: %v", err)
	}
	if rb.Len() != 0 {
		t.Errorf("failed record left %d rows", rb.Len())
	}
}

func TestMalformedInput(t *testing.T) {
	schema := types.NewSchema(
		types.Field{Name: "id", Type: types.TypeInt},
		types.Field{Name: "x", Type: types.DecimalOf(10, 2)},
	)
	csvF, _ := New("t", "csv", nil, schema)
	jsonF, _ := New("t", "json", nil, schema)
	cases := []struct {
		f    *Format
		rec  string
		want string
	}{
		{csvF, "1,abc", "column 'x': cannot parse 'abc' as DECIMAL(10, 2)"},
		{csvF, "99999999999,1", "column 'id': cannot parse '99999999999' as INT"},
		{csvF, "1,123456789.001", "column 'x': cannot parse '123456789.001' as DECIMAL(10, 2)"},
		{csvF, "1", "expected 2 fields, found 1"},
		{csvF, `"1"x,2`, "unexpected character 'x' after a closing quote"},
		{jsonF, `{"id": 1, "x": "abc"}`, "column 'x': cannot parse 'abc' as DECIMAL(10, 2)"},
		{jsonF, `{"id": 1.5}`, "column 'id': cannot parse '1.5' as INT"},
		{jsonF, `{"id": 1`, "malformed JSON"},
		{jsonF, `[1, 2]`, "expected a JSON object, found array"},
	}
	for _, c := range cases {
		rb := NewRowBuilder(schema, nil)
		err := c.f.NewDecoder().Decode([]byte(c.rec), rb)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: error %v, want %q", c.f.Name(), c.rec, err, c.want)
		}
		if rb.Len() != 0 {
			t.Errorf("%s %q: failed record left a row", c.f.Name(), c.rec)
		}
		// The builder stays usable: a good row after a bad one.
		if err := csvF.NewDecoder().Decode([]byte("3,4.5"), rb); err != nil {
			t.Fatal(err)
		}
		b := rb.Build()
		if got := batch.Debug(b); got != "+I[3, 450]\n" {
			t.Errorf("after a failed record, got %q", got)
		}
		b.Release()
	}
	if err := csvF.NewDecoder().Decode([]byte(`1,"2`), NewRowBuilder(schema, nil)); !errors.Is(err, ErrIncompleteRecord) {
		t.Errorf("open quote: %v, want ErrIncompleteRecord", err)
	}
}

func TestFormatOptionErrors(t *testing.T) {
	cases := map[string]struct {
		name    string
		options map[string]string
	}{
		"format":                              {"avro", nil},
		"csv.nope":                            {"csv", map[string]string{"csv.nope": "1"}},
		"csv.field-delimiter":                 {"csv", map[string]string{"csv.field-delimiter": ";;"}},
		"csv.ignore-parse-errors":             {"csv", map[string]string{"csv.ignore-parse-errors": "maybe"}},
		"csv.disable-quote-character":         {"csv", map[string]string{"csv.disable-quote-character": "true", "csv.quote-character": "'"}},
		"csv.array-element-delimiter":         {"csv", map[string]string{"csv.array-element-delimiter": "|"}},
		"json.timestamp-format.standard":      {"json", map[string]string{"json.timestamp-format.standard": "RFC"}},
		"json.fail-on-missing-field":          {"json", map[string]string{"json.fail-on-missing-field": "true", "json.ignore-parse-errors": "true"}},
		"json.encode.decimal-as-plain-number": {"json", map[string]string{"json.encode.decimal-as-plain-number": "x"}},
	}
	for want, c := range cases {
		_, err := New("t", c.name, c.options, allTypes)
		var oe *connectors.OptionError
		if !errors.As(err, &oe) || oe.Option != want {
			t.Errorf("%s %v: got %v, want an OptionError naming %q", c.name, c.options, err, want)
		}
	}
	// Keys of another format are not this format's business.
	if _, err := New("t", "csv", map[string]string{"json.x": "1", "path": "p"}, allTypes); err != nil {
		t.Errorf("csv looked at foreign keys: %v", err)
	}
}

func TestCSVComments(t *testing.T) {
	schema := types.NewSchema(types.Field{Name: "s", Type: types.TypeString})
	f, _ := New("t", "csv", map[string]string{"csv.allow-comments": "true"}, schema)
	rb := NewRowBuilder(schema, nil)
	for _, line := range []string{"# a comment", "x", `"#not a comment"`} {
		if err := f.NewDecoder().Decode([]byte(line), rb); err != nil {
			t.Fatal(err)
		}
	}
	if rb.Len() != 2 {
		t.Errorf("got %d rows, want 2 (comment skipped)", rb.Len())
	}
	b := rb.Build()
	defer b.Release()
	// A value starting with '#' is quoted on output so it is not read back
	// as a comment.
	if got := string(f.NewEncoder().Encode(nil, b, 1)); got != `"#not a comment"` {
		t.Errorf("encoded %q", got)
	}
}

func TestAppendTextForms(t *testing.T) {
	schema := types.NewSchema(
		types.Field{Name: "b", Type: types.TypeBoolean},
		types.Field{Name: "ts", Type: types.TimestampOf(3)},
		types.Field{Name: "ltz", Type: types.TimestampLTZOf(0)},
		types.Field{Name: "n", Type: types.TypeInt.WithNotNull(true)},
	)
	rb := NewRowBuilder(schema, time.FixedZone("X", 3600))
	rows := [][]string{
		{"TRUE", "2024-01-01 12:00:00.1239", "2024-01-01 12:00:00", " 5 "},
		{"False", "2024-01-01T12:00:00Z", "2024-01-01T12:00:00+02:00", "-6"},
	}
	for _, row := range rows {
		for c, v := range row {
			if err := rb.AppendText(c, v); err != nil {
				t.Fatalf("%q: %v", v, err)
			}
		}
		rb.EndRow()
	}
	b := rb.Build()
	defer b.Release()
	base := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	want := fmt.Sprintf("+I[true, %d, %d, 5]\n+I[false, %d, %d, -6]\n",
		base.UnixMicro()+123000, base.Add(-time.Hour).UnixMicro(), base.UnixMicro(), base.Add(-2*time.Hour).UnixMicro())
	if got := batch.Debug(b); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	rb = NewRowBuilder(schema, nil)
	err := rb.AppendNull(3)
	if err == nil || !strings.Contains(err.Error(), "column 'n': NULL value for a NOT NULL column") {
		t.Errorf("NULL into NOT NULL: %v", err)
	}
	for c, bad := range []string{"yes", "2024-13-01 00:00:00", "2024-01-01 00:00:00+25:00", "1.5"} {
		if err := rb.AppendText(c, bad); err == nil {
			t.Errorf("column %d accepted %q", c, bad)
		}
	}
	if err := rb.AppendText(1, "2024-01-01 00:00:00+02:00"); err == nil {
		t.Error("TIMESTAMP (no zone) accepted a non-UTC offset")
	}
}
