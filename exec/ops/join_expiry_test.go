package ops

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/expr"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// TestIntervalJoinFreesStateBehindWatermark: with bounds L - R in [-5 s, 0]
// a left row can only match right rows up to 5 s later, a right row left
// rows up to its own time, so a watermark past that frees them; rows that
// can still match stay.
func TestIntervalJoinFreesStateBehindWatermark(t *testing.T) {
	for _, backend := range joinBackends {
		t.Run(backend, func(t *testing.T) { testIntervalJoinFreesState(t, backend) })
	}
}

func testIntervalJoinFreesState(t *testing.T, backend string) {
	const s = int64(1_000_000)
	sch := types.NewSchema(types.Field{Name: "k", Type: types.TypeBigInt}, types.Field{Name: "ts", Type: types.TimestampOf(3)})
	out := types.NewSchema(append(append([]types.Field{}, sch.Fields...), sch.Fields...)...)
	// l.ts BETWEEN r.ts - INTERVAL '5' SECOND AND r.ts, over Out's columns.
	id := func(n string) ast.Expr { return &ast.Ident{Parts: []string{n}} }
	cond := &ast.Between{X: id("lts"), Lo: &ast.Binary{Op: "-", L: id("rts"), R: &ast.Literal{Kind: ast.LitInterval, Value: "5", Unit: "SECOND"}}, Hi: id("rts")}
	residual, err := expr.Bind(cond, tsScope{}, expr.BindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j := openJoin(t, &Join{Kind: JoinInner, LeftKeys: []int{0}, RightKeys: []int{0}, Left: sch, Right: sch, Out: out, Residual: residual,
		Bounds: &TimeBounds{LeftCol: 1, RightCol: 1, Lo: -5 * s, Hi: 0}}, backend, nil)
	var c collectRows
	rows := func(side int, ts ...int64) {
		ks := make([]int64, len(ts))
		us := make([]int64, len(ts))
		for i, x := range ts {
			ks[i], us[i] = 1, x*s
		}
		rec := batch.NewRecord(sch, []arrow.Array{batch.Int64Array(ks, nil), batch.Int64Array(us, nil)}, len(ts))
		if err := j.Process(side, batch.New(rec), &c); err != nil {
			t.Fatal(err)
		}
	}
	rows(0, 0, 10, 30) // left
	rows(1, 3, 12)     // right: matches left 0 (0 <= 3 <= 5) and left 10 (10 <= 12 <= 15)
	if len(c.rows) != 2 {
		t.Fatalf("matches: %v", c.rows)
	}
	if err := j.ProcessWatermark(20*s, &c); err != nil {
		t.Fatal(err)
	}
	// Left 0 and 10 (wm >= L + 5) and both right rows (wm >= R) are gone;
	// left 30 can still meet right rows in [30, 35].
	if l, r := storedRows(t, j, 0), storedRows(t, j, 1); l != 1 || r != 0 {
		t.Fatalf("state after the watermark: %d left, %d right rows; want 1, 0", l, r)
	}
	if j.store != nil {
		// Only the time bucket of left 30 (expiring at 35 s) is left in
		// the expiry index; passed buckets were cleared.
		if l, r := len(j.store.open[0]), len(j.store.open[1]); l != 1 || r != 0 {
			t.Fatalf("open expiry buckets: %d left, %d right; want 1, 0", l, r)
		}
	}
	rows(1, 33)
	if len(c.rows) != 3 {
		t.Fatalf("the surviving left row must still match: %v", c.rows)
	}
	if err := j.ProcessWatermark(60*s, &c); err != nil {
		t.Fatal(err)
	}
	if l, r := storedRows(t, j, 0), storedRows(t, j, 1); l != 0 || r != 0 {
		t.Fatalf("state after watermark 60 s: %d left, %d right rows; want none", l, r)
	}
	if j.store != nil {
		if l, r := len(j.store.open[0]), len(j.store.open[1]); l != 0 || r != 0 {
			t.Fatalf("open expiry buckets at 60 s: %d left, %d right; want none", l, r)
		}
	}
}

// tsScope resolves lts and rts to the joined row's two time columns.
type tsScope struct{}

func (tsScope) Resolve(id *ast.Ident) (int, types.Type, error) {
	if id.Parts[0] == "lts" {
		return 1, types.TimestampOf(3), nil
	}
	return 3, types.TimestampOf(3), nil
}
