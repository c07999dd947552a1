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
}

// DefaultRetryPolicy is SPEC §2's: at most 3 attempts, an hour apart.
func DefaultRetryPolicy() RetryPolicy { return RetryPolicy{Attempts: 3, Interval: time.Hour} }

// Next returns when the next attempt of window w is due, given the slot
// instant and the attempts made so far (all finished), or ok false when
// the window is done: an attempt succeeded, the attempts are used up, or
// the next one would fall at or past the window's end.
//
// The first attempt is due at the slot; each later one Interval after the
// previous one started.
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
	if at.Before(w.Start) {
		at = w.Start
	}
	if !at.Before(w.End) {
		return time.Time{}, false
	}
	return at, true
}
