package sharding

import "time"

// Defaults of Debouncer.
const (
	// DefaultQuiet is how long membership must stay unchanged before the
	// leader recomputes: long enough to absorb a node flapping, or several
	// nodes of one rack going at once, into one reassignment.
	DefaultQuiet = time.Second
	// DefaultMaxDelay bounds how long a recomputation can be put off by a
	// stream of events. With memberlist's failure detection it must leave
	// room in the 5 s budget for a dead node's shards to be owned again.
	DefaultMaxDelay = 3 * time.Second
)

// Debouncer decides when the leader should recompute the assignment after
// membership events, so that churn costs one reassignment rather than one
// per event. It holds no clock and starts no goroutine: the caller passes
// the time of each event and of each question, and arms its own timer for
// Deadline.
//
// The rule: after an event, recompute once no event has come for Quiet, or
// MaxDelay after the first event not yet acted on, whichever is earlier.
// A node flapping every half second thus causes at most one recomputation
// per MaxDelay; and if, by then, it is back, Assignment.SameMembers lets
// the leader see that nothing changed.
//
// The zero value is ready to use, with the defaults. Not safe for
// concurrent use.
type Debouncer struct {
	// Quiet is the quiet period; 0 means DefaultQuiet.
	Quiet time.Duration
	// MaxDelay is the longest wait after the first pending event; 0 means
	// DefaultMaxDelay. If smaller than Quiet, Quiet does not matter.
	MaxDelay time.Duration

	// Invariant: when pending, first ≤ last are the earliest and latest
	// times of the events not yet acted on (first may be earlier, see Done).
	pending     bool
	first, last time.Time
}

// Observe records a membership event (join, leave, failure, capacity
// change) that happened at t. Events may be observed out of order.
func (d *Debouncer) Observe(t time.Time) {
	switch {
	case !d.pending:
		d.pending, d.first, d.last = true, t, t
	case t.Before(d.first):
		d.first = t
	case t.After(d.last):
		d.last = t
	}
}

// Deadline returns when the leader should recompute, and false if no event
// is pending.
func (d *Debouncer) Deadline() (time.Time, bool) {
	if !d.pending {
		return time.Time{}, false
	}
	quiet, maxDelay := d.Quiet, d.MaxDelay
	if quiet <= 0 {
		quiet = DefaultQuiet
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxDelay
	}
	q, m := d.last.Add(quiet), d.first.Add(maxDelay)
	if m.Before(q) {
		return m, true
	}
	return q, true
}

// Ready reports whether, at now, the leader should recompute: an event is
// pending and its deadline has come.
func (d *Debouncer) Ready(now time.Time) bool {
	at, ok := d.Deadline()
	return ok && !now.Before(at)
}

// Done records that the leader recomputed from the membership as it was at
// now: events at or before now are acted on. Events observed with later
// times stay pending, with their MaxDelay counted from now (at or before
// their own first time, so never later than due).
func (d *Debouncer) Done(now time.Time) {
	if !d.pending {
		return
	}
	if d.last.After(now) {
		d.first = now
		return
	}
	d.pending = false
}
