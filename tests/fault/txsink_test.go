package fault

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/format"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// txlog is a two-phase-commit test sink that accepts updates. Its "external
// system" is a store shared by all subtasks and all attempts of a job:
// rows a subtask wrote between two barriers are pre-committed there under
// (subtask, checkpoint) and stay invisible until Commit (or Recover) makes
// them part of the committed changelog. Commits are idempotent, and Recover
// discards what failed attempts of the subtask left pre-committed, so the
// committed changelog is what a reader of an exactly-once sink sees.
type txlog struct{ st *store }

const txlogName = "txlog"

func (f *txlog) Name() string { return txlogName }

func (f *txlog) Validate(t connectors.Table) error {
	for k := range t.Options {
		return &connectors.OptionError{Table: t.Name, Option: k, Msg: "unknown option"}
	}
	return nil
}

func (f *txlog) NewSource(t connectors.Table) (connectors.Source, error) {
	return nil, fmt.Errorf("table '%s': %s is a sink", t.Name, txlogName)
}

func (f *txlog) NewSink(t connectors.Table) (connectors.Sink, error) {
	return &txSink{st: f.st, schema: t.Schema}, nil
}

func (f *txlog) AcceptsUpdates(connectors.Table) bool { return true }

type txKey struct {
	subtask int
	cp      int64
}

// store is the durable side of the txlog sink.
type store struct {
	// slow, if set, is how long Write sleeps per batch of a subtask (a slow
	// sink makes backpressure, so unaligned barriers overtake data).
	slow func(subtask int) time.Duration

	mu        sync.Mutex
	pending   map[txKey][]string // pre-committed, invisible
	committed []string           // the committed changelog: "+I|v1|v2|..."
	done      map[txKey]bool     // committed transactions (idempotence)
	commits   int                // transactions committed
	notified  int                // Commit calls (completed checkpoints) that committed one
	recovered int                // Recover calls with a restored checkpoint's state
	fresh     int                // Recover calls without state
	finished  map[int]int        // Finish calls per subtask
}

func newStore() *store {
	return &store{pending: map[txKey][]string{}, done: map[txKey]bool{}, finished: map[int]int{}}
}

// commitLocked makes transaction k visible once.
func (s *store) commitLocked(k txKey) {
	if s.done[k] {
		return
	}
	rows, ok := s.pending[k]
	if !ok {
		return
	}
	s.committed = append(s.committed, rows...)
	delete(s.pending, k)
	s.done[k] = true
	s.commits++
}

// Notified is how many checkpoint completions committed a transaction of
// some subtask (Recover and Finish do not count).
func (s *store) Notified() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notified
}

// AnyFinished reports whether some subtask's sink reached Finish.
func (s *store) AnyFinished() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.finished) > 0
}

// Finished reports whether subtask's sink reached Finish.
func (s *store) Finished(subtask int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finished[subtask] > 0
}

// Recovered is how many sink subtasks restarted from a checkpoint.
func (s *store) Recovered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// Changelog returns a copy of the committed changelog.
func (s *store) Changelog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.committed)
}

// Uncommitted is how many pre-committed transactions were never committed
// nor discarded.
func (s *store) Uncommitted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// txSink is one subtask of the txlog sink.
type txSink struct {
	st      *store
	schema  types.Schema
	subtask int
	buf     []string // written since the last barrier
	mine    []int64  // checkpoints this value pre-committed, not yet committed
	row     []byte
}

func (s *txSink) Open(_ context.Context, subtask, _ int) error {
	s.subtask = subtask
	return nil
}

func (s *txSink) Write(_ context.Context, b batch.Batch) error {
	if s.st.slow != nil {
		if d := s.st.slow(s.subtask); d > 0 {
			time.Sleep(d)
		}
	}
	for i := range b.Len() {
		s.row = append(s.row[:0], b.Kind(i).String()...)
		for c, f := range s.schema.Fields {
			s.row = append(s.row, '|')
			s.row = format.AppendDisplay(s.row, b.Column(c), i, f.Type, time.UTC)
		}
		s.buf = append(s.buf, string(s.row))
	}
	return nil
}

