package planner

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/checkpoint"
)

// Checkpoint and restart-strategy setting keys (issue 4). Flink's names are
// accepted as aliases (settingAliases). All are job settings: they may come
// from SET or a table's WITH options and are not passed to connectors.
const (
	KeyCheckpointTimeout       = "checkpoint.timeout.ms"
	KeyCheckpointMinPause      = "checkpoint.min-pause.ms"
	KeyCheckpointMaxConcurrent = "checkpoint.max-concurrent"
	KeyCheckpointMode          = "checkpoint.mode"
	KeyCheckpointUnaligned     = "checkpoint.unaligned"
	KeyCheckpointAlignTimeout  = "checkpoint.alignment-timeout.ms"
	KeyCheckpointTolerable     = "checkpoint.tolerable-failures"
	KeyCheckpointRetained      = "checkpoint.retained"
	KeyCheckpointExternalized  = "checkpoint.externalized"
	KeyCheckpointDir           = "checkpoint.dir"
	KeyStateIncremental        = "state.backend.incremental"

	KeyRestartStrategy       = "restart-strategy"
	KeyFixedDelayAttempts    = "restart-strategy.fixed-delay.attempts"
	KeyFixedDelayDelay       = "restart-strategy.fixed-delay.delay"
	KeyFailureRateMax        = "restart-strategy.failure-rate.max-failures-per-interval"
	KeyFailureRateInterval   = "restart-strategy.failure-rate.failure-rate-interval"
	KeyFailureRateDelay      = "restart-strategy.failure-rate.delay"
	KeyExpDelayInitial       = "restart-strategy.exponential-delay.initial-backoff"
	KeyExpDelayMax           = "restart-strategy.exponential-delay.max-backoff"
	KeyExpDelayMultiplier    = "restart-strategy.exponential-delay.backoff-multiplier"
	KeyExpDelayResetAfter    = "restart-strategy.exponential-delay.reset-backoff-threshold"
	KeyExpDelayJitter        = "restart-strategy.exponential-delay.jitter-factor"
	KeyExpDelayResetAttempts = "restart-strategy.exponential-delay.attempts-before-reset-backoff"
)

// minCheckpointInterval is Flink's smallest checkpoint interval.
const minCheckpointInterval = 10 * time.Millisecond

// unlimited is the default of attempts-before-reset-backoff (stored as 0).
const unlimited = "unlimited"

// checkpointInterval validates checkpoint.interval.ms: a duration (a bare
// integer is milliseconds) of at least 10 ms. Checkpointing is off when the
// key is not set; there is no "off" value.
func checkpointInterval(v string) error {
	d, err := ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("expected a positive duration, got '%s'", v)
	}
	if d < minCheckpointInterval {
		return fmt.Errorf("expected at least 10 ms (checkpointing is off when the key is not set), got '%s'", v)
	}
	return nil
}

func positiveDuration(v string) error {
	if d, err := ParseDuration(v); err != nil || d <= 0 {
		return fmt.Errorf("expected a positive duration, got '%s'", v)
	}
	return nil
}

func nonNegativeDuration(v string) error {
	if d, err := ParseDuration(v); err != nil || d < 0 {
		return fmt.Errorf("expected a duration such as '0 ms' or '5 s', got '%s'", v)
	}
	return nil
}

func nonNegativeInt(v string) error {
	if n, err := strconv.Atoi(v); err != nil || n < 0 {
		return fmt.Errorf("expected a non-negative integer, got '%s'", v)
	}
	return nil
}

// positiveIntOrUnlimited accepts a positive integer or 'unlimited'.
func positiveIntOrUnlimited(v string) error {
	if strings.EqualFold(v, unlimited) {
		return nil
	}
	if n, err := strconv.Atoi(v); err != nil || n < 1 {
		return fmt.Errorf("expected a positive integer or 'unlimited', got '%s'", v)
	}
	return nil
}

func floatAtLeast(min float64) func(string) error {
	return func(v string) error {
		if f, err := strconv.ParseFloat(v, 64); err != nil || f < min {
			return fmt.Errorf("expected a number of at least %g, got '%s'", min, v)
		}
		return nil
	}
}

func fraction(v string) error {
	if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 || f > 1 {
		return fmt.Errorf("expected a number between 0 and 1, got '%s'", v)
	}
	return nil
}

// enumName lower-cases a value and turns Flink's underscores into dashes
// (EXACTLY_ONCE -> exactly-once).
func enumName(v string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(v)), "_", "-")
}

