package format

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/linkedin/goavro/v2"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// avroTypes is every type Avro supports, nullable, plus NOT NULL columns
// (which are not unions) and a micros timestamp.
var avroTypes = types.NewSchema(
	types.Field{Name: "b", Type: types.TypeBoolean},
	types.Field{Name: "i", Type: types.TypeInt},
	types.Field{Name: "l", Type: types.TypeBigInt},
	types.Field{Name: "d", Type: types.TypeDouble},
	types.Field{Name: "m", Type: types.DecimalOf(18, 2)},
	types.Field{Name: "s", Type: types.TypeString},
	types.Field{Name: "ts", Type: types.TimestampOf(3)},
	types.Field{Name: "ts6", Type: types.TimestampOf(6)},
	types.Field{Name: "ltz", Type: types.TimestampLTZOf(3)},
	types.Field{Name: "dt", Type: types.TypeDate},
	types.Field{Name: "nn", Type: types.TypeBigInt.WithNotNull(true)},
	types.Field{Name: "ns", Type: types.TypeString.WithNotNull(true)},
)

func avroSample() batch.Batch {
	ts := time.Date(2024, 1, 1, 12, 0, 0, 123_000_000, time.UTC).UnixMicro()
	valid := []bool{true, true, true, true, false, true}
	cols := []arrow.Array{
		batch.BooleanArray([]bool{true, false, true, false, false, true}, valid),
		batch.Int32Array([]int32{1, math.MinInt32, math.MaxInt32, 0, 0, -64}, valid),
		batch.Int64Array([]int64{1, math.MinInt64, math.MaxInt64, 0, 0, 63}, valid),
		batch.Float64Array([]float64{108, 0.1, 1e300, math.Inf(-1), 0, -0.5}, valid),
		batch.Int64Array([]int64{1250, -5, 999999999999999999, -999999999999999999, 0, -128}, valid),
		batch.StringArray([]string{"Alice", "é ünïcode ✓", "", strings.Repeat("x", 300), "", "\x00"}, valid),
		batch.Int64Array([]int64{ts, -1000, 0, -86_400_000_000, 0, 1000}, valid),
		batch.Int64Array([]int64{ts + 456, -1, 0, 253402300799999999, 0, 1}, valid),
		batch.Int64Array([]int64{ts, -1000, 0, 1_000, 0, 5_000}, valid),
		batch.Int32Array([]int32{19723, -1, 0, 2932896, 0, -719162}, valid),
		batch.Int64Array([]int64{7, -7, 0, math.MaxInt64, math.MinInt64, 128}, nil),
		batch.StringArray([]string{"a", "", "c", "d", "e", "f"}, nil),
	}
	rec := batch.NewRecord(avroTypes, cols, 6)
	for _, c := range cols {
		c.Release()
	}
	return batch.New(rec)
}

func avroFormat(t testing.TB, options map[string]string) *Format {
	t.Helper()
	f, err := New("t", "avro", options, avroTypes)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sameRows compares two batches value by value.
func sameRows(t *testing.T, what string, want, got batch.Batch) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("%s: %d rows, want %d", what, got.Len(), want.Len())
	}
	if w, g := batch.Debug(want), batch.Debug(got); w != g {
		t.Errorf("%s:\ngot\n%s\nwant\n%s", what, g, w)
	}
}

func TestAvroSchemaDerivation(t *testing.T) {
	f := avroFormat(t, nil)
	want := `{"type":"record","name":"record","fields":[` +
		`{"name":"b","type":["null","boolean"],"default":null},` +
		`{"name":"i","type":["null","int"],"default":null},` +
		`{"name":"l","type":["null","long"],"default":null},` +
		`{"name":"d","type":["null","double"],"default":null},` +
		`{"name":"m","type":["null",{"type":"bytes","logicalType":"decimal","precision":18,"scale":2}],"default":null},` +
		`{"name":"s","type":["null","string"],"default":null},` +
		`{"name":"ts","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null},` +
		`{"name":"ts6","type":["null",{"type":"long","logicalType":"timestamp-micros"}],"default":null},` +
		`{"name":"ltz","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null},` +
		`{"name":"dt","type":["null",{"type":"int","logicalType":"date"}],"default":null},` +
		`{"name":"nn","type":"long"},{"name":"ns","type":"string"}]}`
	if f.AvroSchema() != want {
		t.Errorf("schema\n%s\nwant\n%s", f.AvroSchema(), want)
	}
	g := avroFormat(t, map[string]string{"avro.timestamp_mapping.legacy": "false"})
	if !strings.Contains(g.AvroSchema(), `{"name":"ts","type":["null",{"type":"long","logicalType":"local-timestamp-millis"}]`) ||
		!strings.Contains(g.AvroSchema(), `{"name":"ltz","type":["null",{"type":"long","logicalType":"timestamp-millis"}]`) {
		t.Errorf("non-legacy mapping: %s", g.AvroSchema())
	}
}

