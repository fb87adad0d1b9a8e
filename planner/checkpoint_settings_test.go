package planner

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streamsql/streamsql/checkpoint"
)

// resolveSet SETs key/value pairs and resolves a job's settings.
func resolveSet(t *testing.T, kv ...string) (*JobSettings, error) {
	t.Helper()
	s := NewSettings()
	for i := 0; i+1 < len(kv); i += 2 {
		if err := s.Set(kv[i], kv[i+1]); err != nil {
			t.Fatalf("SET %s = %s: %v", kv[i], kv[i+1], err)
		}
	}
	return ResolveJobSettings(s, nil)
}

func checkpointSettingsOf(t *testing.T, kv ...string) (checkpoint.Config, checkpoint.RestartStrategy) {
	t.Helper()
	js, err := resolveSet(t, kv...)
	if err != nil {
		t.Fatal(err)
	}
	c, rs, err := CheckpointSettings(js)
	if err != nil {
		t.Fatal(err)
	}
	return c, rs
}

var defaultExponential = checkpoint.RestartStrategy{
	Kind:           checkpoint.RestartExponentialDelay,
	InitialBackoff: time.Second,
	MaxBackoff:     time.Minute,
	Multiplier:     1.5,
	ResetThreshold: time.Hour,
	Jitter:         0.1,
}

func TestCheckpointDefaultsOff(t *testing.T) {
	c, rs := checkpointSettingsOf(t)
	want := checkpoint.Config{Timeout: 10 * time.Minute, MaxConcurrent: 1, Retained: 1, RetainOnCancellation: true}
	if c != want {
		t.Errorf("config = %+v\nwant     %+v", c, want)
	}
	if c.Enabled() {
		t.Error("checkpointing is on by default")
	}
	if rs != (checkpoint.RestartStrategy{Kind: checkpoint.RestartNone}) {
		t.Errorf("restart = %+v, want none", rs)
	}
}

func TestCheckpointDefaultsOn(t *testing.T) {
	c, rs := checkpointSettingsOf(t, KeyCheckpointIntv, "1000")
	want := checkpoint.Config{Interval: time.Second, Timeout: 10 * time.Minute, MaxConcurrent: 1,
		Mode: checkpoint.ExactlyOnce, Retained: 1, RetainOnCancellation: true}
	if c != want {
		t.Errorf("config = %+v\nwant     %+v", c, want)
	}
	if rs != defaultExponential {
		t.Errorf("restart = %+v\nwant      %+v", rs, defaultExponential)
	}
	// The session fills the default directory.
	if c.Dir != "" {
		t.Errorf("dir = %q, want empty", c.Dir)
	}
}

