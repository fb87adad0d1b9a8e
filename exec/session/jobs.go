package session

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/streamsql/streamsql/checkpoint"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql/ast"
)

// runningJob is a job the session started: in the background (shell) or
// in the foreground (run); either can be stopped with a savepoint.
type runningJob struct {
	id        string
	cancel    context.CancelFunc
	done      chan struct{}
	err       error
	spDir     string // savepoint root ("" = checkpointing off)
	mu        sync.Mutex
	coord     *checkpoint.Coordinator // of the current attempt
	history   []checkpoint.Summary    // of earlier attempts
	stopping  bool
	savepoint string // written by STOP JOB ... WITH SAVEPOINT
}

func (j *runningJob) savepointPath() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.savepoint
}

func (j *runningJob) attach(c *checkpoint.Coordinator) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.coord != nil {
		j.history = append(j.history, j.coord.History()...)
	}
	j.coord = c
}

func (j *runningJob) isStopping() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.stopping
}

func (j *runningJob) checkpoints() []checkpoint.Summary {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := append([]checkpoint.Summary(nil), j.history...)
	if j.coord != nil {
		out = append(out, j.coord.History()...)
	}
	return out
}

// checkpointEnv resolves a job's checkpoint settings into the runtime's
// form; nil when checkpointing is off and nothing is restored.
func (s *Session) checkpointEnv(job *planner.Job, rj *runningJob) (*exec.Checkpointing, error) {
	cfg, rs, err := planner.CheckpointSettings(job.Settings)
	if err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(s.opts.Dir, "checkpoints")
	} else if !filepath.IsAbs(cfg.Dir) {
		cfg.Dir = filepath.Join(s.opts.Dir, cfg.Dir)
	}
	jobID := jobDirName(job.Name)
	cp := &exec.Checkpointing{Config: cfg, Restart: rs, JobID: jobID, AllowNonRestoredState: s.opts.AllowNonRestoredState,
		Settings: map[string]string{}, Logger: s.opts.CheckpointLogger}
	for _, r := range job.Settings.List {
		cp.Settings[r.Key] = r.Value
	}
	if rj != nil {
		cp.Attach = rj.attach
		rj.spDir = filepath.Join(cfg.Dir, jobID, "savepoints")
	}
	switch s.opts.Restore {
	case "":
	case "latest":
		meta, err := checkpoint.LoadLatest(cfg.Dir, jobID, s.opts.Logger)
		if err != nil {
			return nil, fmt.Errorf("--restore latest: job %s: %w", jobID, err)
		}
		cp.Restore = meta
	default:
		path := s.opts.Restore
		if !filepath.IsAbs(path) {
			path = filepath.Join(s.opts.Dir, path)
		}
		meta, err := checkpoint.Load(path)
		if err != nil {
			return nil, fmt.Errorf("--restore %s: %w", s.opts.Restore, err)
		}
		cp.Restore = meta
	}
	if !cfg.Enabled() && cp.Restore == nil {
		return nil, nil
	}
	if cp.Restore != nil {
		s.opts.Logger.Info("restoring job", "job", jobID, "from", cp.Restore.Dir, "checkpoint", cp.Restore.ID)
	}
	return cp, nil
}

