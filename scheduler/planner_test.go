package scheduler_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

// Mix draws schedules for a fleet.
type mix func(rng *rand.Rand) scheduler.Schedule

// dailyOnly is a fleet of daily schedules.
func dailyOnly(*rand.Rand) scheduler.Schedule { return scheduler.DailySchedule() }

// referenceMix is SPEC §5's: 80% daily, 20% weekly, half of the weekly
// ones on Saturday and the other half uniform over the week.
func referenceMix(rng *rand.Rand) scheduler.Schedule {
	switch x := rng.Float64(); {
	case x < 0.8:
		return scheduler.DailySchedule()
	case x < 0.9:
		return scheduler.WeeklySchedule(time.Saturday)
	default:
		return scheduler.WeeklySchedule(time.Weekday(rng.IntN(7)))
	}
}

// fleet places n schedules drawn from m and returns the planner.
func fleet(tb testing.TB, n int, m mix, seed uint64) *scheduler.Planner {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	p := scheduler.NewPlanner()
	for i := range n {
		if _, err := p.Place(scheduler.Key(i), m(rng), time.Duration(2+rng.IntN(90))*time.Minute, 0); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

// converge rebalances every three hours through a week from now, as a
// node does periodically, each time until no move is left, and returns the moves
// made. A week, because what may move depends on the hour: today's slots
// only move later and yesterday's daily hours not at all.
func converge(tb testing.TB, p *scheduler.Planner, now time.Time) int {
	tb.Helper()
	total := 0
	for h := 0; h < 7*24; h += 3 {
		for i := 0; ; i++ {
			if i == 10000 {
				tb.Fatal("Rebalance did not converge")
			}
			moves := p.Rebalance(now.Add(time.Duration(h)*time.Hour), 10000)
			if len(moves) == 0 {
				break
			}
			total += len(moves)
		}
	}
	return total
}

func TestFlatness(t *testing.T) {
	now := at("2026-11-22T00:00:00Z")
	tests := []struct {
		name   string
		n      int
		mix    mix
		target float64
	}{
		{"a thousand daily schedules are within 1.01 of flat", 1000, dailyOnly, 1.01},
		{"ten thousand daily schedules are within 1.01 of flat", 10000, dailyOnly, 1.01},
		{"a hundred thousand daily schedules are within 1.01 of flat", 100000, dailyOnly, 1.01},
		{"a thousand schedules of the reference mix are within 1.04 of flat", 1000, referenceMix, 1.04},
		{"ten thousand schedules of the reference mix are within 1.04 of flat", 10000, referenceMix, 1.04},
		{"a hundred thousand schedules of the reference mix are within 1.04 of flat", 100000, referenceMix, 1.04},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() && tt.n > 10000 {
				t.Skip("large fleet")
			}
			seeds := uint64(3)
			if tt.n > 10000 {
				seeds = 1
			}
			for seed := range seeds {
				p := fleet(t, tt.n, tt.mix, seed)
				greedy := p.Histogram().Flatness()
				moves := converge(t, p, now)
				h, d := p.Histogram(), p.Demand()
				got, bound := h.Flatness(), d.Bound()
				t.Logf("seed %d: greedy %.4f, after %d moves %.4f, bound %.4f", seed, greedy, moves, got, bound)
				if got > tt.target {
					t.Errorf("seed %d: flatness %.4f > %.2f (bound %.4f)", seed, got, tt.target, bound)
				}
				if got < bound-1e-9 {
					t.Errorf("seed %d: flatness %.4f beats the lower bound %.4f: the bound is wrong", seed, got, bound)
				}
				var weekly int64
				for _, w := range d.Weekly {
					weekly += w
				}
				if h.Total() != 7*d.Daily+weekly || d.Daily+weekly != int64(tt.n) {
					t.Errorf("histogram holds %d creations for %d daily and %d weekly schedules", h.Total(), d.Daily, weekly)
				}
			}
		})
	}
}

func TestUniformRandomMinutesAreFarFromFlat(t *testing.T) {
	// The baseline the planner is measured against (SPEC §5: about 1.32 at
	// a thousand schedules): checks that Flatness measures what it should.
	rng := rand.New(rand.NewPCG(1, 2))
	var h scheduler.Histogram
	for range 1000 {
		hour := rng.IntN(24)
		for d := range 7 {
			h.Creations[d*24+hour]++
		}
	}
	if f := h.Flatness(); f < 1.15 {
		t.Fatalf("uniform random flatness %.3f, expected well above 1.1", f)
	}
}

func TestTheReferenceMixBoundIsAbout1Point0115(t *testing.T) {
	d := scheduler.Demand{Daily: 800000}
	for w := range d.Weekly {
		d.Weekly[w] = 100000 / 7
	}
	d.Weekly[time.Saturday] += 100000
	if b := d.Bound(); b < 1.011 || b > 1.012 {
		t.Fatalf("bound %.5f, want about 1.0115", b)
	}
	if b := (scheduler.Demand{Daily: 1000}).Bound(); b != 42.0/(1000.0/24) {
		t.Fatalf("daily-only bound %.5f, want ⌈1000/24⌉ over the mean", b)
	}
	if b := (scheduler.Demand{}).Bound(); b != 0 {
		t.Fatalf("empty bound %v", b)
	}
}

