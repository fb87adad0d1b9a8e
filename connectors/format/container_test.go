package format

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"

	"github.com/streamsql/streamsql/exec/batch"
)

// readAll reads a container file with our reader, chunk rows at a time.
func readAll(t *testing.T, f *Format, data []byte, chunk int) (batch.Batch, error) {
	t.Helper()
	cr, err := f.NewContainerReader(bytes.NewReader(data))
	if err != nil {
		return batch.Batch{}, err
	}
	rb := NewRowBuilder(f.schema, nil)
	for {
		_, err := cr.Read(rb, chunk)
		if errors.Is(err, io.EOF) {
			return rb.Build(), nil
		}
		if err != nil {
			return batch.Batch{}, err
		}
	}
}

func TestContainerRoundTripAndGoavro(t *testing.T) {
	for _, codec := range []string{"null", "deflate", "snappy"} {
		f := avroFormat(t, map[string]string{"avro.codec": codec})
		b := avroSample()
		var buf bytes.Buffer
		cw, err := f.NewContainerWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		const copies = 3000 // several 64 KB blocks
		for i := 0; i < copies*b.Len(); i++ {
			if err := cw.Append(b, i%b.Len()); err != nil {
				t.Fatal(err)
			}
		}
		if err := cw.Flush(); err != nil {
			t.Fatal(err)
		}
		if cw.Size() != int64(buf.Len()) {
			t.Errorf("%s: Size %d, wrote %d", codec, cw.Size(), buf.Len())
		}
		// goavro reads what we wrote.
		ocf, err := goavro.NewOCFReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("%s: goavro: %v", codec, err)
		}
		if ocf.CompressionName() != codec {
			t.Errorf("goavro sees codec %s", ocf.CompressionName())
		}
		gc := f.avroCodecForTest()
		n := 0
		for ocf.Scan() {
			v, err := ocf.Read()
			if err != nil {
				t.Fatalf("%s: goavro record %d: %v", codec, n, err)
			}
			want, _ := gc.BinaryFromNative(nil, goavroNative(b, n%b.Len()))
			got, err := gc.BinaryFromNative(nil, v)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: goavro record %d differs: %v", codec, n, err)
			}
			n++
		}
		if ocf.Err() != nil || n != copies*b.Len() {
			t.Fatalf("%s: goavro read %d records: %v", codec, n, ocf.Err())
		}
		// We read it back, in uneven chunks.
		got, err := readAll(t, f, buf.Bytes(), 777)
		if err != nil {
			t.Fatal(err)
		}
		if got.Len() != copies*b.Len() {
			t.Fatalf("%s: read %d rows", codec, got.Len())
		}
		sameRows(t, codec+" first rows", b, batch.Slice(got, 0, b.Len()))
		sameRows(t, codec+" last rows", b, batch.Slice(got, got.Len()-b.Len(), got.Len()))
		got.Release()

		// We read what goavro wrote, in small blocks.
		var gbuf bytes.Buffer
		w, err := goavro.NewOCFWriter(goavro.OCFConfig{W: &gbuf, Schema: f.AvroSchema(), CompressionName: codec})
		if err != nil {
			t.Fatal(err)
		}
		for blk := 0; blk < 4; blk++ {
			var recs []any
			for r := 0; r < b.Len(); r++ {
				recs = append(recs, goavroNative(b, r))
			}
			if err := w.Append(recs); err != nil {
				t.Fatal(err)
			}
		}
		theirs, err := readAll(t, f, gbuf.Bytes(), 5)
		if err != nil {
			t.Fatalf("%s: reading goavro's file: %v", codec, err)
		}
		if theirs.Len() != 4*b.Len() {
			t.Fatalf("%s: read %d rows of goavro's file", codec, theirs.Len())
		}
		sameRows(t, codec+" goavro's rows", b, batch.Slice(theirs, 3*b.Len(), 4*b.Len()))
		theirs.Release()
		b.Release()
	}
}

func (f *Format) avroCodecForTest() *goavro.Codec {
	c, _ := goavro.NewCodec(f.avroSchema) // valid: New checked it
	return c
}

func TestContainerResume(t *testing.T) {
	f := avroFormat(t, map[string]string{"avro.codec": "deflate"})
	b := avroSample()
	defer b.Release()
	var buf bytes.Buffer
	cw, _ := f.NewContainerWriter(&buf)
	for i := 0; i < 20000; i++ {
		if err := cw.Append(b, i%b.Len()); err != nil {
			t.Fatal(err)
		}
	}
	cw.Flush()
	all, err := readAll(t, f, buf.Bytes(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Release()
	// Stop after 7001 rows (mid-block), resume from the position.
	cr, _ := f.NewContainerReader(bytes.NewReader(buf.Bytes()))
	rb := NewRowBuilder(f.schema, nil)
	for read := 0; read < 7001; {
		n, err := cr.Read(rb, min(1000, 7001-read))
		if err != nil {
			t.Fatal(err)
		}
		read += n
	}
	rb.Build().Release()
	off, idx := cr.Position()
	if idx == 0 {
		t.Fatalf("position %d/%d is not mid-block", off, idx)
	}
	cr2, _ := f.NewContainerReader(bytes.NewReader(buf.Bytes()))
	if err := cr2.Resume(bytes.NewReader(buf.Bytes()[off:]), off, idx); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := cr2.Read(rb, 4096); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	rest := rb.Build()
	defer rest.Release()
	sameRows(t, "resumed", batch.Slice(all, 7001, all.Len()), rest)
}

func TestContainerMalformed(t *testing.T) {
	f := avroFormat(t, map[string]string{"avro.codec": "snappy"})
	b := avroSample()
	defer b.Release()
	var buf bytes.Buffer
	cw, _ := f.NewContainerWriter(&buf)
	for r := 0; r < b.Len(); r++ {
		cw.Append(b, r)
	}
	cw.Flush()
	good := buf.Bytes()
	damaged := append([]byte(nil), good...)
	damaged[len(damaged)-1] ^= 0xff // the block's sync marker
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-20] ^= 0x55 // inside the compressed block
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"not avro", []byte("id,name\n1,a\n"), "not an Avro container file"},
		{"empty", nil, "not an Avro container file"},
		{"header cut", good[:10], "avro container header"},
		{"block cut", good[:len(good)-30], "truncated block"},
		{"sync", damaged, "sync marker does not match"},
		{"corrupt data", flipped, "snappy"},
	} {
		_, err := readAll(t, f, c.data, 100)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	// A writer schema whose fields cannot be read into the table.
	var other bytes.Buffer
	w, _ := goavro.NewOCFWriter(goavro.OCFConfig{W: &other, Schema: `{"type":"record","name":"r","fields":[{"name":"b","type":"string"}]}`})
	w.Append([]any{map[string]any{"b": "x"}})
	if _, err := readAll(t, f, other.Bytes(), 10); err == nil || !strings.Contains(err.Error(), "writer schema field 'b' (string) cannot be read into column 'b' BOOLEAN") {
		t.Errorf("foreign schema: %v", err)
	}
}
