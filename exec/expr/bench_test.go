package expr

import (
	"math/rand"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

const benchRows = 4096

var benchSchema = types.NewSchema(
	types.Field{Name: "a", Type: types.TypeBigInt},
	types.Field{Name: "b", Type: types.TypeBigInt},
	types.Field{Name: "c", Type: types.TypeBigInt},
	types.Field{Name: "d", Type: types.TypeDouble},
	types.Field{Name: "s", Type: types.TypeString},
)

func benchRecord() arrow.Record {
	r := rand.New(rand.NewSource(1))
	a, b, c := make([]int64, benchRows), make([]int64, benchRows), make([]int64, benchRows)
	d := make([]float64, benchRows)
	s := make([]string, benchRows)
	words := []string{"apple pie", "banana split", "cherry tart", "date cake", "elderberry wine"}
	for i := range a {
		a[i], b[i], c[i] = r.Int63n(200), r.Int63n(1_000_000), r.Int63n(1_000_000)
		d[i] = r.Float64()
		s[i] = words[r.Intn(len(words))]
	}
	return batch.NewRecord(benchSchema, []arrow.Array{
		batch.Int64Array(a, nil), batch.Int64Array(b, nil), batch.Int64Array(c, nil),
		batch.Float64Array(d, nil), batch.StringArray(s, nil),
	}, benchRows)
}

func benchBind(b *testing.B, sql string) Expr {
	b.Helper()
	pe, err := parseExpr(sql)
	if err != nil {
		b.Fatal(err)
	}
	e, err := Bind(pe, fakeScope{benchSchema}, BindOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkFilterProject is a Calc operator's work: select rows, compact the
// referenced columns, project four expressions.
func BenchmarkFilterProject(b *testing.B) {
	rec := benchRecord()
	defer rec.Release()
	pred, err := CompilePredicate(benchBind(b, "a > 100 AND d < 0.5"), nil)
	if err != nil {
		b.Fatal(err)
	}
	var exprs []Expr
	for _, s := range []string{"a + b", "c * 2", "d * 0.9 + 1", "b"} {
		exprs = append(exprs, benchBind(b, s))
	}
	prog, err := Compile(exprs, nil)
	if err != nil {
		b.Fatal(err)
	}
	sel := make([]int32, 0, benchRows)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sel, err = pred.Select(rec, sel)
		if err != nil {
			b.Fatal(err)
		}
		kept := batch.TakeBatch(batch.New(rec), sel)
		out, err := prog.Eval(kept.Rec)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range out {
			a.Release()
		}
		kept.Release()
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
}

func benchProject(b *testing.B, sql string) {
	rec := benchRecord()
	defer rec.Release()
	prog, err := Compile([]Expr{benchBind(b, sql)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := prog.Eval(rec)
		if err != nil {
			b.Fatal(err)
		}
		out[0].Release()
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
}

func benchFilter(b *testing.B, sql string) {
	rec := benchRecord()
	defer rec.Release()
	pred, err := CompilePredicate(benchBind(b, sql), nil)
	if err != nil {
		b.Fatal(err)
	}
	sel := make([]int32, 0, benchRows)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if sel, err = pred.Select(rec, sel); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkFilterOnly(b *testing.B)       { benchFilter(b, "a > 100 AND d < 0.5") }
func BenchmarkProjectAddBigint(b *testing.B) { benchProject(b, "a + b") }
func BenchmarkProjectDoubleAffine(b *testing.B) {
	benchProject(b, "d * 0.9 + 1")
}
func BenchmarkProjectDecimal(b *testing.B) {
	benchProject(b, "CAST(a AS DECIMAL(10, 2)) * 1.05 + CAST(b AS DECIMAL(12, 2))")
}
func BenchmarkUpper(b *testing.B)      { benchProject(b, "UPPER(s)") }
func BenchmarkLikePrefix(b *testing.B) { benchFilter(b, "s LIKE 'ban%'") }
func BenchmarkLikeContains(b *testing.B) {
	benchFilter(b, "s LIKE '%rry%'")
}
func BenchmarkLikeGeneral(b *testing.B) { benchFilter(b, "s LIKE '%e_r%t'") }