// TestCheckpointKeys sets every key under its name and each alias.
func TestCheckpointKeys(t *testing.T) {
	type result struct {
		c  checkpoint.Config
		rs checkpoint.RestartStrategy
	}
	cases := []struct {
		keys  []string
		value string
		// extra SETs besides the key (checkpointing is on in every case)
		extra []string
		check func(r result) any
		want  any
	}{
		{[]string{KeyCheckpointIntv, "execution.checkpointing.interval"}, "10 s", nil,
			func(r result) any { return r.c.Interval }, 10 * time.Second},
		{[]string{KeyCheckpointIntv}, "250", nil,
			func(r result) any { return r.c.Interval }, 250 * time.Millisecond},
		{[]string{KeyCheckpointTimeout, "execution.checkpointing.timeout"}, "90000", nil,
			func(r result) any { return r.c.Timeout }, 90 * time.Second},
		{[]string{KeyCheckpointTimeout}, "2 min", nil,
			func(r result) any { return r.c.Timeout }, 2 * time.Minute},
		{[]string{KeyCheckpointMinPause, "execution.checkpointing.min-pause"}, "500 ms", nil,
			func(r result) any { return r.c.MinPause }, 500 * time.Millisecond},
		{[]string{KeyCheckpointMaxConcurrent, "execution.checkpointing.max-concurrent-checkpoints"}, "3", nil,
			func(r result) any { return r.c.MaxConcurrent }, 3},
		{[]string{KeyCheckpointMode, "execution.checkpointing.mode"}, "at-least-once", nil,
			func(r result) any { return r.c.Mode }, checkpoint.AtLeastOnce},
		{[]string{KeyCheckpointMode}, "AT_LEAST_ONCE", nil,
			func(r result) any { return r.c.Mode }, checkpoint.AtLeastOnce},
		{[]string{KeyCheckpointMode}, "EXACTLY_ONCE", nil,
			func(r result) any { return r.c.Mode }, checkpoint.ExactlyOnce},
		{[]string{KeyCheckpointUnaligned, "execution.checkpointing.unaligned", "execution.checkpointing.unaligned.enabled"}, "true", nil,
			func(r result) any { return r.c.Unaligned }, true},
		{[]string{KeyCheckpointAlignTimeout, "execution.checkpointing.aligned-checkpoint-timeout", "execution.checkpointing.alignment-timeout"}, "30 s",
			[]string{KeyCheckpointUnaligned, "true"},
			func(r result) any { return r.c.AlignmentTimeout }, 30 * time.Second},
		// Without unaligned checkpoints the alignment timeout is ignored.
		{[]string{KeyCheckpointAlignTimeout}, "30 s", nil,
			func(r result) any { return r.c.AlignmentTimeout }, time.Duration(0)},
		{[]string{KeyCheckpointTolerable, "execution.checkpointing.tolerable-failed-checkpoints"}, "4", nil,
			func(r result) any { return r.c.TolerableFailures }, 4},
		{[]string{KeyCheckpointRetained, "state.checkpoints.num-retained", "execution.checkpointing.num-retained"}, "5", nil,
			func(r result) any { return r.c.Retained }, 5},
		{[]string{KeyCheckpointExternalized, "execution.checkpointing.externalized-checkpoint-retention"}, "delete-on-cancellation", nil,
			func(r result) any { return r.c.RetainOnCancellation }, false},
		{[]string{KeyCheckpointExternalized}, "DELETE_ON_CANCELLATION", nil,
			func(r result) any { return r.c.RetainOnCancellation }, false},
		{[]string{KeyCheckpointExternalized}, "RETAIN_ON_CANCELLATION", nil,
			func(r result) any { return r.c.RetainOnCancellation }, true},
		{[]string{KeyCheckpointDir, "state.checkpoints.dir", "execution.checkpointing.dir"}, "/data/ckpt", nil,
			func(r result) any { return r.c.Dir }, "/data/ckpt"},
		{[]string{KeyStateBackend, "state.backend.type"}, "rocksdb", nil,
			func(r result) any { return r.c.Incremental }, true},
		{[]string{KeyStateIncremental, "execution.checkpointing.incremental"}, "false", []string{KeyStateBackend, "rocksdb"},
			func(r result) any { return r.c.Incremental }, false},
		// Incremental checkpoints only apply to rocksdb.
		{[]string{KeyStateIncremental}, "true", nil,
			func(r result) any { return r.c.Incremental }, false},

		{[]string{KeyRestartStrategy, "restart-strategy.type"}, "fixed-delay", nil,
			func(r result) any { return r.rs },
			checkpoint.RestartStrategy{Kind: checkpoint.RestartFixedDelay, Attempts: 1, Delay: time.Second}},
		{[]string{KeyRestartStrategy}, "fixeddelay", nil,
			func(r result) any { return r.rs.Kind }, checkpoint.RestartFixedDelay},
		{[]string{KeyRestartStrategy}, "failure-rate", nil,
			func(r result) any { return r.rs },
			checkpoint.RestartStrategy{Kind: checkpoint.RestartFailureRate, MaxFailures: 1, FailureInterval: time.Minute, Delay: time.Second}},
		{[]string{KeyRestartStrategy}, "exponential-delay", nil,
			func(r result) any { return r.rs }, defaultExponential},
		{[]string{KeyRestartStrategy}, "none", nil,
			func(r result) any { return r.rs }, checkpoint.RestartStrategy{Kind: checkpoint.RestartNone}},
		{[]string{KeyRestartStrategy}, "off", nil,
			func(r result) any { return r.rs.Kind }, checkpoint.RestartNone},
		{[]string{KeyRestartStrategy}, "disable", nil,
			func(r result) any { return r.rs.Kind }, checkpoint.RestartNone},
		{[]string{KeyFixedDelayAttempts}, "7", []string{KeyRestartStrategy, "fixed-delay"},
			func(r result) any { return r.rs.Attempts }, 7},
		{[]string{KeyFixedDelayDelay}, "3 s", []string{KeyRestartStrategy, "fixed-delay"},
			func(r result) any { return r.rs.Delay }, 3 * time.Second},
		{[]string{KeyFailureRateMax}, "4", []string{KeyRestartStrategy, "failure-rate"},
			func(r result) any { return r.rs.MaxFailures }, 4},
		{[]string{KeyFailureRateInterval}, "5 min", []string{KeyRestartStrategy, "failure-rate"},
			func(r result) any { return r.rs.FailureInterval }, 5 * time.Minute},
		{[]string{KeyFailureRateDelay}, "2 s", []string{KeyRestartStrategy, "failure-rate"},
			func(r result) any { return r.rs.Delay }, 2 * time.Second},
		{[]string{KeyExpDelayInitial}, "100 ms", nil,
			func(r result) any { return r.rs.InitialBackoff }, 100 * time.Millisecond},
		{[]string{KeyExpDelayMax}, "5 min", nil,
			func(r result) any { return r.rs.MaxBackoff }, 5 * time.Minute},
		{[]string{KeyExpDelayMultiplier}, "2", nil,
			func(r result) any { return r.rs.Multiplier }, 2.0},
		{[]string{KeyExpDelayResetAfter}, "30 min", nil,
			func(r result) any { return r.rs.ResetThreshold }, 30 * time.Minute},
		{[]string{KeyExpDelayJitter}, "0", nil,
			func(r result) any { return r.rs.Jitter }, 0.0},
		{[]string{KeyExpDelayResetAttempts}, "10", nil,
			func(r result) any { return r.rs.Attempts }, 10},
		{[]string{KeyExpDelayResetAttempts}, "unlimited", nil,
			func(r result) any { return r.rs.Attempts }, 0},
	}
	for _, c := range cases {
		for _, k := range c.keys {
			t.Run(k+"="+c.value, func(t *testing.T) {
				if !IsJobSettingKey(k) {
					t.Errorf("%s is not a job setting key", k)
				}
				var kv []string
				if CanonicalKey(k) != KeyCheckpointIntv {
					kv = []string{KeyCheckpointIntv, "1 s"}
				}
				kv = append(append(kv, c.extra...), k, c.value)
				cfg, rs := checkpointSettingsOf(t, kv...)
				if got := c.check(result{cfg, rs}); !reflect.DeepEqual(got, c.want) {
					t.Errorf("got %#v, want %#v", got, c.want)
				}
				// The same from a table's WITH options.
				js, err := ResolveJobSettings(NewSettings(), []*Table{table("t", kv...)})
				if err != nil {
					t.Fatal(err)
				}
				cfg, rs, err = CheckpointSettings(js)
				if err != nil {
					t.Fatal(err)
				}
				if got := c.check(result{cfg, rs}); !reflect.DeepEqual(got, c.want) {
					t.Errorf("from WITH: got %#v, want %#v", got, c.want)
				}
			})
		}
	}
}

