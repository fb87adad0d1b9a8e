// Package connectors defines the contract between the runtime and every
// source, sink and format. Implementations live in sub-packages
// (datagen, filesystem, print, blackhole, ...); connectors/registry wires
// them together by their 'connector' option value.
package connectors

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/streamsql/streamsql/exec/batch"
	"github.com/streamsql/streamsql/sql/types"
)

// Env is what a connector may use from the session that runs it.
type Env struct {
	// Dir is the directory relative paths are resolved against.
	Dir string
	// Stdout receives the print connector's output.
	Stdout io.Writer
	// Logger is the job's logger.
	Logger *slog.Logger
	// Now is the clock (tests may fix it).
	Now func() time.Time
	// Location is the session time zone ('table.local-time-zone'), used to
	// render TIMESTAMP_LTZ.
	Location *time.Location
}

// Table is a catalog table as a connector sees it.
type Table struct {
	Name string
	// Schema holds the physical columns only (computed columns are
	// evaluated by the planner after the source), in declared order.
	Schema types.Schema
	// Options is the WITH list; keys as written (lower case by convention).
	Options map[string]string
	// PrimaryKey names the key columns, if declared.
	PrimaryKey []string
	// Metadata lists the columns of Schema that hold record metadata
	// instead of payload (`c TYPE METADATA [FROM 'key'] [VIRTUAL]`): a
	// source fills them, a sink writes them. A sink's Schema has no
	// VIRTUAL metadata columns. Only a MetadataFactory's tables have any.
	Metadata []MetadataColumn
	Env      Env
}

// MetadataColumn is a column of Table.Schema read from (or written to)
// connector metadata, such as a Kafka record's offset or timestamp.
type MetadataColumn struct {
	// Column is the column's name in Table.Schema.
	Column string
	// Key is the metadata key ('offset'); the column name when FROM is
	// omitted.
	Key string
	// Virtual columns are read-only: they are not part of a sink's schema.
	Virtual bool
}

// MetadataKey is a metadata key a connector offers.
type MetadataKey struct {
	Key  string
	Type types.Type
	// Writable keys may be declared without VIRTUAL in a table that is
	// written to; the sink writes the column's values.
	Writable bool
}

// MetadataFactory is implemented by factories whose tables may declare
// metadata columns. The planner refuses metadata columns for any other
// connector, and a key or type that Metadata does not list.
type MetadataFactory interface {
	// Metadata lists the keys the connector can read, with the exact
	// type a column must declare (nullability aside).
	Metadata() []MetadataKey
}

// OptionError is returned for a bad connector option; it names the option so
// the caller can point at it in the user's DDL.
type OptionError struct {
	Table  string
	Option string
	Msg    string
}

func (e *OptionError) Error() string {
	return "table '" + e.Table + "': option '" + e.Option + "': " + e.Msg
}

// Factory creates sources and sinks for one 'connector' value.
type Factory interface {
	// Name is the 'connector' option value, e.g. "datagen".
	Name() string
	// Validate checks the options (and the schema where it matters) when
	// CREATE TABLE runs: unknown options and bad values fail here, as an
	// *OptionError naming the option.
	Validate(t Table) error
	// NewSource returns a source, or an error if the connector cannot be
	// read from.
	NewSource(t Table) (Source, error)
	// NewSink returns a sink, or an error if the connector cannot be
	// written to.
	NewSink(t Table) (Sink, error)
}

// Source produces batches of the table's physical schema. One Source value
// is created per parallel subtask and used only from that subtask's
// goroutine.
type Source interface {
	// Bounded reports whether the source ends (files, datagen with
	// number-of-rows) or runs forever.
	Bounded() bool
	// Open prepares subtask `subtask` of `parallelism` (each subtask reads a
	// disjoint share of the input: files, splits or row ranges).
	Open(ctx context.Context, subtask, parallelism int) error
	// Next returns the next batch. It returns io.EOF after the last batch of
	// a bounded source. It may return an empty batch when nothing is
	// available yet; it must not block for longer than about 50 ms, so the
	// task's loop stays responsive to checkpoints and cancellation.
	// Errors name the file and line (or the split) that failed.
	Next(ctx context.Context) (batch.Batch, error)
	// Close releases resources. It is called once, also after errors.
	Close() error
}

