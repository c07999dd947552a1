package sharding

import (
	"cmp"
	"slices"
)

// point is one virtual node: a position on the ring owned by a member.
type point struct {
	pos    uint64
	member int // index into the sorted member list
}

// ring is the hash ring of a member list.
//
// Invariant: points sorted by (pos, member); every member has at least one
// point, so a full walk from anywhere visits every member.
type ring struct {
	points []point
}

// newRing places vnodes points per member of average capacity, and for
// each member a share of points proportional to its capacity (at least 1).
func newRing(ms []Member, vnodes int) ring {
	var total uint64
	for _, m := range ms {
		total += m.weight()
	}
	n := uint64(len(ms))
	var pts []point
	for i, m := range ms {
		k := int((uint64(vnodes)*m.weight()*n + total/2) / total)
		k = max(k, 1)
		seed := memberSeed(m.ID)
		for v := range k {
			pts = append(pts, point{pos: vnodePos(seed, v), member: i})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		if c := cmp.Compare(a.pos, b.pos); c != 0 {
			return c
		}
		return cmp.Compare(a.member, b.member)
	})
	return ring{points: pts}
}

// start returns the index of the first point at or after pos, wrapping to 0.
func (r ring) start(pos uint64) int {
	i, _ := slices.BinarySearchFunc(r.points, pos, func(p point, pos uint64) int {
		return cmp.Compare(p.pos, pos)
	})
	if i == len(r.points) {
		return 0
	}
	return i
}

// home returns the member owning the first point at or after pos: the
// shard's owner if loads were unbounded.
func (r ring) home(pos uint64) int {
	return r.points[r.start(pos)].member
}

// walk returns the first member, clockwise from pos, for which open is
// true, or -1 if open is false for every member.
func (r ring) walk(pos uint64, open func(member int) bool) int {
	i := r.start(pos)
	for range r.points {
		if m := r.points[i].member; open(m) {
			return m
		}
		i++
		if i == len(r.points) {
			i = 0
		}
	}
	return -1
}
