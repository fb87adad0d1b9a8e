package planner

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/streamsql/streamsql/checkpoint"
)

// Setting keys the engine knows. Flink's names are accepted as aliases.
const (
	KeyParallelism    = "parallelism.default"
	KeyMaxParallelism = "state.max-parallelism"
	KeyTimeZone       = "table.local-time-zone"
	KeyPipelineName   = "pipeline.name"
	KeyDMLSync        = "table.dml-sync"
	KeyStateBackend   = "state.backend"
	KeyCheckpointIntv = "checkpoint.interval.ms"
	KeyMiniBatchSize  = "table.exec.mini-batch.size"
	KeyMiniBatchDelay = "table.exec.mini-batch.allow-latency"
	KeyStateTTL       = "table.exec.state.ttl"
)

type settingDef struct {
	def      string
	validate func(string) error
	// canon, when set, maps a valid value to a canonical form: two tables
	// giving values of equal canonical form agree ('10 s' and '10000').
	canon func(string) string
	// jobLevel settings may also come from a table's WITH options.
	jobLevel bool
	// shown, when set, lists the unset key with its default among a job's
	// settings only when it holds for the job's values.
	shown func(get func(string) string) bool
	doc   string
}

func positiveInt(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("expected a positive integer, got '%s'", v)
	}
	return nil
}

func boolean(v string) error {
	if _, err := strconv.ParseBool(v); err != nil {
		return fmt.Errorf("expected true or false, got '%s'", v)
	}
	return nil
}

func anyValue(string) error { return nil }

func durationValue(v string) error {
	_, err := ParseDuration(v)
	return err
}

// ParseDuration reads Flink's duration forms ("100 ms", "1s", "2 min",
// "1 h") and Go's ("1m30s").
func ParseDuration(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	if num == "" {
		return 0, fmt.Errorf("expected a duration such as '100 ms' or '5 s', got '%s'", v)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("expected a duration, got '%s'", v)
	}
	units := map[string]time.Duration{
		"": time.Millisecond, "ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
		"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
		"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
		"min": time.Minute, "m": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hour": time.Hour, "hours": time.Hour, "d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	}
	if u, ok := units[unit]; ok {
		if n > math.MaxInt64/int64(u) {
			return 0, fmt.Errorf("duration '%s' is too long", v)
		}
		return time.Duration(n) * u, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("expected a duration such as '100 ms' or '5 s', got '%s'", v)
}

func timeZone(v string) error {
	if _, err := time.LoadLocation(v); err != nil {
		return fmt.Errorf("unknown time zone '%s'", v)
	}
	return nil
}

func oneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, x := range vals {
			if v == x {
				return nil
			}
		}
		return fmt.Errorf("expected one of %s, got '%s'", strings.Join(vals, ", "), v)
	}
}