func checkpointMode(v string) (checkpoint.Mode, error) {
	switch enumName(v) {
	case "exactly-once":
		return checkpoint.ExactlyOnce, nil
	case "at-least-once":
		return checkpoint.AtLeastOnce, nil
	}
	return 0, fmt.Errorf("expected exactly-once or at-least-once, got '%s'", v)
}

// retainOnCancellation reads checkpoint.externalized.
func retainOnCancellation(v string) (bool, error) {
	switch enumName(v) {
	case "retain-on-cancellation":
		return true, nil
	case "delete-on-cancellation":
		return false, nil
	}
	return false, fmt.Errorf("expected retain-on-cancellation or delete-on-cancellation, got '%s'", v)
}

// restartKind reads restart-strategy, with Flink's spellings.
func restartKind(v string) (checkpoint.RestartKind, error) {
	switch enumName(v) {
	case "none", "off", "disable":
		return checkpoint.RestartNone, nil
	case "fixed-delay", "fixeddelay":
		return checkpoint.RestartFixedDelay, nil
	case "failure-rate", "failurerate":
		return checkpoint.RestartFailureRate, nil
	case "exponential-delay", "exponentialdelay":
		return checkpoint.RestartExponentialDelay, nil
	}
	return "", fmt.Errorf("expected one of none, fixed-delay, failure-rate, exponential-delay, got '%s'", v)
}

func validateWith[T any](parse func(string) (T, error)) func(string) error {
	return func(v string) error {
		_, err := parse(v)
		return err
	}
}

// Canonical forms, so that values meaning the same compare equal when two
// tables give one key ('10 s' and '10000'). Only applied to valid values.

func canonDuration(v string) string {
	d, _ := ParseDuration(v)
	return d.String()
}

func canonInt(v string) string {
	if strings.EqualFold(v, unlimited) {
		return unlimited
	}
	n, _ := strconv.Atoi(v)
	return strconv.Itoa(n)
}

