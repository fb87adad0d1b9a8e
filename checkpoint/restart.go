package checkpoint

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// DefaultRestartStrategy is Flink's default with checkpointing on:
// exponential-delay with its documented defaults.
func DefaultRestartStrategy() RestartStrategy {
	return RestartStrategy{
		Kind:           RestartExponentialDelay,
		InitialBackoff: time.Second,
		MaxBackoff:     time.Minute,
		Multiplier:     1.5,
		ResetThreshold: time.Hour,
		Jitter:         0.1,
	}
}

// Validate checks the parameters of the strategy's kind. The zero value
// is "none".
func (s RestartStrategy) Validate() error {
	switch s.Kind {
	case RestartNone, "":
	case RestartFixedDelay:
		if s.Attempts < 0 || s.Delay < 0 {
			return errors.New("restart strategy fixed-delay: attempts and delay must not be negative")
		}
	case RestartFailureRate:
		if s.MaxFailures < 1 || s.FailureInterval <= 0 || s.Delay < 0 {
			return errors.New("restart strategy failure-rate: needs at least 1 failure per positive interval and a delay ≥ 0")
		}
	case RestartExponentialDelay:
		switch {
		case s.InitialBackoff <= 0 || s.MaxBackoff < s.InitialBackoff:
			return errors.New("restart strategy exponential-delay: needs 0 < initial-backoff ≤ max-backoff")
		case s.Multiplier < 1 || math.IsNaN(s.Multiplier) || math.IsInf(s.Multiplier, 0):
			return errors.New("restart strategy exponential-delay: backoff-multiplier must be ≥ 1")
		case !(s.Jitter >= 0 && s.Jitter <= 1):
			return errors.New("restart strategy exponential-delay: jitter-factor must be in [0, 1]")
		case s.ResetThreshold <= 0 || s.Attempts < 0:
			return errors.New("restart strategy exponential-delay: reset-backoff-threshold must be positive and attempts ≥ 0")
		}
	default:
		return fmt.Errorf("unknown restart strategy %q (none, fixed-delay, failure-rate, exponential-delay)", s.Kind)
	}
	return nil
}

// Restarter decides, failure after failure, whether a job restarts and
// after what delay. It is safe for concurrent use.
type Restarter struct {
	s RestartStrategy

	mu       sync.Mutex
	rng      *rand.Rand
	attempts int         // fixed-delay: in all; exponential: since the last reset
	failures []time.Time // failure-rate: within the interval
	backoff  time.Duration
	// lastFailure and lastDelay tell how long the job has been running
	// since its last restart.
	lastFailure time.Time
	lastDelay   time.Duration
}

// NewRestarter returns a Restarter for s with a randomly seeded jitter
// source. A strategy that does not validate never restarts.
func NewRestarter(s RestartStrategy) *Restarter {
	return NewSeededRestarter(s, rand.Uint64())
}

// NewSeededRestarter is NewRestarter with a fixed jitter seed (tests).
func NewSeededRestarter(s RestartStrategy, seed uint64) *Restarter {
	return &Restarter{s: s, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Next records a failure at now and says whether the job may restart, and
// after how long.
func (r *Restarter) Next(now time.Time) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	if s.Validate() != nil {
		return 0, false
	}
	switch s.Kind {
	case RestartFixedDelay:
		if r.attempts >= s.Attempts {
			return 0, false
		}
		r.attempts++
		return s.Delay, true
	case RestartFailureRate:
		keep := r.failures[:0]
		for _, t := range r.failures {
			if now.Sub(t) < s.FailureInterval {
				keep = append(keep, t)
			}
		}
		r.failures = append(keep, now)
		if len(r.failures) > s.MaxFailures {
			return 0, false
		}
		return s.Delay, true
	case RestartExponentialDelay:
		return r.exponential(now)
	}
	return 0, false
}

func (r *Restarter) exponential(now time.Time) (time.Duration, bool) {
	s := r.s
	// Running for ResetThreshold since the last restart resets the
	// backoff, as in Flink (the delay itself was not running time).
	if !r.lastFailure.IsZero() && now.Sub(r.lastFailure) >= r.lastDelay+s.ResetThreshold {
		r.backoff, r.attempts = 0, 0
	}
	if s.Attempts > 0 && r.attempts >= s.Attempts {
		return 0, false
	}
	r.attempts++
	if r.backoff == 0 {
		r.backoff = s.InitialBackoff
	} else {
		next := float64(r.backoff) * s.Multiplier
		if next >= float64(s.MaxBackoff) {
			r.backoff = s.MaxBackoff
		} else {
			r.backoff = time.Duration(next)
		}
	}
	delay := r.backoff
	if s.Jitter > 0 {
		// Uniform in [-jitter, +jitter] of the backoff.
		delay += time.Duration((r.rng.Float64()*2 - 1) * s.Jitter * float64(r.backoff))
	}
	delay = min(max(delay, 0), s.MaxBackoff)
	r.lastFailure, r.lastDelay = now, delay
	return delay, true
}
