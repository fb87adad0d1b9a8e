package format

import (
	"testing"
)

// checkDecode runs dec on rec and checks the contract: on error no row
// was added, on success at most two, and the builder still builds.
func checkDecode(t *testing.T, dec Decoder, rb *RowBuilder, rec []byte) {
	before := rb.Len()
	err := dec.Decode(rec, rb)
	switch {
	case err != nil && rb.Len() != before:
		t.Fatalf("error %v but rows went from %d to %d", err, before, rb.Len())
	case err == nil && (rb.Len() < before || rb.Len() > before+2):
		t.Fatalf("rows went from %d to %d", before, rb.Len())
	}
	if rb.Len() > 64 {
		b := rb.Build()
		if b.Len() == 0 {
			t.Fatal("empty build")
		}
		b.Release()
	}
}

func FuzzAvroDecode(f *testing.F) {
	fm := avroFormat(f, nil)
	b := avroSample()
	enc := fm.NewEncoder()
	for r := 0; r < b.Len(); r++ {
		f.Add(enc.Encode(nil, b, r))
	}
	b.Release()
	f.Add([]byte{0x80})
	f.Add([]byte{0x04})
	dec := fm.NewDecoder()
	rb := NewRowBuilder(avroTypes, nil)
	f.Fuzz(func(t *testing.T, rec []byte) {
		checkDecode(t, dec, rb, rec)
	})
}

func FuzzDebeziumDecode(f *testing.F) {
	for _, s := range []string{
		`{"before":null,"after":{"id":1,"name":"a","amount":1.5},"op":"c"}`,
		`{"before":{"id":1,"name":"a","amount":1.5},"after":{"id":1,"name":"b","amount":2},"op":"u"}`,
		`{"before":{"id":1},"after":null,"op":"d"}`,
		`{"schema":{},"payload":{"op":"r","after":{"id":2}}}`,
		`null`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	decs := []Decoder{
		dbzFormat(f, nil).NewDecoder(),
		dbzFormat(f, map[string]string{"debezium-json.schema-include": "true"}).NewDecoder(),
	}
	rb := NewRowBuilder(dbzSchema, nil)
	f.Fuzz(func(t *testing.T, rec []byte, include bool) {
		d := decs[0]
		if include {
			d = decs[1]
		}
		checkDecode(t, d, rb, rec)
	})
}
