package scheduler_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

func TestNoSlotStartsInAWindowsGuardBandsOrAnHoursMargin(t *testing.T) {
	// A fleet of the reference mix on hosts, rebalanced through a week:
	// every image of every window starts at least the 5-minute guard after
	// its window opens and before it ends less the guard and the hour
	// margin, and in the first 50 minutes of its hour.
	now := at("2026-11-22T00:00:00Z")
	p, hosts, _ := hostFleet(t, 2000, referenceMix, 4, true, now)
	converge(t, p, now)
	guard, margin := scheduler.DefaultGuard, scheduler.DefaultHourMargin
	if guard != 5*time.Minute || margin != 10*time.Minute {
		t.Fatalf("defaults changed: guard %v, hour margin %v", guard, margin)
	}
	checked := 0
	for k := range hosts {
		s, _ := p.Slot(k)
		for w := s.Schedule().NextWindow(now); w.Start.Before(now.AddDate(0, 0, 7)); w = w.Next() {
			at := s.At(w)
			if at.Before(w.Start.Add(guard)) || !at.Before(w.End.Add(-guard-margin)) {
				t.Fatalf("%v starts at %v, inside the guard band of %v", s, at, w)
			}
			if at.Minute() >= 60-int(margin/time.Minute) {
				t.Fatalf("%v starts at %v, in the last %v of its hour", s, at, margin)
			}
			checked++
		}
	}
	if checked < 2000*5 {
		t.Fatalf("only %d images checked", checked)
	}
}

func TestLongSnapshotsKeepOutOfTheDaysLastHours(t *testing.T) {
	// A fifth of the daily fleet takes over an hour to snapshot. The last
	// hours of the day are full all the same (flatness), but of short
	// snapshots: a long one started there would leave no time to retry.
	now := at("2026-11-22T00:00:00Z")
	rng := rand.New(rand.NewPCG(5, 5))
	p := scheduler.NewPlanner()
	long := map[scheduler.Key]bool{}
	for k := range scheduler.Key(1200) {
		d := 5 * time.Minute
		if rng.IntN(5) == 0 {
			d, long[k] = 70*time.Minute, true
		}
		if _, err := p.Place(k, scheduler.DailySchedule(), d, 0); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, p, now)
	if f := p.Histogram().Flatness(); f > 1.01 {
		t.Fatalf("flatness %.4f", f)
	}
	late := 0
	for k := range long {
		s, _ := p.Slot(k)
		w := s.Schedule().NextWindow(now)
		for range 7 {
			if s.At(w).Hour() >= 22 {
				late++
			}
			w = w.Next()
		}
	}
	if late != 0 {
		t.Fatalf("%d images of long snapshots start after 22:00", late)
	}
}
