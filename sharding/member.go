package sharding

import (
	"cmp"
	"fmt"
	"slices"
)

// MaxIDLen is the longest Member.ID, in bytes.
const MaxIDLen = 1024

// Member is a live scheduler node as the assignment sees it.
type Member struct {
	// ID names the node; it is what Owner returns. Non-empty, at most
	// MaxIDLen bytes, unique within a member list.
	ID string
	// Capacity is the node's relative share of shards, from its metadata:
	// a member of capacity 2 gets about twice the shards of one of
	// capacity 1. 0 means 1; at most MaxCapacity.
	Capacity uint32
}

// weight is the member's capacity with 0 read as 1.
func (m Member) weight() uint64 {
	if m.Capacity == 0 {
		return 1
	}
	return uint64(m.Capacity)
}

// normalizeMembers returns a sorted copy of ms with capacities made
// explicit (0 becomes 1), or an error wrapping ErrMember.
//
// Invariant of the result: IDs strictly ascending, every capacity in
// 1..MaxCapacity, length in 1..MaxMembers. Assignment relies on it.
func normalizeMembers(ms []Member) ([]Member, error) {
	if len(ms) == 0 {
		return nil, ErrNoMembers
	}
	if len(ms) > MaxMembers {
		return nil, fmt.Errorf("%w: %d members, at most %d", ErrMember, len(ms), MaxMembers)
	}
	out := make([]Member, len(ms))
	for i, m := range ms {
		if err := checkMember(m); err != nil {
			return nil, err
		}
		out[i] = Member{ID: m.ID, Capacity: uint32(m.weight())}
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	for i := 1; i < len(out); i++ {
		if out[i].ID == out[i-1].ID {
			return nil, fmt.Errorf("%w: duplicate ID %q", ErrMember, out[i].ID)
		}
	}
	return out, nil
}

// checkMember validates one member's fields.
func checkMember(m Member) error {
	if m.ID == "" || len(m.ID) > MaxIDLen {
		return fmt.Errorf("%w: ID length %d not in 1..%d", ErrMember, len(m.ID), MaxIDLen)
	}
	if m.Capacity > MaxCapacity {
		return fmt.Errorf("%w: %q capacity %d above %d", ErrMember, m.ID, m.Capacity, MaxCapacity)
	}
	return nil
}