func TestAvroRoundTrip(t *testing.T) {
	for _, legacy := range []string{"true", "false"} {
		f := avroFormat(t, map[string]string{"avro.timestamp_mapping.legacy": legacy})
		b := avroSample()
		enc, dec := f.NewEncoder(), f.NewDecoder()
		rb := NewRowBuilder(avroTypes, nil)
		for r := 0; r < b.Len(); r++ {
			rec := enc.Encode(nil, b, r)
			if err := dec.Decode(rec, rb); err != nil {
				t.Fatalf("row %d: %v", r, err)
			}
		}
		got := rb.Build()
		sameRows(t, "round trip", b, got)
		if got.Kinds != nil {
			t.Errorf("avro rows carry kinds %v", got.Kinds)
		}
		got.Release()
		b.Release()
	}
}

// goavroNative is row r of the sample as goavro's native form.
func goavroNative(b batch.Batch, r int) map[string]any {
	m := map[string]any{}
	wrap := func(name, branch string, v any) {
		if b.Column(avroTypes.Index(name)).IsNull(r) {
			m[name] = nil
			return
		}
		m[name] = goavro.Union(branch, v)
	}
	i64 := func(c string) int64 { return b.Column(avroTypes.Index(c)).(interface{ Value(int) int64 }).Value(r) }
	i32 := func(c string) int32 { return b.Column(avroTypes.Index(c)).(interface{ Value(int) int32 }).Value(r) }
	wrap("b", "boolean", b.Column(0).(interface{ Value(int) bool }).Value(r))
	wrap("i", "int", i32("i"))
	wrap("l", "long", i64("l"))
	wrap("d", "double", b.Column(3).(interface{ Value(int) float64 }).Value(r))
	wrap("m", "bytes.decimal", big.NewRat(i64("m"), 100))
	wrap("s", "string", b.Column(5).(interface{ Value(int) string }).Value(r))
	wrap("ts", "long.timestamp-millis", time.UnixMicro(i64("ts")).UTC())
	wrap("ts6", "long.timestamp-micros", time.UnixMicro(i64("ts6")).UTC())
	wrap("ltz", "long.timestamp-millis", time.UnixMicro(i64("ltz")).UTC())
	wrap("dt", "int.date", time.Unix(int64(i32("dt"))*86400, 0).UTC())
	m["nn"] = i64("nn")
	m["ns"] = b.Column(11).(interface{ Value(int) string }).Value(r)
	return m
}

// TestAvroCrossCheckGoavro checks our codec against goavro both ways:
// records we encode decode in goavro to the same values, and records
// goavro encodes decode in ours to the same rows, byte for byte equal.
func TestAvroCrossCheckGoavro(t *testing.T) {
	f := avroFormat(t, nil)
	codec, err := goavro.NewCodec(f.AvroSchema())
	if err != nil {
		t.Fatal(err)
	}
	b := avroSample()
	defer b.Release()
	enc, dec := f.NewEncoder(), f.NewDecoder()
	rb := NewRowBuilder(avroTypes, nil)
	for r := 0; r < b.Len(); r++ {
		native := goavroNative(b, r)
		theirs, err := codec.BinaryFromNative(nil, native)
		if err != nil {
			t.Fatalf("row %d: goavro encode: %v", r, err)
		}
		ours := enc.Encode(nil, b, r)
		if string(ours) != string(theirs) {
			t.Errorf("row %d: ours %x, goavro %x", r, ours, theirs)
		}
		back, rest, err := codec.NativeFromBinary(ours)
		if err != nil || len(rest) != 0 {
			t.Fatalf("row %d: goavro cannot decode ours: %v (%d left)", r, err, len(rest))
		}
		again, err := codec.BinaryFromNative(nil, back)
		if err != nil || string(again) != string(ours) {
			t.Errorf("row %d: goavro's reading of ours re-encodes differently: %v", r, err)
		}
		if err := dec.Decode(theirs, rb); err != nil {
			t.Fatalf("row %d: decoding goavro's record: %v", r, err)
		}
	}
	got := rb.Build()
	defer got.Release()
	sameRows(t, "goavro → ours", b, got)
}

