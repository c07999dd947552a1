// Package schedulertest provides a fake scheduler.Clock whose time moves
// only when a test advances it, so tests synchronise on events and never
// on sleeps.
package schedulertest

import (
	"context"
	"sync"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

// Clock is a fake scheduler.Clock. Its time changes only through Advance
// and AdvanceTo; timers fire inside those calls, in order of deadline
// (then of creation), each seeing Now() equal to its deadline.
//
// Unlike the real clock, AfterFunc runs f synchronously inside Advance,
// before Advance returns, so a test knows every callback has run.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	timers  map[*timer]struct{}
	changed chan struct{} // closed and replaced whenever timers change
}

// NewClock returns a fake clock at now.
func NewClock(now time.Time) *Clock {
	return &Clock{now: now, timers: make(map[*timer]struct{}), changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that sends the fake time once the clock has
// been advanced by d. A timer for d ≤ 0 fires at the next Advance.
func (c *Clock) NewTimer(d time.Duration) scheduler.Timer { return scheduler.NewChanTimer(c, d) }

// AfterFunc registers f to run once the clock has been advanced by d.
func (c *Clock) AfterFunc(d time.Duration, f func()) scheduler.Timer {
	t := &timer{c: c, f: f}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.arm(t, d)
	return t
}

// Pending returns the number of timers waiting to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitTimers blocks until at least n timers are waiting to fire, which is
// how a test knows that the code under test has armed its timers. It
// returns ctx.Err() if ctx ends first.
func (c *Clock) WaitTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		pending, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if pending >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Advance moves the clock forward by d, firing every timer due by then.
func (c *Clock) Advance(d time.Duration) {
	c.AdvanceTo(c.Now().Add(d))
}

// AdvanceTo moves the clock to t (never backwards), firing every timer
// due by then. Timers armed by the callbacks fire too if due by t.
func (c *Clock) AdvanceTo(t time.Time) {
	for {
		c.mu.Lock()
		var next *timer
		for x := range c.timers {
			if !x.when.After(t) && (next == nil || x.when.Before(next.when) || x.when.Equal(next.when) && x.seq < next.seq) {
				next = x
			}
		}
		if next == nil {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		if next.when.After(c.now) {
			c.now = next.when
		}
		c.disarm(next)
		f := next.f
		c.mu.Unlock()
		f()
	}
}

// arm and disarm are called with c.mu held.
func (c *Clock) arm(t *timer, d time.Duration) {
	c.seq++
	t.seq, t.when = c.seq, c.now.Add(max(d, 0))
	c.timers[t] = struct{}{}
	c.notify()
}

func (c *Clock) disarm(t *timer) bool {
	if _, ok := c.timers[t]; !ok {
		return false
	}
	delete(c.timers, t)
	c.notify()
	return true
}

func (c *Clock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

type timer struct {
	c    *Clock
	f    func()
	when time.Time
	seq  uint64
}

func (t *timer) C() <-chan time.Time { return nil }

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.c.disarm(t)
}

func (t *timer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.c.disarm(t)
	t.c.arm(t, d)
	return was
}
