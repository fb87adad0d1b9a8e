package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/kafka"
	"github.com/streamsql/streamsql/exec/batch"
)

// faults fails the exactly-once sink at the worst moments, once each:
//  1. the first Commit after a real checkpoint (the transaction is
//     pre-committed, the checkpoint complete, the commit never happens);
//  2. after the job restarted, the first Write after a PreCommit (a
//     pre-committed transaction whose checkpoint may never complete, and
//     an open one).
type faults struct {
	mu                sync.Mutex
	commitFailed      bool
	recovered         int
	preCommitted      bool
	writeFailed       bool
	fired             []string
	commitsAfterFault int
}

type faultyKafka struct {
	*kafka.Factory
	f *faults
}

func (k faultyKafka) NewSink(t connectors.Table) (connectors.Sink, error) {
	s, err := k.Factory.NewSink(t)
	if err != nil {
		return nil, err
	}
	return &faultySink{TransactionalSink: s.(connectors.TransactionalSink), f: k.f}, nil
}

type faultySink struct {
	connectors.TransactionalSink
	f       *faults
	subtask int
}

var errInjected = errors.New("injected fault")

func (s *faultySink) Open(ctx context.Context, subtask, parallelism int) error {
	s.subtask = subtask
	return s.TransactionalSink.Open(ctx, subtask, parallelism)
}

func (s *faultySink) Flush(ctx context.Context) error {
	return s.TransactionalSink.(connectors.FlushingSink).Flush(ctx)
}

func (s *faultySink) Write(ctx context.Context, b batch.Batch) error {
	s.f.mu.Lock()
	fail := s.f.commitFailed && s.f.recovered > 0 && s.f.preCommitted && !s.f.writeFailed
	if fail {
		s.f.writeFailed = true
		s.f.fired = append(s.f.fired, fmt.Sprintf("write after pre-commit (subtask %d)", s.subtask))
	}
	s.f.mu.Unlock()
	if fail {
		return errInjected
	}
	return s.TransactionalSink.Write(ctx, b)
}

func (s *faultySink) PreCommit(ctx context.Context, cp int64) ([]byte, error) {
	p, err := s.TransactionalSink.PreCommit(ctx, cp)
	s.f.mu.Lock()
	if s.f.recovered > 0 {
		s.f.preCommitted = true
	}
	s.f.mu.Unlock()
	return p, err
}

func (s *faultySink) Commit(ctx context.Context, cp int64) error {
	s.f.mu.Lock()
	fail := !s.f.commitFailed && cp >= 2 && cp < 1<<40
	if fail {
		s.f.commitFailed = true
		s.f.fired = append(s.f.fired, fmt.Sprintf("commit of checkpoint %d (subtask %d)", cp, s.subtask))
	} else if s.f.commitFailed {
		s.f.commitsAfterFault++
	}
	s.f.mu.Unlock()
	if fail {
		return errInjected
	}
	return s.TransactionalSink.Commit(ctx, cp)
}

func (s *faultySink) Recover(ctx context.Context, pending []byte) error {
	if pending != nil {
		s.f.mu.Lock()
		s.f.recovered++
		s.f.mu.Unlock()
	}
	return s.TransactionalSink.Recover(ctx, pending)
}

// TestExactlyOnceFaults runs kafka → kafka exactly-once at parallelism 2
// with checkpoints, fails the sink between pre-commit and commit and again
// after a later pre-commit, and checks that a read_committed consumer sees
// every row exactly once and that no transaction is left open.
func TestExactlyOnceFaults(t *testing.T) {
	b := newBroker(t)
	b.topic("in", 3)
	const n = 6000
	seed(b, "in", 3, n)
	b.topic("out", 2)
	f := &faults{}
	// The source's batches are small (seed writes small record batches)
	// and slowed down until both faults fired, so the job spans enough
	// checkpoints whatever the machine's speed.
	slow := func(task string, _ int) error {
		f.mu.Lock()
		pending := !f.writeFailed
		f.mu.Unlock()
		if pending && strings.Contains(task, "Source") {
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	}
	s := newSession(t, slow, faultyKafka{kafka.New(), f})
	script := `SET 'parallelism.default' = '2';
SET 'checkpoint.interval.ms' = '15';
SET 'checkpoint.dir' = 'chk';
SET 'restart-strategy' = 'fixed-delay';
SET 'restart-strategy.fixed-delay.attempts' = '5';
SET 'restart-strategy.fixed-delay.delay' = '10 ms';
` + jsonTable(b, "src", "in", "properties.max.partition.fetch.bytes", "1500") +
		"CREATE TABLE dst (id INT, name STRING) " + with("connector", "kafka", "topic", "out", "properties.bootstrap.servers", b.addr,
		"format", "json", "sink.delivery-guarantee", "exactly-once", "sink.transactional-id-prefix", "job1") + ";\n" +
		"INSERT INTO dst SELECT * FROM src;\n"
	mustRun(t, s, script)
	f.mu.Lock()
	t.Logf("faults: %v; sink subtasks recovered from a checkpoint: %d; commits after the first fault: %d", f.fired, f.recovered, f.commitsAfterFault)
	if !f.commitFailed || f.recovered == 0 || !f.writeFailed {
		t.Fatalf("the commit fault did not fire or the job did not restart from a checkpoint: %v", f.fired)
	}
	f.mu.Unlock()
	got := values(b.read("out", true), true)
	want := wantRows(n)
	if !slices.Equal(got, want) {
		dups, missing := diff(want, got)
		t.Fatalf("read_committed consumer got %d records for %d rows: %d duplicated (%q...), %d missing (%q...)",
			len(got), n, len(dups), dups[:min(3, len(dups))], len(missing), missing[:min(3, len(missing))])
	}
	// The aborted transactions' records are there for read_uncommitted
	// readers, but not for read_committed ones.
	if all := b.read("out", false); len(all) <= n {
		t.Logf("read_uncommitted sees %d records (no aborted transaction had data)", len(all))
	}
	noOpenTransactions(t, b, "out")
}

// diff lists rows of got not in want (duplicates) and of want not in got.
func diff(want, got []string) (extra, missing []string) {
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
		if count[g] < 0 {
			extra = append(extra, g)
		}
	}
	for _, w := range want {
		if count[w] > 0 {
			missing = append(missing, w)
			count[w] = 0
		}
	}
	return extra, missing
}
