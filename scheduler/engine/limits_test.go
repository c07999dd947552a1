package engine

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler/schedulertest"
)

var limitsStart = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func newTestLimits(maxNode, maxHost int) (*limits, *schedulertest.Clock) {
	cfg := DefaultConfig()
	cfg.MaxInFlight, cfg.MaxInFlightPerHost, cfg.CloudRate = maxNode, maxHost, 0
	clock := schedulertest.NewClock(limitsStart)
	return newLimits(cfg, clock), clock
}

// due returns the start plus m minutes.
func due(m int) time.Time { return limitsStart.Add(time.Duration(m) * time.Minute) }

func TestAFreedHostPlaceGoesToTheEarliestDueWaiterOnly(t *testing.T) {
	l, _ := newTestLimits(200, 1)
	if !l.acquire("a", "h", due(0), false) {
		t.Fatal("a free host refused its first image")
	}
	for _, w := range []struct {
		id  string
		due int
	}{{"b", 5}, {"c", 1}, {"d", 3}} {
		if l.acquire(w.id, "h", due(w.due), false) {
			t.Fatalf("%s took the place a holds", w.id)
		}
	}
	if got := l.release("a"); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("a's release woke %v, want only c, the earliest due", got)
	}
	if l.acquire("b", "h", due(5), false) || l.acquire("d", "h", due(3), false) {
		t.Fatal("a later waiter took the place c is first in line for")
	}
	if l.acquire("e", "h", due(10), false) {
		t.Fatal("a newcomer jumped the line")
	}
	if !l.acquire("c", "h", due(1), false) {
		t.Fatal("c, woken, did not get the place")
	}
	for _, next := range []string{"d", "b", "e"} {
		holder := map[string]string{"d": "c", "b": "d", "e": "b"}[next]
		if got := l.release(holder); !slices.Equal(got, []string{next}) {
			t.Fatalf("%s's release woke %v, want %s", holder, got, next)
		}
		if !l.acquire(next, "h", due(map[string]int{"d": 3, "b": 5, "e": 10}[next]), false) {
			t.Fatalf("%s did not get the place it was woken for", next)
		}
	}
	if got := l.release("e"); got != nil {
		t.Fatalf("the last release woke %v, want nobody", got)
	}
}

func TestAWaiterOnAFullHostDoesNotHoldUpOtherHosts(t *testing.T) {
	l, _ := newTestLimits(2, 1)
	l.acquire("a", "h1", due(0), false)
	l.acquire("b", "h2", due(0), false)
	if l.acquire("d", "h1", due(1), false) || l.acquire("c", "h3", due(2), false) {
		t.Fatal("a third image started on a node limited to two")
	}
	if got := l.release("b"); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("b's release woke %v, want c: d, though earlier, waits for h1", got)
	}
	if !l.acquire("c", "h3", due(2), false) || l.acquire("d", "h1", due(1), false) {
		t.Fatal("c did not get the node's free place, or d got a place on a full host")
	}
}

func TestNoWaiterStarves(t *testing.T) {
	// One host, one place, a new run arriving every round (due times
	// scrambled) and the holder done every round; before the woken waiter
	// comes back, every other waiter tries its luck. Each release wakes
	// exactly the earliest-due waiter, which then gets the place, so every
	// run is served once those due before it are.
	l, clock := newTestLimits(200, 1)
	l.acquire("r000", "h", due(0), false)
	holder := "r000"
	var served []string
	waiting := map[string]time.Time{}
	for round := 1; round <= 50; round++ {
		clock.Advance(time.Minute)
		// Arrivals in a scrambled order of due times.
		id := fmt.Sprintf("r%03d", round)
		d := due(round * 7 % 50)
		waiting[id] = d
		if l.acquire(id, "h", d, false) {
			t.Fatalf("round %d: %s started while %s holds the host", round, id, holder)
		}
		woken := l.release(holder)
		if len(woken) != 1 {
			t.Fatalf("round %d: release woke %v, want exactly one waiter", round, woken)
		}
		for other, d := range waiting {
			if d.Before(waiting[woken[0]]) || d.Equal(waiting[woken[0]]) && other < woken[0] {
				t.Fatalf("round %d: woke %s (due %v) before %s (due %v)", round, woken[0], waiting[woken[0]], other, d)
			}
		}
		for other, d := range waiting {
			if other != woken[0] && l.acquire(other, "h", d, false) {
				t.Fatalf("round %d: %s took the place %s was woken for", round, other, woken[0])
			}
		}
		if !l.acquire(woken[0], "h", waiting[woken[0]], false) {
			t.Fatalf("round %d: %s was woken but got no place", round, woken[0])
		}
		holder = woken[0]
		served = append(served, holder)
		delete(waiting, holder)
	}
	for len(waiting) > 0 {
		woken := l.release(holder)
		if len(woken) != 1 || !l.acquire(woken[0], "h", waiting[woken[0]], false) {
			t.Fatalf("draining: release woke %v", woken)
		}
		holder = woken[0]
		delete(waiting, holder)
		served = append(served, holder)
	}
	if len(served) != 50 {
		t.Fatalf("%d runs served, want 50", len(served))
	}
}