// jobDirName makes a job name usable as a directory name.
func jobDirName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func (s *Session) register(id string, cancel context.CancelFunc) *runningJob {
	rj := &runningJob{id: id, cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.jobs[id] = rj
	s.mu.Unlock()
	return rj
}

func (s *Session) job(id string) (*runningJob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	return j, ok
}

// StopWithSavepoint takes a savepoint of job id and cancels it; it returns
// the savepoint's path.
func (s *Session) StopWithSavepoint(ctx context.Context, id string) (string, error) {
	j, ok := s.job(id)
	if !ok {
		return "", fmt.Errorf("unknown job '%s'", id)
	}
	return j.stopWithSavepoint(ctx)
}

func (j *runningJob) stopWithSavepoint(ctx context.Context) (string, error) {
	j.mu.Lock()
	coord := j.coord
	j.stopping = true
	j.mu.Unlock()
	select {
	case <-j.done:
		return "", fmt.Errorf("job '%s' is not running", j.id)
	default:
	}
	if coord == nil || j.spDir == "" {
		return "", fmt.Errorf("job '%s' runs without checkpointing: set 'checkpoint.interval.ms' to take savepoints", j.id)
	}
	path, err := coord.TriggerSavepoint(ctx, j.spDir)
	if err != nil {
		return "", fmt.Errorf("savepoint of job '%s': %w", j.id, err)
	}
	j.mu.Lock()
	j.savepoint = path
	j.mu.Unlock()
	j.cancel()
	<-j.done
	return path, nil
}

// StopAllWithSavepoint stops every running checkpointed job with a
// savepoint (`run --savepoint-on-exit` on SIGTERM); it returns the paths.
func (s *Session) StopAllWithSavepoint(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	var jobs []*runningJob
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].id < jobs[b].id })
	var paths []string
	var errs []error
	for _, j := range jobs {
		select {
		case <-j.done:
			continue
		default:
		}
		p, err := j.stopWithSavepoint(ctx)
		if err != nil {
			errs = append(errs, err)
			j.cancel()
			continue
		}
		paths = append(paths, p)
	}
	return paths, errors.Join(errs...)
}

func (s *Session) stopJob(ctx context.Context, n *ast.StopJob, out Output) error {
	j, ok := s.job(n.ID)
	if !ok {
		return ast.Errorf(n.Pos, "unknown job '%s' (SHOW JOBS lists them)", n.ID)
	}
	if n.WithSavepoint {
		path, err := j.stopWithSavepoint(ctx)
		if err != nil {
			return err
		}
		return out.Message("[INFO] Job " + n.ID + " stopped with savepoint " + path)
	}
	j.cancel()
	<-j.done
	return out.Message("[INFO] Job " + n.ID + " stopped.")
}

func (s *Session) showJobs(out Output) error {
	var rows [][]string
	for _, j := range s.Jobs() {
		rows = append(rows, []string{j[0], j[1]})
	}
	return stringResult(out, []string{"job id", "status"}, rows)
}

func (s *Session) showCheckpoints(n *ast.ShowCheckpoints, out Output) error {
	s.mu.Lock()
	var jobs []*runningJob
	for id, j := range s.jobs {
		if n.Job == "" || n.Job == id {
			jobs = append(jobs, j)
		}
	}
	s.mu.Unlock()
	if n.Job != "" && len(jobs) == 0 {
		return ast.Errorf(n.Pos, "unknown job '%s' (SHOW JOBS lists them)", n.Job)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].id < jobs[b].id })
	var rows [][]string
	for _, j := range jobs {
		for _, c := range j.checkpoints() {
			var sync, async, align, delay time.Duration
			for _, t := range c.Tasks {
				sync, async, align, delay = max(sync, t.Sync), max(async, t.Async), max(align, t.Alignment), max(delay, t.StartDelay)
			}
			rows = append(rows, []string{j.id, fmt.Sprint(c.ID), string(c.Status), c.Kind(), c.TriggerTime.Format("2006-01-02 15:04:05.000"),
				ms(c.Duration), ms(sync), ms(async), ms(align), ms(delay),
				fmt.Sprint(c.StateBytes), fmt.Sprint(c.UploadedBytes), fmt.Sprint(c.InFlightBytes), c.Failure})
		}
	}
	return stringResult(out, []string{"job id", "checkpoint", "status", "kind", "triggered", "duration_ms", "max_sync_ms",
		"max_async_ms", "max_alignment_ms", "max_start_delay_ms", "state_bytes", "uploaded_bytes", "in_flight_bytes", "failure"}, rows)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
