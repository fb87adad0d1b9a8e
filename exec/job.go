package exec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/streamsql/streamsql/checkpoint"
	"github.com/streamsql/streamsql/connectors"
)

// Vertex is a node of the job graph: a chain of operators run as
// Parallelism tasks. Its head is either a source or the vertex's inputs.
type Vertex struct {
	Name        string
	Parallelism int
	// Source makes the source for one subtask; nil when Inputs feed the
	// vertex.
	Source func(subtask int) (connectors.Source, error)
	// Inputs are the incoming edges.
	Inputs []Input
	// Chain is the operators run in order within each task.
	Chain []OperatorFactory
}

// Input is an edge from another vertex.
type Input struct {
	// From is the producing vertex's index in Graph.Vertices.
	From int
	// Partitioning distributes the producer's rows over this vertex's tasks.
	Partitioning Partitioning
	// Side is the logical input of the head operator (0, or 1 for the
	// second input of a join).
	Side int
}

// Graph is a runnable job.
type Graph struct {
	Name     string
	Vertices []*Vertex
	// MaxParallelism is the number of key groups.
	MaxParallelism int
	// ChannelCapacity bounds each channel (0 = default).
	ChannelCapacity int
}

// Env is the runtime environment of a job.
type Env struct {
	Logger   *slog.Logger
	Now      func() time.Time
	Location *time.Location
	// WorkDir holds per-task directories (on-disk state); "" = a temporary
	// directory removed when the job ends.
	WorkDir        string
	MaxParallelism int
	// Checkpoint turns checkpoints and restarts on (nil = off).
	Checkpoint *Checkpointing
	// InjectFault, if set, is called by every task after each batch it
	// handles; an error fails the task (fault-injection tests).
	InjectFault func(task string, subtask int) error
}

// Validate checks the graph's shape.
func (g *Graph) Validate() error {
	for i, v := range g.Vertices {
		if v.Parallelism < 1 {
			return fmt.Errorf("vertex %s: parallelism %d", v.Name, v.Parallelism)
		}
		if (v.Source == nil) == (len(v.Inputs) == 0) {
			return fmt.Errorf("vertex %s: needs exactly one of a source or inputs", v.Name)
		}
		for _, in := range v.Inputs {
			if in.From < 0 || in.From >= i {
				return fmt.Errorf("vertex %s: input from vertex %d: vertices must be in topological order", v.Name, in.From)
			}
			if in.Partitioning.Kind == Forward && g.Vertices[in.From].Parallelism != v.Parallelism {
				return fmt.Errorf("vertex %s: forward edge between different parallelisms", v.Name)
			}
			if in.Partitioning.Kind == Global && v.Parallelism != 1 {
				return fmt.Errorf("vertex %s: global edge into parallelism %d", v.Name, v.Parallelism)
			}
		}
	}
	return nil
}

// Run executes the job until every task has finished (bounded inputs), a
// task fails, or ctx is cancelled. The first failure cancels all tasks and is
// returned; cancellation returns ctx's error.
func Run(ctx context.Context, g *Graph, env Env) error {
	_, err := RunWithStats(ctx, g, env)
	return err
}

// RunWithStats is Run, also returning the job's throughput figures.
func RunWithStats(ctx context.Context, g *Graph, env Env) (Stats, error) {
	start, startCPU := time.Now(), cpuTime()
	counters := &jobCounters{}
	err := run(ctx, g, env, counters)
	return Stats{RowsIn: counters.rowsIn.Load(), Wall: time.Since(start), CPU: cpuTime() - startCPU}, err
}