func TestCheckpointInvalidValues(t *testing.T) {
	cases := []struct{ key, value, err string }{
		{KeyCheckpointIntv, "-5", "expected a positive duration, got '-5'"},
		{KeyCheckpointIntv, "0", "expected a positive duration, got '0'"},
		{"execution.checkpointing.interval", "0 s", "expected a positive duration, got '0 s'"},
		{KeyCheckpointIntv, "5", "expected at least 10 ms"},
		{KeyCheckpointIntv, "soon", "expected a positive duration, got 'soon'"},
		{KeyCheckpointTimeout, "0", "expected a positive duration, got '0'"},
		{KeyCheckpointTimeout, "-1", "expected a positive duration, got '-1'"},
		{KeyCheckpointMinPause, "later", "expected a duration"},
		{KeyCheckpointMaxConcurrent, "0", "expected a positive integer, got '0'"},
		{KeyCheckpointMode, "twice", "expected exactly-once or at-least-once, got 'twice'"},
		{KeyCheckpointUnaligned, "maybe", "expected true or false, got 'maybe'"},
		{KeyCheckpointAlignTimeout, "x", "expected a duration"},
		{KeyCheckpointTolerable, "-1", "expected a non-negative integer, got '-1'"},
		{KeyCheckpointRetained, "0", "expected a positive integer, got '0'"},
		{"state.checkpoints.num-retained", "-2", "expected a positive integer, got '-2'"},
		{KeyCheckpointExternalized, "NO_EXTERNALIZED_CHECKPOINTS", "expected retain-on-cancellation or delete-on-cancellation"},
		{KeyStateIncremental, "yes please", "expected true or false"},
		{"state.backend.type", "leveldb", "expected one of hashmap, rocksdb, got 'leveldb'"},
		{KeyRestartStrategy, "sometimes", "expected one of none, fixed-delay, failure-rate, exponential-delay, got 'sometimes'"},
		{KeyFixedDelayAttempts, "-1", "expected a non-negative integer"},
		{KeyFixedDelayDelay, "x", "expected a duration"},
		{KeyFailureRateMax, "0", "expected a positive integer"},
		{KeyFailureRateInterval, "0", "expected a positive duration"},
		{KeyFailureRateDelay, "x", "expected a duration"},
		{KeyExpDelayInitial, "0", "expected a positive duration"},
		{KeyExpDelayMax, "0", "expected a positive duration"},
		{KeyExpDelayMultiplier, "0.5", "expected a number of at least 1, got '0.5'"},
		{KeyExpDelayResetAfter, "0", "expected a positive duration"},
		{KeyExpDelayJitter, "1.5", "expected a number between 0 and 1, got '1.5'"},
		{KeyExpDelayJitter, "-0.1", "expected a number between 0 and 1"},
		{KeyExpDelayResetAttempts, "0", "expected a positive integer or 'unlimited', got '0'"},
		{"execution.checkpointing.savepoint-dir", "/x", "not supported yet: setting 'execution.checkpointing.savepoint-dir'"},
		{"restart-strategy.fixed-delay.backoff", "1 s", "not supported yet"},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			err := NewSettings().Set(c.key, c.value)
			if err == nil {
				t.Fatal("accepted")
			}
			prefix := "invalid value for '" + c.key + "': "
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("got %q, want %q + ...%q...", err, prefix, c.err)
			}
			// WITH options are validated by the same function (CREATE TABLE).
			if err := ValidateSetting(c.key, c.value); err == nil {
				t.Fatal("ValidateSetting accepted it")
			}
		})
	}
}