// PreCommit stores what was written since the last barrier as the
// transaction (subtask, checkpointID); the state lists every transaction
// of this value not yet committed.
func (s *txSink) PreCommit(_ context.Context, checkpointID int64) ([]byte, error) {
	s.st.mu.Lock()
	k := txKey{s.subtask, checkpointID}
	if _, dup := s.st.pending[k]; dup || s.st.done[k] {
		s.st.mu.Unlock()
		return nil, fmt.Errorf("txlog: subtask %d pre-committed checkpoint %d twice", s.subtask, checkpointID)
	}
	s.st.pending[k] = s.buf
	s.st.mu.Unlock()
	s.buf = nil
	s.mine = append(s.mine, checkpointID)
	state := binary.AppendUvarint(nil, uint64(s.subtask))
	for _, id := range s.mine {
		state = binary.AppendVarint(state, id)
	}
	return state, nil
}

func (s *txSink) Commit(_ context.Context, checkpointID int64) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	before := s.st.commits
	s.commitLocked(checkpointID)
	if s.st.commits > before {
		s.st.notified++
	}
	return nil
}

// commitLocked commits this value's transactions up to checkpointID.
func (s *txSink) commitLocked(checkpointID int64) {
	keep := s.mine[:0]
	for _, id := range s.mine {
		if id <= checkpointID {
			s.st.commitLocked(txKey{s.subtask, id})
		} else {
			keep = append(keep, id)
		}
	}
	s.mine = keep
}

// Recover commits the transactions the restored checkpoint lists and
// discards every other pending transaction of this subtask (left by a
// failed attempt: the sources replay their rows).
func (s *txSink) Recover(_ context.Context, pending []byte) error {
	var ids []int64
	if pending != nil {
		sub, n := binary.Uvarint(pending)
		if n <= 0 || int(sub) != s.subtask {
			return fmt.Errorf("txlog: subtask %d got the state of subtask %d", s.subtask, sub)
		}
		for p := pending[n:]; len(p) > 0; {
			id, m := binary.Varint(p)
			if m <= 0 {
				return errors.New("txlog: corrupt state")
			}
			ids = append(ids, id)
			p = p[m:]
		}
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if pending != nil {
		s.st.recovered++
	} else {
		s.st.fresh++
	}
	for _, id := range ids {
		k := txKey{s.subtask, id}
		if _, ok := s.st.pending[k]; !ok && !s.st.done[k] {
			return fmt.Errorf("txlog: transaction %v of the restored checkpoint is lost", k)
		}
		s.st.commitLocked(k)
	}
	for k := range s.st.pending {
		if k.subtask == s.subtask {
			delete(s.st.pending, k)
		}
	}
	return nil
}

// Finish commits everything: what is pre-committed and what came since
// (the contract: "make the output final").
func (s *txSink) Finish(context.Context) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.commitLocked(1 << 62)
	s.st.committed = append(s.st.committed, s.buf...)
	s.buf = nil
	s.st.finished[s.subtask]++
	return nil
}

// Close drops what no checkpoint covers.
func (s *txSink) Close() error {
	s.buf = nil
	return nil
}

// materialize applies a changelog ("+I|..", "-U|..", "+U|..", "-D|..") and
// returns the sorted rows of the final table (values only). A retraction
// of a row that is not there is reported in bad (an exactly-once changelog
// never has one), and is otherwise ignored.
func materialize(changelog []string) (rows []string, bad []string) {
	count := map[string]int{}
	for _, c := range changelog {
		op, row, _ := strings.Cut(c, "|")
		switch op {
		case "+I", "+U":
			count[row]++
		case "-U", "-D":
			if count[row] == 0 {
				bad = append(bad, c)
				continue
			}
			count[row]--
		default:
			bad = append(bad, c)
		}
	}
	for r, n := range count {
		for range n {
			rows = append(rows, r)
		}
	}
	sort.Strings(rows)
	return rows, bad
}