func run(ctx context.Context, g *Graph, env Env, counters *jobCounters) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Location == nil {
		env.Location = time.UTC
	}
	env.MaxParallelism = g.MaxParallelism
	if env.MaxParallelism <= 0 {
		env.MaxParallelism = DefaultMaxParallelism
	}
	if env.WorkDir == "" {
		dir, err := os.MkdirTemp("", "streamsql-job-")
		if err != nil {
			return fmt.Errorf("job work dir: %w", err)
		}
		defer os.RemoveAll(dir)
		env.WorkDir = dir
	}
	if env.Checkpoint == nil {
		return runAttempt(ctx, g, env, counters, nil, nil)
	}
	if !env.Checkpoint.Config.Enabled() {
		// A savepoint may seed a job that takes no checkpoints itself.
		err := runAttempt(ctx, g, env, counters, nil, env.Checkpoint.Restore)
		var fatal *unrecoverable
		if errors.As(err, &fatal) {
			return fatal.err
		}
		return err
	}
	if err := checkSourcesCheckpointable(g); err != nil {
		return err
	}
	return runWithCheckpoints(ctx, g, env, counters)
}

// runAttempt runs the job once: from restore's state when it is set, and
// with checkpoints when jc is set.
func runAttempt(ctx context.Context, g *Graph, env Env, counters *jobCounters, jc *jobCheckpointing, restore *checkpoint.Metadata) error {
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	ids := operatorIDs(g)
	if restore != nil {
		allow := env.Checkpoint != nil && env.Checkpoint.AllowNonRestoredState
		if err := checkRestorable(g, ids, restore, allow, env.Logger); err != nil {
			return &unrecoverable{err}
		}
	}
	tasks, err := build(jobCtx, g, &env, counters)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		t.ids = ids[t.vertexIndex]
	}
	if restore != nil {
		if err := restoreChannelState(tasks, restore, env.WorkDir); err != nil {
			return err
		}
	}

	var wg sync.WaitGroup
	var once sync.Once
	var first error
	fail := func(err error) {
		once.Do(func() {
			first = err
			cancel(err)
		})
	}
	if jc != nil {
		jc.attach(tasks, ids, env)
	}
	for _, t := range tasks {
		wg.Add(1)
		go func(t *task) {
			defer wg.Done()
			tenv := env
			// The vertex index keeps two vertices of one name (a table
			// read twice) from sharing state and checkpoint scratch.
			tenv.WorkDir = filepath.Join(env.WorkDir, fmt.Sprintf("%d-%s-%d", t.vertexIndex, sanitize(t.vertex.Name), t.subtask))
			err := t.run(&tenv, restore)
			if err != nil && !(errors.Is(err, context.Canceled) && jobCtx.Err() != nil) {
				fail(err)
			}
		}(t)
	}
	coordDone := make(chan struct{})
	if jc != nil {
		go func() {
			defer close(coordDone)
			if err := jc.coord.Run(jobCtx); err != nil && jobCtx.Err() == nil {
				fail(fmt.Errorf("checkpointing: %w", err))
			}
		}()
	} else {
		close(coordDone)
	}
	wg.Wait()
	cancel(nil)
	<-coordDone
	if first != nil {
		return first
	}
	return ctx.Err()
}

// checkSourcesCheckpointable refuses a checkpointed job whose source cannot
// record a position.
func checkSourcesCheckpointable(g *Graph) error {
	for _, v := range g.Vertices {
		if v.Source == nil {
			continue
		}
		src, err := v.Source(0)
		if err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
		_, ok := src.(connectors.CheckpointedSource)
		src.Close()
		if !ok {
			return fmt.Errorf("not supported yet: checkpointing a job that reads %s (its connector cannot record a position)", v.Name)
		}
	}
	return nil
}

// unrecoverable is a failure no restart can fix (the snapshot does not fit
// the job).
type unrecoverable struct{ err error }

func (u *unrecoverable) Error() string { return u.err.Error() }
func (u *unrecoverable) Unwrap() error { return u.err }

