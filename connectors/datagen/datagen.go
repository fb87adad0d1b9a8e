// Package datagen implements Flink's 'datagen' connector: a source of random
// or sequential rows, optionally bounded and rate-limited.
//
// Random values are derived from a hash of (column, row index), not from a
// random number generator, so the same table definition yields the same rows
// on every run and at any parallelism. Timestamps and dates are relative to
// each row's due time under rows-per-second, counted from the clock when the
// subtask started; a checkpoint records that start, so a restored source
// replays the same values.
package datagen

import (
	"fmt"

	"github.com/streamsql/streamsql/connectors"
)

// Factory creates datagen sources.
type Factory struct{}

// New returns the datagen factory.
func New() *Factory { return &Factory{} }

// Name implements connectors.Factory.
func (*Factory) Name() string { return "datagen" }

// Validate implements connectors.Factory.
func (*Factory) Validate(t connectors.Table) error {
	_, err := parse(t)
	return err
}

// NewSource implements connectors.Factory.
func (*Factory) NewSource(t connectors.Table) (connectors.Source, error) {
	c, err := parse(t)
	if err != nil {
		return nil, err
	}
	return newSource(t, c), nil
}

// NewSink implements connectors.Factory: datagen cannot be written to.
func (*Factory) NewSink(t connectors.Table) (connectors.Sink, error) {
	return nil, fmt.Errorf("table '%s': connector 'datagen' can only be read from, not written to", t.Name)
}
