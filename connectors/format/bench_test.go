package format

import (
	"fmt"
	"testing"

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
