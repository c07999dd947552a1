package engine

import (
	"context"
	"sync"
	"time"

	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

// Seating a schedule on its host. A schedule is placed when the node first
// reconciles it; if the cloud request rate has no token to spare then (a
// fleet imported at once), its server is not read and the slot is chosen
// for flatness alone, blind to the host's other images, which it may then
// overlap every day. Until its first image, nothing ties the schedule to
// that slot, so the node reads the server later, at a pace that leaves the
// runs most of the rate, and reseats the slot clear of its host-mates
// (Planner.Reseat). Repair, which moves a slot once images have been taken,
// must keep consecutive images 24 hours apart and can only undo such an
// overlap step by step, when at all.

// seatLead is how far ahead a schedule's first image must be for its slot
// to be reseated: a run about to start keeps its time.
const seatLead = time.Hour

// seatRetry is how soon a schedule reseated onto a still crowded host is
// reseated again: its host-mates placed after it may have left room.
const seatRetry = 30 * time.Minute

// pacer hands out instants at most one per interval, for work that may
// use the spare part of a rate.
type pacer struct {
	every time.Duration
	mu    sync.Mutex
	next  time.Time
}

// newPacer paces at half of rate per second (0: unlimited, no waiting).
func newPacer(rate float64) *pacer {
	p := &pacer{}
	if rate > 0 {
		p.every = time.Duration(float64(2*time.Second) / rate)
	}
	return p
}

// reserve returns the next free instant not before now, and takes it.
func (p *pacer) reserve(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.every)
	return at
}

// firstAhead reports whether the schedule has taken no image yet and its
// first is at least seatLead away (or not planned yet).
func (p *pass) firstAhead() bool {
	if len(p.runs.GetHistory()) > 0 || p.rec.Schedule.GetState() != imgschedv1.ScheduleState_ENABLED {
		return false
	}
	r := p.run
	return r == nil || r.State == scheduler.StatePending && len(r.Attempts) == 0 && !r.Slot.Before(p.now.Add(seatLead))
}

// seat learns the host of a schedule whose first image is still ahead, if
// it is not known yet, and replans it on that host; tried says whether
// this pass has already tried to read the server.
func (p *pass) seat(ctx context.Context, tried bool) {
	if !p.firstAhead() {
		return
	}
	if p.runs.GetHost() == "" {
		if !tried {
			p.learnServer(ctx)
		}
		if p.runs.GetHost() == "" {
			p.wakeBy(p.e.seating.reserve(p.now))
			return
		}
	}
	p.replan()
}

// wakeBy makes the pass due again no later than at.
func (p *pass) wakeBy(at time.Time) {
	if p.wake.IsZero() || at.Before(p.wake) {
		p.wake = at
	}
}
