package format

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

var dbzSchema = types.NewSchema(
	types.Field{Name: "id", Type: types.TypeBigInt.WithNotNull(true)},
	types.Field{Name: "name", Type: types.TypeString},
	types.Field{Name: "amount", Type: types.DecimalOf(10, 2)},
)

func dbzFormat(t testing.TB, options map[string]string) *Format {
	t.Helper()
	f, err := New("t", "debezium-json", options, dbzSchema)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDebeziumDecode(t *testing.T) {
	f := dbzFormat(t, nil)
	if !f.Changelog() || f.Container() || f.Extension() != ".json" {
		t.Errorf("Changelog %v Container %v Extension %s", f.Changelog(), f.Container(), f.Extension())
	}
	dec := f.NewDecoder()
	rb := NewRowBuilder(dbzSchema, nil)
	for _, rec := range []string{
		`{"before":null,"after":{"id":1,"name":"a","amount":1.5},"op":"r","ts_ms":1}`,
		`{"before":null,"after":{"id":2,"name":"b","amount":"2.25"},"op":"c","source":{"db":"x"}}`,
		`{"before":{"id":1,"name":"a","amount":1.5},"after":{"id":1,"name":"A","amount":null},"op":"u"}`,
		``,     // tombstone
		`null`, // tombstone
		`{"op":"d","before":{"id":2,"name":"b","amount":2.25},"after":null}`,
	} {
		if err := dec.Decode([]byte(rec), rb); err != nil {
			t.Fatalf("%s: %v", rec, err)
		}
	}
	got := rb.Build()
	defer got.Release()
	want := "+I[1, a, 150]\n+I[2, b, 225]\n-U[1, a, 150]\n+U[1, A, NULL]\n-D[2, b, 225]\n"
	if batch.Debug(got) != want {
		t.Errorf("got\n%s\nwant\n%s", batch.Debug(got), want)
	}

	// The schema-included form.
	g := dbzFormat(t, map[string]string{"debezium-json.schema-include": "true"})
	dec = g.NewDecoder()
	if err := dec.Decode([]byte(`{"schema":{"type":"struct"},"payload":{"before":null,"after":{"id":3,"name":"c"},"op":"c"}}`), rb); err != nil {
		t.Fatal(err)
	}
	only := rb.Build()
	defer only.Release()
	if batch.Debug(only) != "+I[3, c, NULL]\n" || only.Kinds != nil {
		t.Errorf("schema-include: %q kinds %v", batch.Debug(only), only.Kinds)
	}
}

func TestDebeziumMalformed(t *testing.T) {
	dec := dbzFormat(t, nil).NewDecoder()
	rb := NewRowBuilder(dbzSchema, nil)
	if err := dec.Decode([]byte(`{"after":{"id":9},"op":"c"}`), rb); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ rec, want string }{
		{`{"after":{"id":1}`, "malformed Debezium JSON: cannot parse JSON"},
		{`[1]`, "malformed Debezium JSON: expected a JSON object, found array"},
		{`{"after":{"id":1}}`, `malformed Debezium JSON: the message has no "op" field`},
		{`{"after":{"id":1},"op":1}`, `"op" is not a string`},
		{`{"after":{"id":1},"op":"t"}`, `unknown "op" value "t" (expected c, r, u or d)`},
		{`{"after":null,"op":"c"}`, `"after" is null in a message with "op" "c"`},
		{`{"after":{"id":1},"op":"u"}`, `"before" is null in a message with "op" "u" (a Debezium PostgreSQL source needs REPLICA IDENTITY FULL`},
		{`{"before":{"id":1},"after":{"id":"x"},"op":"u"}`, `"after": column 'id': cannot parse 'x' as BIGINT`},
		{`{"before":{"id":1},"after":{"name":"x"},"op":"u"}`, `"after": column 'id': NULL value for a NOT NULL column`},
		{`{"before":5,"op":"d"}`, `"before" is not an object but number`},
		{`{"schema":{},"payload":{"op":"c","after":{"id":1}}}`, `set 'debezium-json.schema-include' = 'true'`},
	} {
		err := dec.Decode([]byte(c.rec), rb)
		var pe *ParseError
		if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.rec, err, c.want)
		}
	}
	got := rb.Build()
	defer got.Release()
	// The failed update left no -U behind.
	if batch.Debug(got) != "+I[9, NULL, NULL]\n" {
		t.Errorf("after errors: %q", batch.Debug(got))
	}
	inc := dbzFormat(t, map[string]string{"debezium-json.schema-include": "true"}).NewDecoder()
	if err := inc.Decode([]byte(`{"op":"c","after":{"id":1}}`), rb); err == nil || !strings.Contains(err.Error(), `no "payload" object`) {
		t.Errorf("schema-include without payload: %v", err)
	}
}

