package scheduler

import (
	"math/rand/v2"
	"testing"
)

// naiveWaste is occupancy.waste computed by walking the minutes.
func naiveWaste(o *occupancy, start, n int) int64 {
	s := start % weekMinutes
	before := 0
	for before < minutesPerHour && !o.busy[(s-before-1+weekMinutes)%weekMinutes] {
		before++
	}
	after := 0
	for after < weekMinutes && !o.busy[(s+after)%weekMinutes] {
		after++
	}
	return int64(before + min(after-n, minutesPerHour))
}

func TestOccupancyWasteMatchesWalkingTheMinutes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round, density := range []int{0, 1, 20, 200, 2000} {
		// density bookings of 1..90 minutes on one host, some wrapping the
		// week's end.
		o := new(occupancy)
		for range density {
			s, n := rng.IntN(weekMinutes), 1+rng.IntN(90)
			for d := range n {
				o.busy[(s+d)%weekMinutes] = true
			}
		}
		o.measure()
		for range 2000 {
			start, n := rng.IntN(weekMinutes), 1+rng.IntN(60)
			if !o.fits(start, n) {
				continue
			}
			if got, want := o.waste(start, n), naiveWaste(o, start, n); got != want {
				t.Fatalf("round %d: waste(%d, %d) = %d, want %d", round, start, n, got, want)
			}
		}
	}
}
