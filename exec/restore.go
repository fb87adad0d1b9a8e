package exec

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/streamsql/streamsql/checkpoint"
	"github.com/streamsql/streamsql/connectors"
)

// checkRestorable refuses a snapshot holding state that no operator of the
// plan would take (a changed query), unless allowed, and in-flight data or
// source positions that cannot be mapped onto another parallelism.
func checkRestorable(g *Graph, ids []vertexIDs, meta *checkpoint.Metadata, allow bool, logger *slog.Logger) error {
	known := map[string]*Vertex{}
	for vi, v := range g.Vertices {
		if ids[vi].source != "" {
			known[ids[vi].source] = v
		}
		for _, id := range ids[vi].chain {
			known[id] = v
		}
	}
	var dropped []string
	for _, op := range meta.Operators {
		if strings.HasPrefix(op.ID, "inflight-") {
			continue
		}
		v, ok := known[op.ID]
		if !ok {
			dropped = append(dropped, fmt.Sprintf("%s (id %s)", op.Name, op.ID))
			continue
		}
		if ids := ids; v.Source != nil && op.ID == ids[indexOf(g, v)].source && op.Parallelism != v.Parallelism {
			return fmt.Errorf("not supported yet: restoring source %s at parallelism %d from a snapshot taken at parallelism %d", v.Name, v.Parallelism, op.Parallelism)
		}
	}
	sort.Strings(dropped)
	if len(dropped) > 0 {
		if !allow {
			return fmt.Errorf("the snapshot holds state that this job would not restore (the query changed):\n  %s\nuse --allow-non-restored-state to drop it", strings.Join(dropped, "\n  "))
		}
		logger.Warn("dropping state the job no longer uses", "operators", strings.Join(dropped, "; "))
	}
	if len(meta.Channels) > 0 {
		for _, cs := range meta.Channels {
			if cs.Vertex < 0 || cs.Vertex >= len(g.Vertices) {
				return fmt.Errorf("not supported yet: restoring in-flight data of an unaligned checkpoint into a changed job")
			}
		}
		for _, op := range meta.Operators {
			if v, ok := known[op.ID]; ok && op.Parallelism != v.Parallelism {
				return fmt.Errorf("not supported yet: changing the parallelism of %s when restoring an unaligned checkpoint with in-flight data", v.Name)
			}
		}
	}
	return nil
}

func indexOf(g *Graph, v *Vertex) int {
	for i, x := range g.Vertices {
		if x == v {
			return i
		}
	}
	return -1
}

