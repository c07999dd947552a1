package loadtest

import (
	"context"
	"fmt"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

// simClock is the accelerated clock every process of a run shares: Run
// builds the same one from the flags it gives them, and waits on its timers.
type simClock struct {
	start, epoch time.Time
	scale        float64
	clock        *scheduler.ScaledClock
}

func newSimClock(start time.Time, scale float64, epoch time.Time) simClock {
	return simClock{start: start, epoch: epoch, scale: scale,
		clock: scheduler.NewScaledClock(start, scale, scheduler.WithEpoch(epoch))}
}

// flags are the clock flags each process is started with.
func (c simClock) flags() []string {
	return []string{"--time-scale", fmt.Sprint(c.scale), "--time-start", c.start.Format(time.RFC3339), "--time-epoch", c.epoch.Format(time.RFC3339)}
}

func (c simClock) now() time.Time { return c.clock.Now() }

// until blocks until simulated time reaches at, or ctx ends. While it
// waits, tick (when not nil) is called with the simulated time every
// interval of real time, for a progress display.
func (c simClock) until(ctx context.Context, at time.Time, interval time.Duration, tick func(time.Time)) error {
	d := at.Sub(c.clock.Now())
	if d <= 0 {
		return nil
	}
	timer := c.clock.NewTimer(d)
	defer timer.Stop()
	var ticks <-chan time.Time
	if tick != nil {
		t := time.NewTicker(interval)
		defer t.Stop()
		ticks = t.C
	}
	for {
		select {
		case <-timer.C():
			return nil
		case <-ticks:
			tick(c.clock.Now())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
