package batch

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/sql/types"
)

// TestTakeOnSlices checks Take on arrays that are slices of larger ones,
// whose buffers start before their first value (Arrow's String offsets
// stay absolute while ValueBytes is rebased).
func TestTakeOnSlices(t *testing.T) {
	s := types.NewSchema(types.Field{Name: "s", Type: types.TypeString}, types.Field{Name: "i", Type: types.TypeBigInt})
	strs := []string{"alpha", "bravo", "charlie", "delta", "echo"}
	rec := NewRecord(s, []arrow.Array{
		StringArray(strs, []bool{true, true, false, true, true}),
		Int64Array([]int64{1, 2, 3, 4, 5}, nil),
	}, 5)
	sl := Slice(New(rec), 2, 5) // charlie(NULL), delta, echo
	got := TakeBatch(sl, []int32{2, 0, 1})
	col := got.Column(0).(*array.String)
	if col.Value(0) != "echo" || !col.IsNull(1) || col.Value(2) != "delta" {
		t.Fatalf("got %q, %v, %q", col.Value(0), col.IsNull(1), col.Value(2))
	}
	ints := got.Column(1).(*array.Int64)
	if ints.Value(0) != 5 || ints.Value(1) != 3 || ints.Value(2) != 4 {
		t.Fatalf("ints %v", ints.Int64Values())
	}
}

func TestHashColumnsAgreesAcrossSlices(t *testing.T) {
	a := StringArray([]string{"x", "y", "z"}, nil)
	whole := make([]uint64, 3)
	HashColumns([]arrow.Array{a}, whole)
	sl := array.NewSlice(a, 1, 3)
	part := make([]uint64, 2)
	HashColumns([]arrow.Array{sl}, part)
	if part[0] != whole[1] || part[1] != whole[2] {
		t.Fatal("a value hashes differently inside a slice")
	}
}
