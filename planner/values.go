package planner

import (
	"context"
	"io"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec/batch"
)

// valuesSource emits one row without columns: the input of SELECT without
// FROM, whose select list then computes constants over it.
type valuesSource struct{ done bool }

func (*valuesSource) Bounded() bool                        { return true }
func (*valuesSource) Open(context.Context, int, int) error { return nil }
func (*valuesSource) Close() error                         { return nil }
func (v *valuesSource) Next(context.Context) (batch.Batch, error) {
	if v.done {
		return batch.Batch{}, io.EOF
	}
	v.done = true
	return batch.New(array.NewRecord(arrow.NewSchema(nil, nil), nil, 1)), nil
}