func TestCheckpointInvalidCombinations(t *testing.T) {
	cases := []struct {
		kv  []string
		err string
	}{
		{[]string{KeyCheckpointIntv, "1 s", KeyCheckpointUnaligned, "true", "execution.checkpointing.mode", "AT_LEAST_ONCE"},
			"unaligned checkpoints need exactly-once mode: 'checkpoint.unaligned' = 'true' (SET) but 'checkpoint.mode' = 'AT_LEAST_ONCE' (SET)"},
		// Also checked when checkpointing is off: the settings contradict.
		{[]string{KeyCheckpointUnaligned, "true", KeyCheckpointMode, "at-least-once"},
			"unaligned checkpoints need exactly-once mode"},
		{[]string{KeyCheckpointIntv, "1 s", KeyCheckpointUnaligned, "true", KeyCheckpointMaxConcurrent, "2"},
			"unaligned checkpoints allow one checkpoint in flight: 'checkpoint.unaligned' = 'true' (SET) but 'checkpoint.max-concurrent' = '2' (SET)"},
		{[]string{KeyCheckpointIntv, "1 s", KeyExpDelayMax, "100 ms"},
			"the maximum backoff is below the initial backoff: 'restart-strategy.exponential-delay.max-backoff' = '100 ms' (SET) but 'restart-strategy.exponential-delay.initial-backoff' = '1 s' (default)"},
	}
	for _, c := range cases {
		t.Run(c.err, func(t *testing.T) {
			_, err := resolveSet(t, c.kv...)
			if err == nil || !strings.HasPrefix(err.Error(), c.err) {
				t.Fatalf("got %v, want %q", err, c.err)
			}
		})
	}
	// Accepted: max-concurrent > 1 aligned; an alignment timeout aligned;
	// a max backoff below the initial one for another strategy.
	for _, kv := range [][]string{
		{KeyCheckpointIntv, "1 s", KeyCheckpointMaxConcurrent, "2"},
		{KeyCheckpointIntv, "1 s", KeyCheckpointAlignTimeout, "1 s"},
		{KeyCheckpointIntv, "1 s", KeyCheckpointUnaligned, "true", KeyCheckpointAlignTimeout, "1 s"},
		{KeyRestartStrategy, "fixed-delay", KeyExpDelayMax, "100 ms"},
	} {
		if _, err := resolveSet(t, kv...); err != nil {
			t.Errorf("%v: %v", kv, err)
		}
	}
}