func TestAvroDecimalBytes(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, -32768, math.MaxInt64, math.MinInt64, 1 << 40, -(1 << 40)} {
		enc := appendDecimalBytes(nil, v)
		want := new(big.Int).SetInt64(v)
		// goavro writes the big-endian two's complement of the unscaled
		// value; check ours has the same length and value.
		codec, _ := goavro.NewCodec(`{"type":"bytes","logicalType":"decimal","precision":19,"scale":0}`)
		theirs, err := codec.BinaryFromNative(nil, new(big.Rat).SetInt(want))
		if err != nil {
			t.Fatal(err)
		}
		if string(enc) != string(theirs) {
			t.Errorf("%d: ours %x, goavro %x", v, enc, theirs)
		}
		got, ok := decimalFromBytes(enc[1:])
		if !ok || got != v {
			t.Errorf("%d: read back %d %v", v, got, ok)
		}
	}
	if _, ok := decimalFromBytes([]byte{0x00, 0x80, 0, 0, 0, 0, 0, 0, 0}); ok {
		t.Error("2^63 fits an int64")
	}
	if v, ok := decimalFromBytes([]byte{0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}); !ok || v != math.MinInt64 {
		t.Errorf("sign-extended MinInt64: %d %v", v, ok)
	}
	if got := new(bigInt).set([]byte{0xff, 0x38}).text(2); got != "-2.00" {
		t.Errorf("text = %s", got)
	}
}

func TestAvroMalformed(t *testing.T) {
	s := types.NewSchema(
		types.Field{Name: "id", Type: types.TypeBigInt.WithNotNull(true)},
		types.Field{Name: "name", Type: types.TypeString},
		types.Field{Name: "n", Type: types.TypeInt},
		types.Field{Name: "m", Type: types.DecimalOf(4, 2)},
		types.Field{Name: "ok", Type: types.TypeBoolean},
	)
	f, err := New("t", "avro", nil, s)
	if err != nil {
		t.Fatal(err)
	}
	dec := f.NewDecoder()
	rb := NewRowBuilder(s, nil)
	good := []byte{0x02, 0x02, 0x04, 'h', 'i', 0x02, 0x02, 0x02, 0x04, 0x04, 0xd2, 0x02, 0x01}
	if err := dec.Decode(good, rb); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		rec  []byte
		want string
	}{
		{"empty", nil, "column 'id': malformed Avro record: truncated varint"},
		{"truncated varint", []byte{0x80}, "column 'id': malformed Avro record: truncated varint"},
		{"overlong varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "varint longer than 64 bits"},
		{"bad union index", []byte{0x02, 0x04}, "column 'name': malformed Avro record: union branch 2 out of range (the union has 2)"},
		{"negative union index", []byte{0x02, 0x01}, "union branch -1 out of range"},
		{"string past the end", []byte{0x02, 0x02, 0x0a, 'h'}, "column 'name': malformed Avro record: string length 5 but 1 bytes left"},
		{"negative length", []byte{0x02, 0x02, 0x01}, "string length -1 but 0 bytes left"},
		{"int out of range", []byte{0x02, 0x00, 0x02, 0xfe, 0xff, 0xff, 0xff, 0x1f}, "column 'n': malformed Avro record: int value 4294967295 out of range"},
		{"decimal too wide", []byte{0x02, 0x00, 0x00, 0x02, 0x04, 0x27, 0x10}, "column 'm': decimal value 100.00 does not fit DECIMAL(4, 2)"},
		{"bad boolean", []byte{0x02, 0x00, 0x00, 0x00, 0x02, 0x07}, "invalid boolean byte 7"},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 0), "malformed Avro record: 2 bytes after the end of the record"},
	} {
		err := dec.Decode(c.rec, rb)
		var pe *ParseError
		if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	got := rb.Build()
	defer got.Release()
	// Debug prints decimals as their unscaled int64.
	if want := "+I[1, hi, 1, 1234, true]\n"; batch.Debug(got) != want {
		t.Errorf("after errors the builder holds %q, want %q", batch.Debug(got), want)
	}
}

