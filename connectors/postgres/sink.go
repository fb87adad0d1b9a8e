package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamsql/streamsql/connectors"
	"github.com/streamsql/streamsql/exec/batch"
)

// sink is one subtask of a postgres sink. Its methods run on the task's
// goroutine; a background goroutine flushes a buffer older than
// 'sink.buffer-flush.interval' (Flink's scheduled flush), so mu guards
// everything below it.
type sink struct {
	cfg *config
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	conn     *pgx.Conn
	tg       *target
	progress string // quoted progress table (exactly-once)
	buf      *buffer
	subtask  int
	opened   bool
	finished bool
	// deferred: exactly-once with checkpoints (Recover ran): rows are
	// applied only when a checkpoint completes, never by size or time.
	deferred bool
	// bgErr is a failed background flush, reported by the next call.
	bgErr  error
	stopBg context.CancelFunc
	bgDone chan struct{}
}

func newSink(c *config, env connectors.Env) *sink {
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := env.Now
	if now == nil {
		now = time.Now
	}
	return &sink{cfg: c, log: log.With("sink", c.table), now: now, buf: newBuffer(c.schema, c.pk)}
}

// errorf wraps err with the sink's name and target table.
func (s *sink) errorf(err error, format string, args ...any) error {
	tbl := s.cfg.target
	if s.tg != nil {
		tbl = s.tg.name
	}
	return fmt.Errorf("postgres sink '%s' (table %s): %s: %w", s.cfg.table, tbl, fmt.Sprintf(format, args...), err)
}

// Open connects, checks the target table and, for exactly-once, creates
// the progress table if needed.
func (s *sink) Open(ctx context.Context, subtask, parallelism int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if parallelism < 1 || subtask < 0 || subtask >= parallelism {
		return fmt.Errorf("postgres sink '%s': invalid subtask %d of %d", s.cfg.table, subtask, parallelism)
	}
	s.subtask = subtask
	err := s.retry(ctx, "connect", func(ctx context.Context) error {
		if s.tg != nil {
			return nil
		}
		tg, err := inspect(ctx, s.conn, s.cfg)
		if err != nil {
			return err
		}
		s.tg = tg
		return nil
	})
	if err != nil {
		return err
	}
	if s.cfg.delivery == ExactlyOnce {
		if err := s.retry(ctx, "create the progress table", s.createProgress); err != nil {
			return err
		}
	}
	s.opened = true
	if s.cfg.interval > 0 {
		bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.stopBg, s.bgDone = cancel, make(chan struct{})
		go s.flushEvery(bg, s.cfg.interval)
	}
	return nil
}

