package sim

import "time"

// Clock tells the simulated cloud what time it is. Everything that depends
// on time (token expiry, image saving, created/updated stamps) reads it.
// scheduler.RealClock, scheduler.ScaledClock (for --time-scale) and the fake
// of scheduler/schedulertest all satisfy it.
type Clock interface {
	Now() time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
