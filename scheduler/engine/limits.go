package engine

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/imgsched/imgsched/scheduler"
)

// limits bounds what the node asks of the cloud: images in creation per
// node and per hypervisor host, and requests per second.
//
// Places are handed out fairly: runs that find no place wait in line,
// ordered by when they were due (earliest first, then by server id), and
// a place goes to a newcomer only if no earlier waiter could take it. When
// places free, only the waiters first in line for them are woken, not
// every waiter to race for them. The line is level-triggered: a waiter
// states its due time each time it asks (at least every LimitWait), and
// one not heard of for staleAfter is dropped from it, so a run that
// stopped waiting without saying so (its node lost the shard, say) cannot
// hold the line.
//
// Invariant: held maps each server with an image in creation (run state
// creating or saving) to its host ("" when unknown, after a takeover of a
// saving run), perHost counts held by host, and len(held) is the node's
// count; no server both holds a place and waits. Only memory: a restarted
// node rebuilds it as it resumes runs, which hold without checking, since
// those images already exist.
type limits struct {
	maxNode, maxHost int
	staleAfter       time.Duration
	clock            scheduler.Clock

	mu      sync.Mutex
	held    map[string]string
	perHost map[string]int
	waiters map[string]waiter
	bucket  *rate.Limiter // nil: unlimited
}

// waiter is a run waiting in line for a place.
type waiter struct {
	host string
	due  time.Time // when the run was due: its place in line
	seen time.Time // when it last asked
}

func newLimits(cfg Config, clock scheduler.Clock) *limits {
	l := &limits{
		maxNode: cfg.MaxInFlight, maxHost: cfg.MaxInFlightPerHost, staleAfter: 3 * cfg.LimitWait, clock: clock,
		held: make(map[string]string), perHost: make(map[string]int), waiters: make(map[string]waiter),
	}
	if cfg.CloudRate > 0 {
		l.bucket = rate.NewLimiter(rate.Limit(cfg.CloudRate), cfg.CloudBurst)
	}
	return l
}

// acquire takes an in-flight place for serverID on host, for a run due at
// due, if the limits have one that no earlier waiter is first in line for;
// otherwise it puts (or keeps) serverID in line. Holding one already is
// success.
//
// A last-chance run (its window takes no attempt after its next wait) takes
// any place the node has free, ahead of the line and past its host's limit:
// the host limit spreads load, while a window without its image breaks the
// service's promise. The node's limit still holds.
func (l *limits) acquire(serverID, host string, due time.Time, lastChance bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[serverID]; ok {
		return true
	}
	if lastChance && len(l.held) < l.maxNode {
		delete(l.waiters, serverID)
		l.take(serverID, host)
		return true
	}
	l.waiters[serverID] = waiter{host: host, due: due, seen: l.clock.Now()}
	for _, id := range l.firstInLine() {
		if id == serverID {
			delete(l.waiters, serverID)
			l.take(serverID, host)
			return true
		}
	}
	return false
}

// hold takes a place for serverID without checking the limits: its image
// is already being created.
func (l *limits) hold(serverID, host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.waiters, serverID)
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

// release gives serverID's place back (if it held one) and takes it out of
// the line (if it waited), and returns the waiters that are now first in
// line for a free place, which the caller queues again.
func (l *limits) release(serverID string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, waited := l.waiters[serverID]
	_, held := l.held[serverID]
	if !waited && !held {
		return nil
	}
	delete(l.waiters, serverID)
	if held {
		l.give(serverID)
	}
	return l.firstInLine()
}

// firstInLine drops stale waiters and returns those the free places go
// to: in order of due time, each waiter whose host still has a place left
// takes one, until the node has none. A waiter whose host is full does not
// hold up those behind it on other hosts.
//
// It runs on every acquire and release, with thousands waiting on a busy
// node, so only waiters that can take a place are ordered: none when the
// node is full, and none whose host is full whatever the order.
func (l *limits) firstInLine() []string {
	now := l.clock.Now()
	free := l.maxNode - len(l.held)
	type entry struct {
		id string
		w  waiter
	}
	var line []entry
	for id, w := range l.waiters {
		if now.Sub(w.seen) > l.staleAfter {
			delete(l.waiters, id)
			continue
		}
		if free <= 0 || w.host != "" && l.perHost[w.host] >= l.maxHost {
			continue
		}
		line = append(line, entry{id, w})
	}
	if len(line) == 0 {
		return nil
	}
	slices.SortFunc(line, func(a, b entry) int {
		if c := a.w.due.Compare(b.w.due); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	taken := map[string]int{}
	var first []string
	for _, e := range line {
		if free <= 0 {
			break
		}
		if h := e.w.host; h != "" {
			if l.perHost[h]+taken[h] >= l.maxHost {
				continue
			}
			taken[h]++
		}
		free--
		first = append(first, e.id)
	}
	return first
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
