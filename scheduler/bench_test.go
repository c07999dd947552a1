package scheduler_test

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

// benchPlace places a million schedules from m per iteration and reports
// the flatness reached (greedy placement alone) beside the lower bound,
// and the heap the planner retains per schedule.
func benchPlace(b *testing.B, m mix) {
	const n = 1_000_000
	b.ReportAllocs()
	var p *scheduler.Planner
	var before, after runtime.MemStats
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		rng := rand.New(rand.NewPCG(uint64(i), 1))
		b.StartTimer()
		p = scheduler.NewPlanner()
		for k := range scheduler.Key(n) {
			if _, err := p.Place(k, m(rng), 10*time.Minute, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/schedule")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heapB/schedule")
	b.ReportMetric(p.Histogram().Flatness(), "flatness")
	b.ReportMetric(p.Demand().Bound(), "bound")
	runtime.KeepAlive(p)
}

func BenchmarkPlace1MDaily(b *testing.B)     { benchPlace(b, dailyOnly) }
func BenchmarkPlace1MReference(b *testing.B) { benchPlace(b, referenceMix) }

// BenchmarkRebalance1MReference measures one Rebalance call of up to 1,000
// moves on a million schedules of the reference mix after 1% churn, and
// reports the flatness once a simulated day of such calls has converged.
func BenchmarkRebalance1MReference(b *testing.B) {
	const n = 1_000_000
	rng := rand.New(rand.NewPCG(3, 3))
	p := scheduler.NewPlanner()
	for k := range scheduler.Key(n) {
		p.Place(k, referenceMix(rng), 10*time.Minute, 0)
	}
	now := at("2026-11-22T06:00:00Z")
	next := scheduler.Key(n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for range n / 100 {
			p.Remove(scheduler.Key(rng.IntN(int(next))))
			p.Place(next, referenceMix(rng), 10*time.Minute, 0)
			next++
		}
		b.StartTimer()
		p.Rebalance(now.Add(time.Duration(i)*time.Minute), 1000)
	}
	b.StopTimer()
	for h := 0; h < 24; h++ {
		for len(p.Rebalance(now.Add(time.Duration(h)*time.Hour), 100000)) > 0 {
		}
	}
	b.ReportMetric(p.Histogram().Flatness(), "flatness")
	b.ReportMetric(p.Demand().Bound(), "bound")
}

// BenchmarkRebalanceConverged1M is the steady-state cost of the periodic
// call on a converged million: a full scan that finds nothing to move.
func BenchmarkRebalanceConverged1M(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	p := scheduler.NewPlanner()
	for k := range scheduler.Key(1_000_000) {
		p.Place(k, referenceMix(rng), 10*time.Minute, 0)
	}
	now := at("2026-11-22T06:00:00Z")
	for len(p.Rebalance(now, 100000)) > 0 {
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m := p.Rebalance(now, 1000); len(m) != 0 {
			b.Fatalf("%d moves on a converged plan", len(m))
		}
	}
}

// BenchmarkPlaceOne is the cost of one incremental placement into a
// planner of a million schedules.
func BenchmarkPlaceOne(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	p := scheduler.NewPlanner()
	for k := range scheduler.Key(1_000_000) {
		p.Place(k, referenceMix(rng), 10*time.Minute, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := scheduler.Key(rng.IntN(1_000_000))
		p.Remove(k)
		p.Place(k, referenceMix(rng), 10*time.Minute, 0)
	}
}

// BenchmarkPlaceOnHost is the cost of one placement of a schedule whose
// host holds 40 others, as the engine does once it knows the host: the
// whole week's minutes are searched for room between the host-mates.
func BenchmarkPlaceOnHost(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	p := scheduler.NewPlanner()
	const n = 20_000
	host := func(k scheduler.Key) scheduler.Host { return scheduler.Host(1 + k/40) }
	for k := range scheduler.Key(n) {
		p.Place(k, referenceMix(rng), snapshotMinutes(rng), host(k))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := scheduler.Key(rng.IntN(n))
		p.Remove(k)
		p.Place(k, referenceMix(rng), snapshotMinutes(rng), host(k))
	}
}
