package blackhole

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

func TestBlackhole(t *testing.T) {
	f := New()
	tb := connectors.Table{Name: "bh", Schema: types.NewSchema(types.Field{Name: "x", Type: types.TypeBigInt})}
	if err := f.Validate(tb); err != nil {
		t.Fatal(err)
	}
	if !f.AcceptsUpdates(tb) {
		t.Error("blackhole must accept updates")
	}
	if _, err := f.NewSource(tb); err == nil {
		t.Error("blackhole must not be readable")
	}
	s, err := f.NewSink(tb)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	col := batch.Int64Array([]int64{1, 2}, nil)
	b := batch.Batch{Rec: batch.NewRecord(tb.Schema, []arrow.Array{col}, 2), Kinds: []batch.RowKind{batch.Insert, batch.Delete}}
	col.Release()
	defer b.Release()
	fs, ok := s.(connectors.FlushingSink)
	if !ok {
		t.Fatal("blackhole is not a FlushingSink")
	}
	for _, step := range []error{s.Open(ctx, 0, 1), s.Write(ctx, b), fs.Flush(ctx), s.Finish(ctx), s.Close()} {
		if step != nil {
			t.Fatal(step)
		}
	}
	tb.Options = map[string]string{"foo": "1"}
	var oe *connectors.OptionError
	if err := f.Validate(tb); !errors.As(err, &oe) || oe.Option != "foo" {
		t.Errorf("unknown option: got %v, want an OptionError naming 'foo'", err)
	}
}
