package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/registry"
	"github.com/streamsql/streamsql/exec"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/planner"
	"github.com/streamsql/streamsql/sql"
	"github.com/streamsql/streamsql/sql/ast"
	"github.com/streamsql/streamsql/sql/types"
)

// Session is one user's SQL session: catalog, settings and running jobs.
// Its methods are not safe for concurrent use (one statement at a time), but
// background jobs run concurrently with it.
type Session struct {
	opts     Options
	catalog  *planner.Catalog
	settings *planner.Settings
	registry *registry.Registry
	stdout   *lockedWriter

	mu      sync.Mutex
	jobs    map[string]*runningJob
	nextJob int
	wg      sync.WaitGroup
}

// lockedWriter serializes writes from parallel print sinks.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// New starts a session.
func New(opts Options) (*Session, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("working directory: %w", err)
		}
		opts.Dir = wd
	}
	abs, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	opts.Dir = abs
	return &Session{
		opts:     opts,
		catalog:  planner.NewCatalog(),
		settings: planner.NewSettings(),
		registry: registry.NewWith(append(registry.Builtins(), opts.Connectors...)...),
		stdout:   &lockedWriter{w: opts.Stdout},
		jobs:     map[string]*runningJob{},
	}, nil
}

func (s *Session) env() connectors.Env {
	return connectors.Env{Dir: s.opts.Dir, Stdout: s.stdout, Logger: s.opts.Logger, Now: s.opts.Now, Location: s.settings.Location()}
}

func (s *Session) planner() *planner.Planner {
	return &planner.Planner{Catalog: s.catalog, Settings: s.settings, Env: s.env()}
}

// ExecuteScript parses text and executes its statements in order, stopping
// at the first error.
func (s *Session) ExecuteScript(ctx context.Context, text string, out Output) error {
	stmts, err := sql.Parse(text)
	if err != nil {
		return err
	}
	for _, st := range stmts {
		if err := s.execute(ctx, st, out, false); err != nil {
			return err
		}
	}
	return nil
}

// ExecuteScriptAsStatementSet runs a script whose INSERTs form one
// statement set (`run --statement-set`): every other statement runs in
// order, the INSERTs run together as one job after the last statement.
func (s *Session) ExecuteScriptAsStatementSet(ctx context.Context, text string, out Output) error {
	stmts, err := sql.Parse(text)
	if err != nil {
		return err
	}
	var set *ast.StatementSet
	for _, st := range stmts {
		if ins, ok := st.Node.(*ast.Insert); ok {
			if set == nil {
				set = &ast.StatementSet{Pos: ins.Pos}
			}
			set.Inserts = append(set.Inserts, ins)
			continue
		}
		if err := s.execute(ctx, st, out, false); err != nil {
			return err
		}
	}
	if set == nil {
		return nil
	}
	return s.execute(ctx, sql.Stmt{Node: set, Pos: set.Pos}, out, false)
}

// Explain executes DDL and SET statements and prints the plan of every
// query and INSERT instead of running it.
func (s *Session) Explain(ctx context.Context, text string, out Output) error {
	stmts, err := sql.Parse(text)
	if err != nil {
		return err
	}
	for _, st := range stmts {
		if err := s.execute(ctx, st, out, true); err != nil {
			return err
		}
	}
	return nil
}

