// Package nexmark implements the 'nexmark' connector: a source that
// generates the Nexmark auction event stream (people, auctions, bids) in
// process, after the reference generator of the Flink and Beam Nexmark
// suites.
//
// Every value of an event is a function of its event number (a PRNG seeded
// from it), and event time advances by 1/rate per event from a fixed base
// time, so every run, every split of the stream over parallel subtasks and
// every restore from a checkpoint produces exactly the same events. A table
// reads one kind of event ('nexmark.table' = 'person' | 'auction' | 'bid'),
// or all of them as Flink's single table (event_type and person, auction
// and bid ROW columns; the default when the schema is that one, see all.go).
package nexmark

import (
	"fmt"
	"sync"

	"github.com/streamsql/streamsql/connectors"
)

// Factory creates nexmark sources. It owns the read-only lookup data its
// sources share (built on first use, never modified afterwards, so every
// subtask reads it unlocked).
type Factory struct {
	mu       sync.Mutex
	tabs     *tables
	channels *channelSeqs
	extras   map[extraSize]*seqText
}

// New returns the nexmark factory.
func New() *Factory { return &Factory{} }

// tables returns the shared word lists, texts and price tables.
func (f *Factory) tables() *tables {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tabs == nil {
		f.tabs = buildTables()
	}
	return f.tabs
}

// bidSeqs returns the channel/url sequences and, when padding of this size
// is small enough to precompute (see extraSeqMax), the padding sequence
// (else nil: the padding is copied per event).
func (f *Factory) bidSeqs(t *tables, ex extraSize) (*channelSeqs, *seqText) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.channels == nil {
		f.channels = buildChannelSeqs(t)
	}
	if ex.lo+ex.span > extraSeqMax {
		return f.channels, nil
	}
	e := f.extras[ex]
	if e == nil {
		if f.extras == nil || len(f.extras) >= maxExtraSeqs {
			// Sources still using a dropped sequence keep it alive.
			f.extras = map[extraSize]*seqText{}
		}
		e = buildExtraSeq(ex)
		f.extras[ex] = e
	}
	return f.channels, e
}

// Name implements connectors.Factory.
func (*Factory) Name() string { return "nexmark" }

// Validate implements connectors.Factory.
func (*Factory) Validate(t connectors.Table) error {
	_, err := parse(t)
	return err
}

// NewSource implements connectors.Factory.
func (f *Factory) NewSource(t connectors.Table) (connectors.Source, error) {
	c, err := parse(t)
	if err != nil {
		return nil, err
	}
	if c.all {
		return newAllSource(t, c, f), nil
	}
	return newSource(t, c, f), nil
}

// NewSink implements connectors.Factory: nexmark cannot be written to.
func (*Factory) NewSink(t connectors.Table) (connectors.Sink, error) {
	return nil, fmt.Errorf("table '%s': connector 'nexmark' can only be read from, not written to", t.Name)
}