// restoreChannelState queues each channel's in-flight data ahead of
// anything its producer will send.
func restoreChannelState(tasks []*task, meta *checkpoint.Metadata, workDir string) error {
	byID := map[[2]int]*task{}
	for _, t := range tasks {
		byID[[2]int{t.vertexIndex, t.subtask}] = t
	}
	for _, cs := range meta.Channels {
		t := byID[[2]int{cs.Vertex, cs.Subtask}]
		if t == nil || t.gate == nil || cs.Channel >= t.gate.NumChannels() {
			return fmt.Errorf("not supported yet: restoring in-flight data of an unaligned checkpoint into a changed job")
		}
		for _, f := range cs.Files {
			data, err := os.ReadFile(meta.Path(f))
			if err != nil {
				return fmt.Errorf("restore in-flight data: %w", err)
			}
			elems, err := readChannelState(data)
			if err != nil {
				return fmt.Errorf("restore in-flight data of %s: %w", meta.Path(f), err)
			}
			for _, e := range elems {
				if err := t.gate.Channel(cs.Channel).Push(t.ctx, e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// restore loads this task's state from meta after the operators opened.
func (t *task) restore(meta *checkpoint.Metadata, workDir string) error {
	maxPar := t.maxParallelism
	kgStart, kgEnd := KeyGroupRange(t.subtask, maxPar, t.vertex.Parallelism)
	scratch := filepath.Join(workDir, "restore")
	if meta != nil {
		finished, par := meta.FinishedSubtasks(t.ids.last)
		switch {
		case finished == nil:
		case par == t.vertex.Parallelism:
			t.restoredFinished = finished[t.subtask]
		case len(finished) == par:
			t.restoredFinished = true // every subtask had finished
		default:
			return fmt.Errorf("not supported yet: restoring %s at parallelism %d from a snapshot where %d of its %d subtasks had finished",
				t.vertex.Name, t.vertex.Parallelism, len(finished), par)
		}
	}
	if meta != nil && t.source != nil && t.ids.source != "" && !t.restoredFinished {
		if op := meta.Operator(t.ids.source); op != nil {
			cs, ok := t.source.(connectors.CheckpointedSource)
			if !ok {
				return fmt.Errorf("%s: the snapshot holds a position but the source cannot seek", t.vertex.Name)
			}
			dir, err := meta.Materialize(op.ID, t.subtask, filepath.Join(scratch, "source"))
			if err != nil {
				return fmt.Errorf("%s: restore: %w", t.vertex.Name, err)
			}
			pos, err := os.ReadFile(filepath.Join(dir, "position"))
			if err != nil {
				return fmt.Errorf("%s: restore: %w", t.vertex.Name, err)
			}
			if err := cs.Seek(pos); err != nil {
				return &OperatorError{Operator: t.vertex.Name, Subtask: t.subtask, Parallelism: t.vertex.Parallelism, Err: fmt.Errorf("restore: %w", err)}
			}
		}
	}
	for i, op := range t.ops {
		restored := false
		if s, ok := op.(Stateful); ok && meta != nil {
			if st := meta.Operator(t.ids.chain[i]); st != nil {
				rc := RestoreContext{KeyGroupStart: kgStart, KeyGroupEnd: kgEnd, Rescaled: st.Parallelism != t.vertex.Parallelism,
					ScratchDir: filepath.Join(scratch, fmt.Sprintf("op-%d", i))}
				if err := os.MkdirAll(rc.ScratchDir, 0o755); err != nil {
					return fmt.Errorf("restore: %w", err)
				}
				for _, sub := range st.Subtasks {
					if sub.KeyGroupEnd <= kgStart || sub.KeyGroupStart >= kgEnd {
						continue
					}
					dir, err := meta.Materialize(st.ID, sub.Subtask, filepath.Join(scratch, fmt.Sprintf("op-%d-from-%d", i, sub.Subtask)))
					if err != nil {
						return (&namedLink{t: t, i: i}).wrap(fmt.Errorf("restore: %w", err))
					}
					rc.Snapshots = append(rc.Snapshots, RestoredSnapshot{Subtask: sub.Subtask, KeyGroupStart: sub.KeyGroupStart, KeyGroupEnd: sub.KeyGroupEnd, Dir: dir})
				}
				if err := s.RestoreState(rc); err != nil {
					return (&namedLink{t: t, i: i}).wrap(fmt.Errorf("restore: %w", err))
				}
				restored = true
			}
		}
		if si, ok := op.(StateInitializer); ok && t.cp != nil {
			if err := si.InitializeState(restored); err != nil {
				return (&namedLink{t: t, i: i}).wrap(err)
			}
		}
	}
	if err := os.RemoveAll(scratch); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// attach wires an attempt's tasks to the coordinator.
func (jc *jobCheckpointing) attach(tasks []*task, ids []vertexIDs, env Env) {
	jc.tasks = tasks
	jc.unfinished.Store(int64(len(tasks)))
	jc.allFinished = make(chan struct{})
	for _, t := range tasks {
		kgStart, kgEnd := KeyGroupRange(t.subtask, env.MaxParallelism, t.vertex.Parallelism)
		t.cp = &taskCheckpointing{job: jc, id: checkpoint.TaskID{Vertex: t.vertexIndex, Subtask: t.subtask, Name: t.vertex.Name},
			opIDs: ids[t.vertexIndex].chain, sourceID: ids[t.vertexIndex].source, finishedID: ids[t.vertexIndex].last,
			kgStart: kgStart, kgEnd: kgEnd, logger: env.Logger}
	}
}

func (jc *jobCheckpointing) hooks(g *Graph, settings map[string]string) checkpoint.Hooks {
	var tasks []checkpoint.TaskID
	for vi, v := range g.Vertices {
		for s := 0; s < v.Parallelism; s++ {
			tasks = append(tasks, checkpoint.TaskID{Vertex: vi, Subtask: s, Name: v.Name})
		}
	}
	return checkpoint.Hooks{
		Tasks:    tasks,
		Settings: settings,
		Trigger: func(b checkpoint.Barrier) error {
			// Barriers start at the sources still running; tasks that
			// have finished acknowledge at once. A task finishing right
			// now may be asked twice (here and by its own
			// ackFinishedPending); ackFinished acknowledges once.
			info := BarrierInfo{ID: b.ID, Timestamp: b.Timestamp, Unaligned: b.Unaligned, Savepoint: b.Savepoint}
			for _, t := range jc.tasks {
				t := t
				switch {
				case t.finished.Load():
					t.mail.Put(func() error { return t.ackFinished(info) })
				case t.source != nil:
					t.mail.Put(func() error { return t.triggerSource(info) })
				}
			}
			return nil
		},
		Notify: func(id int64) {
			for _, t := range jc.tasks {
				t := t
				t.mail.Put(func() error { return t.notifyComplete(id) })
			}
		},
		Aborted: func(id int64, reason error) {
			for _, t := range jc.tasks {
				t := t
				t.mail.Put(func() error { return t.notifyAborted(id, reason) })
			}
		},
	}
}
