package scheduler_test

import (
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

// nextAfter is the instant of s's first image after now.
func nextAfter(s scheduler.Slot, now time.Time) time.Time {
	_, at := s.Next(now)
	return at
}

func TestSchedulesReseatedWhenTheirHostsAreLearnedOverlapNothing(t *testing.T) {
	// A Wednesday morning: the drawn was placed blind (its node could not
	// ask the cloud for the servers in time) and learns the hosts before
	// any image is taken.
	now := at("2026-11-25T10:30:00Z")
	tests := []struct {
		name   string
		mix    mix
		target float64
	}{
		{"daily schedules", dailyOnly, 1.01},
		{"the reference mix", referenceMix, 1.04},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 1000
			f := drawFleet(n, tt.mix, 7)
			hosts, sizes, scheds := f.hosts, f.sizes, f.scheds
			p := scheduler.NewPlanner()
			f.place(t, p, true)
			blind, _ := overlaps(bookings(p, hosts, sizes))
			moved := 0
			for i := range n {
				k := scheduler.Key(i)
				old, _ := p.Place(k, scheds[k], sizes[k], hosts[k])
				s, ok := p.Reseat(k, now)
				if cur, _ := p.Slot(k); cur != s {
					t.Fatalf("key %d: Reseat returned %v, the planner holds %v", k, s, cur)
				}
				if !ok {
					if s != old {
						t.Fatalf("key %d: Reseat reported no move but changed %v to %v", k, old, s)
					}
					continue
				}
				moved++
				if s.Schedule() != scheds[k] {
					t.Fatalf("key %d: reseated as %v, another schedule than %v", k, s, scheds[k])
				}
				// The run pending for the image next after now keeps a
				// time still ahead: no window the caller is about to run
				// is skipped by the move.
				if w, was := old.Next(now); !s.At(w).After(now) {
					t.Errorf("key %d: the image of window %s, due at %s, moved to %s, before now", k, w.ID(), was, s.At(w))
				}
			}
			// Those placed early saw their mates still placed blind; one
			// more reseat of the schedules left overlapping sees them all
			// placed knowing the host, as the engine's next pass does.
			again := 0
			for i := range n {
				if k := scheduler.Key(i); p.Tangled(k) {
					old, _ := p.Slot(k)
					if s, ok := p.Reseat(k, now); ok {
						again++
						if w, _ := old.Next(now); !s.At(w).After(now) {
							t.Errorf("key %d: window %s moved before now", k, w.ID())
						}
					}
				}
			}
			moves := converge(t, p, now)
			left, examples := overlaps(bookings(p, hosts, sizes))
			got, bound := p.Histogram().Flatness(), p.Demand().Bound()
			t.Logf("%d overlapping pairs placed blind; %d reseated, %d again; %d pairs left after %d rebalancing moves; flatness %.4f (bound %.4f)", blind, moved, again, left, moves, got, bound)
			if blind == 0 || moved == 0 {
				t.Fatalf("the blind placement overlapped %d pairs and %d schedules moved: the test shows nothing", blind, moved)
			}
			if left != 0 {
				t.Errorf("%d pairs of same-host images still overlap, e.g. %v", left, examples)
			}
			if got > tt.target {
				t.Errorf("flatness %.4f > %.2f (bound %.4f)", got, tt.target, bound)
			}
		})
	}
}
