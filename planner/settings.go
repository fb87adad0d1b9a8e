package planner

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
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
	// jobLevel settings may also come from a table's WITH options.
	jobLevel bool
	doc      string
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

func notYet(what string) func(string) error {
	return func(string) error { return fmt.Errorf("not supported yet: %s", what) }
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
	KeyCheckpointIntv: {def: "", validate: notYet("checkpointing ('checkpoint.interval.ms')"), jobLevel: true, doc: "checkpoint interval"},
}

// aliases maps Flink's setting names onto ours.
var settingAliases = map[string]string{
	"table.exec.resource.default-parallelism": KeyParallelism,
	"pipeline.max-parallelism":                KeyMaxParallelism,
	"execution.checkpointing.interval":        KeyCheckpointIntv,
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

// Set validates and stores a value.
func (s *Settings) Set(k, v string) error {
	k = CanonicalKey(k)
	if err := ValidateSetting(k, v); err != nil {
		return fmt.Errorf("invalid value for '%s': %w", k, err)
	}
	s.values[k] = v
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
	Key, Value string
	// Origin is "default", "SET", or "table <name>".
	Origin string
}

// JobSettings are the resolved settings of one job.
type JobSettings struct {
	List []Resolved
	m    map[string]string
}

// Get returns a resolved value.
func (j *JobSettings) Get(k string) string { return j.m[CanonicalKey(k)] }

// Int returns a resolved integer value (validated earlier).
func (j *JobSettings) Int(k string) int {
	n, _ := strconv.Atoi(j.Get(k))
	return n
}

// ResolveJobSettings merges the session's SET values with the job-level
// options of every table the job reads or writes. A table may not contradict
// another table; SET overrides tables (it is the user's explicit choice for
// the session).
func ResolveJobSettings(s *Settings, tables []*Table) (*JobSettings, error) {
	type src struct{ value, origin string }
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
			if prev, ok := fromTables[k]; ok && prev.value != v {
				return nil, fmt.Errorf("setting '%s' is '%s' in %s but '%s' in table %s", k, prev.value, prev.origin, v, t.Name)
			}
			fromTables[k] = src{v, "table " + t.Name}
		}
	}
	js := &JobSettings{m: map[string]string{}}
	keys := map[string]bool{}
	for k, d := range knownSettings {
		if d.jobLevel {
			keys[k] = true
		}
	}
	for k := range fromTables {
		keys[k] = true
	}
	for k := range s.values {
		if IsJobSettingKey(k) {
			keys[k] = true
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		r := Resolved{Key: k, Value: knownSettings[k].def, Origin: "default"}
		if t, ok := fromTables[k]; ok {
			r.Value, r.Origin = t.value, t.origin
		}
		if v, ok := s.values[k]; ok {
			r.Value, r.Origin = v, "SET"
		}
		if r.Origin != "default" {
			if err := ValidateSetting(k, r.Value); err != nil {
				return nil, fmt.Errorf("setting '%s' (from %s): %w", k, r.Origin, err)
			}
		}
		js.List = append(js.List, r)
		js.m[k] = r.Value
	}
	return js, nil
}
