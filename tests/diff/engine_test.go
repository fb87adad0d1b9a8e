package diff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/types"
)

// engine is a streamsql session over the generated tables.
type engine struct {
	sess *session.Session
}

func newEngine(ctx context.Context, dir string, tables []*table) (*engine, error) {
	sess, err := session.New(session.Options{
		Dir:     dir,
		Stdout:  io.Discard,
		Logger:  slog.New(slog.DiscardHandler),
		DMLSync: true,
	})
	if err != nil {
		return nil, fmt.Errorf("diff: new session: %w", err)
	}
	e := &engine{sess: sess}
	for _, t := range tables {
		if err := e.exec(ctx, t.flinkDDL()); err != nil {
			sess.Close()
			return nil, fmt.Errorf("diff: create %s: %w", t.name, err)
		}
	}
	return e, nil
}

func (e *engine) Close() error { return e.sess.Close() }

// exec runs a statement that produces no rows we care about (DDL, SET).
func (e *engine) exec(ctx context.Context, stmt string) error {
	return e.sess.ExecuteScript(ctx, stmt, &collector{})
}

// engineResult is a query's final materialized result.
type engineResult struct {
	rows    []string // sorted multiset, or in arrival order when ordered
	ordered bool     // the engine said the row order is meaningful
}

// query runs one SELECT and materializes its changelog.
func (e *engine) query(ctx context.Context, text string) (engineResult, error) {
	c := &collector{}
	if err := e.sess.ExecuteScript(ctx, text+";", c); err != nil {
		return engineResult{}, err
	}
	if c.err != nil {
		return engineResult{}, c.err
	}
	if c.results != 1 {
		return engineResult{}, fmt.Errorf("diff: query produced %d results, want 1", c.results)
	}
	if c.info.Ordered {
		return engineResult{rows: c.seq, ordered: true}, nil
	}
	return engineResult{rows: c.set.sorted()}, nil
}

// collector is the session.Output of one query: it applies the changelog
// to a multiset (and, for ordered results, keeps the arrival order).
type collector struct {
	open    bool
	results int
	schema  types.Schema
	info    session.ResultInfo
	set     multiset
	seq     []string
	err     error // first changelog violation; the query fails with it
}

func (c *collector) Message(string) error { return nil }

func (c *collector) Begin(schema types.Schema, info session.ResultInfo) error {
	if c.open {
		return errors.New("diff: Begin inside a result")
	}
	c.open, c.schema, c.info = true, schema, info
	c.results++
	c.set, c.seq = multiset{}, nil
	return nil
}

func (c *collector) Rows(b batch.Batch) error {
	if !c.open {
		return errors.New("diff: rows outside a result")
	}
	cells := make([]string, len(c.schema.Fields))
	for r := range b.Len() {
		for col, f := range c.schema.Fields {
			cells[col] = normCell(b.Column(col), r, f.Type)
		}
		key := rowKey(cells)
		kind := b.Kind(r)
		if err := c.set.add(key, kind.IsRetract()); err != nil && c.err == nil {
			c.err = fmt.Errorf("%s: %w", kind, err)
		}
		if c.info.Ordered {
			if kind != batch.Insert && c.err == nil {
				c.err = fmt.Errorf("ordered result has a %s row [%s]", kind, showRow(key))
			}
			c.seq = append(c.seq, key)
		}
	}
	return nil
}

func (c *collector) End() error {
	if !c.open {
		return errors.New("diff: End without Begin")
	}
	c.open = false
	return nil
}

// normCell renders row i of a (logical type t) as described in
// result_test.go.
func normCell(a arrow.Array, i int, t types.Type) string {
	if a.IsNull(i) {
		return nullCell
	}
	switch arr := a.(type) {
	case *array.Boolean:
		if arr.Value(i) {
			return "1"
		}
		return "0"
	case *array.Int32:
		if t.Kind == types.Int {
			return normInt(int64(arr.Value(i)))
		}
	case *array.Int64:
		switch t.Kind {
		case types.Int, types.BigInt:
			return normInt(arr.Value(i))
		case types.Decimal:
			// Through the exact decimal text, so the float is the nearest
			// one to the decimal value (as sqlite's would be).
			v, err := strconv.ParseFloat(string(format.AppendDecimal(nil, arr.Value(i), t.Scale)), 64)
			if err != nil {
				return "bad decimal " + err.Error()
			}
			return normFloat(v)
		}
	case *array.Float64:
		return normFloat(arr.Value(i))
	case *array.String:
		return normString(arr.Value(i))
	}
	// Temporal types are not generated; render them legibly if a query
	// produces one, and the comparison will show it.
	return "?" + format.Display(a, i, t, time.UTC)
}