func canonFloat(v string) string {
	f, _ := strconv.ParseFloat(v, 64)
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func canonBool(v string) string {
	b, _ := strconv.ParseBool(v)
	return strconv.FormatBool(b)
}

func canonRestart(v string) string {
	k, _ := restartKind(v)
	return string(k)
}

// Conditions under which a setting's default is listed (EXPLAIN): the
// checkpoint keys when checkpointing is on, a restart strategy's parameters
// when it is the job's strategy.

func never(func(string) string) bool { return false }

func whenCheckpointing(get func(string) string) bool { return get(KeyCheckpointIntv) != "" }

func whenIncremental(get func(string) string) bool {
	return whenCheckpointing(get) && get(KeyStateBackend) == "rocksdb"
}

func whenRestart(kind checkpoint.RestartKind) func(func(string) string) bool {
	return func(get func(string) string) bool {
		k, err := restartKind(get(KeyRestartStrategy))
		return err == nil && k == kind
	}
}

// defaultRestart is restart-strategy's default: exponential-delay when
// checkpointing is on, none otherwise (as Flink).
func defaultRestart(get func(string) string) string {
	if whenCheckpointing(get) {
		return string(checkpoint.RestartExponentialDelay)
	}
	return string(checkpoint.RestartNone)
}

// cpReader parses resolved values, keeping the first error.
type cpReader struct {
	js  *JobSettings
	err error
}

func (r *cpReader) text(k string) string {
	if v, ok := r.js.m[k]; ok {
		return v
	}
	if k == KeyRestartStrategy {
		return defaultRestart(r.text)
	}
	return knownSettings[k].def
}

// valid returns k's value when it passes k's validator.
func (r *cpReader) valid(k string) (string, bool) {
	v := r.text(k)
	if r.err != nil {
		return v, false
	}
	if err := knownSettings[k].validate(v); err != nil {
		r.err = fmt.Errorf("invalid value for '%s': %w", k, err)
		return v, false
	}
	return v, true
}

func (r *cpReader) duration(k string) time.Duration {
	v, ok := r.valid(k)
	if !ok {
		return 0
	}
	d, _ := ParseDuration(v)
	return d
}

func (r *cpReader) integer(k string) int {
	v, ok := r.valid(k)
	if !ok || strings.EqualFold(v, unlimited) {
		return 0
	}
	n, _ := strconv.Atoi(v)
	return n
}

func (r *cpReader) float(k string) float64 {
	v, ok := r.valid(k)
	if !ok {
		return 0
	}
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

func (r *cpReader) boolean(k string) bool {
	v, ok := r.valid(k)
	if !ok {
		return false
	}
	b, _ := strconv.ParseBool(v)
	return b
}

// describe renders a key, its value and its origin for error messages.
func (r *cpReader) describe(k string) string {
	origin := r.js.origin[k]
	if origin == "" {
		origin = "default"
	}
	return fmt.Sprintf("'%s' = '%s' (%s)", k, r.text(k), origin)
}

// CheckpointSettings returns a job's checkpoint configuration and restart
// strategy. Checkpointing is off (Interval 0) unless checkpoint.interval.ms
// is set. Dir is the setting as given ("" when unset: the session picks its
// default). The alignment timeout only applies to unaligned checkpoints and
// is ignored (0) otherwise; incremental checkpoints only apply to rocksdb.
// Refused combinations: unaligned with at-least-once, unaligned with more
// than one concurrent checkpoint, an exponential max backoff below the
// initial backoff. ResolveJobSettings already checks these, so a planned
// job's settings never fail here.
func CheckpointSettings(js *JobSettings) (checkpoint.Config, checkpoint.RestartStrategy, error) {
	r := &cpReader{js: js}
	var c checkpoint.Config
	if r.text(KeyCheckpointIntv) != "" {
		c.Interval = r.duration(KeyCheckpointIntv)
	}
	c.Timeout = r.duration(KeyCheckpointTimeout)
	c.MinPause = r.duration(KeyCheckpointMinPause)
	c.MaxConcurrent = r.integer(KeyCheckpointMaxConcurrent)
	if v, ok := r.valid(KeyCheckpointMode); ok {
		c.Mode, _ = checkpointMode(v)
	}
	c.Unaligned = r.boolean(KeyCheckpointUnaligned)
	c.AlignmentTimeout = r.duration(KeyCheckpointAlignTimeout)
	c.TolerableFailures = r.integer(KeyCheckpointTolerable)
	c.Retained = r.integer(KeyCheckpointRetained)
	if v, ok := r.valid(KeyCheckpointExternalized); ok {
		c.RetainOnCancellation, _ = retainOnCancellation(v)
	}
	c.Dir = r.text(KeyCheckpointDir)
	c.Incremental = r.boolean(KeyStateIncremental) && r.text(KeyStateBackend) == "rocksdb"

	var rs checkpoint.RestartStrategy
	if v, ok := r.valid(KeyRestartStrategy); ok {
		rs.Kind, _ = restartKind(v)
	}
	switch rs.Kind {
	case checkpoint.RestartFixedDelay:
		rs.Attempts = r.integer(KeyFixedDelayAttempts)
		rs.Delay = r.duration(KeyFixedDelayDelay)
	case checkpoint.RestartFailureRate:
		rs.MaxFailures = r.integer(KeyFailureRateMax)
		rs.FailureInterval = r.duration(KeyFailureRateInterval)
		rs.Delay = r.duration(KeyFailureRateDelay)
	case checkpoint.RestartExponentialDelay:
		rs.InitialBackoff = r.duration(KeyExpDelayInitial)
		rs.MaxBackoff = r.duration(KeyExpDelayMax)
		rs.Multiplier = r.float(KeyExpDelayMultiplier)
		rs.ResetThreshold = r.duration(KeyExpDelayResetAfter)
		rs.Jitter = r.float(KeyExpDelayJitter)
		rs.Attempts = r.integer(KeyExpDelayResetAttempts)
	}
	if r.err != nil {
		return checkpoint.Config{}, checkpoint.RestartStrategy{}, r.err
	}

	switch {
	case c.Unaligned && c.Mode == checkpoint.AtLeastOnce:
		return checkpoint.Config{}, checkpoint.RestartStrategy{}, fmt.Errorf(
			"unaligned checkpoints need exactly-once mode: %s but %s",
			r.describe(KeyCheckpointUnaligned), r.describe(KeyCheckpointMode))
	case c.Unaligned && c.MaxConcurrent > 1:
		return checkpoint.Config{}, checkpoint.RestartStrategy{}, fmt.Errorf(
			"unaligned checkpoints allow one checkpoint in flight: %s but %s",
			r.describe(KeyCheckpointUnaligned), r.describe(KeyCheckpointMaxConcurrent))
	case rs.Kind == checkpoint.RestartExponentialDelay && rs.MaxBackoff < rs.InitialBackoff:
		return checkpoint.Config{}, checkpoint.RestartStrategy{}, fmt.Errorf(
			"the maximum backoff is below the initial backoff: %s but %s",
			r.describe(KeyExpDelayMax), r.describe(KeyExpDelayInitial))
	}
	if !c.Unaligned {
		c.AlignmentTimeout = 0
	}
	return c, rs, nil
}
