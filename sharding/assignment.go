package sharding

import (
	"cmp"
	"slices"
)

// Assignment is one epoch's map from shards to members. It is a value:
// once made it never changes, and copies share storage safely.
//
// Invariants: members sorted by ID, IDs unique and non-empty, capacities in
// 1..MaxCapacity; owners[s] < len(members) for every shard s; if there are
// shards there is at least one member. The zero Assignment has no shards
// and no members and stands for "no previous assignment".
type Assignment struct {
	epoch   uint64
	members []Member
	owners  []uint16
}

// Epoch returns the assignment's epoch: the previous one's plus one, as
// Assign made it, or whatever WithEpoch set.
func (a Assignment) Epoch() uint64 { return a.epoch }

// WithEpoch returns a copy of a with epoch e, for a publisher that numbers
// epochs itself (for example by etcd revision).
func (a Assignment) WithEpoch(e uint64) Assignment {
	a.epoch = e
	return a
}

// Shards returns the number of shards; 0 for the zero Assignment.
func (a Assignment) Shards() int { return len(a.owners) }

// Members returns a copy of the members, sorted by ID, with capacities
// explicit (never 0).
func (a Assignment) Members() []Member { return slices.Clone(a.members) }

// Owner returns the ID of the member that owns shard. It panics if shard is
// not in [0, Shards()), as indexing a slice would.
func (a Assignment) Owner(shard int) string { return a.members[a.owners[shard]].ID }

// ShardsOf returns the shards owned by the member id, ascending; nil if id
// is not a member.
func (a Assignment) ShardsOf(id string) []int {
	i, ok := a.index(id)
	if !ok {
		return nil
	}
	var out []int
	for s, o := range a.owners {
		if int(o) == i {
			out = append(out, s)
		}
	}
	return out
}

// Loads returns the number of shards of each member, keyed by ID. Members
// owning no shard appear with 0.
func (a Assignment) Loads() map[string]int {
	counts := a.counts()
	out := make(map[string]int, len(a.members))
	for i, m := range a.members {
		out[m.ID] = counts[i]
	}
	return out
}

// SameMembers reports whether ms, in any order, is exactly a's member list
// with the same capacities (0 read as 1). A leader whose debounced view of
// the membership is the same as the published one has nothing to do.
func (a Assignment) SameMembers(ms []Member) bool {
	if len(ms) != len(a.members) {
		return false
	}
	seen := make([]bool, len(a.members))
	for _, m := range ms {
		i, ok := a.index(m.ID)
		if !ok || seen[i] || a.members[i].Capacity != uint32(m.weight()) {
			return false
		}
		seen[i] = true
	}
	return true
}

// Equal reports whether a and b have the same epoch, members and owners.
func (a Assignment) Equal(b Assignment) bool {
	return a.epoch == b.epoch && slices.Equal(a.members, b.members) && slices.Equal(a.owners, b.owners)
}

// index returns the position of id in the sorted member list.
func (a Assignment) index(id string) (int, bool) {
	return slices.BinarySearchFunc(a.members, id, func(m Member, id string) int {
		return cmp.Compare(m.ID, id)
	})
}

// counts returns the number of shards of each member, by member index.
func (a Assignment) counts() []int {
	c := make([]int, len(a.members))
	for _, o := range a.owners {
		c[o]++
	}
	return c
}
