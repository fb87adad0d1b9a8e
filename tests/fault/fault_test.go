// Package fault is the fault-injection suite (issue 4): jobs with
// checkpoints that lose tasks at random points (in-process, through the
// session's InjectFault hook) or whose whole process is killed (the
// streamsql binary, resumed with --restore latest), checked against runs
// without failures: exactly-once output stays exact, at-least-once output
// loses nothing.
//
// Fault points are drawn from math/rand/v2 seeded per test; a failing test
// prints its seed, and FAULT_SEED=<n> runs every test with that base seed.
// Task scheduling is not seeded, so a seed reproduces the fault plan (how
// many faults, after which call counts, with which probability), not the
// exact interleaving.
package fault

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/datagen"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/types"
)

// baseSeed is FAULT_SEED, or a fresh random seed.
var baseSeed = func() uint64 {
	if v := os.Getenv("FAULT_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			panic("FAULT_SEED: " + err.Error())
		}
		return n
	}
	return rand.Uint64()
}()

// seedFor derives a test's seed from the base seed and its name, and
// prints how to reproduce it if the test fails.
func seedFor(t *testing.T) uint64 {
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	seed := baseSeed ^ h.Sum64()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("fault plan seed %d (reproduce with FAULT_SEED=%d go test -run '%s' ./tests/fault/)", seed, baseSeed, t.Name())
		}
	})
	return seed
}

// discard is a session.Output that drops results and messages.
type discard struct{}

func (discard) Message(string) error                         { return nil }
func (discard) Begin(types.Schema, session.ResultInfo) error { return nil }
func (discard) Rows(batch.Batch) error                       { return nil }
func (discard) End() error                                   { return nil }

// errInjected marks the failures the injector makes.
var errInjected = errors.New("injected fault")

// injector fails random tasks at random points, at most budget times. A
// fault is only injected once a checkpoint has completed since the
// previous one (so every restart starts from a checkpoint, and the job
// makes progress between faults). Faults also come after a source subtask
// has ended and sinks have finished (no checkpoint covers their last rows
// then: the runtime commits them only at the end of the job). A source
// that ends while a fault is on its way waits for the attempt to be
// cancelled instead of ending (see trackedSource), so the failing attempt
// cannot finish first.
type injector struct {
	st *store

	mu        sync.Mutex
	rng       *rand.Rand
	calls     int
	next      int // calls before the next fault may fire
	budget    int
	lastCommt int
	fired     []string
	failing   bool // a fault was injected in the current attempt
}

func newInjector(st *store, seed uint64, budget int) *injector {
	in := &injector{st: st, rng: rand.New(rand.NewPCG(seed, seed^0x5DEECE66D)), budget: budget}
	in.next = 1 + in.rng.IntN(20)
	return in
}

func (in *injector) fault(task string, subtask int) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.calls++
	if in.budget == 0 || in.calls < in.next || in.failing {
		return nil
	}
	if in.st.Notified() <= in.lastCommt {
		return nil
	}
	// Spread faults over tasks: the task that reaches the point does not
	// always fail.
	if in.rng.IntN(3) != 0 {
		return nil
	}
	in.budget--
	in.next = in.calls + 1 + in.rng.IntN(20)
	in.lastCommt = in.st.Notified()
	in.failing = true
	in.fired = append(in.fired, fmt.Sprintf("%s[%d]@%d", task, subtask, in.calls))
	return fmt.Errorf("%w #%d in %s (subtask %d)", errInjected, len(in.fired), task, subtask)
}

func (in *injector) Fired() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.fired...)
}

// opened is called when a source subtask opens: a new attempt has begun
// (attempts do not overlap).
func (in *injector) opened(int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.failing = false
}

// end is called when a source subtask reaches its end: it may end unless
// the attempt is failing.
func (in *injector) end(int) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return !in.failing
}

// sourceHooks learn when datagen source subtasks open and reach their end;
// end returns false to keep a source from ending (it then waits for the
// attempt to be cancelled).
type sourceHooks interface {
	opened(subtask int)
	end(subtask int) bool
}

// trackedDatagen is the datagen connector whose sources call hooks.
type trackedDatagen struct {
	*datagen.Factory
	hooks sourceHooks
}

func (f *trackedDatagen) NewSource(t connectors.Table) (connectors.Source, error) {
	src, err := f.Factory.NewSource(t)
	if err != nil {
		return nil, err
	}
	cs, ok := src.(connectors.CheckpointedSource)
	if !ok {
		return nil, fmt.Errorf("datagen source %T cannot be checkpointed", src)
	}
	return &trackedSource{CheckpointedSource: cs, hooks: f.hooks}, nil
}

type trackedSource struct {
	connectors.CheckpointedSource
	hooks   sourceHooks
	subtask int
}

func (s *trackedSource) Open(ctx context.Context, subtask, parallelism int) error {
	s.subtask = subtask
	s.hooks.opened(subtask)
	return s.CheckpointedSource.Open(ctx, subtask, parallelism)
}

func (s *trackedSource) Next(ctx context.Context) (batch.Batch, error) {
	b, err := s.CheckpointedSource.Next(ctx)
	if errors.Is(err, io.EOF) && !s.hooks.end(s.subtask) {
		select {
		case <-ctx.Done(): // the injected fault cancels the attempt
			return batch.Batch{}, ctx.Err()
		case <-time.After(time.Minute):
			return batch.Batch{}, errors.New("the attempt was not cancelled after an injected fault")
		}
	}
	return b, err
}

// cpCounter is a slog.Handler that counts the coordinator's "checkpoint
// completed" lines, and those with in-flight data (unaligned checkpoints
// that overtook queued data).
type cpCounter struct {
	mu                  sync.Mutex
	completed, inFlight int
}

func (c *cpCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *cpCounter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *cpCounter) WithGroup(string) slog.Handler            { return c }
func (c *cpCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "checkpoint completed" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.completed++
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "in_flight_bytes" && a.Value.Int64() > 0 {
			c.inFlight++
		}
		return true
	})
	return nil
}

func (c *cpCounter) counts() (completed, inFlight int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.completed, c.inFlight
}

// runScript runs an SQL script in a new session whose connectors include
// the txlog sink over st and extra; inject (may be nil) is the fault hook.
func runScript(t *testing.T, dir, script string, st *store, inject func(string, int) error, logger *slog.Logger, extra ...connectors.Factory) error {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s, err := session.New(session.Options{Dir: dir, DMLSync: true, Logger: logger,
		Connectors: append([]connectors.Factory{&txlog{st: st}}, extra...), InjectFault: inject})
	if err != nil {
		return err
	}
	err = s.ExecuteScript(context.Background(), script, discard{})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// sqlLines renders settings as SET statements.
func setStatements(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "SET '%s' = '%s';\n", kv[i], kv[i+1])
	}
	return b.String()
}
