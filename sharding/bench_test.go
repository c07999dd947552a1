package sharding

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkAssign times the leader's recomputation when the n-th member
// joins 4096 shards, and reports the movement of that join and of a leave
// against their ideals (shards/n; the leaver's shards), and max/fair.
func BenchmarkAssign(b *testing.B) {
	for _, sticky := range []bool{true, false} {
		for _, n := range []int{3, 10, 100} {
			name := fmt.Sprintf("shards=4096/nodes=%d/sticky=%v", n, sticky)
			b.Run(name, func(b *testing.B) {
				cfg := Config{Shards: 4096, DisableSticky: !sticky}
				ms := nodes(n)
				prev := mustAssign(b, cfg, ms[:n-1], Assignment{}, nil)
				var next Assignment
				for b.Loop() {
					next = mustAssign(b, cfg, ms, prev, nil)
				}
				leaver := ms[n/2].ID
				left := mustAssign(b, cfg, without(ms, leaver), next, nil)
				b.ReportMetric(float64(len(Diff(prev, next)))/(4096/float64(n)), "join-moved/ideal")
				b.ReportMetric(float64(len(Diff(next, left)))/float64(len(next.ShardsOf(leaver))), "leave-moved/ideal")
				b.ReportMetric(next.Stats().MaxOverFair, "max/fair")
			})
		}
	}
}

// BenchmarkAssignHourly is BenchmarkAssign with per-hour-of-week loads
// (skewed: one shard in eight carries a one-hour tenant), reporting the
// hour peak after the join against its floor, and the join's movement.
func BenchmarkAssignHourly(b *testing.B) {
	for _, n := range []int{3, 10, 100} {
		b.Run(fmt.Sprintf("shards=4096/nodes=%d/hours=168", n), func(b *testing.B) {
			hourly := skewedHourly(rand.New(rand.NewPCG(59, 61)), 4096, HoursPerWeek, 240)
			cfg := Config{Shards: 4096}
			ms := nodes(n)
			prev := mustAssign(b, cfg, ms[:n-1], Assignment{}, hourly)
			var next Assignment
			for b.Loop() {
				next = mustAssign(b, cfg, ms, prev, hourly)
			}
			peak, floor, err := next.HourPeak(hourly)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(Diff(prev, next)))/(4096/float64(n)), "join-moved/ideal")
			b.ReportMetric(peak, "hour-peak")
			b.ReportMetric(floor, "hour-floor")
			b.ReportMetric(next.Stats().MaxOverFair, "max/fair")
		})
	}
}

// BenchmarkDecode times what every node does on each new epoch.
func BenchmarkDecode(b *testing.B) {
	data := mustEncode(b, mustAssign(b, Config{Shards: 16384}, nodes(10), Assignment{}, nil))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var a Assignment
		if err := a.UnmarshalBinary(data); err != nil {
			b.Fatal(err)
		}
	}
}