var knownSettings = map[string]settingDef{
	KeyParallelism:    {def: "1", validate: positiveInt, jobLevel: true, doc: "default parallelism of operators"},
	KeyMaxParallelism: {def: "128", validate: positiveInt, jobLevel: true, doc: "number of key groups"},
	KeyTimeZone:       {def: "UTC", validate: timeZone, doc: "session time zone for TIMESTAMP_LTZ"},
	KeyPipelineName:   {def: "", validate: anyValue, jobLevel: true, doc: "job name"},
	KeyDMLSync:        {def: "", validate: boolean, doc: "INSERT waits for its job to finish"},
	KeyStateBackend:   {def: "hashmap", validate: oneOf("hashmap", "rocksdb"), jobLevel: true, doc: "state backend"},
	KeyMiniBatchSize:  {def: "100000", validate: positiveInt, doc: "input rows an aggregate buffers before emitting its changes"},
	KeyMiniBatchDelay: {def: "100 ms", validate: durationValue, doc: "longest time an unbounded aggregate buffers changes"},
	KeyStateTTL:       {def: "0 ms", validate: durationValue, doc: "idle state older than this expires (0 = never)"},
	KeyCheckpointIntv: {def: "", validate: checkpointInterval, canon: canonDuration, jobLevel: true, doc: "checkpoint trigger interval (unset = checkpointing off)"},

	// Checkpoint settings; their defaults are listed when checkpointing is on.
	KeyCheckpointTimeout:       {def: "10 min", validate: positiveDuration, canon: canonDuration, jobLevel: true, shown: whenCheckpointing, doc: "a checkpoint not complete by then is aborted"},
	KeyCheckpointMinPause:      {def: "0 ms", validate: nonNegativeDuration, canon: canonDuration, jobLevel: true, shown: whenCheckpointing, doc: "least time between the end of one checkpoint and the start of the next"},
	KeyCheckpointMaxConcurrent: {def: "1", validate: positiveInt, canon: canonInt, jobLevel: true, shown: whenCheckpointing, doc: "checkpoints in flight at once"},
	KeyCheckpointMode:          {def: "exactly-once", validate: validateWith(checkpointMode), canon: enumName, jobLevel: true, shown: whenCheckpointing, doc: "exactly-once or at-least-once"},
	KeyCheckpointUnaligned:     {def: "false", validate: boolean, canon: canonBool, jobLevel: true, shown: whenCheckpointing, doc: "barriers overtake queued data"},
	KeyCheckpointAlignTimeout:  {def: "0 ms", validate: nonNegativeDuration, canon: canonDuration, jobLevel: true, shown: whenCheckpointing, doc: "unaligned checkpoints start aligned and turn unaligned after this (0 = at once); ignored when aligned"},
	KeyCheckpointTolerable:     {def: "0", validate: nonNegativeInt, canon: canonInt, jobLevel: true, shown: whenCheckpointing, doc: "failed checkpoints in a row the job survives"},
	KeyCheckpointRetained:      {def: "1", validate: positiveInt, canon: canonInt, jobLevel: true, shown: whenCheckpointing, doc: "completed checkpoints kept"},
	KeyCheckpointExternalized:  {def: "retain-on-cancellation", validate: validateWith(retainOnCancellation), canon: enumName, jobLevel: true, shown: whenCheckpointing, doc: "retain-on-cancellation or delete-on-cancellation"},
	// The session picks the directory when unset, so its default is not listed.
	KeyCheckpointDir:    {def: "", validate: anyValue, jobLevel: true, shown: never, doc: "checkpoint root directory (unset = 'checkpoints' under the session's directory)"},
	KeyStateIncremental: {def: "true", validate: boolean, canon: canonBool, jobLevel: true, shown: whenIncremental, doc: "incremental checkpoints of the rocksdb backend"},

	// Restart strategy (Flink's keys and defaults); a strategy's parameters
	// are listed when it is the job's strategy.
	KeyRestartStrategy:       {def: "", validate: validateWith(restartKind), canon: canonRestart, jobLevel: true, shown: whenCheckpointing, doc: "none, fixed-delay, failure-rate or exponential-delay (default: exponential-delay when checkpointing is on, none otherwise)"},
	KeyFixedDelayAttempts:    {def: "1", validate: nonNegativeInt, canon: canonInt, jobLevel: true, shown: whenRestart(checkpoint.RestartFixedDelay), doc: "restarts before the job fails"},
	KeyFixedDelayDelay:       {def: "1 s", validate: nonNegativeDuration, canon: canonDuration, jobLevel: true, shown: whenRestart(checkpoint.RestartFixedDelay), doc: "wait before a restart"},
	KeyFailureRateMax:        {def: "1", validate: positiveInt, canon: canonInt, jobLevel: true, shown: whenRestart(checkpoint.RestartFailureRate), doc: "failures within the interval before the job fails"},
	KeyFailureRateInterval:   {def: "1 min", validate: positiveDuration, canon: canonDuration, jobLevel: true, shown: whenRestart(checkpoint.RestartFailureRate), doc: "interval failures are counted in"},
	KeyFailureRateDelay:      {def: "1 s", validate: nonNegativeDuration, canon: canonDuration, jobLevel: true, shown: whenRestart(checkpoint.RestartFailureRate), doc: "wait before a restart"},
	KeyExpDelayInitial:       {def: "1 s", validate: positiveDuration, canon: canonDuration, jobLevel: true, shown: whenRestart(checkpoint.RestartExponentialDelay), doc: "first backoff"},
	KeyExpDelayMax:           {def: "1 min", validate: positiveDuration, canon: canonDuration, jobLevel: true, shown: whenRestart(checkpoint.RestartExponentialDelay), doc: "largest backoff"},
	KeyExpDelayMultiplier:    {def: "1.5", validate: floatAtLeast(1), canon: canonFloat, jobLevel: true, shown: whenRestart(checkpoint.RestartExponentialDelay), doc: "backoff growth per failure"},
	KeyExpDelayResetAfter:    {def: "1 h", validate: positiveDuration, canon: canonDuration, jobLevel: true, shown: whenRestart(checkpoint.RestartExponentialDelay), doc: "running this long without failure resets the backoff"},
	KeyExpDelayJitter:        {def: "0.1", validate: fraction, canon: canonFloat, jobLevel: true, shown: whenRestart(checkpoint.RestartExponentialDelay), doc: "random fraction added to or taken from a backoff"},
	KeyExpDelayResetAttempts: {def: unlimited, validate: positiveIntOrUnlimited, canon: canonInt, jobLevel: true, shown: whenRestart(checkpoint.RestartExponentialDelay), doc: "restarts before the job fails, counted since the last backoff reset"},
}

