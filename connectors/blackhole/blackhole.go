// Package blackhole implements Flink's 'blackhole' sink: it accepts every
// row, including updates, and discards it (useful for benchmarks).
package blackhole

import (
	"context"
	"fmt"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/exec/batch"
)

// Factory creates blackhole sinks.
type Factory struct{}

// New returns the blackhole factory.
func New() *Factory { return &Factory{} }

// Name implements connectors.Factory.
func (*Factory) Name() string { return "blackhole" }

// Validate implements connectors.Factory: blackhole has no options.
func (*Factory) Validate(t connectors.Table) error {
	for _, k := range opts.SortedKeys(t.Options) {
		return opts.Unknown(t.Name, k)
	}
	return nil
}

// NewSource implements connectors.Factory: a blackhole cannot be read.
func (*Factory) NewSource(t connectors.Table) (connectors.Source, error) {
	return nil, fmt.Errorf("table '%s': connector 'blackhole' can only be written to, not read from", t.Name)
}

// NewSink implements connectors.Factory.
func (f *Factory) NewSink(t connectors.Table) (connectors.Sink, error) {
	if err := f.Validate(t); err != nil {
		return nil, err
	}
	return sink{}, nil
}

// AcceptsUpdates implements connectors.UpdateSinkFactory.
func (*Factory) AcceptsUpdates(connectors.Table) bool { return true }

type sink struct{}

func (sink) Open(context.Context, int, int) error { return nil }

// Write drops the batch; the caller keeps ownership and releases it.
func (sink) Write(context.Context, batch.Batch) error { return nil }
func (sink) Finish(context.Context) error             { return nil }
func (sink) Close() error                             { return nil }

// Flush implements connectors.FlushingSink: nothing is kept, so a barrier
// has nothing to wait for.
func (sink) Flush(context.Context) error { return nil }

var (
	_ connectors.Factory           = (*Factory)(nil)
	_ connectors.UpdateSinkFactory = (*Factory)(nil)
	_ connectors.FlushingSink      = sink{}
)
