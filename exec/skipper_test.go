package exec

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
)

type plainOp struct{ BaseOperator }

func (plainOp) Process(int, batch.Batch, Collector) error { return nil }

type skipOp struct{ plainOp }

func (skipOp) SkipColumns() []int                    { return []int{0} }
func (skipOp) SkipRows(_ []arrow.Array, skip []bool) {}

// TestSkipperOfChainedOperatorOnly: an operator learns of the RowSkipper
// it feeds in its chain, and of nothing at the chain's end or before an
// operator that skips nothing.
func TestSkipperOfChainedOperatorOnly(t *testing.T) {
	sk := &skipOp{}
	tk := &task{ops: []Operator{&plainOp{}, sk, &plainOp{}}, tail: discard{}}
	if got := SkipperOf(tk.link(1)); got != RowSkipper(sk) {
		t.Fatalf("the link into the skipper gives %v", got)
	}
	if got := SkipperOf(tk.link(2)); got != nil {
		t.Fatalf("the link into a plain operator gives %v", got)
	}
	if got := SkipperOf(tk.link(3)); got != nil {
		t.Fatalf("the chain's tail gives %v", got)
	}
}
