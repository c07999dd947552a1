package engine

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/imgsched/imgsched/cluster"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

// BenchmarkMemoryPerSchedule measures what the engine holds per schedule
// (SPEC §5: at most 500 bytes): the entry, the index by server id, the
// due-queue and the planner (host members included), after loading n
// schedules of the reference mix (80% daily, 20% weekly, half of those on
// Saturday) on hosts of 40 servers, with stored slots, hosts and pending
// runs, as a node does at start.
//
//	go test ./scheduler/engine -run '^$' -bench MemoryPerSchedule -benchtime 1x
func BenchmarkMemoryPerSchedule(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(memoryPerSchedule(b, n), "bytes/schedule")
			}
		})
	}
}

func memoryPerSchedule(b *testing.B, n int) float64 {
	b.Helper()
	base := heapInUse()
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	// The records a load reads, made before measuring: they are garbage
	// once admitted.
	placer := scheduler.NewPlanner()
	loaded := make([]cluster.Loaded, n)
	for k := range loaded {
		day := imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED
		if r := rng.IntN(10); r == 0 {
			day = imgschedv1.DayOfWeek_SATURDAY
		} else if r == 1 {
			day = imgschedv1.DayOfWeek(1 + rng.IntN(7))
		}
		sc := &storagev1.Schedule{ServerId: uuid(rng), Retention: 7, DayOfWeek: day, State: imgschedv1.ScheduleState_ENABLED}
		slot, err := placer.Place(scheduler.Key(k), timing(sc), 10*time.Minute, 0)
		if err != nil {
			b.Fatal(err)
		}
		w, at := slot.Next(now)
		run := scheduler.NewRun(sc.ServerId, "srv", w, at, scheduler.DefaultRetryPolicy())
		host := fmt.Sprintf("%056x", k/40) // Nova's hostId: 56 hex digits
		loaded[k] = cluster.Loaded{ServerID: sc.ServerId, Shard: k % 1024, Schedule: sc,
			Runs: &storagev1.ScheduleRuns{Slot: slot.String(), Current: toRecord(run), Host: host}}
	}
	placer = nil
	e, err := New(DefaultConfig(), nil, nil, WithOwnership(AllShards(1024)))
	if err != nil {
		b.Fatal(err)
	}
	for s := range 1024 {
		e.owned[s] = true
	}
	for _, l := range loaded {
		e.admit(l, now)
	}
	loaded = nil
	after := heapInUse()
	if e.Len() != n || e.planner.Len() != n {
		b.Fatalf("engine holds %d schedules, planner %d, want %d", e.Len(), e.planner.Len(), n)
	}
	runtime.KeepAlive(e)
	return (float64(after) - float64(base)) / float64(n)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// uuid returns a random version-4-shaped id, as Nova's server ids are.
func uuid(rng *rand.Rand) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 36)
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		default:
			b[i] = hex[rng.IntN(16)]
		}
	}
	return string(b)
}
