package exec

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

func oneRow(v int64) Element {
	s := types.NewSchema(types.Field{Name: "v", Type: types.TypeBigInt})
	return DataElement(batch.New(batch.NewRecord(s, []arrow.Array{batch.Int64Array([]int64{v}, nil)}, 1)))
}

func queueOf(c *Channel) []string {
	var out []string
	for _, e := range c.Queued() {
		switch e.Kind {
		case Data:
			out = append(out, "d"+e.Batch.Column(0).ValueStr(0))
		case Barrier:
			out = append(out, "b"+string(rune('0'+e.Barrier.ID))+"/"+string(rune('0'+e.Barrier.Overtaken)))
		default:
			out = append(out, "w")
		}
	}
	return out
}

// PrioritizeBarrier moves a queued aligned barrier ahead of the data before
// it, counting that data as overtaken (what the consumer persists as
// in-flight state), and leaves barriers behind an earlier one alone.
func TestChannelPrioritizeBarrier(t *testing.T) {
	ctx := context.Background()
	c := NewChannel(8)
	c.gate = NewGate(nil)
	for _, e := range []Element{oneRow(1), oneRow(2), BarrierElement(BarrierInfo{ID: 5}), oneRow(3)} {
		if err := c.Push(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if !c.PrioritizeBarrier(5) {
		t.Fatal("barrier 5 not found")
	}
	if got, want := queueOf(c), []string{"b5/2", "d1", "d2", "d3"}; !slices.Equal(got, want) {
		t.Fatalf("queue %v, want %v", got, want)
	}
	// At the head already: nothing moves.
	if !c.PrioritizeBarrier(5) || !slices.Equal(queueOf(c), []string{"b5/2", "d1", "d2", "d3"}) {
		t.Fatalf("second call changed the queue: %v", queueOf(c))
	}
	if c.PrioritizeBarrier(6) {
		t.Fatal("found a barrier that is not queued")
	}
	// Behind an earlier barrier: stays.
	c2 := NewChannel(8)
	c2.gate = NewGate(nil)
	for _, e := range []Element{oneRow(1), BarrierElement(BarrierInfo{ID: 4}), oneRow(2), BarrierElement(BarrierInfo{ID: 5})} {
		if err := c2.Push(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if c2.PrioritizeBarrier(5) || !slices.Equal(queueOf(c2), []string{"d1", "b4/0", "d2", "b5/0"}) {
		t.Fatalf("a barrier behind an earlier one moved: %v", queueOf(c2))
	}
}