func TestCheckpointCombinationFromTables(t *testing.T) {
	_, err := ResolveJobSettings(NewSettings(), []*Table{
		table("src", "execution.checkpointing.unaligned", "true"),
		table("snk", KeyCheckpointMode, "at-least-once")})
	want := "unaligned checkpoints need exactly-once mode: 'checkpoint.unaligned' = 'true' (table src) but 'checkpoint.mode' = 'at-least-once' (table snk)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestCheckpointListedSettings(t *testing.T) {
	keys := func(js *JobSettings) string {
		var ks []string
		for _, r := range js.List {
			ks = append(ks, r.Key)
		}
		return strings.Join(ks, " ")
	}
	cases := []struct {
		kv   []string
		has  []string
		hasn []string
	}{
		{nil, nil, []string{KeyCheckpointMode, KeyRestartStrategy, KeyExpDelayInitial, KeyStateIncremental}},
		{[]string{KeyCheckpointIntv, "1 s"},
			[]string{KeyCheckpointTimeout, KeyCheckpointMinPause, KeyCheckpointMaxConcurrent, KeyCheckpointMode,
				KeyCheckpointUnaligned, KeyCheckpointAlignTimeout, KeyCheckpointTolerable, KeyCheckpointRetained,
				KeyCheckpointExternalized, KeyRestartStrategy, KeyExpDelayInitial, KeyExpDelayMax, KeyExpDelayMultiplier,
				KeyExpDelayResetAfter, KeyExpDelayJitter, KeyExpDelayResetAttempts},
			// The session picks the directory; incremental is rocksdb's.
			[]string{KeyCheckpointDir, KeyStateIncremental, KeyFixedDelayAttempts, KeyFailureRateMax}},
		{[]string{KeyCheckpointIntv, "1 s", KeyStateBackend, "rocksdb", KeyCheckpointDir, "/d"},
			[]string{KeyStateIncremental, KeyCheckpointDir}, nil},
		{[]string{KeyCheckpointIntv, "1 s", KeyRestartStrategy, "failure-rate"},
			[]string{KeyFailureRateMax, KeyFailureRateInterval, KeyFailureRateDelay},
			[]string{KeyExpDelayInitial, KeyFixedDelayDelay}},
		// A restart strategy without checkpointing lists its parameters.
		{[]string{KeyRestartStrategy, "fixed-delay"},
			[]string{KeyRestartStrategy, KeyFixedDelayAttempts, KeyFixedDelayDelay},
			[]string{KeyCheckpointMode}},
		{[]string{KeyCheckpointIntv, "1 s", KeyRestartStrategy, "none"},
			[]string{KeyRestartStrategy}, []string{KeyExpDelayInitial, KeyFixedDelayDelay}},
	}
	for _, c := range cases {
		js, err := resolveSet(t, c.kv...)
		if err != nil {
			t.Fatal(err)
		}
		l := listed(js)
		for _, k := range c.has {
			if _, ok := l[k]; !ok {
				t.Errorf("%v: %s not listed in %s", c.kv, k, keys(js))
			}
		}
		for _, k := range c.hasn {
			if _, ok := l[k]; ok {
				t.Errorf("%v: %s listed in %s", c.kv, k, keys(js))
			}
		}
	}
	js, err := resolveSet(t, KeyCheckpointIntv, "1 s")
	if err != nil {
		t.Fatal(err)
	}
	if got := listed(js)[KeyRestartStrategy]; got != "exponential-delay (default)" {
		t.Errorf("restart-strategy = %q", got)
	}
}

// TestCheckpointDefaultsAreValid keeps the defaults in step with the
// validators.
func TestCheckpointDefaultsAreValid(t *testing.T) {
	for k, d := range knownSettings {
		if d.def == "" {
			continue
		}
		if err := d.validate(d.def); err != nil {
			t.Errorf("%s: default '%s': %v", k, d.def, err)
		}
	}
	for alias, k := range settingAliases {
		if _, ok := knownSettings[k]; !ok {
			t.Errorf("alias %s of unknown key %s", alias, k)
		}
		if IsJobSettingKey(k) != IsJobSettingKey(alias) {
			t.Errorf("alias %s and %s differ in job level", alias, k)
		}
	}
}