// Close cancels background jobs and waits for them.
func (s *Session) Close() error {
	s.mu.Lock()
	for _, j := range s.jobs {
		j.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// asSQLError makes sure a planning error points into the script.
func asSQLError(err error, pos ast.Pos) error {
	if err == nil {
		return nil
	}
	var ae *ast.Error
	if errors.As(err, &ae) {
		return err
	}
	return ast.Errorf(pos, "%v", err)
}

func (s *Session) execute(ctx context.Context, st sql.Stmt, out Output, explainOnly bool) error {
	switch n := st.Node.(type) {
	case *ast.CreateTable:
		return asSQLError(s.createTable(n, out), n.Pos)
	case *ast.CreateView:
		return asSQLError(s.createView(n, out), n.Pos)
	case *ast.Drop:
		return asSQLError(s.drop(n, out), n.Pos)
	case *ast.ShowTables:
		return s.showTables(n, out)
	case *ast.Describe:
		return asSQLError(s.describe(n, out), n.Pos)
	case *ast.Set:
		return asSQLError(s.set(n, out), n.Pos)
	case *ast.Reset:
		s.settings.Reset(n.Key)
		if n.Key == "" {
			return out.Message("[INFO] All session properties have been set to their default values.")
		}
		return out.Message("[INFO] Session property has been reset.")
	case *ast.Explain:
		return asSQLError(s.explain(n.Stmt, out), n.Pos)
	case *ast.Query:
		if explainOnly {
			return asSQLError(s.explain(n, out), n.Pos)
		}
		return s.query(ctx, n, out)
	case *ast.Insert:
		if explainOnly {
			return asSQLError(s.explain(n, out), n.Pos)
		}
		return s.insert(ctx, n, out)
	case *ast.StatementSet:
		if explainOnly {
			return asSQLError(s.explain(n, out), n.Pos)
		}
		return s.insert(ctx, n, out)
	case *ast.ShowJobs:
		return s.showJobs(out)
	case *ast.ShowCheckpoints:
		return s.showCheckpoints(n, out)
	case *ast.StopJob:
		return asSQLError(s.stopJob(ctx, n, out), n.Pos)
	}
	return ast.Errorf(st.Pos, "not supported yet: statement %T", st.Node)
}

func (s *Session) createTable(n *ast.CreateTable, out Output) error {
	if s.catalog.Exists(n.Name) {
		if n.IfNotExists {
			return out.Message("[INFO] Execute statement succeeded.")
		}
		return ast.Errorf(n.Pos, "table or view '%s' already exists", n.Name)
	}
	t, err := s.planner().BuildTable(n, s.registry)
	if err != nil {
		return err
	}
	if err := s.catalog.AddTable(t); err != nil {
		return ast.Errorf(n.Pos, "%v", err)
	}
	return out.Message("[INFO] Execute statement succeeded.")
}

func (s *Session) createView(n *ast.CreateView, out Output) error {
	if s.catalog.Exists(n.Name) {
		if n.IfNotExists {
			return out.Message("[INFO] Execute statement succeeded.")
		}
		return ast.Errorf(n.Pos, "table or view '%s' already exists", n.Name)
	}
	node, _, err := s.planner().PlanQuery(n.Query)
	if err != nil {
		return err
	}
	schema := node.Schema()
	if len(n.Columns) > 0 {
		if len(n.Columns) != schema.Len() {
			return ast.Errorf(n.Pos, "view '%s' lists %d columns but its query has %d", n.Name, len(n.Columns), schema.Len())
		}
		for i := range schema.Fields {
			schema.Fields[i].Name = n.Columns[i]
		}
	}
	if err := s.catalog.AddView(&planner.View{Name: n.Name, Query: n.Query, Text: n.Text, Schema: schema, Columns: n.Columns}); err != nil {
		return ast.Errorf(n.Pos, "%v", err)
	}
	return out.Message("[INFO] Execute statement succeeded.")
}

func (s *Session) drop(n *ast.Drop, out Output) error {
	what := "table"
	var ok bool
	if n.View {
		what = "view"
		ok = s.catalog.DropView(n.Name)
	} else {
		if _, isView := s.catalog.View(n.Name); isView {
			return ast.Errorf(n.Pos, "'%s' is a view: use DROP VIEW", n.Name)
		}
		ok = s.catalog.DropTable(n.Name)
	}
	if !ok && !n.IfExists {
		return ast.Errorf(n.Pos, "%s '%s' does not exist", what, n.Name)
	}
	return out.Message("[INFO] Execute statement succeeded.")
}

// stringResult sends a small table of strings.
func stringResult(out Output, names []string, rows [][]string) error {
	fields := make([]types.Field, len(names))
	cols := make([]arrow.Array, len(names))
	for c, name := range names {
		fields[c] = types.Field{Name: name, Type: types.TypeString}
		vals := make([]string, len(rows))
		valid := make([]bool, len(rows))
		for r := range rows {
			vals[r] = rows[r][c]
			valid[r] = rows[r][c] != "\x00"
		}
		cols[c] = batch.StringArray(vals, valid)
	}
	schema := types.Schema{Fields: fields}
	if err := out.Begin(schema, ResultInfo{Bounded: true, Ordered: true}); err != nil {
		return err
	}
	if len(rows) > 0 {
		if err := out.Rows(batch.New(batch.NewRecord(schema, cols, len(rows)))); err != nil {
			return err
		}
	}
	return out.End()
}

// null marks a NULL cell in stringResult rows.
const null = "\x00"

func (s *Session) showTables(n *ast.ShowTables, out Output) error {
	var names []string
	header := "table name"
	if n.Views {
		names = s.catalog.ViewNames()
		header = "view name"
	} else {
		names = s.catalog.TableNames(true)
	}
	rows := make([][]string, len(names))
	for i, name := range names {
		rows[i] = []string{name}
	}
	return stringResult(out, []string{header}, rows)
}

func (s *Session) describe(n *ast.Describe, out Output) error {
	names := []string{"name", "type", "null", "key", "extras", "watermark"}
	if v, ok := s.catalog.View(n.Name); ok {
		var rows [][]string
		for _, f := range v.Schema.Fields {
			rows = append(rows, []string{f.Name, f.Type.WithNotNull(false).String(), fmt.Sprint(f.Type.Nullable()), null, null, null})
		}
		return stringResult(out, names, rows)
	}
	t, ok := s.catalog.Table(n.Name)
	if !ok {
		return ast.Errorf(n.Pos, "unknown table '%s'", n.Name)
	}
	var rows [][]string
	for _, c := range t.Columns {
		key := null
		for _, k := range t.PrimaryKey {
			if strings.EqualFold(k, c.Name) {
				key = "PRI(" + strings.Join(t.PrimaryKey, ", ") + ")"
			}
		}
		extras := null
		if c.Computed != nil {
			extras = "AS " + c.ComputedText
		}
		if c.Metadata {
			extras = "METADATA FROM '" + c.MetadataKey + "'"
			if c.Virtual {
				extras += " VIRTUAL"
			}
		}
		wm := null
		if t.Watermark != nil && strings.EqualFold(t.Watermark.Column, c.Name) {
			wm = t.Watermark.Text
		}
		rows = append(rows, []string{c.Name, c.Type.WithNotNull(false).String(), fmt.Sprint(c.Type.Nullable()), key, extras, wm})
	}
	return stringResult(out, names, rows)
}

func (s *Session) set(n *ast.Set, out Output) error {
	if n.Key == "" {
		pairs := s.settings.Pairs()
		rows := make([][]string, len(pairs))
		for i, p := range pairs {
			rows[i] = []string{p[0], p[1]}
		}
		return stringResult(out, []string{"key", "value"}, rows)
	}
	if err := s.settings.Set(n.Key, n.Value); err != nil {
		return ast.Errorf(n.Pos, "%v", err)
	}
	return out.Message("[INFO] Execute statement succeeded.")
}

// plan builds the job for a query or an INSERT.
func (s *Session) plan(stmt ast.Statement, opts planner.BuildOptions) (*planner.Job, error) {
	p := s.planner()
	switch n := stmt.(type) {
	case *ast.Query:
		node, ordered, err := p.PlanQuery(n.Select)
		if err != nil {
			return nil, err
		}
		return p.Build("collect", &planner.CollectNode{Input: node}, ordered, opts)
	case *ast.Insert:
		node, err := p.PlanInsert(n)
		if err != nil {
			return nil, err
		}
		return p.Build("insert-into_"+n.Table, node, false, opts)
	case *ast.StatementSet:
		roots, err := p.PlanStatementSet(n)
		if err != nil {
			return nil, err
		}
		return p.BuildStatementSet("", roots, opts)
	}
	return nil, ast.Errorf(stmt.Position(), "EXPLAIN supports queries and INSERT statements")
}

func (s *Session) explain(stmt ast.Statement, out Output) error {
	job, err := s.plan(stmt, planner.BuildOptions{Collect: func(context.Context, batch.Batch) error { return nil }})
	if err != nil {
		return err
	}
	return out.Message(job.Explain())
}

func (s *Session) jobEnv(job *planner.Job) exec.Env {
	env := exec.Env{Logger: s.opts.Logger.With("job", job.Name), Now: s.opts.Now, Location: s.settings.Location(), InjectFault: s.opts.InjectFault}
	if s.opts.WorkDir != "" {
		env.WorkDir = filepath.Join(s.opts.WorkDir, job.Name)
	}
	return env
}

// query runs a SELECT and streams its rows to out.
func (s *Session) query(ctx context.Context, n *ast.Query, out Output) error {
	results := make(chan batch.Batch, 4)
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	limitHit := make(chan struct{})
	var limitOnce sync.Once
	job, err := s.plan(n, planner.BuildOptions{
		Collect: func(c context.Context, b batch.Batch) error {
			select {
			case results <- b:
				return nil
			case <-c.Done():
				return c.Err()
			}
		},
		LimitReached: func() { limitOnce.Do(func() { close(limitHit) }) },
	})
	if err != nil {
		return asSQLError(err, n.Pos)
	}
	if w := job.InMemoryStateWarning(); w != "" {
		if err := out.Message("[WARN] " + w); err != nil {
			return err
		}
	}
	if err := out.Begin(job.Schema, ResultInfo{Bounded: job.Bounded, Ordered: job.Ordered, Changelog: planner.Updating(job.Root),
		Deterministic: sequential(job.Graph), Location: s.settings.Location()}); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		st, err := exec.RunWithStats(jobCtx, job.Graph, s.jobEnv(job))
		if err == nil && s.opts.OnJobFinished != nil {
			s.opts.OnJobFinished(job.Name, st)
		}
		done <- err
		close(results)
	}()
	limited := false
	var outErr error
	for {
		select {
		case <-limitHit:
			// LIMIT is satisfied: stop the sources (an unbounded query would
			// never end otherwise). Rows already collected still arrive.
			limited = true
			limitHit = nil
			cancel()
			continue
		case b, ok := <-results:
			if !ok {
				runErr := <-done
				if outErr != nil {
					return outErr
				}
				if runErr != nil && !(limited && errors.Is(runErr, context.Canceled) && ctx.Err() == nil) {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					return &JobError{Job: job.Name, Err: runErr}
				}
				return out.End()
			}
			if outErr == nil {
				if err := out.Rows(b); err != nil {
					outErr = err
					cancel()
				}
			}
		}
	}
}

// insert runs an INSERT job (or a statement set as one job): to its end
// when DML is synchronous, in the background otherwise.
func (s *Session) insert(ctx context.Context, n ast.Statement, out Output) error {
	job, err := s.plan(n, planner.BuildOptions{})
	if err != nil {
		return asSQLError(err, n.Position())
	}
	if w := job.InMemoryStateWarning(); w != "" {
		if err := out.Message("[WARN] " + w); err != nil {
			return err
		}
	}
	sync := s.opts.DMLSync
	if s.settings.IsSet(planner.KeyDMLSync) {
		sync = s.settings.Get(planner.KeyDMLSync) == "true"
	}
	s.mu.Lock()
	s.nextJob++
	id := fmt.Sprintf("%s-%d", job.Name, s.nextJob)
	s.mu.Unlock()
	parent := ctx
	if !sync {
		parent = context.Background()
	}
	jctx, cancel := context.WithCancel(parent)
	rj := s.register(id, cancel)
	env := s.jobEnv(job)
	cp, err := s.checkpointEnv(job, rj)
	if err != nil {
		cancel()
		close(rj.done)
		return asSQLError(err, n.Position())
	}
	env.Checkpoint = cp
	if sync {
		defer cancel()
		st, err := exec.RunWithStats(jctx, job.Graph, env)
		rj.err = err
		close(rj.done)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.Canceled) && rj.isStopping() {
				return out.Message("[INFO] Job " + id + " was stopped.")
			}
			return &JobError{Job: job.Name, Err: err}
		}
		if s.opts.OnJobFinished != nil {
			s.opts.OnJobFinished(job.Name, st)
		}
		return out.Message("[INFO] Complete execution of the SQL update statement.")
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(rj.done)
		rj.err = exec.Run(jctx, job.Graph, env)
		if rj.err != nil && !errors.Is(rj.err, context.Canceled) {
			s.opts.Logger.Error("job failed", "job", id, "err", rj.err)
		}
	}()
	return out.Message("[INFO] Submitting SQL update statement to the cluster...\n" +
		"[INFO] SQL update statement has been successfully submitted to the cluster:\nJob ID: " + id)
}

// Jobs lists background jobs and their state, sorted by id.
func (s *Session) Jobs() [][2]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][2]string
	for id, j := range s.jobs {
		state := "RUNNING"
		select {
		case <-j.done:
			state = "FINISHED"
			if j.err != nil {
				state = "FAILED: " + j.err.Error()
				if errors.Is(j.err, context.Canceled) {
					state = "CANCELED"
					if sp := j.savepointPath(); sp != "" {
						state = "STOPPED with savepoint " + sp
					}
				}
			}
		default:
		}
		out = append(out, [2]string{id, state})
	}
	sort.Slice(out, func(i, k int) bool { return out[i][0] < out[k][0] })
	return out
}

// sequential reports whether g's rows flow through one path in a fixed
// order: every vertex at parallelism 1, one source, no vertex reading two
// inputs (a join's sides, a union's branches, interleave by timing).
func sequential(g *exec.Graph) bool {
	sources := 0
	for _, v := range g.Vertices {
		if v.Parallelism != 1 || len(v.Inputs) > 1 {
			return false
		}
		if v.Source != nil {
			sources++
		}
	}
	return sources == 1
}
