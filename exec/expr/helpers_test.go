package expr

import (
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// fakeScope resolves names against a schema.
type fakeScope struct{ s types.Schema }

func (f fakeScope) Resolve(id *ast.Ident) (int, types.Type, error) {
	name := id.Parts[len(id.Parts)-1]
	i := f.s.Index(name)
	if i < 0 {
		return 0, types.Type{}, ast.Errorf(id.Pos, "unknown column '%s'", name)
	}
	return i, f.s.Fields[i].Type, nil
}

// testSchema and testRecord are the fixture most tests evaluate against.
var testSchema = types.NewSchema(
	types.Field{Name: "a", Type: types.TypeBigInt.WithNotNull(true)},
	types.Field{Name: "b", Type: types.TypeBigInt},
	types.Field{Name: "i", Type: types.TypeInt},
	types.Field{Name: "d", Type: types.TypeDouble},
	types.Field{Name: "s", Type: types.TypeString},
	types.Field{Name: "m", Type: types.DecimalOf(10, 2)},
	types.Field{Name: "ts", Type: types.TimestampOf(3)},
	types.Field{Name: "dt", Type: types.TypeDate},
	types.Field{Name: "f", Type: types.TypeBoolean},
	types.Field{Name: "ltz", Type: types.TimestampLTZOf(3)},
	types.Field{Name: "big", Type: types.TypeBigInt},
)

func mustTS(s string) int64 {
	us, _, ok := parseTimestamp(s)
	if !ok {
		panic("bad test timestamp " + s)
	}
	return us
}

func mustDate(s string) int32 {
	d, ok := parseDate(s)
	if !ok {
		panic("bad test date " + s)
	}
	return d
}

// Four rows; row 3 is mostly NULL.
func testRecord() arrow.Record {
	v := []bool{true, true, true, false}
	cols := []arrow.Array{
		batch.Int64Array([]int64{1, 200, -3, 7}, nil),
		batch.Int64Array([]int64{10, 0, 5, 0}, v),
		batch.Int32Array([]int32{1, 2, 2147483647, 0}, v),
		batch.Float64Array([]float64{0.25, 1.5, -2, 0}, v),
		batch.StringArray([]string{"hello", "World", "ab_c%", ""}, v),
		batch.Int64Array([]int64{1050, -199, 0, 0}, v), // 10.50, -1.99, 0.00
		batch.Int64Array([]int64{mustTS("2024-03-15 10:20:30.123"), mustTS("1999-12-31 23:59:59"), mustTS("2024-01-01 00:00:00"), 0}, v),
		batch.Int32Array([]int32{mustDate("2024-03-15"), mustDate("2000-02-29"), mustDate("1970-01-01"), 0}, v),
		batch.BooleanArray([]bool{true, false, true, false}, v),
		batch.Int64Array([]int64{mustTS("2024-03-15 10:20:30"), 0, 0, 0}, []bool{true, true, true, false}),
		batch.Int64Array([]int64{9223372036854775807, -9223372036854775808, 1, 0}, v),
	}
	return batch.NewRecord(testSchema, cols, 4)
}

var testEnv = &EvalEnv{
	Now:      func() time.Time { return time.Date(2024, 6, 1, 12, 30, 45, 678_000_000, time.UTC) },
	Location: time.UTC,
}

func bindSQL(t *testing.T, sql string) (Expr, error) {
	t.Helper()
	e, err := parseExpr(sql)
	if err != nil {
		t.Fatalf("test parser: %q: %v", sql, err)
	}
	return Bind(e, fakeScope{testSchema}, BindOptions{})
}

// evalSQL binds, compiles and evaluates sql over testRecord; values are the
// physical Go values per row (nil for NULL).
func evalSQL(t *testing.T, sql string) ([]any, Expr, error) {
	t.Helper()
	return evalSQLEnv(t, sql, testEnv)
}

func evalSQLEnv(t *testing.T, sql string, env *EvalEnv) ([]any, Expr, error) {
	t.Helper()
	e, err := bindSQL(t, sql)
	if err != nil {
		return nil, nil, err
	}
	p, err := Compile([]Expr{e}, env)
	if err != nil {
		return nil, e, err
	}
	rec := testRecord()
	defer rec.Release()
	arrs, err := p.Eval(rec)
	if err != nil {
		return nil, e, err
	}
	defer arrs[0].Release()
	if !arrow.TypeEqual(arrs[0].DataType(), e.Type().Arrow()) {
		t.Fatalf("%s: array type %s, want %s", sql, arrs[0].DataType(), e.Type().Arrow())
	}
	if arrs[0].Len() != 4 {
		t.Fatalf("%s: %d rows, want 4", sql, arrs[0].Len())
	}
	v, err := fromArrow(arrs[0])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]any, 4)
	for i := range out {
		out[i] = v.value(e.Type(), i)
	}
	return out, e, nil
}

func asAstError(err error) (*ast.Error, bool) {
	var ae *ast.Error
	ok := errors.As(err, &ae)
	return ae, ok
}
