package format

import (
	"bytes"
	"errors"
	"io"
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

// FuzzContainerRead reads arbitrary bytes as an Avro container file:
// errors are fine, panics and endless loops are not.
func FuzzContainerRead(f *testing.F) {
	for _, codec := range []string{"null", "deflate", "snappy"} {
		fm := avroFormat(f, map[string]string{"avro.codec": codec})
		b := avroSample()
		var buf bytes.Buffer
		cw, _ := fm.NewContainerWriter(&buf)
		for r := 0; r < b.Len(); r++ {
			cw.Append(b, r)
		}
		cw.Flush()
		b.Release()
		f.Add(buf.Bytes())
	}
	fm := avroFormat(f, nil)
	rb := NewRowBuilder(avroTypes, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		cr, err := fm.NewContainerReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for range 1000 {
			n, err := cr.Read(rb, 100)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					break
				}
				cr.SkipBlock()
			} else if n == 0 {
				t.Fatal("Read returned no rows and no error")
			}
		}
		rb.Build().Release()
	})
}
