package sharding

import "fmt"

// The sticky pass.
//
// The plain bounded-load pass is memoryless: its answer depends only on
// (shards, members, ε), so any two clusters with the same members agree.
// The price is that a membership change moves more than the ideal: when a
// member leaves, its shards fill their ring successors, which then turn
// away shards that used to fit, and those spill further along (cascades);
// when a member joins, bounds shrink and members near the old bound shed
// shards to their neighbours. Those extra moves are between two members
// that survive the change, so they buy nothing but ring-faithfulness.
//
// The sticky pass builds the assignment again from the previous one:
//  1. a member that joined, or whose capacity grew, takes the shards the
//     plain pass gives it (its ring share), in shard order, up to its fair
//     count ⌈Shards × capacity / total capacity⌉: taking more would move
//     shards only to leave the joiner above average;
//  2. every other shard whose previous owner survives stays there, in shard
//     order, while that owner is below its bound;
//  3. the remaining shards (their owner left, or is over a bound that
//     shrank) walk the ring to the first member below its bound.
//
// So a leave moves exactly the leaver's shards, and a join moves the new
// member's ring share plus what members over the lowered bound must shed.
//
// Trade-off: the result depends on history (the previous assignment), not
// only on the current members; two clusters that reach the same members by
// different paths may differ, and a member keeps whatever count the bound
// allows rather than drifting back to its ring share. The bound always
// holds, and the result is still a deterministic function of (previous
// assignment, members, Config), which every node reads from the same etcd
// key. DisableSticky restores the memoryless plain pass.

// remapOwners returns, for each shard, the index in ms of its owner in prev,
// or -1 if prev has no such shard or its owner is not in ms; and, for each
// member of ms, whether it is fresh: absent from prev or with a greater
// capacity than in prev.
func remapOwners(prev Assignment, ms []Member, shards int) (prevOwner []int32, fresh []bool) {
	prevOwner = make([]int32, shards)
	for s := range prevOwner {
		prevOwner[s] = -1
	}
	byPrev := make([]int32, len(prev.members))
	next := Assignment{members: ms}
	for i, m := range prev.members {
		byPrev[i] = -1
		if j, ok := next.index(m.ID); ok {
			byPrev[i] = int32(j)
		}
	}
	fresh = make([]bool, len(ms))
	for j, m := range ms {
		i, ok := prev.index(m.ID)
		fresh[j] = !ok || m.Capacity > prev.members[i].Capacity
	}
	for s := range min(shards, prev.Shards()) {
		prevOwner[s] = byPrev[prev.owners[s]]
	}
	return prevOwner, fresh
}

// stickyPass returns the sticky assignment built from the plain one and the
// previous owners, with its loads.
//
// Invariant of the result: loads[m] ≤ bounds[m], and loads counts owners.
// Fresh members stop at min(fair, bound) shards in step 1.
func stickyPass(r ring, ms []Member, plain []uint16, bounds []int, prevOwner []int32, fresh []bool) ([]uint16, []int, error) {
	owners := make([]uint16, len(plain))
	loads := make([]int, len(bounds))
	placed := make([]bool, len(plain))
	fair := fairCounts(ms, len(plain))
	for s, o := range plain {
		if fresh[o] && loads[o] < min(fair[o], bounds[o]) {
			owners[s], placed[s] = o, true
			loads[o]++
		}
	}
	for s, p := range prevOwner {
		if !placed[s] && p >= 0 && loads[p] < bounds[p] {
			owners[s], placed[s] = uint16(p), true
			loads[p]++
		}
	}
	open := func(m int) bool { return loads[m] < bounds[m] }
	for s := range plain {
		if placed[s] {
			continue
		}
		m := r.walk(shardPos(s), open)
		if m < 0 {
			// Unreachable while loadBounds sums past the shard count.
			return nil, nil, fmt.Errorf("sharding: no member below its bound for shard %d", s)
		}
		owners[s] = uint16(m)
		loads[m]++
	}
	return owners, loads, nil
}

// fairCounts returns, per member, ⌈shards × capacity / total capacity⌉.
func fairCounts(ms []Member, shards int) []int {
	var total uint64
	for _, m := range ms {
		total += m.weight()
	}
	f := make([]int, len(ms))
	for i, m := range ms {
		f[i] = int((uint64(shards)*m.weight() + total - 1) / total)
	}
	return f
}