// aliases maps Flink's setting names onto ours.
var settingAliases = map[string]string{
	"table.exec.resource.default-parallelism": KeyParallelism,
	"pipeline.max-parallelism":                KeyMaxParallelism,
	"state.backend.type":                      KeyStateBackend,

	"execution.checkpointing.interval":                          KeyCheckpointIntv,
	"execution.checkpointing.timeout":                           KeyCheckpointTimeout,
	"execution.checkpointing.min-pause":                         KeyCheckpointMinPause,
	"execution.checkpointing.max-concurrent-checkpoints":        KeyCheckpointMaxConcurrent,
	"execution.checkpointing.mode":                              KeyCheckpointMode,
	"execution.checkpointing.unaligned":                         KeyCheckpointUnaligned,
	"execution.checkpointing.unaligned.enabled":                 KeyCheckpointUnaligned,
	"execution.checkpointing.aligned-checkpoint-timeout":        KeyCheckpointAlignTimeout,
	"execution.checkpointing.alignment-timeout":                 KeyCheckpointAlignTimeout,
	"execution.checkpointing.tolerable-failed-checkpoints":      KeyCheckpointTolerable,
	"state.checkpoints.num-retained":                            KeyCheckpointRetained,
	"execution.checkpointing.num-retained":                      KeyCheckpointRetained,
	"execution.checkpointing.externalized-checkpoint-retention": KeyCheckpointExternalized,
	"state.checkpoints.dir":                                     KeyCheckpointDir,
	"execution.checkpointing.dir":                               KeyCheckpointDir,
	"execution.checkpointing.incremental":                       KeyStateIncremental,
	"restart-strategy.type":                                     KeyRestartStrategy,
}

// CanonicalKey resolves an alias to the engine's key.
func CanonicalKey(k string) string {
	if c, ok := settingAliases[k]; ok {
		return c
	}
	return k
}

