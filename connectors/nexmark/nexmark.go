// Package nexmark implements the 'nexmark' connector: a source that
// generates the Nexmark auction event stream (people, auctions, bids) in
// process, after the reference generator of the Flink and Beam Nexmark
// suites.
//
// Every value of an event is a function of its event number (a PRNG seeded
// from it), and event time advances by 1/rate per event from a fixed base
// time, so every run, every split of the stream over parallel subtasks and
// every restore from a checkpoint produces exactly the same events. A table
// reads one kind of event ('nexmark.table' = 'person' | 'auction' | 'bid').
package nexmark

import (
	"fmt"

	"github.com/streamsql/streamsql/connectors"
)

// Factory creates nexmark sources.
type Factory struct{}

// New returns the nexmark factory.
func New() *Factory { return &Factory{} }

// Name implements connectors.Factory.
func (*Factory) Name() string { return "nexmark" }

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

// NewSink implements connectors.Factory: nexmark cannot be written to.
func (*Factory) NewSink(t connectors.Table) (connectors.Sink, error) {
	return nil, fmt.Errorf("table '%s': connector 'nexmark' can only be read from, not written to", t.Name)
}
