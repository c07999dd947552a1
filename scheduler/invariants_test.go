package scheduler_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

// TestWeeksOfRebalancingKeepOneImagePerWindowAndDailyImagesRoughly24hApart
// plays an executor against the planner for three simulated weeks with
// churn and periodic rebalancing, and checks SPEC §2 on every image taken:
// one per window, inside it, and consecutive daily images 24 h ± MaxShift
// apart (so never two on one UTC date).
func TestWeeksOfRebalancingKeepOneImagePerWindowAndDailyImagesRoughly24hApart(t *testing.T) {
	t.Run("without hosts", func(t *testing.T) { weeksOfRebalancing(t, false) })
	t.Run("with hosts learned as the weeks go", func(t *testing.T) { weeksOfRebalancing(t, true) })
}

// weeksOfRebalancing is the test above; withHosts puts the schedules 40 to
// a host and has each learn its host only at its first image, as the
// engine does when it could not ask the cloud earlier, so that Repair
// moves slots under the same rules as Rebalance.
func weeksOfRebalancing(t *testing.T, withHosts bool) {
	const (
		n    = 1500
		step = 20 * time.Minute
	)
	start := at("2026-11-19T07:00:00Z")
	end := start.Add(21 * 24 * time.Hour)
	rng := rand.New(rand.NewPCG(11, 11))
	p := scheduler.NewPlanner()
	maxShift := time.Duration(p.MaxShift()) * time.Hour

	type record struct {
		added, removed time.Time
		images         map[string]time.Time // window id → image instant
		last           time.Time
		lastWindow     scheduler.Window
		host           scheduler.Host // learned at the first image
		size           time.Duration
		learned        bool
		moves          []string // for failure reports
	}
	recs := map[scheduler.Key]*record{}
	add := func(k scheduler.Key, now time.Time) {
		r := &record{added: now, images: map[string]time.Time{}, size: time.Duration(5+rng.IntN(60)) * time.Minute}
		if withHosts {
			r.host, r.size = scheduler.Host(1+rng.IntN(n/40)), snapshotMinutes(rng)
		}
		if _, err := p.Place(k, referenceMix(rng), r.size, 0); err != nil {
			t.Fatal(err)
		}
		recs[k] = r
	}
	for k := range scheduler.Key(n) {
		add(k, start)
	}
	next := scheduler.Key(n)
	moves, images := 0, 0

	for prev, now := start, start.Add(step); !now.After(end); prev, now = now, now.Add(step) {
		// The executor takes every image whose slot fell in (prev, now].
		for k, r := range recs {
			if !r.removed.IsZero() {
				continue
			}
			slot, ok := p.Slot(k)
			if !ok {
				t.Fatalf("key %d lost its slot", k)
			}
			sched := slot.Schedule()
			for _, w := range []scheduler.Window{sched.NextWindow(prev), sched.NextWindow(now)} {
				inst := slot.At(w)
				if !inst.After(prev) || inst.After(now) || inst.Before(r.added) {
					continue
				}
				if _, dup := r.images[w.ID()]; dup {
					continue // the same window seen through both prev and now
				}
				if !w.Contains(inst) {
					t.Fatalf("key %d: image at %v outside its window %v", k, inst, w)
				}
				if sched.Kind == scheduler.Daily && !r.last.IsZero() && r.lastWindow.Next() == w {
					if gap := inst.Sub(r.last); gap < 24*time.Hour-maxShift || gap > 24*time.Hour+maxShift {
						t.Fatalf("key %d: consecutive daily images %v apart (%v then %v); its moves:\n%s", k, gap, r.last, inst, strings.Join(r.moves, "\n"))
					}
				}
				r.images[w.ID()], r.last, r.lastWindow = inst, inst, w
				images++
			}
		}
		// Schedules that took their first image learn their host: Place
		// keeps the slot, Repair may move it.
		var moved []scheduler.Move
		for k, r := range recs {
			if r.host != 0 && !r.learned && len(r.images) > 0 && r.removed.IsZero() {
				r.learned = true
				slot, _ := p.Slot(k)
				if _, err := p.Place(k, slot.Schedule(), r.size, r.host); err != nil {
					t.Fatal(err)
				}
				moved = append(moved, p.Repair(k, now)...)
			}
		}
		// The node rebalances; a move must not touch a window's image that
		// is taken, nor move a pending one into the past.
		for _, m := range append(moved, p.Rebalance(now, 40)...) {
			recs[m.Key].moves = append(recs[m.Key].moves, fmt.Sprintf("%s: %v → %v", now.Format("Mon 15:04"), m.From, m.To))
			moves++
			r := recs[m.Key]
			w, in := m.From.Schedule().WindowAt(now)
			if !in {
				continue
			}
			from, to := m.From.At(w), m.To.At(w)
			if _, taken := r.images[w.ID()]; taken && !from.Equal(to) {
				t.Fatalf("key %d: moved the taken image of %v from %v to %v", m.Key, w.ID(), from, to)
			}
			if !from.After(now) && !from.Equal(to) {
				t.Fatalf("key %d: moved a due slot of %v at %v", m.Key, w.ID(), now)
			}
			if from.After(now) && !to.After(from) && !from.Equal(to) {
				t.Fatalf("key %d: moved the current window's slot earlier, %v → %v", m.Key, from, to)
			}
		}
		// Churn: a few schedules come and go every few hours.
		if now.Sub(start)%(6*time.Hour) == 0 {
			for range 10 {
				k := scheduler.Key(rng.IntN(int(next)))
				if r := recs[k]; r.removed.IsZero() && p.Remove(k) {
					r.removed = now
				}
			}
			for range 10 {
				add(next, now)
				next++
			}
		}
	}

	// Every window that opened after a schedule was added and closed before
	// it was removed (or the end) has exactly one image.
	for k, r := range recs {
		stop := end
		if !r.removed.IsZero() {
			stop = r.removed
		}
		slot, ok := p.Slot(k)
		if !ok {
			continue
		}
		for w := slot.Schedule().NextWindow(r.added); !w.End.After(stop); w = w.Next() {
			if w.Start.Before(r.added) {
				continue
			}
			if _, ok := r.images[w.ID()]; !ok {
				t.Fatalf("key %d (%v) has no image in window %v", k, slot.Schedule(), w)
			}
		}
	}
	if moves == 0 || images < 15*n {
		t.Fatalf("the simulation exercised too little: %d moves, %d images", moves, images)
	}
	if f := p.Histogram().Flatness(); f > 1.04 {
		t.Fatalf("flatness %.4f after three weeks", f)
	}
	t.Logf("%d images, %d moves, flatness %.4f (bound %.4f)", images, moves, p.Histogram().Flatness(), p.Demand().Bound())
}
