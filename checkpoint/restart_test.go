package checkpoint

import (
	"testing"
	"time"
)

// clock is a fake time line for restart decisions.
type clock struct{ t time.Time }

func (c *clock) at(d time.Duration) time.Time { c.t = c.t.Add(d); return c.t }

func TestRestartNone(t *testing.T) {
	for _, s := range []RestartStrategy{{Kind: RestartNone}, {}, {Kind: "bogus"}} {
		if _, ok := NewRestarter(s).Next(time.Unix(0, 0)); ok {
			t.Errorf("%q restarted", s.Kind)
		}
	}
	if err := (RestartStrategy{Kind: "bogus"}).Validate(); err == nil {
		t.Error("unknown kind validated")
	}
}

func TestRestartFixedDelay(t *testing.T) {
	r := NewRestarter(RestartStrategy{Kind: RestartFixedDelay, Attempts: 3, Delay: 2 * time.Second})
	c := &clock{t: time.Unix(1000, 0)}
	for i := range 3 {
		d, ok := r.Next(c.at(time.Hour))
		if !ok || d != 2*time.Second {
			t.Fatalf("restart %d: %v, %v", i+1, d, ok)
		}
	}
	if _, ok := r.Next(c.at(time.Hour)); ok {
		t.Fatal("fourth restart allowed with attempts = 3")
	}
}

func TestRestartFailureRate(t *testing.T) {
	r := NewRestarter(RestartStrategy{Kind: RestartFailureRate, MaxFailures: 2, FailureInterval: time.Minute, Delay: time.Second})
	c := &clock{t: time.Unix(1000, 0)}
	for _, step := range []struct {
		after time.Duration
		ok    bool
	}{
		{0, true},
		{10 * time.Second, true}, // 2 in the last minute
		{55 * time.Second, true}, // the first is 65 s old: 2 in the window
		{4 * time.Second, false}, // 3 within 59 s
	} {
		d, ok := r.Next(c.at(step.after))
		if ok != step.ok || (ok && d != time.Second) {
			t.Fatalf("after %v: %v, %v; want ok = %v", step.after, d, ok, step.ok)
		}
	}
}

func TestRestartExponentialDelay(t *testing.T) {
	s := RestartStrategy{Kind: RestartExponentialDelay, InitialBackoff: time.Second, MaxBackoff: 10 * time.Second,
		Multiplier: 2, ResetThreshold: time.Minute}
	r := NewRestarter(s)
	c := &clock{t: time.Unix(1000, 0)}
	var got []time.Duration
	for range 6 {
		d, ok := r.Next(c.at(time.Second))
		if !ok {
			t.Fatal("refused with unlimited attempts")
		}
		got = append(got, d)
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("delays = %v, want %v seconds", got, want)
		}
	}
	// Running for the threshold after the last restart (10 s delay +
	// 1 min) resets; just below it does not.
	if d, _ := r.Next(c.at(10*time.Second + time.Minute - time.Millisecond)); d != 10*time.Second {
		t.Fatalf("backoff reset too early: %v", d)
	}
	if d, _ := r.Next(c.at(10*time.Second + time.Minute)); d != time.Second {
		t.Fatalf("backoff not reset after a healthy minute: %v", d)
	}
}

func TestRestartExponentialAttemptsAndJitter(t *testing.T) {
	s := RestartStrategy{Kind: RestartExponentialDelay, InitialBackoff: 10 * time.Second, MaxBackoff: 100 * time.Second,
		Multiplier: 1.5, ResetThreshold: time.Hour, Jitter: 0.1, Attempts: 3}
	c := &clock{t: time.Unix(1000, 0)}
	r1, r2 := NewSeededRestarter(s, 7), NewSeededRestarter(s, 7)
	base := []time.Duration{10 * time.Second, 15 * time.Second, 22500 * time.Millisecond}
	jittered := false
	for i, b := range base {
		now := c.at(time.Second)
		d1, ok1 := r1.Next(now)
		d2, _ := r2.Next(now)
		if !ok1 || d1 != d2 {
			t.Fatalf("attempt %d: %v/%v (%v): same seed must give the same delays", i+1, d1, d2, ok1)
		}
		if d1 < b*9/10 || d1 > b*11/10 {
			t.Fatalf("attempt %d: delay %v outside %v ± 10%%", i+1, d1, b)
		}
		jittered = jittered || d1 != b
	}
	if !jittered {
		t.Fatal("no jitter applied")
	}
	if _, ok := r1.Next(c.at(time.Second)); ok {
		t.Fatal("fourth restart allowed with attempts-before-reset = 3")
	}
	// A healthy hour resets the attempt count too.
	if _, ok := r1.Next(c.at(2 * time.Hour)); !ok {
		t.Fatal("no restart after an hour without failure")
	}
}

func TestDefaultRestartStrategy(t *testing.T) {
	s := DefaultRestartStrategy()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Kind != RestartExponentialDelay || s.InitialBackoff != time.Second || s.MaxBackoff != time.Minute ||
		s.Multiplier != 1.5 || s.ResetThreshold != time.Hour || s.Jitter != 0.1 || s.Attempts != 0 {
		t.Fatalf("defaults = %+v", s)
	}
}
