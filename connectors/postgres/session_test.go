package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/connectors/postgres"
	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/exec/session"
	"github.com/streamsql/streamsql/sql/types"
)

// discard is a session.Output that drops results and messages.
type discard struct{}

func (discard) Message(string) error                         { return nil }
func (discard) Begin(types.Schema, session.ResultInfo) error { return nil }
func (discard) Rows(batch.Batch) error                       { return nil }
func (discard) End() error                                   { return nil }

// runSQL runs a script in a new session with the given postgres factory.
func runSQL(t *testing.T, dir, restore, script string, f connectors.Factory) error {
	t.Helper()
	s, err := session.New(session.Options{Dir: dir, DMLSync: true, Restore: restore,
		Connectors: []connectors.Factory{f}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.ExecuteScript(context.Background(), script, discard{})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// crashingFactory is the postgres factory whose exactly-once sinks "crash"
// once at the commit of a checkpoint at or after crashFrom: the commit
// fails (after applying the rows when applyFirst) as a process killed
// between pre-commit and commit would leave things.
type crashingFactory struct {
	*postgres.Factory
	crashFrom  int64
	applyFirst bool

	mu      sync.Mutex
	crashed int64 // the checkpoint whose commit crashed (0 = none yet)
}

func (f *crashingFactory) NewSink(t connectors.Table) (connectors.Sink, error) {
	s, err := f.Factory.NewSink(t)
	if err != nil {
		return nil, err
	}
	ts, ok := s.(connectors.TransactionalSink)
	if !ok {
		return nil, fmt.Errorf("%T is not transactional", s)
	}
	return &crashingSink{TransactionalSink: ts, f: f}, nil
}

type crashingSink struct {
	connectors.TransactionalSink
	f *crashingFactory
}

var errCrash = errors.New("injected crash between pre-commit and commit")

func (s *crashingSink) Commit(ctx context.Context, id int64) error {
	s.f.mu.Lock()
	crash := s.f.crashed == 0 && id >= s.f.crashFrom && id < 1<<62
	if crash {
		s.f.crashed = id
	}
	s.f.mu.Unlock()
	if !crash {
		return s.TransactionalSink.Commit(ctx, id)
	}
	if s.f.applyFirst {
		if err := s.TransactionalSink.Commit(ctx, id); err != nil {
			return err
		}
	}
	return errCrash
}

// exactlyOnceJob writes ids 1..4000 from datagen (about two seconds) into
// a table without a key, so a row applied twice shows as a duplicate.
const exactlyOnceJob = `
CREATE TABLE src (id BIGINT, v INT)
WITH ('connector' = 'datagen', 'rows-per-second' = '2000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '4000',
  'fields.v.min' = '1', 'fields.v.max' = '1000');
CREATE TABLE out (id BIGINT, v INT) WITH ('connector' = 'postgres', 'url' = '%[1]s',
  'table-name' = '%[2]s', 'sink.delivery-guarantee' = 'exactly-once');
SET 'parallelism.default' = '2';
SET 'checkpoint.interval.ms' = '50';
SET 'checkpoint.dir' = '%[3]s';
SET 'restart-strategy' = '%[4]s';
SET 'restart-strategy.fixed-delay.attempts' = '3';
SET 'restart-strategy.fixed-delay.delay' = '10 ms';
INSERT INTO out SELECT id, v FROM src;
`

// TestExactlyOnceCrashBetweenPreCommitAndCommit kills the job (it fails
// without restarting) when a checkpoint has completed but before, or
// right after, its rows were applied; a new session restores the latest
// checkpoint and runs the job to its end. Every row is in the table once.
func TestExactlyOnceCrashBetweenPreCommitAndCommit(t *testing.T) {
	for _, applyFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("applied=%v", applyFirst), func(t *testing.T) {
			db := postgres.DBConn(t)
			tbl := postgres.TableName(t)
			postgres.MustExec(t, db, "DROP TABLE IF EXISTS "+tbl+"; CREATE TABLE "+tbl+" (id bigint, v integer)")
			dir := t.TempDir()
			cpDir := filepath.Join(dir, "checkpoints")
			f := &crashingFactory{Factory: postgres.New(), crashFrom: 5, applyFirst: applyFirst}
			err := runSQL(t, dir, "", fmt.Sprintf(exactlyOnceJob, postgres.ServerURL(t), tbl, cpDir, "none"), f)
			if !errors.Is(err, errCrash) {
				t.Fatalf("the first run should crash at a commit, got %v", err)
			}
			var before int
			if err := db.QueryRow(context.Background(), "SELECT count(*) FROM "+tbl).Scan(&before); err != nil {
				t.Fatal(err)
			}
			if before >= 4000 {
				t.Fatalf("the crash came after all %d rows were written; nothing to recover", before)
			}
			// Resume: the restored checkpoint's rows are applied (or found
			// applied), the rest of the input follows.
			if err := runSQL(t, dir, "latest", fmt.Sprintf(exactlyOnceJob, postgres.ServerURL(t), tbl, cpDir, "none"), postgres.New()); err != nil {
				t.Fatal(err)
			}
			checkOnce(t, db, tbl, 4000)
		})
	}
}

// TestExactlyOnceRestart fails a commit inside one run: the restart
// strategy restores the latest checkpoint in the same job.
func TestExactlyOnceRestart(t *testing.T) {
	db := postgres.DBConn(t)
	tbl := postgres.TableName(t)
	postgres.MustExec(t, db, "DROP TABLE IF EXISTS "+tbl+"; CREATE TABLE "+tbl+" (id bigint, v integer)")
	dir := t.TempDir()
	f := &crashingFactory{Factory: postgres.New(), crashFrom: 4, applyFirst: true}
	if err := runSQL(t, dir, "", fmt.Sprintf(exactlyOnceJob, postgres.ServerURL(t), tbl, filepath.Join(dir, "cp"), "fixed-delay"), f); err != nil {
		t.Fatal(err)
	}
	if f.crashed == 0 {
		t.Fatal("no commit crashed")
	}
	checkOnce(t, db, tbl, 4000)
}

// checkOnce asserts that the table holds ids 1..n exactly once each.
func checkOnce(t *testing.T, db *pgx.Conn, tbl string, n int) {
	t.Helper()
	var rows, distinct, lo, hi int
	err := db.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT id), coalesce(min(id), 0), coalesce(max(id), 0) FROM "+tbl).
		Scan(&rows, &distinct, &lo, &hi)
	if err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n || lo != 1 || hi != n {
		t.Fatalf("table %s holds %d rows, %d distinct ids in [%d, %d]; want ids 1..%d once each", tbl, rows, distinct, lo, hi, n)
	}
}

