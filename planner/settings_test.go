package planner

import (
	"strings"
	"testing"
	"time"
)

func table(name string, opts ...string) *Table {
	t := &Table{Name: name, Options: map[string]string{}}
	for i := 0; i+1 < len(opts); i += 2 {
		t.Options[opts[i]] = opts[i+1]
	}
	return t
}

// listed returns a job's listed settings as key -> "value (origin)".
func listed(js *JobSettings) map[string]string {
	out := map[string]string{}
	for _, r := range js.List {
		out[r.Key] = r.Value + " (" + r.Origin + ")"
	}
	return out
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"100":     100 * time.Millisecond,
		"100 ms":  100 * time.Millisecond,
		"10 s":    10 * time.Second,
		"10s":     10 * time.Second,
		"2 min":   2 * time.Minute,
		"1 h":     time.Hour,
		"1 d":     24 * time.Hour,
		"1m30s":   90 * time.Second,
		" 5 SEC ": 5 * time.Second,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-5", "soon", "5 fortnights", "9999999999999999 d"} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
		}
	}
}

func TestSetNamesTheKeyAsGiven(t *testing.T) {
	s := NewSettings()
	err := s.Set("execution.checkpointing.interval", "-5")
	want := "invalid value for 'execution.checkpointing.interval': expected a positive duration, got '-5'"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if err := s.Set("execution.checkpointing.interval", "10 s"); err != nil {
		t.Fatal(err)
	}
	if got := s.Get(KeyCheckpointIntv); got != "10 s" {
		t.Fatalf("Get = %q", got)
	}
	s.Reset("execution.checkpointing.interval")
	if s.IsSet(KeyCheckpointIntv) {
		t.Fatal("RESET of the alias left the key set")
	}
}

func TestResolveDefaultsWithoutCheckpointing(t *testing.T) {
	js, err := ResolveJobSettings(NewSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range js.List {
		keys = append(keys, r.Key)
	}
	// Unchanged from before the checkpoint keys: only the interval is listed.
	want := "checkpoint.interval.ms parallelism.default pipeline.name state.backend state.max-parallelism"
	if got := strings.Join(keys, " "); got != want {
		t.Fatalf("listed %q, want %q", got, want)
	}
	if got := js.Get(KeyRestartStrategy); got != "none" {
		t.Fatalf("restart-strategy = %q, want none", got)
	}
}

func TestResolveOrigins(t *testing.T) {
	s := NewSettings()
	if err := s.Set(KeyParallelism, "4"); err != nil {
		t.Fatal(err)
	}
	js, err := ResolveJobSettings(s, []*Table{table("a", "state.max-parallelism", "64", "connector", "x")})
	if err != nil {
		t.Fatal(err)
	}
	l := listed(js)
	for k, want := range map[string]string{
		KeyParallelism:    "4 (SET)",
		KeyMaxParallelism: "64 (table a)",
		KeyStateBackend:   "hashmap (default)",
	} {
		if l[k] != want {
			t.Errorf("%s = %q, want %q", k, l[k], want)
		}
	}
	if _, ok := l["connector"]; ok {
		t.Error("a connector option was taken for a job setting")
	}
}

func TestResolveTableConflicts(t *testing.T) {
	cases := []struct {
		name   string
		tables []*Table
		err    string // "" = no conflict
	}{
		{"same text", []*Table{table("a", KeyParallelism, "2"), table("b", KeyParallelism, "2")}, ""},
		{"different", []*Table{table("a", KeyParallelism, "2"), table("b", KeyParallelism, "3")},
			"setting 'parallelism.default' is '2' in table a but '3' in table b"},
		{"alias, same meaning", []*Table{
			table("a", "execution.checkpointing.interval", "10 s"),
			table("b", KeyCheckpointIntv, "10000")}, ""},
		{"alias, different meaning", []*Table{
			table("a", "execution.checkpointing.interval", "10 s"),
			table("b", KeyCheckpointIntv, "20000")},
			"setting 'checkpoint.interval.ms' is '10 s' in table a (as 'execution.checkpointing.interval') but '20000' in table b"},
		{"enum spellings", []*Table{
			table("a", "execution.checkpointing.mode", "AT_LEAST_ONCE"),
			table("b", KeyCheckpointMode, "at-least-once")}, ""},
		{"restart none spellings", []*Table{
			table("a", "restart-strategy.type", "off"),
			table("b", KeyRestartStrategy, "none")}, ""},
		{"booleans", []*Table{
			table("a", "execution.checkpointing.unaligned", "TRUE"),
			table("b", KeyCheckpointUnaligned, "true")}, ""},
		{"floats", []*Table{
			table("a", KeyExpDelayJitter, "0.10"),
			table("b", KeyExpDelayJitter, ".1")}, ""},
		{"different enum", []*Table{
			table("a", KeyCheckpointMode, "exactly-once"),
			table("b", "execution.checkpointing.mode", "AT_LEAST_ONCE")},
			"setting 'checkpoint.mode' is 'exactly-once' in table a but 'AT_LEAST_ONCE' in table b (as 'execution.checkpointing.mode')"},
		{"dirs compare as text", []*Table{
			table("a", KeyCheckpointDir, "/x"),
			table("b", "state.checkpoints.dir", "/y")},
			"setting 'checkpoint.dir' is '/x' in table a but '/y' in table b (as 'state.checkpoints.dir')"},
		{"one table, twice", []*Table{
			table("a", KeyCheckpointIntv, "1000", "execution.checkpointing.interval", "2 s")},
			"table a gives setting 'checkpoint.interval.ms' twice: 'checkpoint.interval.ms' = '1000' and 'execution.checkpointing.interval' = '2 s'"},
		{"one table, twice, same meaning", []*Table{
			table("a", KeyCheckpointIntv, "1000", "execution.checkpointing.interval", "1 s")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ResolveJobSettings(NewSettings(), c.tables)
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.err != "" && (err == nil || err.Error() != c.err):
				t.Fatalf("got %v, want %q", err, c.err)
			}
		})
	}
}

func TestResolveSetSettlesTableConflict(t *testing.T) {
	s := NewSettings()
	if err := s.Set(KeyCheckpointIntv, "30 s"); err != nil {
		t.Fatal(err)
	}
	js, err := ResolveJobSettings(s, []*Table{
		table("a", KeyCheckpointIntv, "10 s"), table("b", KeyCheckpointIntv, "20 s")})
	if err != nil {
		t.Fatal(err)
	}
	if got := listed(js)[KeyCheckpointIntv]; got != "30 s (SET)" {
		t.Fatalf("interval = %q", got)
	}
}

func TestResolveKeepsTheUsersText(t *testing.T) {
	js, err := ResolveJobSettings(NewSettings(), []*Table{table("a", "execution.checkpointing.interval", "10 s")})
	if err != nil {
		t.Fatal(err)
	}
	if got := listed(js)[KeyCheckpointIntv]; got != "10 s (table a)" {
		t.Fatalf("interval = %q", got)
	}
}
