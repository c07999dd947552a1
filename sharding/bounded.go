package sharding

import (
	"fmt"
	"math"
)

// loadBounds returns, per member, the most shards it may hold:
// ⌈(1+ε) × shards × capacity / total capacity⌉, at most shards.
//
// The bounds sum to at least (1+ε) × shards > shards, so every shard fits
// somewhere: this is what makes the bounded walk total. The arithmetic is
// a chain of multiplications and one division, which no architecture may
// fuse, so every node computes the same bounds.
func loadBounds(ms []Member, shards int, eps float64) []int {
	var total uint64
	for _, m := range ms {
		total += m.weight()
	}
	b := make([]int, len(ms))
	for i, m := range ms {
		x := (1 + eps) * float64(shards) * float64(m.weight()) / float64(total)
		b[i] = min(int(math.Ceil(x)), shards)
	}
	return b
}

// boundedPass is consistent hashing with bounded loads: shards in index
// order each walk the ring from their position and go to the first member
// whose load is below its bound. It returns the owner table and loads.
//
// Invariant of the result: loads[m] ≤ bounds[m] for every member m, and
// loads[m] is the number of shards whose owner is m.
func boundedPass(r ring, bounds []int, shards int) ([]uint16, []int, error) {
	owners := make([]uint16, shards)
	loads := make([]int, len(bounds))
	open := func(m int) bool { return loads[m] < bounds[m] }
	for s := range owners {
		m := r.walk(shardPos(s), open)
		if m < 0 {
			// Unreachable while loadBounds sums past shards.
			return nil, nil, fmt.Errorf("sharding: no member below its bound for shard %d", s)
		}
		owners[s] = uint16(m)
		loads[m]++
	}
	return owners, loads, nil
}
