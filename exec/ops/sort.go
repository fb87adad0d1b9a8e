package ops

import (
	"cmp"
	"fmt"
	"sort"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
)

// SortKey is one ORDER BY key: a column of the input.
type SortKey struct {
	Col  int
	Desc bool
}

// Sort buffers a bounded input and emits it sorted at the end, applying
// OFFSET and LIMIT (Limit < 0 = none). NULLs sort first ascending, last
// descending (MySQL's order, which the TiDB grammar users expect).
type Sort struct {
	exec.BaseOperator
	Keys   []SortKey
	Offset int64
	Limit  int64
	Schema *arrow.Schema

	buf []batch.Batch
}

// Process buffers.
func (s *Sort) Process(_ int, b batch.Batch, _ exec.Collector) error {
	if !b.InsertOnly() {
		return fmt.Errorf("not supported yet: ORDER BY over an updating input")
	}
	s.buf = append(s.buf, b)
	return nil
}

// ProcessWatermark is swallowed: nothing is emitted before the end.
func (s *Sort) ProcessWatermark(int64, exec.Collector) error { return nil }

// Finish sorts and emits.
func (s *Sort) Finish(out exec.Collector) error {
	if len(s.buf) == 0 {
		return nil
	}
	all, err := batch.Concat(s.Schema, s.buf)
	if err != nil {
		return err
	}
	s.buf = nil
	n := all.Len()
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	cmps := make([]func(i, j int) int, len(s.Keys))
	for k, key := range s.Keys {
		c, err := compareFunc(all.Column(key.Col))
		if err != nil {
			return err
		}
		if key.Desc {
			cmps[k] = func(i, j int) int { return -c(i, j) }
		} else {
			cmps[k] = c
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		for _, c := range cmps {
			if r := c(int(idx[a]), int(idx[b])); r != 0 {
				return r < 0
			}
		}
		return false
	})
	lo := min(s.Offset, int64(n))
	hi := int64(n)
	if s.Limit >= 0 && lo+s.Limit < hi {
		hi = lo + s.Limit
	}
	if lo >= hi {
		return nil
	}
	return out.Collect(batch.TakeBatch(all, idx[lo:hi]))
}

// compareFunc orders two rows of one column, NULL first.
func compareFunc(a arrow.Array) (func(i, j int) int, error) {
	nullCmp := func(i, j int) (int, bool) {
		ni, nj := a.IsNull(i), a.IsNull(j)
		switch {
		case ni && nj:
			return 0, true
		case ni:
			return -1, true
		case nj:
			return 1, true
		}
		return 0, false
	}
	switch c := a.(type) {
	case *array.Int64:
		v := c.Int64Values()
		return func(i, j int) int {
			if r, ok := nullCmp(i, j); ok {
				return r
			}
			return cmp.Compare(v[i], v[j])
		}, nil
	case *array.Int32:
		v := c.Int32Values()
		return func(i, j int) int {
			if r, ok := nullCmp(i, j); ok {
				return r
			}
			return cmp.Compare(v[i], v[j])
		}, nil
	case *array.Float64:
		v := c.Float64Values()
		return func(i, j int) int {
			if r, ok := nullCmp(i, j); ok {
				return r
			}
			return cmp.Compare(v[i], v[j])
		}, nil
	case *array.String:
		return func(i, j int) int {
			if r, ok := nullCmp(i, j); ok {
				return r
			}
			return cmp.Compare(c.Value(i), c.Value(j))
		}, nil
	case *array.Boolean:
		return func(i, j int) int {
			if r, ok := nullCmp(i, j); ok {
				return r
			}
			x, y := c.Value(i), c.Value(j)
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}, nil
	}
	return nil, fmt.Errorf("not supported yet: ORDER BY on %s", a.DataType())
}

// Limit passes the first Offset+Limit rows of an append-only input and drops
// the first Offset of them. It runs at parallelism 1.
type Limit struct {
	exec.BaseOperator
	Offset int64
	Limit  int64
	// Reached is called once when the limit has been emitted, so that a
	// SELECT over an unbounded source can end (nil = nothing).
	Reached func()

	seen int64
	done bool
}

// Process emits the rows inside the window.
func (l *Limit) Process(_ int, b batch.Batch, out exec.Collector) error {
	if l.done {
		return nil
	}
	if !b.InsertOnly() {
		return fmt.Errorf("not supported yet: LIMIT over an updating input")
	}
	n := int64(b.Len())
	start, end := l.seen, l.seen+n
	l.seen = end
	lo := max(l.Offset, start) - start
	hi := min(l.Offset+l.Limit, end) - start
	if lo < hi {
		part := b
		if lo > 0 || hi < n {
			part = batch.Slice(b, int(lo), int(hi))
		}
		if err := out.Collect(part); err != nil {
			return err
		}
	}
	if l.seen >= l.Offset+l.Limit {
		l.done = true
		if l.Reached != nil {
			l.Reached()
		}
	}
	return nil
}