func TestAvroOptions(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		key  string
		msg  string
	}{
		{map[string]string{"avro.codec": "lz4"}, "avro.codec", "invalid value 'lz4'"},
		{map[string]string{"avro.codec": "xz"}, "avro.codec", "not supported yet"},
		{map[string]string{"avro.encoding": "json"}, "avro.encoding", "not supported yet"},
		{map[string]string{"avro.ignore-parse-errors": "maybe"}, "avro.ignore-parse-errors", ""},
		{map[string]string{"avro.timestamp_mapping.legacy": "x"}, "avro.timestamp_mapping.legacy", ""},
		{map[string]string{"avro.schema": "{}"}, "avro.schema", "unknown"},
	} {
		_, err := New("t", "avro", c.opts, avroTypes)
		var oe *connectors.OptionError
		if !errors.As(err, &oe) || oe.Option != c.key || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: error %v, want an OptionError on %s", c.opts, err, c.key)
		}
	}
	for _, o := range []map[string]string{{"avro.codec": "null"}, {"avro.codec": "Deflate"}, {"avro.encoding": "binary"}, {"avro.ignore-parse-errors": "true"}} {
		f, err := New("t", "avro", o, avroTypes)
		if err != nil {
			t.Errorf("%v: %v", o, err)
		} else if o["avro.ignore-parse-errors"] == "true" && !f.IgnoreParseErrors() {
			t.Errorf("ignore-parse-errors not set")
		}
	}
	// Types Avro (as Flink derives it) cannot hold, and names it refuses.
	for _, s := range []types.Schema{
		types.NewSchema(types.Field{Name: "iv", Type: types.IntervalType}),
		types.NewSchema(types.Field{Name: "bad name", Type: types.TypeInt}),
	} {
		_, err := New("t", "avro", nil, s)
		var oe *connectors.OptionError
		if !errors.As(err, &oe) || oe.Option != "format" {
			t.Errorf("%v: error %v, want an OptionError on format", s, err)
		}
	}
}

func TestAvroWriterSchemaPlan(t *testing.T) {
	s := types.NewSchema(
		types.Field{Name: "id", Type: types.TypeBigInt},
		types.Field{Name: "name", Type: types.TypeString},
		types.Field{Name: "extra", Type: types.TypeDouble},
	)
	// Fields reordered, an int promoted to long, a union with null second,
	// a field the table lacks (skipped) and a column the writer lacks (NULL).
	writer := `{"type":"record","name":"w","fields":[
		{"name":"name","type":["string","null"]},
		{"name":"skip","type":{"type":"long","logicalType":"timestamp-micros"}},
		{"name":"ID","type":"int"}]}`
	p, err := planFromWriter(writer, s)
	if err != nil {
		t.Fatal(err)
	}
	codec, _ := goavro.NewCodec(writer)
	rec, err := codec.BinaryFromNative(nil, map[string]any{"name": goavro.Union("string", "x"), "skip": int64(5), "ID": int32(-3)})
	if err != nil {
		t.Fatal(err)
	}
	rb := NewRowBuilder(s, nil)
	if err := decodeAvroRecord(p, rec, rb); err != nil {
		t.Fatal(err)
	}
	got := rb.Build()
	defer got.Release()
	if want := "+I[-3, x, NULL]\n"; batch.Debug(got) != want {
		t.Errorf("got %q, want %q", batch.Debug(got), want)
	}
	for _, c := range []struct{ writer, msg string }{
		{`{"type":"record","name":"w","fields":[{"name":"id","type":"string"}]}`, "writer schema field 'id' (string) cannot be read into column 'id' BIGINT: the types do not match"},
		{`{"type":"record","name":"w","fields":[{"name":"id","type":["null","long","string"]}]}`, "writer schema field 'id': not supported yet: a union of several non-null types"},
		{`{"type":"record","name":"w","fields":[{"name":"id","type":{"type":"array","items":"long"}}]}`, "not supported yet: Avro type array"},
		{`"long"`, "not a record"},
		{`{"type":"record"`, "invalid writer schema"},
	} {
		if _, err := planFromWriter(c.writer, s); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want %q", c.writer, err, c.msg)
		}
	}
}
