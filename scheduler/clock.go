package scheduler

import "time"

// Clock is the only source of time for the scheduler and its executor, so
// that tests run on a fake clock and `--time-scale` runs a whole cluster
// on an accelerated one.
type Clock interface {
	// Now returns the current (possibly simulated) time.
	Now() time.Time
	// NewTimer returns a timer that sends the clock's time on its channel
	// once d of the clock's time has passed.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine once d of the clock's time
	// has passed. The returned timer's C is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is the part of *time.Timer an executor uses.
type Timer interface {
	// C returns the channel the timer fires on (nil for AfterFunc).
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
	// Reset makes the timer fire after d instead; it reports whether the
	// timer was active.
	Reset(d time.Duration) bool
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// AfterFunc wraps time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Stop() bool                 { return t.t.Stop() }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// ScaledClock runs simulated time at scale times real time:
//
//	simulated = start + (real now − epoch) × scale
//
// The mapping depends only on absolute real time, so every process of a
// test given the same start, epoch and scale agrees on the simulated time
// without talking to the others. By default epoch is start itself, which
// suits a start given as a real wall-clock instant (`--time-start=now`
// rounded, shared by all processes): simulated time then equals real time
// at start and runs scale times faster from there. WithEpoch decouples
// them, for a simulated start like 2026-11-22T00:00:00Z chosen
// independently of when the test runs.
//
// Timers wait the simulated duration divided by scale in real time.
type ScaledClock struct {
	base  Clock
	start time.Time
	epoch time.Time
	scale float64
}

// ScaledOption configures a ScaledClock.
type ScaledOption func(*ScaledClock)

// WithEpoch sets the real instant at which simulated time equals start.
func WithEpoch(epoch time.Time) ScaledOption {
	return func(c *ScaledClock) { c.epoch = epoch }
}

// WithBase sets the clock taken as real time (RealClock by default); tests
// use a fake one.
func WithBase(base Clock) ScaledOption {
	return func(c *ScaledClock) { c.base = base }
}

// NewScaledClock returns a clock whose time runs scale (> 0) times faster
// than real time from start. It panics on a scale that is not positive.
func NewScaledClock(start time.Time, scale float64, opts ...ScaledOption) *ScaledClock {
	if !(scale > 0) {
		panic("scheduler: time scale must be positive")
	}
	c := &ScaledClock{base: RealClock{}, start: start, epoch: start, scale: scale}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Now returns the simulated time.
func (c *ScaledClock) Now() time.Time {
	real := c.base.Now().Sub(c.epoch)
	return c.start.Add(time.Duration(float64(real) * c.scale))
}

// Scale returns how many simulated seconds pass per real second.
func (c *ScaledClock) Scale() float64 { return c.scale }

// real converts a simulated duration to the real one to wait.
func (c *ScaledClock) real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.scale)
}

// AfterFunc calls f once d of simulated time has passed.
func (c *ScaledClock) AfterFunc(d time.Duration, f func()) Timer {
	return scaledTimer{c: c, t: c.base.AfterFunc(c.real(d), f)}
}

// NewTimer returns a timer firing once d of simulated time has passed;
// it sends the simulated time.
func (c *ScaledClock) NewTimer(d time.Duration) Timer { return NewChanTimer(c, d) }

// scaledTimer rescales Reset; Stop needs no conversion.
type scaledTimer struct {
	c *ScaledClock
	t Timer
}

func (t scaledTimer) C() <-chan time.Time        { return nil }
func (t scaledTimer) Stop() bool                 { return t.t.Stop() }
func (t scaledTimer) Reset(d time.Duration) bool { return t.t.Reset(t.c.real(d)) }

// NewChanTimer builds a channel timer on c.AfterFunc: when it fires it
// sends c.Now() on a channel with room for one value, like time.NewTimer.
// Clocks that implement only the callback form use it for NewTimer.
func NewChanTimer(c Clock, d time.Duration) Timer {
	ch := make(chan time.Time, 1)
	t := c.AfterFunc(d, func() {
		select {
		case ch <- c.Now():
		default:
		}
	})
	return chanTimer{Timer: t, ch: ch}
}

// chanTimer is a callback timer with the channel it sends on.
type chanTimer struct {
	Timer
	ch chan time.Time
}

func (t chanTimer) C() <-chan time.Time { return t.ch }
