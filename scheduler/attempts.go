package scheduler

import (
	"fmt"
	"time"
)

// Outcome is how an attempt, or a whole run, ended.
type Outcome uint8

const (
	// OutcomeSucceeded: the image became ACTIVE.
	OutcomeSucceeded Outcome = iota + 1
	// OutcomeFailed: the server could not be imaged (Nova 409, server in ERROR,
	// image ERROR or killed, a transient cloud error); for a run, every
	// attempt the window allowed failed.
	OutcomeFailed
	// OutcomeWaited: the server's previous image was still saving, so no image
	// was asked for (SPEC §2, no overlap). It counts as an attempt.
	OutcomeWaited
	// OutcomeServerGone: Nova answered 404 for the server; nothing more is tried.
	OutcomeServerGone
)

// String names the outcome for records and metrics.
func (o Outcome) String() string {
	switch o {
	case 0:
		return "pending"
	case OutcomeSucceeded:
		return "succeeded"
	case OutcomeFailed:
		return "failed"
	case OutcomeWaited:
		return "waited"
	case OutcomeServerGone:
		return "server-gone"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Attempt is one try at imaging a server within a window. Outcome is zero
// while the attempt is under way.
type Attempt struct {
	At      time.Time
	Outcome Outcome
	Reason  string
}

// RetryPolicy bounds the attempts of one window.
type RetryPolicy struct {
	// Attempts is the most attempts per window, waits included.
	Attempts int
	// Interval is the time from one attempt's start to the next one's.
	Interval time.Duration
	// Guard is a band at each edge of a window in which no attempt
	// starts (and the planner puts no slot). An image's created_at is
	// stamped by the cloud when the request arrives, on the cloud's clock:
	// an attempt started just before a window ends (or just after it
	// opens, on a clock ahead of the cloud's) could be stamped into the
	// neighbouring window, which would then hold two images. The guard
	// must exceed the clock skew between the service and the cloud plus
	// the time a request takes to arrive. 0 disables it.
	Guard time.Duration
}

// DefaultGuard is DefaultRetryPolicy's Guard: five minutes, far more than
// the skew of NTP-synchronised clocks and a request's latency, and little
// of a daily window (0.7%).
const DefaultGuard = 5 * time.Minute

// DefaultRetryPolicy is SPEC §2's: at most 3 attempts, an hour apart, none
// within DefaultGuard of a window's edges.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Attempts: 3, Interval: time.Hour, Guard: DefaultGuard}
}

// Opens returns the earliest instant an attempt of window w may start: its
// start plus the guard.
func (p RetryPolicy) Opens(w Window) time.Time { return w.Start.Add(p.Guard) }

// Cutoff returns the instant from which no attempt of window w starts: its
// end less the guard.
func (p RetryPolicy) Cutoff(w Window) time.Time { return w.End.Add(-p.Guard) }

// Next returns when the next attempt of window w is due, given the slot
// instant and the attempts made so far (all finished), or ok false when
// the window is done: an attempt succeeded, the attempts are used up, or
// the next one would fall at or past the window's cutoff (its end less the
// guard).
//
// The first attempt is due at the slot; each later one Interval after the
// previous one started; none before the window opens plus the guard.
func (p RetryPolicy) Next(w Window, slot time.Time, prev []Attempt) (at time.Time, ok bool) {
	for _, a := range prev {
		if a.Outcome == OutcomeSucceeded {
			return time.Time{}, false
		}
	}
	if len(prev) >= p.Attempts {
		return time.Time{}, false
	}
	at = slot
	if n := len(prev); n > 0 {
		at = prev[n-1].At.Add(p.Interval)
	}
	if open := p.Opens(w); at.Before(open) {
		at = open
	}
	if !at.Before(p.Cutoff(w)) {
		return time.Time{}, false
	}
	return at, true
}