func TestAWaiterThatStopsAskingLosesItsPlaceInLine(t *testing.T) {
	l, clock := newTestLimits(200, 1)
	l.acquire("a", "h", due(0), false)
	l.acquire("gone", "h", due(1), false) // its node will never ask again
	l.acquire("b", "h", due(2), false)
	if got := l.release("a"); !slices.Equal(got, []string{"gone"}) {
		t.Fatalf("release woke %v, want gone", got)
	}
	if l.acquire("b", "h", due(2), false) {
		t.Fatal("b jumped ahead of a waiter still in line")
	}
	clock.Advance(3*DefaultConfig().LimitWait + time.Second)
	if !l.acquire("b", "h", due(2), false) {
		t.Fatal("a waiter silent for three LimitWaits still holds the line")
	}
}

// BenchmarkAcquireWhileManyWait is one acquire by a waiting run on a node
// whose places are taken, with 5,000 runs in line on 500 hosts: what a
// node pays per run on a busy day, or after taking over a dead node's
// shards.
func BenchmarkAcquireWhileManyWait(b *testing.B) {
	l, _ := newTestLimits(100, 1)
	for i := range 100 {
		if !l.acquire(fmt.Sprintf("busy-%d", i), fmt.Sprintf("host-%d", i), limitsStart, false) {
			b.Fatal("a free place was refused")
		}
	}
	for i := range 5000 {
		l.acquire(fmt.Sprintf("waiting-%d", i), fmt.Sprintf("host-%d", i%500), limitsStart.Add(time.Duration(i)*time.Second), false)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("waiting-%d", i%5000)
		l.acquire(id, fmt.Sprintf("host-%d", i%500), limitsStart.Add(time.Duration(i%5000)*time.Second), false)
	}
}

func TestALastChanceRunTakesAFreePlacePastItsHostsLimitButNotTheNodes(t *testing.T) {
	due := func(m int) time.Time { return limitsStart.Add(time.Duration(m) * time.Minute) }
	l, _ := newTestLimits(3, 1)
	if !l.acquire("a", "h", due(0), false) {
		t.Fatal("a free place was refused")
	}
	if l.acquire("w", "h", due(1), false) {
		t.Fatal("a second image on a host limited to one")
	}
	if l.acquire("b", "h", due(2), false) {
		t.Fatal("a second image on a host limited to one")
	}
	// b's window is about to close: it goes ahead of w and past h's limit.
	if !l.acquire("b", "h", due(2), true) {
		t.Fatal("a run on its last chance found no place on a node with free places")
	}
	if got := l.inFlight(); got != 2 {
		t.Fatalf("%d in flight, want 2", got)
	}
	if !l.acquire("c", "g", due(3), true) {
		t.Fatal("the node's last place was refused")
	}
	if l.acquire("d", "g", due(4), true) {
		t.Fatal("a last-chance run went past the node's limit")
	}
	// Releases give the host back to the line, first come first served.
	l.release("a")
	if first := l.release("b"); !slices.Equal(first, []string{"w"}) {
		t.Fatalf("first in line after the host freed: %v, want [w]", first)
	}
}
