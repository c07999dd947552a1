package engine

import (
	"hash/fnv"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

// hostKey maps a cloud host id (cloud.Server.HostID) to the planner's
// compact Host: a 32-bit FNV-1a hash, so the engine keeps no table of host
// ids. Two hosts that collide only constrain each other's slots a little
// more; "" (not seen yet) is 0, no constraint.
func hostKey(id string) scheduler.Host {
	if id == "" {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	if k := scheduler.Host(h.Sum32()); k != 0 {
		return k
	}
	return 1
}

// booked is how long the planner books an image on its host: the
// expected duration (the last observed one, else an estimate from the
// disk size) plus a poll interval, since the host's in-flight place is
// given back only when a poll sees the image ACTIVE (the first poll comes
// at three quarters of the expected duration, so an image quicker than
// the last is seen soon after it is done). No margin is added for save
// times that vary: a margin makes an image that runs long delay the next
// one less, but it packs the hosts so densely that more bookings overlap
// outright, which delays the next one by a whole image. With 40 servers
// to a host and snapshots of 16 minutes on average, this books about 40%
// of each host's day; an image that runs long by a fifth delays the next
// one by a few minutes, which the planner's hour margin mostly absorbs.
func (e *Engine) booked(observed time.Duration, diskGB int) time.Duration {
	return scheduler.ExpectedDuration(observed, diskGB) + e.cfg.PollInterval
}
