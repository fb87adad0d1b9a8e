package format

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/linkedin/goavro/v2"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
)

// fakeRegistry implements the two Schema Registry endpoints we use.
type fakeRegistry struct {
	mu       sync.Mutex
	schemas  []string         // id-1 → schema
	subjects map[string][]int // subject → ids
	gets     map[int]int      // GET count per id
	auth     string           // required Authorization header, if set
}

func newFakeRegistry(t *testing.T) (*fakeRegistry, *httptest.Server) {
	r := &fakeRegistry{subjects: map[string][]int{}, gets: map[int]int{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *fakeRegistry) fetches(id int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gets[id]
}

func (r *fakeRegistry) add(subject, schema string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range r.schemas {
		if s == schema {
			r.subjects[subject] = append(r.subjects[subject], i+1)
			return i + 1
		}
	}
	r.schemas = append(r.schemas, schema)
	r.subjects[subject] = append(r.subjects[subject], len(r.schemas))
	return len(r.schemas)
}

func (r *fakeRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	if r.auth != "" && req.Header.Get("Authorization") != r.auth {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error_code":401,"message":"Unauthorized"}`)
		return
	}
	switch {
	case req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/schemas/ids/"):
		id, _ := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/schemas/ids/"))
		r.mu.Lock()
		r.gets[id]++
		var schema string
		if id >= 1 && id <= len(r.schemas) {
			schema = r.schemas[id-1]
		}
		r.mu.Unlock()
		if schema == "" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error_code":40403,"message":"Schema not found"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"schema": schema})
	case req.Method == http.MethodPost && strings.HasPrefix(req.URL.Path, "/subjects/") && strings.HasSuffix(req.URL.Path, "/versions"):
		subject := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, "/subjects/"), "/versions")
		var body struct{ Schema string }
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil || body.Schema == "" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"error_code":42201,"message":"Invalid schema"}`)
			return
		}
		if _, err := goavro.NewCodec(body.Schema); err != nil {
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"error_code":42201,"message":"Invalid schema"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]int{"id": r.add(subject, body.Schema)})
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error_code":404,"message":"HTTP 404 Not Found"}`)
	}
}