func TestIncrementalChangesKeepTheFleetFlat(t *testing.T) {
	now := at("2026-11-22T06:00:00Z")
	rng := rand.New(rand.NewPCG(7, 7))
	p := fleet(t, 20000, referenceMix, 7)
	converge(t, p, now)
	next := 20000
	for round := range 5 {
		for range 3000 { // remove 3,000 at random
			p.Remove(scheduler.Key(rng.IntN(next)))
		}
		for range 3000 { // add 3,000 new ones
			if _, err := p.Place(scheduler.Key(next), referenceMix(rng), 10*time.Minute, 0); err != nil {
				t.Fatal(err)
			}
			next++
		}
		converge(t, p, now.Add(time.Duration(round)*time.Hour))
		if f, b := p.Histogram().Flatness(), p.Demand().Bound(); f > 1.04 {
			t.Fatalf("round %d: flatness %.4f (bound %.4f) after churn", round, f, b)
		}
	}
	if p.Len() < 15000 {
		t.Fatalf("only %d schedules left", p.Len())
	}
}

func TestPlaceKeepsTheSlotWhenTheScheduleIsUnchanged(t *testing.T) {
	p := fleet(t, 500, referenceMix, 3)
	before, _ := p.Slot(42)
	again, err := p.Place(42, before.Schedule(), time.Hour, 0)
	if err != nil || again != before {
		t.Fatalf("re-placing kept %v → %v (%v)", before, again, err)
	}
	other := scheduler.WeeklySchedule(time.Tuesday)
	if before.Schedule() == other {
		other = scheduler.WeeklySchedule(time.Wednesday)
	}
	moved, _ := p.Place(42, other, time.Hour, 0)
	if moved.Schedule() != other || p.Len() != 500 {
		t.Fatalf("changing the schedule gave %v, %d schedules", moved, p.Len())
	}
	if !p.Remove(42) || p.Remove(42) || p.Len() != 499 {
		t.Fatal("Remove is not idempotent")
	}
}

func TestSlotsSurviveTextAndRestore(t *testing.T) {
	p := fleet(t, 300, referenceMix, 5)
	q := scheduler.NewPlanner()
	for k := range scheduler.Key(300) {
		s, _ := p.Slot(k)
		text, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back scheduler.Slot
		if err := back.UnmarshalText(text); err != nil || back != s {
			t.Fatalf("%q parsed to %v, %v", text, back, err)
		}
		if err := q.Restore(k, back, time.Minute, 0); err != nil {
			t.Fatal(err)
		}
	}
	if q.Histogram().Creations != p.Histogram().Creations {
		t.Fatal("restored planner has another histogram")
	}
}

func TestParseSlot(t *testing.T) {
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"a daily slot lists the minute and seven hours", "daily :17 13,13,13,12,12,13,13", true},
		{"a weekly slot gives the day and the offset into the window", "weekly SATURDAY +25:17", true},
		{"a daily slot with six hours is rejected", "daily :17 13,13,13,12,12,13", false},
		{"a daily hour of 24 is rejected", "daily :17 24,13,13,12,12,13,13", false},
		{"a weekly offset past 48 hours is rejected", "weekly SATURDAY +48:00", false},
		{"an unknown day is rejected", "weekly FUNDAY +01:00", false},
		{"a minute of 60 is rejected", "daily :60 1,1,1,1,1,1,1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := scheduler.ParseSlot(tt.text)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseSlot(%q) = %v, %v", tt.text, s, err)
			}
			if tt.ok && s.String() != tt.text {
				t.Fatalf("round trip %q → %q", tt.text, s.String())
			}
			if !tt.ok && !errors.Is(err, scheduler.ErrInvalidSlot) {
				t.Fatalf("error %v is not ErrInvalidSlot", err)
			}
		})
	}
}

func TestRestoreRejectsADailySlotThatJumpsMoreThanMaxShift(t *testing.T) {
	s, err := scheduler.ParseSlot("daily :00 1,1,1,9,9,9,9")
	if err != nil {
		t.Fatal(err)
	}
	if err := scheduler.NewPlanner().Restore(1, s, time.Minute, 0); !errors.Is(err, scheduler.ErrInvalidSlot) {
		t.Fatalf("Restore = %v, want ErrInvalidSlot", err)
	}
	if err := scheduler.NewPlanner(scheduler.WithMaxShift(8)).Restore(1, s, time.Minute, 0); err != nil {
		t.Fatalf("with MaxShift 8: %v", err)
	}
}

func TestAWeeklyImageNormallyFallsOnTheRequestedDay(t *testing.T) {
	p := scheduler.NewPlanner()
	for k := range scheduler.Key(48) {
		s, _ := p.Place(k, scheduler.WeeklySchedule(time.Wednesday), time.Minute, 0)
		w := s.Schedule().NextWindow(at("2026-11-22T00:00:00Z"))
		if d := s.At(w).Weekday(); d != time.Wednesday && k < 24 {
			t.Fatalf("schedule %d of an empty planner lands on %v", k, d)
		}
	}
}