// flushEvery flushes a buffer whose oldest row waited for the interval,
// until ctx ends.
func (s *sink) flushEvery(ctx context.Context, interval time.Duration) {
	defer close(s.bgDone)
	tick := time.NewTicker(max(interval/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.mu.Lock()
		if !s.deferred && !s.finished && s.bgErr == nil && s.buf.len() > 0 && s.now().Sub(s.buf.since) >= interval {
			s.bgErr = s.flushLocked(ctx)
		}
		s.mu.Unlock()
	}
}

// Write buffers a batch; a full buffer (or one older than the interval)
// is flushed, except in the exactly-once mode, which applies rows only
// when a checkpoint completes.
func (s *sink) Write(ctx context.Context, b batch.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened || s.finished {
		return fmt.Errorf("postgres sink '%s': write to a sink that is not open", s.cfg.table)
	}
	if s.bgErr != nil {
		return s.bgErr
	}
	if err := s.buf.add(b, s.now()); err != nil {
		return s.errorf(err, "write")
	}
	if s.deferred {
		// Keep memory proportional to the distinct keys, not the changes.
		if s.buf.nDead > 4096 && s.buf.nDead > s.buf.live() {
			s.buf.compact()
		}
		return nil
	}
	full := s.cfg.maxRows > 0 && s.buf.len() >= s.cfg.maxRows
	old := s.cfg.interval > 0 && s.now().Sub(s.buf.since) >= s.cfg.interval
	each := s.cfg.maxRows == 0 && s.cfg.interval == 0
	if full || old || each {
		return s.flushLocked(ctx)
	}
	return nil
}

// flushLocked applies the buffered rows in one transaction.
func (s *sink) flushLocked(ctx context.Context) error {
	if s.buf.len() == 0 {
		return nil
	}
	ch := s.buf.seal()
	if ch.rows() == 0 {
		return nil
	}
	return s.retry(ctx, fmt.Sprintf("write %d rows", ch.rows()), func(ctx context.Context) error {
		_, err := s.apply(ctx, &ch, nil)
		return err
	})
}

// Finish flushes what is buffered.
func (s *sink) Finish(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opened || s.finished {
		return fmt.Errorf("postgres sink '%s': finish of a sink that is not open", s.cfg.table)
	}
	if s.bgErr != nil {
		return s.bgErr
	}
	if err := s.flushLocked(ctx); err != nil {
		return err
	}
	s.finished = true
	return nil
}

// Close stops the background flush and closes the connection; rows not
// flushed are dropped (the job failed or was cancelled: a restart replays
// them from the last checkpoint).
func (s *sink) Close() error {
	if s.stopBg != nil {
		s.stopBg()
		<-s.bgDone
		s.stopBg = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.reset()
	s.dropConn()
	return nil
}

func (s *sink) dropConn() {
	if s.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.conn.Close(ctx)
	s.conn = nil
}

// connect opens the connection and the staging tables.
func (s *sink) connect(ctx context.Context) error {
	cc, err := pgx.ParseConfig(s.cfg.connString)
	if err != nil {
		return err
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = 10 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return err
	}
	if s.tg == nil {
		tg, err := inspect(ctx, conn, s.cfg)
		if err != nil {
			var pe *pgconn.PgError
			if !conn.IsClosed() && !errors.As(err, &pe) {
				err = permanent{err} // the table does not fit: retrying will not help
			}
			conn.Close(context.WithoutCancel(ctx))
			return err
		}
		s.tg = tg
	}
	if s.tg.stageDDL != "" {
		if _, err := conn.PgConn().Exec(ctx, s.tg.stageDDL).ReadAll(); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return fmt.Errorf("create staging tables: %w", err)
		}
	}
	s.conn = conn
	return nil
}

// retry runs fn on a live connection, reconnecting and retrying transient
// failures up to 'sink.max-retries' times with exponential backoff.
func (s *sink) retry(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		var err error
		if s.conn == nil {
			err = s.connect(ctx)
		}
		if err == nil {
			if err = fn(ctx); err == nil {
				return nil
			}
		}
		if ctx.Err() != nil {
			return s.errorf(err, "%s", what)
		}
		closed := s.conn == nil || s.conn.IsClosed()
		if !transient(err, closed) {
			return s.errorf(err, "%s", what)
		}
		s.dropConn() // reconnect: the failure may have left the session unusable
		if attempt >= s.cfg.maxRetries {
			return s.errorf(err, "%s failed after %d attempts", what, attempt+1)
		}
		s.log.Warn("postgres sink: transient failure, retrying", "what", what, "attempt", attempt+1, "backoff", backoff, "err", err)
		select {
		case <-ctx.Done():
			return s.errorf(ctx.Err(), "%s", what)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// transient reports whether a failure may pass by itself: the connection
// broke or could not be made, or the server reported a serialization
// failure, a deadlock, a lack of resources or a shutdown.
func transient(err error, connClosed bool) bool {
	if errors.As(err, new(permanent)) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		c := pe.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") || c == "40001" || c == "40P01" ||
			c == "57P01" || c == "57P02" || c == "57P03" || c == "55P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return connClosed || errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err)
}

// permanent marks a failure that retrying cannot cure.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// progressMark is the exactly-once bookkeeping of one transaction.
type progressMark struct {
	epoch      string
	checkpoint int64
}

// apply writes a chunk in one transaction. With a mark, the transaction
// first advances the subtask's progress row to the mark's checkpoint; if
// the row already records that checkpoint (or a later one), nothing is
// written and apply reports false.
func (s *sink) apply(ctx context.Context, ch *chunk, mark *progressMark) (applied bool, err error) {
	pc := s.conn.PgConn()
	if _, err := pc.Exec(ctx, "BEGIN").ReadAll(); err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if (err != nil || !applied) && !pc.IsClosed() {
			pc.Exec(context.WithoutCancel(ctx), "ROLLBACK").ReadAll()
		}
	}()
	if mark != nil {
		res := pc.ExecParams(ctx, "INSERT INTO "+s.progress+` AS p (sink_epoch, subtask, target, checkpoint_id)
VALUES ($1, $2::int, $3, $4::bigint)
ON CONFLICT (sink_epoch, subtask) DO UPDATE SET checkpoint_id = EXCLUDED.checkpoint_id, updated_at = now()
WHERE p.checkpoint_id < EXCLUDED.checkpoint_id RETURNING 1`,
			[][]byte{[]byte(mark.epoch), []byte(strconv.Itoa(s.subtask)), []byte(s.tg.name), []byte(strconv.FormatInt(mark.checkpoint, 10))},
			nil, nil, nil).Read()
		if res.Err != nil {
			return false, fmt.Errorf("record progress in %s: %w", s.progress, res.Err)
		}
		if len(res.Rows) == 0 {
			return false, nil // applied before
		}
	}
	final := ""
	if len(s.tg.keyCols) == 0 {
		if ch.nUpserts > 0 {
			if _, err := pc.CopyFrom(ctx, bytes.NewReader(ch.upserts), s.tg.copySQL); err != nil {
				return false, fmt.Errorf("insert: %w", err)
			}
		}
	} else {
		if ch.nUpserts > 0 {
			if _, err := pc.CopyFrom(ctx, bytes.NewReader(ch.upserts), s.tg.copyStage); err != nil {
				return false, fmt.Errorf("copy into the staging table: %w", err)
			}
			final += s.tg.upsertSQL + ";\n"
		}
		if ch.nDeletes > 0 {
			if _, err := pc.CopyFrom(ctx, bytes.NewReader(ch.deletes), s.tg.copyDel); err != nil {
				return false, fmt.Errorf("copy into the staging table: %w", err)
			}
			final += s.tg.deleteSQL + ";\n"
		}
	}
	if _, err := pc.Exec(ctx, final+"COMMIT").ReadAll(); err != nil {
		if len(s.tg.keyCols) == 0 {
			return false, fmt.Errorf("commit: %w", err)
		}
		return false, fmt.Errorf("upsert: %w", err)
	}
	return true, nil
}

// createProgress creates the progress table beside the target table if
// it is missing; concurrent subtasks serialize on an advisory lock.
func (s *sink) createProgress(ctx context.Context) error {
	var schema string
	if err := s.conn.QueryRow(ctx, `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
		s.cfg.target).Scan(&schema); err != nil {
		return fmt.Errorf("find the schema of the table: %w", err)
	}
	s.progress = pgx.Identifier{schema, ProgressTable}.Sanitize()
	_, err := s.conn.PgConn().Exec(ctx, `BEGIN;
SELECT pg_advisory_xact_lock(7157035326915403127);
CREATE TABLE IF NOT EXISTS `+s.progress+` (
  sink_epoch text NOT NULL,
  subtask integer NOT NULL,
  target text NOT NULL,
  checkpoint_id bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sink_epoch, subtask));
COMMIT`).ReadAll()
	if err != nil {
		s.conn.PgConn().Exec(context.WithoutCancel(ctx), "ROLLBACK").ReadAll()
		return fmt.Errorf("create %s: %w", s.progress, err)
	}
	return nil
}

// plainSink is the 'none' delivery guarantee: flushes by size and time
// only, nothing at checkpoints.
type plainSink struct{ *sink }

// flushingSink is 'at-least-once': everything written before a barrier is
// in the database when the checkpoint is taken.
type flushingSink struct{ *sink }

// Flush implements connectors.FlushingSink.
func (s *flushingSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bgErr != nil {
		return s.bgErr
	}
	return s.flushLocked(ctx)
}

// newEpoch names one sink instance (one subtask of one attempt of a job)
// in the progress table.
func newEpoch() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var (
	_ connectors.Sink         = (*plainSink)(nil)
	_ connectors.FlushingSink = (*flushingSink)(nil)
)
