package expr

import (
	"math/rand"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec/batch"
)

// TestCmpStrVS: the string-against-constant loop agrees with the general
// row compare for every operator, on a sliced array with NULLs.
func TestCmpStrVS(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	words := []string{"", "a", "ab", "abc", "b", "apple", "Apple", "applf", "appl", "é"}
	for it := 0; it < 200; it++ {
		n := 1 + r.Intn(20)
		vals, valid := make([]string, n), make([]bool, n)
		for i := range vals {
			vals[i], valid[i] = words[r.Intn(len(words))], r.Intn(4) > 0
		}
		arr := batch.StringArray(vals, valid)
		from := r.Intn(n)
		a, err := fromArrow(array.NewSlice(arr, int64(from), int64(n)))
		if err != nil {
			t.Fatal(err)
		}
		m := n - from
		c := words[r.Intn(len(words))]
		cv := scalarVec(testSchema.Fields[4].Type, c, m)
		for op := opEQ; op <= opGE; op++ {
			out := make([]bool, m)
			cmpStrVS(op, a, c, out)
			for i := 0; i < m; i++ {
				if want := compareAt(op, physStr, a, cv, i); !a.null(i) && out[i] != want {
					t.Fatalf("op %d: %q vs %q: %v, want %v", op, a.str(i), c, out[i], want)
				}
			}
		}
	}
}
