package engine

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/imgsched/imgsched/scheduler"
)

// limits bounds what the node asks of the cloud: images in creation per
// node and per hypervisor host, and requests per second.
//
// Invariant: held maps each server with an image in creation (run state
// creating or saving) to its host ("" when unknown, after a takeover of a
// saving run), perHost counts held by host, and len(held) is the node's
// count. Only memory: a restarted node rebuilds it as it resumes runs,
// which hold without checking, since those images already exist.
type limits struct {
	maxNode, maxHost int
	clock            scheduler.Clock

	mu      sync.Mutex
	held    map[string]string
	perHost map[string]int
	waiters map[string]struct{}
	bucket  *rate.Limiter // nil: unlimited
}

func newLimits(cfg Config, clock scheduler.Clock) *limits {
	l := &limits{
		maxNode: cfg.MaxInFlight, maxHost: cfg.MaxInFlightPerHost, clock: clock,
		held: make(map[string]string), perHost: make(map[string]int), waiters: make(map[string]struct{}),
	}
	if cfg.CloudRate > 0 {
		l.bucket = rate.NewLimiter(rate.Limit(cfg.CloudRate), cfg.CloudBurst)
	}
	return l
}

// acquire takes an in-flight place for serverID on host if the limits
// allow, and otherwise records serverID as waiting for one. Holding one
// already is success.
func (l *limits) acquire(serverID, host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[serverID]; ok {
		return true
	}
	if len(l.held) >= l.maxNode || (host != "" && l.perHost[host] >= l.maxHost) {
		l.waiters[serverID] = struct{}{}
		return false
	}
	delete(l.waiters, serverID)
	l.take(serverID, host)
	return true
}

// hold takes a place for serverID without checking the limits: its image
// is already being created.
func (l *limits) hold(serverID, host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.held[serverID]; ok {
		if h != "" || host == "" {
			return
		}
		l.give(serverID)
	}
	l.take(serverID, host)
}

func (l *limits) take(serverID, host string) {
	l.held[serverID] = host
	if host != "" {
		l.perHost[host]++
	}
}

func (l *limits) give(serverID string) {
	host := l.held[serverID]
	delete(l.held, serverID)
	if host != "" {
		if l.perHost[host]--; l.perHost[host] <= 0 {
			delete(l.perHost, host)
		}
	}
}

// release gives serverID's place back (if it held one) and returns the
// servers that were waiting for a place, which the caller queues again; it
// forgets serverID as a waiter.
func (l *limits) release(serverID string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.waiters, serverID)
	if _, ok := l.held[serverID]; !ok {
		return nil
	}
	l.give(serverID)
	if len(l.waiters) == 0 {
		return nil
	}
	woken := make([]string, 0, len(l.waiters))
	for id := range l.waiters {
		woken = append(woken, id)
	}
	clear(l.waiters)
	return woken
}

// inFlight returns the number of images in creation.
func (l *limits) inFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held)
}

// delay takes one cloud request from the token bucket and returns 0, or
// leaves the bucket as it was and returns how long until a token is
// available. It never blocks: a reconcile that must wait is queued again
// instead, so a worker is never parked on the clock.
func (l *limits) delay() time.Duration {
	if l.bucket == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	r := l.bucket.ReserveN(now, 1)
	if !r.OK() {
		return time.Second
	}
	d := r.DelayFrom(now)
	if d > 0 {
		r.CancelAt(now)
	}
	return d
}
