package sharding

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// nodes returns n members of capacity 1 named node-00, node-01, ...
func nodes(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{ID: fmt.Sprintf("node-%02d", i)}
	}
	return ms
}

// without returns ms minus the member with the given ID.
func without(ms []Member, id string) []Member {
	var out []Member
	for _, m := range ms {
		if m.ID != id {
			out = append(out, m)
		}
	}
	return out
}

// mustAssign calls Assign and fails the test on error.
func mustAssign(tb testing.TB, cfg Config, ms []Member, prev Assignment, hourly [][]float64) Assignment {
	tb.Helper()
	a, err := Assign(cfg, ms, prev, hourly)
	if err != nil {
		tb.Fatalf("Assign(%+v, %d members): %v", cfg, len(ms), err)
	}
	return a
}

// randomHourly returns per-shard loads as if each shard held between
// perShard/2 and 3·perShard/2 daily schedules at uniformly random hours:
// noisy rows, as real shards have.
func randomHourly(rng *rand.Rand, shards, hours, perShard int) [][]float64 {
	rows := make([][]float64, shards)
	for s := range rows {
		rows[s] = make([]float64, hours)
		n := perShard/2 + rng.IntN(perShard+1)
		for range n {
			rows[s][rng.IntN(hours)]++
		}
	}
	return rows
}

// skewedHourly is randomHourly with one shard in eight carrying a tenant
// whose hundreds of schedules all sit in one hour.
func skewedHourly(rng *rand.Rand, shards, hours, perShard int) [][]float64 {
	rows := randomHourly(rng, shards, hours, perShard)
	for s := 0; s < shards; s += 8 {
		rows[s][rng.IntN(hours)] += float64(perShard)
	}
	return rows
}

// checkBound fails the test if some member of a holds more shards than
// ⌈(1+ε) × fair⌉.
func checkBound(tb testing.TB, a Assignment, eps float64) {
	tb.Helper()
	bounds := loadBounds(a.members, a.Shards(), eps)
	for i, c := range a.counts() {
		if c > bounds[i] {
			tb.Fatalf("member %s holds %d shards, bound %d (ε=%v)", a.members[i].ID, c, bounds[i], eps)
		}
	}
}