// runWithCheckpoints runs attempts until the job ends, restarting it from
// the latest completed checkpoint after a failure as long as the restart
// strategy allows.
func runWithCheckpoints(ctx context.Context, g *Graph, env Env, counters *jobCounters) error {
	cpe := env.Checkpoint
	st := cpe.Storage
	if st == nil {
		var err error
		st, err = checkpoint.OpenStorage(cpe.Config.Dir, cpe.JobID, env.Logger)
		if err != nil {
			return fmt.Errorf("checkpoint storage: %w", err)
		}
	}
	restarter := checkpoint.NewRestarter(cpe.Restart)
	restore := cpe.Restore
	nextID := int64(1)
	if restore != nil {
		nextID = restore.ID + 1
	}
	for attempt := 1; ; attempt++ {
		jc := &jobCheckpointing{cfg: cpe.Config, storage: st, maxPar: env.MaxParallelism}
		clog := cpe.Logger
		if clog == nil {
			clog = env.Logger
		}
		jc.coord = checkpoint.NewCoordinator(cpe.Config, st, jc.hooks(g, cpe.Settings), clog.With("job", cpe.JobID))
		jc.coord.SetNextID(nextID)
		if cpe.Attach != nil {
			cpe.Attach(jc.coord)
		}
		err := runAttempt(ctx, g, env, counters, jc, restore)
		if last := jc.coord.LastID(); last >= nextID {
			nextID = last + 1
		}
		if err == nil {
			return nil
		}
		var fatal *unrecoverable
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if ctx.Err() != nil {
			if !cpe.Config.RetainOnCancellation {
				if derr := st.Discard(); derr != nil {
					env.Logger.Warn("discarding checkpoints", "err", derr)
				}
			}
			return err
		}
		delay, ok := restarter.Next(time.Now())
		if !ok {
			return err
		}
		if latest, lerr := st.Latest(); lerr == nil && latest != nil {
			restore = latest
		}
		from := "its initial state"
		if restore != nil {
			from = fmt.Sprintf("checkpoint %d", restore.ID)
		}
		env.Logger.Warn("job failed; restarting", "attempt", attempt, "err", err, "delay", delay, "from", from)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return err
		}
	}
}

func sanitize(name string) string {
	out := []rune{}
	for _, r := range name {
		if r == '/' || r == '\\' || r == ' ' || r == '(' || r == ')' || r == ',' {
			r = '_'
		}
		out = append(out, r)
		if len(out) > 40 {
			break
		}
	}
	return string(out)
}

// build creates tasks, channels and wiring.
func build(ctx context.Context, g *Graph, env *Env, counters *jobCounters) ([]*task, error) {
	perVertex := make([][]*task, len(g.Vertices))
	var all []*task
	for vi, v := range g.Vertices {
		for s := 0; s < v.Parallelism; s++ {
			t := &task{vertex: v, vertexIndex: vi, subtask: s, ctx: ctx, mail: NewMailbox(), counters: counters, done: make(chan struct{})}
			if v.Source != nil {
				src, err := v.Source(s)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", v.Name, err)
				}
				t.source = src
			} else {
				t.gate = NewGate(t.mail)
			}
			for _, f := range v.Chain {
				op, err := f.New(s)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f.Name, err)
				}
				t.ops = append(t.ops, op)
				t.names = append(t.names, f.Name)
			}
			t.tail = discard{}
			perVertex[vi] = append(perVertex[vi], t)
			all = append(all, t)
		}
	}
	capacity := g.ChannelCapacity
	// Wire edges: for each consumer input, one channel per (producer,
	// consumer) pair that can carry rows.
	for vi, v := range g.Vertices {
		for _, in := range v.Inputs {
			producers := perVertex[in.From]
			consumers := perVertex[vi]
			for _, p := range producers {
				w := &edgeWriter{part: in.Partitioning, maxPar: env.MaxParallelism}
				switch in.Partitioning.Kind {
				case Forward:
					ch := NewChannel(capacity)
					consumers[p.subtask].gate.Add(ch, in.Side)
					w.chans = []*Channel{ch}
				case Global:
					ch := NewChannel(capacity)
					consumers[0].gate.Add(ch, in.Side)
					w.chans = []*Channel{ch}
				default:
					for _, c := range consumers {
						ch := NewChannel(capacity)
						c.gate.Add(ch, in.Side)
						w.chans = append(w.chans, ch)
					}
				}
				if p.out == nil {
					p.out = &Output{ctx: ctx}
					p.tail = p.out
				}
				p.out.edges = append(p.out.edges, w)
			}
		}
	}
	return all, nil
}
