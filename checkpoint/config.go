// Package checkpoint coordinates and stores checkpoints (DESIGN.md,
// "Checkpoints"): the coordinator triggers them, collects every task's
// acknowledgement, writes the metadata atomically and notifies the tasks;
// the storage lays out checkpoint directories, shares incremental files
// between checkpoints with reference counts, and finds the checkpoint to
// restore from.
package checkpoint

import "time"

// Mode is the delivery guarantee of checkpoints.
type Mode uint8

const (
	ExactlyOnce Mode = iota
	AtLeastOnce
)

func (m Mode) String() string {
	if m == AtLeastOnce {
		return "at-least-once"
	}
	return "exactly-once"
}

// Config is the resolved checkpoint settings of a job.
type Config struct {
	// Interval between triggers; 0 = checkpointing off.
	Interval time.Duration
	// Timeout aborts a checkpoint not complete by then.
	Timeout time.Duration
	// MinPause is the least time between the end of one checkpoint and the
	// trigger of the next.
	MinPause time.Duration
	// MaxConcurrent checkpoints in flight at once (≥ 1).
	MaxConcurrent int
	Mode          Mode
	// Unaligned barriers overtake queued data; AlignmentTimeout > 0 starts
	// aligned and turns unaligned after that long.
	Unaligned        bool
	AlignmentTimeout time.Duration
	// TolerableFailures is how many failed checkpoints in a row the job
	// survives.
	TolerableFailures int
	// Retained completed checkpoints.
	Retained int
	// RetainOnCancellation keeps the checkpoints when the job is cancelled.
	RetainOnCancellation bool
	// Dir is the checkpoint root; a job's checkpoints go to Dir/<job id>.
	Dir string
	// Incremental shares rocksdb SST files between checkpoints.
	Incremental bool
}

// Enabled reports whether checkpointing is on.
func (c Config) Enabled() bool { return c.Interval > 0 }

// RestartKind names a restart strategy.
type RestartKind string

const (
	RestartNone             RestartKind = "none"
	RestartFixedDelay       RestartKind = "fixed-delay"
	RestartFailureRate      RestartKind = "failure-rate"
	RestartExponentialDelay RestartKind = "exponential-delay"
)

// RestartStrategy is Flink's restart-strategy.* settings.
type RestartStrategy struct {
	Kind RestartKind
	// fixed-delay: Attempts (restart-strategy.fixed-delay.attempts) and
	// Delay.
	Attempts int
	Delay    time.Duration
	// failure-rate: at most MaxFailures in Interval, waiting Delay.
	MaxFailures     int
	FailureInterval time.Duration
	// exponential-delay: InitialBackoff doubling (Multiplier) up to
	// MaxBackoff; the backoff resets after ResetThreshold without failure;
	// Jitter is a fraction (0..1); Attempts caps the total (0 = unlimited).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Multiplier     float64
	ResetThreshold time.Duration
	Jitter         float64
}
