package sharding

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestTheHourlyPassBringsEveryMemberWithinDelta(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 29))
	for _, hours := range []int{HoursPerDay, HoursPerWeek} {
		for _, n := range []int{2, 3, 5, 10} {
			t.Run(fmt.Sprintf("%d members with %d-hour rows", n, hours), func(t *testing.T) {
				hourly := randomHourly(rng, 4096, hours, 240)
				cfg := Config{Shards: 4096}
				a := mustAssign(t, cfg, nodes(n), Assignment{}, hourly)
				checkBound(t, a, DefaultEpsilon)
				peak, floor, err := a.HourPeak(hourly)
				if err != nil {
					t.Fatal(err)
				}
				// The pass may stop just short of δ when no single step improves.
				if peak > 1+DefaultHourDelta+0.005 {
					t.Errorf("hour peak %.4f (floor %.4f), want ≤ %.3f", peak, floor, 1+DefaultHourDelta)
				}
			})
		}
	}
}

func TestTheHourlyPassNeverMakesThePeakWorse(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 37))
	for i := range 20 {
		shards := 256 << rng.IntN(4)
		n := 2 + rng.IntN(30)
		hourly := skewedHourly(rng, shards, []int{24, 168}[rng.IntN(2)], 50)
		before, _, _ := mustAssign(t, Config{Shards: shards, HourMoves: -1}, nodes(n), Assignment{}, nil).HourPeak(hourly)
		a := mustAssign(t, Config{Shards: shards}, nodes(n), Assignment{}, hourly)
		checkBound(t, a, DefaultEpsilon)
		after, floor, _ := a.HourPeak(hourly)
		if after > before || after < floor {
			t.Errorf("case %d (%d shards, %d members): peak %.3f before, %.3f after, floor %.3f", i, shards, n, before, after, floor)
		}
	}
}

func TestTheHourlyPassIsolatesAHeavyShardAsFarAsTheCountBoundAllows(t *testing.T) {
	hourly := make([][]float64, 64)
	for s := range hourly {
		hourly[s] = make([]float64, HoursPerDay)
		for h := range hourly[s] {
			hourly[s][h] = 1
		}
	}
	hourly[5][3] = 100 // hour 3: total 163, fair share 40.75 on 4 members
	a := mustAssign(t, Config{Shards: 64}, nodes(4), Assignment{}, hourly)
	peak, floor, err := a.HourPeak(hourly)
	if err != nil {
		t.Fatal(err)
	}
	if want := 100 / (163.0 / 4); floor < want-1e-9 || floor > want+1e-9 {
		t.Errorf("floor %.4f, want %.4f", floor, want)
	}
	// The other three members hold at most ⌈1.25 × 16⌉ = 20 shards each,
	// so the heavy shard's member keeps 3 more: (100+3)/40.75.
	if want := 103 / (163.0 / 4); peak < want-1e-9 || peak > want+1e-9 {
		t.Errorf("peak %.4f, want %.4f", peak, want)
	}
}

func TestTheHourlyPassSpendsAtMostItsMoveBudget(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 43))
	hourly := skewedHourly(rng, 4096, HoursPerWeek, 240)
	ms := nodes(10)
	prev := mustAssign(t, Config{Shards: 4096}, ms, Assignment{}, hourly)
	joined := append(ms, Member{ID: "joiner"})
	for _, budget := range []int{1, 10, 50} {
		base := len(Diff(prev, mustAssign(t, Config{Shards: 4096, HourMoves: -1}, joined, prev, nil)))
		got := len(Diff(prev, mustAssign(t, Config{Shards: 4096, HourMoves: budget}, joined, prev, hourly)))
		if got > base+budget {
			t.Errorf("budget %d: moved %d, %d without the hourly pass", budget, got, base)
		}
	}
}

func TestHourPeakIsOneForAPerfectSplit(t *testing.T) {
	ms := nodes(2)
	a := mustAssign(t, Config{Shards: 2}, ms, Assignment{}, nil)
	hourly := [][]float64{make([]float64, HoursPerDay), make([]float64, HoursPerDay)}
	hourly[0][7], hourly[1][7] = 3, 3
	peak, floor, err := a.HourPeak(hourly)
	if err != nil || peak != 1 || floor != 1 {
		t.Errorf("HourPeak = %v, %v, %v; want 1, 1, nil", peak, floor, err)
	}
}