// IsJobSettingKey reports whether a WITH option key is a job setting rather
// than a connector option (it is then not passed to the connector).
func IsJobSettingKey(k string) bool {
	k = CanonicalKey(k)
	if d, ok := knownSettings[k]; ok {
		return d.jobLevel
	}
	for _, p := range []string{"checkpoint.", "execution.checkpointing.", "state.", "restart-strategy"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// ValidateSetting checks a value for a known key. Unknown keys are accepted
// (as Flink's SET does) except job-setting families we do not know yet.
func ValidateSetting(k, v string) error {
	k = CanonicalKey(k)
	if d, ok := knownSettings[k]; ok {
		return d.validate(v)
	}
	if IsJobSettingKey(k) {
		return fmt.Errorf("not supported yet: setting '%s'", k)
	}
	return nil
}

// Settings are a session's SET values.
type Settings struct {
	values map[string]string
}

// NewSettings returns settings with nothing set.
func NewSettings() *Settings { return &Settings{values: map[string]string{}} }

// Set validates and stores a value; an error names the key as given (an
// alias or the engine's key).
func (s *Settings) Set(k, v string) error {
	c := CanonicalKey(k)
	if err := ValidateSetting(c, v); err != nil {
		return fmt.Errorf("invalid value for '%s': %w", k, err)
	}
	s.values[c] = v
	return nil
}

// Reset removes one key, or all when k is "".
func (s *Settings) Reset(k string) {
	if k == "" {
		s.values = map[string]string{}
		return
	}
	delete(s.values, CanonicalKey(k))
}

// Get returns the value of k: set, or the default.
func (s *Settings) Get(k string) string {
	k = CanonicalKey(k)
	if v, ok := s.values[k]; ok {
		return v
	}
	return knownSettings[k].def
}

// IsSet reports whether k was SET in the session.
func (s *Settings) IsSet(k string) bool {
	_, ok := s.values[CanonicalKey(k)]
	return ok
}

// Pairs lists what was SET, sorted by key.
func (s *Settings) Pairs() [][2]string {
	var out [][2]string
	for k, v := range s.values {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Location returns the session time zone.
func (s *Settings) Location() *time.Location {
	loc, err := time.LoadLocation(s.Get(KeyTimeZone))
	if err != nil {
		return time.UTC
	}
	return loc
}

// Resolved is one job setting with where its value came from.
type Resolved struct {
	// Key is the engine's key, Value the text as given (an alias's value
	// keeps its form: '10 s' for 'execution.checkpointing.interval').
	Key, Value string
	// Origin is "default", "SET", or "table <name>".
	Origin string
}

// JobSettings are the resolved settings of one job.
type JobSettings struct {
	// List is what EXPLAIN shows: every key set by SET or a table, and the
	// defaults that matter for the job (the checkpoint keys only when
	// checkpointing is on; a restart strategy's parameters only for the
	// job's strategy).
	List []Resolved
	// m holds the value of every job-level key, listed or not; origin
	// where each came from.
	m, origin map[string]string
}

// Get returns a resolved value as given; CheckpointSettings parses the
// checkpoint and restart keys.
func (j *JobSettings) Get(k string) string { return j.m[CanonicalKey(k)] }

// Int returns a resolved integer value (validated earlier).
func (j *JobSettings) Int(k string) int {
	n, _ := strconv.Atoi(j.Get(k))
	return n
}

// sameSetting reports whether two valid values of k mean the same.
func sameSetting(k, a, b string) bool {
	if a == b {
		return true
	}
	d := knownSettings[k]
	if d.canon == nil || d.validate(a) != nil || d.validate(b) != nil {
		return false
	}
	return d.canon(a) == d.canon(b)
}

// ResolveJobSettings merges the session's SET values with the job-level
// options of every table the job reads or writes. A table may not contradict
// another table (values are compared by meaning: '10 s' and '10000' agree
// for a duration); SET overrides tables (it is the user's explicit choice
// for the session), and so also settles their disagreement. The checkpoint
// settings are then checked together (CheckpointSettings).
func ResolveJobSettings(s *Settings, tables []*Table) (*JobSettings, error) {
	type src struct{ value, origin, key string }
	fromTables := map[string]src{}
	for _, t := range tables {
		keys := make([]string, 0, len(t.Options))
		for k := range t.Options {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, raw := range keys {
			if !IsJobSettingKey(raw) {
				continue
			}
			k := CanonicalKey(raw)
			v := t.Options[raw]
			_, set := s.values[k]
			if prev, ok := fromTables[k]; ok && !set && !sameSetting(k, prev.value, v) {
				if prev.origin == "table "+t.Name {
					return nil, fmt.Errorf("table %s gives setting '%s' twice: '%s' = '%s' and '%s' = '%s'", t.Name, k, prev.key, prev.value, raw, v)
				}
				return nil, fmt.Errorf("setting '%s' is '%s' in %s%s but '%s' in table %s%s", k, prev.value, prev.origin, asAlias(k, prev.key), v, t.Name, asAlias(k, raw))
			}
			fromTables[k] = src{v, "table " + t.Name, raw}
		}
	}
	js := &JobSettings{m: map[string]string{}, origin: map[string]string{}}
	for k, d := range knownSettings {
		if d.jobLevel {
			js.m[k], js.origin[k] = d.def, "default"
		}
	}
	for k, t := range fromTables {
		js.m[k], js.origin[k] = t.value, t.origin
	}
	for k, v := range s.values {
		if IsJobSettingKey(k) {
			js.m[k], js.origin[k] = v, "SET"
		}
	}
	if js.origin[KeyRestartStrategy] == "default" {
		js.m[KeyRestartStrategy] = defaultRestart(js.Get)
	}
	sorted := make([]string, 0, len(js.m))
	for k := range js.m {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		r := Resolved{Key: k, Value: js.m[k], Origin: js.origin[k]}
		if r.Origin != "default" {
			if err := ValidateSetting(k, r.Value); err != nil {
				return nil, fmt.Errorf("setting '%s' (from %s): %w", k, r.Origin, err)
			}
		} else if show := knownSettings[k].shown; show != nil && !show(js.Get) {
			continue
		}
		js.List = append(js.List, r)
	}
	if _, _, err := CheckpointSettings(js); err != nil {
		return nil, err
	}
	return js, nil
}

// asAlias notes the key a table used when it is an alias of k.
func asAlias(k, raw string) string {
	if raw == k {
		return ""
	}
	return fmt.Sprintf(" (as '%s')", raw)
}
