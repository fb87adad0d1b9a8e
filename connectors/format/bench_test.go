package format

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/linkedin/goavro/v2"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

var benchSchema = types.NewSchema(
	types.Field{Name: "id", Type: types.TypeBigInt},
	types.Field{Name: "name", Type: types.TypeString},
	types.Field{Name: "price", Type: types.DecimalOf(10, 2)},
	types.Field{Name: "score", Type: types.TypeDouble},
	types.Field{Name: "ts", Type: types.TimestampOf(3)},
)

func benchDecode(b *testing.B, name string, line func(i int) string) {
	f, err := New("t", name, nil, benchSchema)
	if err != nil {
		b.Fatal(err)
	}
	lines := make([][]byte, 1024)
	for i := range lines {
		lines[i] = []byte(line(i))
	}
	dec := f.NewDecoder()
	rb := NewRowBuilder(benchSchema, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := dec.Decode(lines[i%len(lines)], rb); err != nil {
			b.Fatal(err)
		}
		if rb.Len() == 4096 {
			rb.Build().Release()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSVDecode(b *testing.B) {
	benchDecode(b, "csv", func(i int) string {
		return fmt.Sprintf("%d,user-%d,%d.%02d,%d.25,2024-01-01 12:00:%02d.123", i, i, i, i%100, i, i%60)
	})
}

func BenchmarkJSONDecode(b *testing.B) {
	benchDecode(b, "json", func(i int) string {
		return fmt.Sprintf(`{"id":%d,"name":"user-%d","price":%d.%02d,"score":%d.25,"ts":"2024-01-01 12:00:%02d.123"}`, i, i, i, i%100, i, i%60)
	})
}

func BenchmarkJSONEncode(b *testing.B) {
	f, err := New("t", "json", nil, benchSchema)
	if err != nil {
		b.Fatal(err)
	}
	csvF, _ := New("t", "csv", nil, benchSchema)
	rb := NewRowBuilder(benchSchema, nil)
	dec := csvF.NewDecoder()
	for i := 0; i < 1024; i++ {
		if err := dec.Decode([]byte(fmt.Sprintf("%d,user-%d,%d.50,%d.25,2024-01-01 12:00:00.123", i, i, i, i)), rb); err != nil {
			b.Fatal(err)
		}
	}
	bt := rb.Build()
	defer bt.Release()
	enc := f.NewEncoder()
	var buf []byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = enc.Encode(buf[:0], bt, i%1024)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSVEncode(b *testing.B) {
	f, err := New("t", "csv", nil, benchSchema)
	if err != nil {
		b.Fatal(err)
	}
	rb := NewRowBuilder(benchSchema, nil)
	dec := f.NewDecoder()
	for i := 0; i < 1024; i++ {
		if err := dec.Decode([]byte(fmt.Sprintf("%d,user-%d,%d.50,%d.25,2024-01-01 12:00:00.123", i, i, i, i)), rb); err != nil {
			b.Fatal(err)
		}
	}
	bt := rb.Build()
	defer bt.Release()
	enc := f.NewEncoder()
	var buf []byte
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = enc.Encode(buf[:0], bt, i%1024)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// avroBenchSchema is a ~100-byte record: three longs, a string and a
// timestamp.
var avroBenchSchema = types.NewSchema(
	types.Field{Name: "auction", Type: types.TypeBigInt},
	types.Field{Name: "bidder", Type: types.TypeBigInt},
	types.Field{Name: "price", Type: types.TypeBigInt},
	types.Field{Name: "url", Type: types.TypeString},
	types.Field{Name: "ts", Type: types.TimestampOf(3)},
)

func avroBenchBatch(b *testing.B) (*Format, batch.Batch, []map[string]any) {
	f, err := New("t", "avro", nil, avroBenchSchema)
	if err != nil {
		b.Fatal(err)
	}
	const n = 1024
	auction, bidder, price, ts := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	urls := make([]string, n)
	natives := make([]map[string]any, n)
	for i := range n {
		auction[i], bidder[i], price[i] = int64(1000+i), int64(i*7919), int64(i*31+100)
		ts[i] = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC).UnixMicro() + int64(i)*1000
		urls[i] = fmt.Sprintf("https://www.nexmark.com/item.htm?query=1&channel_id=%d&id=%08d", i%4, i)
		natives[i] = map[string]any{
			"auction": goavro.Union("long", auction[i]), "bidder": goavro.Union("long", bidder[i]),
			"price": goavro.Union("long", price[i]), "url": goavro.Union("string", urls[i]),
			"ts": goavro.Union("long.timestamp-millis", time.UnixMicro(ts[i]).UTC()),
		}
	}
	cols := []arrow.Array{batch.Int64Array(auction, nil), batch.Int64Array(bidder, nil), batch.Int64Array(price, nil),
		batch.StringArray(urls, nil), batch.Int64Array(ts, nil)}
	rec := batch.NewRecord(avroBenchSchema, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return f, batch.New(rec), natives
}

// BenchmarkAvroEncode encodes with our codec for b.N records, then with
// goavro for as many, and reports both rates and their ratio.
func BenchmarkAvroEncode(b *testing.B) {
	f, bt, natives := avroBenchBatch(b)
	defer bt.Release()
	codec, err := goavro.NewCodec(f.AvroSchema())
	if err != nil {
		b.Fatal(err)
	}
	enc := f.NewEncoder()
	var buf []byte
	size := 0
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		buf = enc.Encode(buf[:0], bt, i%bt.Len())
		size += len(buf)
	}
	ours := time.Since(start)
	b.StopTimer()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		if buf, err = codec.BinaryFromNative(buf[:0], natives[i%len(natives)]); err != nil {
			b.Fatal(err)
		}
	}
	theirs := time.Since(start)
	b.ReportMetric(float64(b.N)/ours.Seconds(), "rows/s")
	b.ReportMetric(float64(b.N)/theirs.Seconds(), "goavro-rows/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "x-goavro")
	b.ReportMetric(float64(size)/float64(b.N), "bytes/row")
}

// BenchmarkAvroDecode decodes with our codec into columns for b.N
// records, then with goavro into native maps, and reports the ratio.
func BenchmarkAvroDecode(b *testing.B) {
	f, bt, _ := avroBenchBatch(b)
	defer bt.Release()
	codec, err := goavro.NewCodec(f.AvroSchema())
	if err != nil {
		b.Fatal(err)
	}
	enc := f.NewEncoder()
	recs := make([][]byte, bt.Len())
	for i := range recs {
		recs[i] = enc.Encode(nil, bt, i)
	}
	dec := f.NewDecoder()
	rb := NewRowBuilder(avroBenchSchema, nil)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := dec.Decode(recs[i%len(recs)], rb); err != nil {
			b.Fatal(err)
		}
		if rb.Len() == 4096 {
			rb.Build().Release()
		}
	}
	ours := time.Since(start)
	b.StopTimer()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		if _, _, err := codec.NativeFromBinary(recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
	}
	theirs := time.Since(start)
	b.ReportMetric(float64(b.N)/ours.Seconds(), "rows/s")
	b.ReportMetric(float64(b.N)/theirs.Seconds(), "goavro-rows/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "x-goavro")
}