func confluentFormat(t *testing.T, url string, extra map[string]string, target Target) *Format {
	t.Helper()
	o := map[string]string{"avro-confluent.url": url}
	for k, v := range extra {
		o[k] = v
	}
	f, err := NewFor("t", "avro-confluent", o, avroTypes, target)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConfluentRoundTrip(t *testing.T) {
	reg, srv := newFakeRegistry(t)
	reg.add("other-value", `{"type":"record","name":"x","fields":[{"name":"a","type":"int"}]}`) // id 1
	f := confluentFormat(t, srv.URL, nil, Target{Topic: "orders"})
	if f.Subject() != "orders-value" || f.NewEncoder() != nil {
		t.Errorf("subject %q", f.Subject())
	}
	if k := confluentFormat(t, srv.URL, nil, Target{Topic: "orders", Key: true}); k.Subject() != "orders-key" {
		t.Errorf("key subject %q", k.Subject())
	}
	enc, err := f.OpenEncoder(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reg.mu.Lock()
	if ids := reg.subjects["orders-value"]; len(ids) != 1 || reg.schemas[ids[0]-1] != f.AvroSchema() {
		t.Errorf("registered %v", reg.subjects)
	}
	reg.mu.Unlock()
	b := avroSample()
	defer b.Release()
	dec := f.NewDecoder()
	rb := NewRowBuilder(avroTypes, nil)
	codec, _ := goavro.NewCodec(f.AvroSchema())
	for r := 0; r < b.Len(); r++ {
		rec := enc.Encode(nil, b, r)
		if rec[0] != 0 || binary.BigEndian.Uint32(rec[1:5]) != 2 {
			t.Fatalf("header % x", rec[:5])
		}
		// The payload is what goavro writes for the row.
		want, _ := codec.BinaryFromNative(nil, goavroNative(b, r))
		if string(rec[5:]) != string(want) {
			t.Errorf("row %d: payload differs from goavro's", r)
		}
		if err := dec.Decode(rec, rb); err != nil {
			t.Fatal(err)
		}
	}
	got := rb.Build()
	defer got.Release()
	sameRows(t, "confluent round trip", b, got)
	// A second encoder does not register again; schemas are fetched once.
	if _, err := f.OpenEncoder(context.Background()); err != nil {
		t.Fatal(err)
	}
	dec2 := f.NewDecoder()
	rec := enc.Encode(nil, b, 0)
	for range 3 {
		if err := dec2.Decode(rec, rb); err != nil {
			t.Fatal(err)
		}
	}
	rb.Build().Release()
	reg.mu.Lock()
	registered := len(reg.subjects["orders-value"])
	reg.mu.Unlock()
	if registered != 1 || reg.fetches(2) != 1 {
		t.Errorf("registrations %d, fetches of id 2: %d", registered, reg.fetches(2))
	}
}

// A producer with another schema of the same fields (reordered, int for
// a long, string first in a union): we read its records with its schema.
func TestConfluentForeignWriterSchema(t *testing.T) {
	reg, srv := newFakeRegistry(t)
	s := dbzSchema // id BIGINT NOT NULL, name STRING, amount DECIMAL(10, 2)
	writer := `{"type":"record","name":"Order","namespace":"shop","fields":[
		{"name":"amount","type":["null",{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}]},
		{"name":"name","type":["string","null"]},
		{"name":"id","type":"int"}]}`
	id := reg.add("orders-value", writer)
	bad := reg.add("x", `{"type":"record","name":"r","fields":[{"name":"id","type":"string"}]}`)
	f, err := New("t", "avro-confluent", map[string]string{"avro-confluent.schema-registry.url": srv.URL}, s)
	if err != nil {
		t.Fatal(err)
	}
	codec, _ := goavro.NewCodec(writer)
	payload, _ := codec.BinaryFromNative(nil, map[string]any{"amount": nil, "name": goavro.Union("string", "bob"), "id": int32(7)})
	frame := func(id int, p []byte) []byte {
		return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(id)), p...)
	}
	dec := f.NewDecoder()
	rb := NewRowBuilder(s, nil)
	if err := dec.Decode(frame(id, payload), rb); err != nil {
		t.Fatal(err)
	}
	got := rb.Build()
	defer got.Release()
	if batch.Debug(got) != "+I[7, bob, NULL]\n" {
		t.Errorf("got %q", batch.Debug(got))
	}
	var pe *ParseError
	for _, c := range []struct {
		name string
		rec  []byte
		want string
	}{
		{"short", []byte{0, 0, 0}, "3 bytes, shorter than the 5-byte header"},
		{"magic 1", append([]byte{1}, frame(id, payload)[1:]...), "magic byte 1, expected 0"},
		{"unknown id", frame(99, payload), "schema id 99 is not in the schema registry: Schema not found (HTTP 404, error code 40403)"},
		{"incompatible", frame(bad, payload), "schema id 2: writer schema field 'id' (string) cannot be read into column 'id' BIGINT NOT NULL: the types do not match"},
		{"truncated", frame(id, payload[:len(payload)-1]), "malformed Avro record: truncated varint"},
	} {
		err := dec.Decode(c.rec, rb)
		if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if rb.Len() != 0 {
		t.Errorf("failed records left %d rows", rb.Len())
	}
	// Failures are cached too: one fetch per unknown id.
	dec.Decode(frame(99, payload), rb)
	if reg.fetches(99) != 1 {
		t.Errorf("id 99 fetched %d times", reg.fetches(99))
	}
}

func TestConfluentRegistryFailures(t *testing.T) {
	reg, srv := newFakeRegistry(t)
	reg.auth = "Basic dXNlcjpwdw==" // user:pw
	f := confluentFormat(t, srv.URL, nil, Target{Topic: "t"})
	_, err := f.OpenEncoder(context.Background())
	if err == nil || !strings.Contains(err.Error(), "registering the table's schema under subject 't-value': Unauthorized (HTTP 401") {
		t.Errorf("unauthorized: %v", err)
	}
	g := confluentFormat(t, srv.URL, map[string]string{"avro-confluent.basic-auth.credentials-source": "USER_INFO", "avro-confluent.basic-auth.user-info": "user:pw"}, Target{Topic: "t"})
	if _, err := g.OpenEncoder(context.Background()); err != nil {
		t.Errorf("with basic auth: %v", err)
	}
	// No subject and no topic.
	var oe *connectors.OptionError
	if _, err := confluentFormat(t, srv.URL, nil, Target{}).OpenEncoder(context.Background()); !errors.As(err, &oe) || oe.Option != "avro-confluent.subject" {
		t.Errorf("no subject: %v", err)
	}
	// An unreachable registry is not a parse error (ignore-parse-errors
	// must not skip it).
	srv.Close()
	dec := g.NewDecoder()
	err = dec.Decode([]byte{0, 0, 0, 0, 5, 0}, NewRowBuilder(avroTypes, nil))
	var pe *ParseError
	if err == nil || errors.As(err, &pe) || !errors.Is(err, errRegistry) {
		t.Errorf("unreachable registry: %v", err)
	}
}

func TestConfluentOptions(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		key  string
	}{
		{map[string]string{}, "avro-confluent.url"},
		{map[string]string{"avro-confluent.url": "localhost:8081"}, "avro-confluent.url"},
		{map[string]string{"avro-confluent.url": "http://r", "avro-confluent.schema": "{}"}, "avro-confluent.schema"},
		{map[string]string{"avro-confluent.url": "http://r", "avro-confluent.ssl.keystore.location": "/k"}, "avro-confluent.ssl.keystore.location"},
		{map[string]string{"avro-confluent.url": "http://r", "avro-confluent.properties.x": "y"}, "avro-confluent.properties.x"},
		{map[string]string{"avro-confluent.url": "http://r", "avro-confluent.basic-auth.credentials-source": "SASL"}, "avro-confluent.basic-auth.credentials-source"},
		{map[string]string{"avro-confluent.url": "http://r", "avro-confluent.basic-auth.user-info": "u:p"}, "avro-confluent.basic-auth.user-info"},
		{map[string]string{"avro-confluent.url": "http://r", "avro-confluent.codec": "snappy"}, "avro-confluent.codec"},
		{map[string]string{"avro-confluent.url": "http://r", "avro-confluent.ignore-parse-errors": "x"}, "avro-confluent.ignore-parse-errors"},
	} {
		_, err := New("t", "avro-confluent", c.opts, avroTypes)
		var oe *connectors.OptionError
		if !errors.As(err, &oe) || oe.Option != c.key {
			t.Errorf("%v: error %v, want an OptionError on %s", c.opts, err, c.key)
		}
	}
	f, err := New("t", "avro-confluent", map[string]string{"avro-confluent.url": "http://a:1,https://b:2/", "avro-confluent.schema-registry.subject": "s", "avro-confluent.ignore-parse-errors": "true"}, avroTypes)
	if err != nil || f.Subject() != "s" || !f.IgnoreParseErrors() || f.Container() || f.Changelog() {
		t.Errorf("%v %v", f, err)
	}
}
