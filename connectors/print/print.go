// Package print implements Flink's 'print' sink: every row, updates
// included, is written as a line such as "+I[1, Alice, 12.50]".
package print

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Factory creates print sinks.
type Factory struct{}

// New returns the print factory.
func New() *Factory { return &Factory{} }

// Name implements connectors.Factory.
func (*Factory) Name() string { return "print" }

type config struct {
	identifier string
	stderr     bool
}

func parse(t connectors.Table) (config, error) {
	var c config
	for _, k := range opts.SortedKeys(t.Options) {
		v := t.Options[k]
		var err error
		switch k {
		case "print-identifier":
			c.identifier = v
		case "standard-error":
			c.stderr, err = opts.Bool(t.Name, k, v)
		case "sink.parallelism":
			err = opts.NotSupported(t.Name, k)
		default:
			err = opts.Unknown(t.Name, k)
		}
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

// Validate implements connectors.Factory.
func (*Factory) Validate(t connectors.Table) error {
	_, err := parse(t)
	return err
}

// NewSource implements connectors.Factory: print cannot be read.
func (*Factory) NewSource(t connectors.Table) (connectors.Source, error) {
	return nil, fmt.Errorf("table '%s': connector 'print' can only be written to, not read from", t.Name)
}

// NewSink implements connectors.Factory.
func (*Factory) NewSink(t connectors.Table) (connectors.Sink, error) {
	c, err := parse(t)
	if err != nil {
		return nil, err
	}
	out := t.Env.Stdout
	if c.stderr {
		out = os.Stderr
	}
	if out == nil {
		return nil, fmt.Errorf("table '%s': print sink has no output stream", t.Name)
	}
	loc := t.Env.Location
	if loc == nil {
		loc = time.UTC
	}
	return &sink{cfg: c, out: out, schema: t.Schema, loc: loc}, nil
}

// AcceptsUpdates implements connectors.UpdateSinkFactory.
func (*Factory) AcceptsUpdates(connectors.Table) bool { return true }

type sink struct {
	cfg    config
	out    io.Writer
	schema types.Schema
	loc    *time.Location
	prefix []byte
	line   []byte
}

// Open builds the line prefix as Flink does: "<identifier>:<subtask+1>> "
// with either part left out when it does not apply.
func (s *sink) Open(_ context.Context, subtask, parallelism int) error {
	p := s.cfg.identifier
	if parallelism > 1 {
		if p != "" {
			p += ":"
		}
		p += strconv.Itoa(subtask + 1)
	}
	if p != "" {
		p += "> "
	}
	s.prefix = []byte(p)
	return nil
}

// Write prints each row with one Write call, so lines of concurrent
// subtasks do not interleave.
func (s *sink) Write(_ context.Context, b batch.Batch) error {
	for r := 0; r < b.Len(); r++ {
		s.line = AppendRow(append(s.line[:0], s.prefix...), b, r, s.schema, s.loc)
		s.line = append(s.line, '\n')
		if _, err := s.out.Write(s.line); err != nil {
			return fmt.Errorf("print: %w", err)
		}
	}
	return nil
}

// AppendRow renders row r of b as Flink's Row.toString does for the print
// sink: the row kind, then the fields in brackets, NULL as "null"; values
// use format.Display.
func AppendRow(dst []byte, b batch.Batch, r int, schema types.Schema, loc *time.Location) []byte {
	dst = append(dst, b.Kind(r).String()...)
	dst = append(dst, '[')
	for c, f := range schema.Fields {
		if c > 0 {
			dst = append(dst, ',', ' ')
		}
		a := b.Column(c)
		if a.IsNull(r) {
			dst = append(dst, "null"...)
			continue
		}
		dst = format.AppendDisplay(dst, a, r, f.Type, loc)
	}
	return append(dst, ']')
}

func (*sink) Finish(context.Context) error { return nil }
func (*sink) Close() error                 { return nil }

// Flush implements connectors.FlushingSink. Write hands every row to the
// writer before it returns, so at a barrier there is nothing left to
// write: print is at-least-once as it is.
func (*sink) Flush(context.Context) error { return nil }

var (
	_ connectors.Factory           = (*Factory)(nil)
	_ connectors.UpdateSinkFactory = (*Factory)(nil)
	_ connectors.FlushingSink      = (*sink)(nil)
)