func TestDebeziumEncode(t *testing.T) {
	f := dbzFormat(t, nil)
	cols := []arrow.Array{
		batch.Int64Array([]int64{1, 1, 1, 2}, nil),
		batch.StringArray([]string{"a", "a", "b", ""}, []bool{true, true, true, false}),
		batch.Int64Array([]int64{150, 150, 200, 5}, nil),
	}
	rec := batch.NewRecord(dbzSchema, cols, 4)
	for _, c := range cols {
		c.Release()
	}
	b := batch.Batch{Rec: rec, Kinds: []batch.RowKind{batch.Insert, batch.UpdateBefore, batch.UpdateAfter, batch.Delete}}
	defer b.Release()
	enc, dec := f.NewEncoder(), f.NewDecoder()
	want := []string{
		`{"before":null,"after":{"id":1,"name":"a","amount":1.50},"op":"c"}`,
		`{"before":{"id":1,"name":"a","amount":1.50},"after":null,"op":"d"}`,
		`{"before":null,"after":{"id":1,"name":"b","amount":2.00},"op":"c"}`,
		`{"before":{"id":2,"name":null,"amount":0.05},"after":null,"op":"d"}`,
	}
	rb := NewRowBuilder(dbzSchema, nil)
	for r := range 4 {
		line := string(enc.Encode(nil, b, r))
		if line != want[r] {
			t.Errorf("row %d: %s, want %s", r, line, want[r])
		}
		if err := dec.Decode([]byte(line), rb); err != nil {
			t.Fatal(err)
		}
	}
	got := rb.Build()
	defer got.Release()
	if w := "+I[1, a, 150]\n-D[1, a, 150]\n+I[1, b, 200]\n-D[2, NULL, 5]\n"; batch.Debug(got) != w {
		t.Errorf("read back\n%s\nwant\n%s", batch.Debug(got), w)
	}
}

func TestDebeziumOptions(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		key  string
	}{
		{map[string]string{"debezium-json.schema-include": "yes"}, "debezium-json.schema-include"},
		{map[string]string{"debezium-json.fail-on-missing-field": "true"}, "debezium-json.fail-on-missing-field"},
		{map[string]string{"debezium-json.timestamp-format.standard": "X"}, "debezium-json.timestamp-format.standard"},
		{map[string]string{"debezium-json.ignore-parse-errors": "1"}, "debezium-json.ignore-parse-errors"},
	} {
		_, err := New("t", "debezium-json", c.opts, dbzSchema)
		var oe *connectors.OptionError
		if !errors.As(err, &oe) || oe.Option != c.key {
			t.Errorf("%v: error %v, want an OptionError on %s", c.opts, err, c.key)
		}
	}
	f := dbzFormat(t, map[string]string{"debezium-json.ignore-parse-errors": "true", "debezium-json.timestamp-format.standard": "ISO-8601"})
	if !f.IgnoreParseErrors() || f.CheckSink() != nil {
		t.Errorf("ignore-parse-errors %v, CheckSink %v", f.IgnoreParseErrors(), f.CheckSink())
	}
	var oe *connectors.OptionError
	if err := dbzFormat(t, map[string]string{"debezium-json.schema-include": "true"}).CheckSink(); !errors.As(err, &oe) {
		t.Errorf("CheckSink with schema-include: %v", err)
	}
}

func BenchmarkDebeziumDecode(b *testing.B) {
	f := dbzFormat(b, nil)
	recs := [][]byte{
		[]byte(`{"before":null,"after":{"id":1001,"name":"user-1001","amount":12.50},"source":{"version":"2.5.0.Final","connector":"postgresql","name":"db","ts_ms":1704110400000,"db":"shop","schema":"public","table":"orders"},"op":"c","ts_ms":1704110400123}`),
		[]byte(`{"before":{"id":1001,"name":"user-1001","amount":12.50},"after":{"id":1001,"name":"user-1001","amount":13.75},"source":{"version":"2.5.0.Final","connector":"postgresql","name":"db","ts_ms":1704110400000,"db":"shop","schema":"public","table":"orders"},"op":"u","ts_ms":1704110400123}`),
	}
	dec := f.NewDecoder()
	rb := NewRowBuilder(dbzSchema, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := dec.Decode(recs[i%2], rb); err != nil {
			b.Fatal(err)
		}
		if rb.Len() >= 4096 {
			rb.Build().Release()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
