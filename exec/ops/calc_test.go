package ops

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

var calcSchema = types.NewSchema(
	types.Field{Name: "a", Type: types.TypeBigInt},
	types.Field{Name: "s", Type: types.TypeString},
	types.Field{Name: "u", Type: types.TypeString},
)

type calcScope struct{}

func (calcScope) Resolve(id *ast.Ident) (int, types.Type, error) {
	name := id.Parts[len(id.Parts)-1]
	i := calcSchema.Index(name)
	if i < 0 {
		return 0, types.Type{}, fmt.Errorf("unknown column %s", name)
	}
	return i, calcSchema.Fields[i].Type, nil
}

func calcExpr(t *testing.T, text string) expr.Expr {
	t.Helper()
	a, err := sql.ParseExpr(text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	e, err := expr.Bind(a, calcScope{}, expr.BindOptions{})
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return e
}

type calcSink struct{ rows []string }

func (c *calcSink) Collect(b batch.Batch) error {
	for i := 0; i < b.Len(); i++ {
		var cells []string
		for _, col := range b.Rec.Columns() {
			if col.IsNull(i) {
				cells = append(cells, "NULL")
				continue
			}
			switch x := col.(type) {
			case *array.Int64:
				cells = append(cells, fmt.Sprint(x.Value(i)))
			case *array.String:
				cells = append(cells, x.Value(i))
			default:
				cells = append(cells, "?")
			}
		}
		c.rows = append(c.rows, b.Kind(i).String()+" "+strings.Join(cells, ","))
	}
	return nil
}

func (c *calcSink) EmitWatermark(int64) error { return nil }

// q21Calc is Nexmark q21's Calc over (a, s, u): its REGEXP_EXTRACT and
// LOWER(s) occur in both the filter and the projection.
func q21Calc(t *testing.T) *Calc {
	re := "REGEXP_EXTRACT(u, '(&|^)channel_id=([^&]*)', 2)"
	proj := []expr.Expr{
		calcExpr(t, "a"),
		calcExpr(t, "CASE WHEN LOWER(s) = 'apple' THEN '0' WHEN LOWER(s) = 'google' THEN '1' ELSE "+re+" END"),
	}
	return &Calc{
		Filter: calcExpr(t, re+" IS NOT NULL OR LOWER(s) IN ('apple', 'google')"),
		Exprs:  proj,
		Out: types.NewSchema(types.Field{Name: "a", Type: types.TypeBigInt},
			types.Field{Name: "channel_id", Type: proj[1].Type()}),
	}
}

func calcBatch(a []int64, s, u []string, kinds []batch.RowKind) batch.Batch {
	sv := make([]bool, len(s))
	for i := range sv {
		sv[i] = s[i] != "<null>"
	}
	rec := batch.NewRecord(calcSchema, []arrow.Array{
		batch.Int64Array(a, nil), batch.StringArray(s, sv), batch.StringArray(u, nil),
	}, len(a))
	return batch.Batch{Rec: rec, Kinds: kinds}
}

// TestCalcSharedFilterProjection: the kept rows, their kinds and the
// projected values of a Calc whose filter and projection share
// subexpressions.
func TestCalcSharedFilterProjection(t *testing.T) {
	c := q21Calc(t)
	if err := c.Open(&exec.OpContext{}); err != nil {
		t.Fatal(err)
	}
	var out calcSink
	// Some rows dropped, a changelog.
	b := calcBatch([]int64{1, 2, 3, 4, 5},
		[]string{"Apple", "x", "<null>", "GOOGLE", "y"},
		[]string{"q=1", "q=1&channel_id=7", "channel_id=&z", "channel_id=9", "q=2"},
		[]batch.RowKind{batch.Insert, batch.UpdateBefore, batch.UpdateAfter, batch.Delete, batch.Insert})
	if err := c.Process(0, b, &out); err != nil {
		t.Fatal(err)
	}
	// Every row kept: kinds pass through.
	b = calcBatch([]int64{6, 7}, []string{"apple", "z"}, []string{"", "channel_id=x&channel_id=y"}, nil)
	if err := c.Process(0, b, &out); err != nil {
		t.Fatal(err)
	}
	// No row kept: nothing emitted.
	b = calcBatch([]int64{8}, []string{"z"}, []string{"channel_idx=1"}, nil)
	if err := c.Process(0, b, &out); err != nil {
		t.Fatal(err)
	}
	want := "+I 1,0|-U 2,7|+U 3,|-D 4,1|+I 6,0|+I 7,x"
	if got := strings.Join(out.rows, "|"); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestCalcErrorOnlyOnKeptRows: a projection that fails on rows the filter
// removes does not fail, although the filter shares the expression.
func TestCalcErrorOnlyOnKeptRows(t *testing.T) {
	c := &Calc{
		Filter: calcExpr(t, "s <> 'bad' AND CAST(s AS BIGINT) > 0"),
		Exprs:  []expr.Expr{calcExpr(t, "CAST(s AS BIGINT) * a")},
		Out:    types.NewSchema(types.Field{Name: "x", Type: types.TypeBigInt}),
	}
	if err := c.Open(&exec.OpContext{}); err != nil {
		t.Fatal(err)
	}
	var out calcSink
	b := calcBatch([]int64{1, 2, 3}, []string{"5", "bad", "-1"}, []string{"", "", ""}, nil)
	if err := c.Process(0, b, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out.rows, "|"); got != "+I 5" {
		t.Fatalf("got %s", got)
	}
	b = calcBatch([]int64{1}, []string{"oops"}, []string{""}, nil)
	if err := c.Process(0, b, &out); err == nil {
		t.Fatal("CAST('oops' AS BIGINT) in the filter did not fail")
	}
}

// TestCalcParallelInstances runs one Calc per goroutine (as parallel
// subtasks do) under the race detector: compiled state is per instance.
func TestCalcParallelInstances(t *testing.T) {
	var wg sync.WaitGroup
	results := make([]string, 4)
	for g := range results {
		c := q21Calc(t)
		if err := c.Open(&exec.OpContext{}); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out calcSink
			for i := 0; i < 50; i++ {
				b := calcBatch([]int64{int64(i), 2}, []string{"Apple", "x"}, []string{"", "a&channel_id=" + fmt.Sprint(i)}, nil)
				if err := c.Process(0, b, &out); err != nil {
					results[g] = err.Error()
					return
				}
			}
			results[g] = strings.Join(out.rows, "|")
		}()
	}
	wg.Wait()
	for g := range results {
		if results[g] != results[0] || !strings.HasSuffix(results[g], "+I 49,0|+I 2,49") {
			t.Fatalf("subtask %d: %.80s...", g, results[g])
		}
	}
}