// TestUpsertJob runs a changelog (a GROUP BY) into a keyed table under
// each delivery guarantee, with checkpoints, and compares the table with
// the same aggregate computed by PostgreSQL over the raw rows.
func TestUpsertJob(t *testing.T) {
	db := postgres.DBConn(t)
	for _, guarantee := range []string{"at-least-once", "exactly-once", "none"} {
		t.Run(guarantee, func(t *testing.T) {
			tbl := postgres.TableName(t)
			postgres.MustExec(t, db, "DROP TABLE IF EXISTS "+tbl+", "+tbl+"_raw; CREATE TABLE "+tbl+" (k integer PRIMARY KEY, n bigint, s bigint);"+
				"CREATE TABLE "+tbl+"_raw (k integer, v integer)")
			dir := t.TempDir()
			script := fmt.Sprintf(`
CREATE TABLE src (k INT, v INT)
WITH ('connector' = 'datagen', 'rows-per-second' = '20000', 'number-of-rows' = '6000',
  'fields.k.min' = '1', 'fields.k.max' = '40', 'fields.v.min' = '-5', 'fields.v.max' = '1000');
CREATE TABLE agg (k INT, n BIGINT, s BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'postgres',
  'url' = '%[1]s', 'table-name' = '%[2]s', 'sink.delivery-guarantee' = '%[3]s', 'sink.buffer-flush.max-rows' = '7');
CREATE TABLE raw (k INT, v INT) WITH ('connector' = 'postgres', 'url' = '%[1]s', 'table-name' = '%[2]s_raw');
SET 'parallelism.default' = '2';
SET 'checkpoint.interval.ms' = '20';
SET 'checkpoint.dir' = '%[4]s';
INSERT INTO raw SELECT k, v FROM src;
INSERT INTO agg SELECT k, COUNT(*), SUM(v) FROM src GROUP BY k;
`, postgres.ServerURL(t), tbl, guarantee, filepath.Join(dir, "cp"))
			if err := runSQL(t, dir, "", script, postgres.New()); err != nil {
				t.Fatal(err)
			}
			want := postgres.Dump(t, db, "(SELECT k, count(*), sum(v) FROM "+tbl+"_raw GROUP BY k) AS x")
			got := postgres.Dump(t, db, tbl)
			if len(want) != 40 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// TestUpdatesNeedKey: an updating query into a table without a primary
// key is refused when the INSERT is planned.
func TestUpdatesNeedKey(t *testing.T) {
	err := runSQL(t, t.TempDir(), "", `
CREATE TABLE src (k INT, v INT) WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE out (k INT, n BIGINT) WITH ('connector' = 'postgres', 'url' = 'postgres://localhost/db', 'table-name' = 'x');
INSERT INTO out SELECT k, COUNT(*) FROM src GROUP BY k;
`, postgres.New())
	if err == nil || !strings.Contains(err.Error(), "cannot consume the update changes") {
		t.Fatalf("got %v, want the planner's refusal of updates", err)
	}
}

// TestDatabaseGoesAway: the database stops accepting connections and its
// sessions are terminated while a job writes; the job fails with a message
// naming the sink, the table and the server's error.
func TestDatabaseGoesAway(t *testing.T) {
	db := postgres.DBConn(t)
	dbName := postgres.TableName(t)
	postgres.MustExec(t, db, "DROP DATABASE IF EXISTS "+dbName)
	postgres.MustExec(t, db, "CREATE DATABASE "+dbName)
	t.Cleanup(func() {
		postgres.MustExec(t, db, "ALTER DATABASE "+dbName+" ALLOW_CONNECTIONS true")
		postgres.MustExec(t, db, "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)")
	})
	u, err := url.Parse(postgres.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbName
	other, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	postgres.MustExec(t, other, "CREATE TABLE events (id bigint, v integer)")
	other.Close(context.Background())

	script := fmt.Sprintf(`
CREATE TABLE src (id BIGINT, v INT)
WITH ('connector' = 'datagen', 'rows-per-second' = '2000', 'number-of-rows' = '1000000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000');
CREATE TABLE out (id BIGINT, v INT) WITH ('connector' = 'postgres', 'url' = '%s',
  'table-name' = 'events', 'sink.buffer-flush.max-rows' = '100', 'sink.max-retries' = '2');
INSERT INTO out SELECT id, v FROM src;
`, u.String())
	done := make(chan error, 1)
	go func() { done <- runSQL(t, t.TempDir(), "", script, postgres.New()) }()
	// Wait until rows arrive, then take the database away.
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := db.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", dbName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the job ended before the database went away: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the sink never connected")
		}
	}
	postgres.MustExec(t, db, "ALTER DATABASE "+dbName+" ALLOW_CONNECTIONS false")
	postgres.MustExec(t, db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+dbName+"'")
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the job did not fail after the database went away")
	}
	var je *session.JobError
	if !errors.As(err, &je) {
		t.Fatalf("got %v, want a job error", err)
	}
	t.Logf("the job failed as it should: %v", err)
	for _, want := range []string{"postgres sink 'out' (table events)", "not currently accepting connections"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