// Sink consumes batches of the table's physical schema. One Sink value is
// created per parallel subtask.
type Sink interface {
	// Open prepares subtask `subtask` of `parallelism`.
	Open(ctx context.Context, subtask, parallelism int) error
	// Write consumes a batch. Sinks that cannot take updates see only
	// insert-only batches (the planner refuses updating input for them).
	Write(ctx context.Context, b batch.Batch) error
	// Finish is called at the end of a bounded input: flush and make the
	// output final (for files: commit part files).
	Finish(ctx context.Context) error
	// Close releases resources; called once, also after errors (then without
	// Finish, and uncommitted output must stay invisible).
	Close() error
}

// UpdateSinkFactory is implemented by factories whose sinks accept
// -U/+U/-D rows (print, blackhole; later upsert sinks). The planner refuses
// an updating query into any other sink.
type UpdateSinkFactory interface {
	AcceptsUpdates(t Table) bool
}

// PositionCommitter is a CheckpointedSource told, on its own goroutine,
// that a checkpoint holding its position pos completed (Kafka commits the
// offsets to its consumer group, for monitoring: the checkpoint stays the
// truth on restore). An error is logged, not fatal.
type PositionCommitter interface {
	CommitPosition(ctx context.Context, pos []byte) error
}

// ChangelogSourceFactory is implemented by a factory whose sources may emit
// updates (-U/+U/-D rows in batch.Batch.Kinds) for some tables: an
// upsert-kafka table, or a table read with a changelog format such as
// debezium-json. The planner treats a scan of such a table as updating, so
// what reads it handles retractions and append-only sinks refuse it.
type ChangelogSourceFactory interface {
	ProducesUpdates(t Table) bool
}

// CheckpointedSource is a source whose position is part of a checkpoint
// (DESIGN.md, "Checkpoints", step 2). With checkpointing on, every source
// of a job must implement it, or the planner refuses the job.
type CheckpointedSource interface {
	Source
	// Position returns the source's position after the last batch Next
	// returned: restoring it and calling Next yields exactly the rows that
	// came after that batch, the same ones (a deterministic replay). It is
	// called on the task's goroutine between Next calls.
	Position() ([]byte, error)
	// Seek restores a position taken by Position at the same parallelism,
	// after Open and before the first Next.
	Seek(pos []byte) error
}

// TransactionalSink is a two-phase-commit sink (DESIGN.md, "Checkpoints",
// step 6): output written between two barriers becomes visible only when
// the checkpoint that covers it has completed.
type TransactionalSink interface {
	Sink
	// PreCommit runs at barrier checkpointID, on the task's goroutine:
	// make everything written so far durable but still invisible, and
	// return what Commit and Recover need; it is stored in the checkpoint.
	PreCommit(ctx context.Context, checkpointID int64) (pending []byte, err error)
	// Commit makes visible everything pre-committed for checkpoints up to
	// and including checkpointID, once that checkpoint is complete. It is
	// idempotent.
	Commit(ctx context.Context, checkpointID int64) error
	// Recover runs after Open when a job restarts: pending is what
	// PreCommit returned for the restored checkpoint (nil when the job
	// restarts without one). Commit what it records (idempotently) and
	// remove what earlier attempts of this subtask left uncommitted.
	Recover(ctx context.Context, pending []byte) error
}

// FlushingSink is a sink that buffers: Flush at a barrier makes what was
// written durable (at-least-once delivery).
type FlushingSink interface {
	Sink
	Flush(ctx context.Context) error
}
