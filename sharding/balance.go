package sharding

import (
	"cmp"
	"math"
	"slices"
)

// The hourly pass: after the count bound holds, a local search that lowers
// the worst ratio, over members m and hours t, of m's load in t to m's fair
// share of t. That is stricter than asking only each member's busiest hour
// to be within (1+δ) of fair.
//
// Each step takes the member n with the worst ratio P (at hour t) and looks
// for the best single move of one of n's shards to another member with room
// under its count bound (first among n's 32 heaviest shards in t, then
// among its 256 heaviest); failing that, the best swap of one of n's shards
// with one of another member's (counts unchanged). A step is taken only if
// afterwards both members' worst ratios are below P. So the pair (P, number
// of members at P) strictly decreases, and the search cannot cycle. It stops
// when P ≤ 1+δ, when no step improves, when the movement budget is spent or
// after max(4 × budget, shards/8) steps.
//
// Movement: a step's cost is the number of shards it takes away from their
// previous owner minus the number it returns to it. Among improving steps
// the cheapest wins, then the lowest resulting ratio; only positive cost
// draws on the budget (Config.HourMoves).
//
// When one shard alone exceeds 1+δ of the largest fair share of an hour,
// no assignment reaches 1+δ; the pass then stops at that floor instead of
// spending its budget on an unreachable target.

const (
	hourTargets   = 8   // destination members tried per step, least loaded at t first
	hourCandidate = 32  // shards of the worst member tried first, per cost class
	hourWide      = 256 // shards tried, per cost class, when those 32 fail
	hourSwapSide  = 16  // shards per side tried for a swap
)

// balancer is the state of the hourly pass.
//
// Invariants: owners, loads, sum and list agree (loads[m] = len(list[m]),
// sum is memberSums of owners, pos[s] is s's index in list[owners[s]]);
// loads[m] ≤ bounds[m]; peak[m], at hour peakHour[m], is m's worst ratio.
type balancer struct {
	tab       *hourTable
	owners    []uint16
	loads     []int
	bounds    []int
	prevOwner []int32
	inv       []float64 // 1 / fair share, or 0 for an hour with no load
	sum       []int64
	list      [][]int
	pos       []int
	peak      []float64
	peakHour  []int
	limit     float64
}

// step is a candidate move (other < 0) or swap of shard with other.
type step struct {
	shard, other int
	from, to     int
	cost         int
	peak         float64
}

// balanceHours runs the hourly pass over owners and loads in place and
// returns the number of steps taken.
func balanceHours(tab *hourTable, ms []Member, owners []uint16, loads, bounds []int, prevOwner []int32, delta float64, budget int) int {
	fair := tab.fairShares(ms)
	b := &balancer{
		tab: tab, owners: owners, loads: loads, bounds: bounds, prevOwner: prevOwner,
		inv:      inverse(fair),
		sum:      tab.memberSums(owners, len(ms)),
		list:     make([][]int, len(ms)),
		pos:      make([]int, len(owners)),
		peak:     make([]float64, len(ms)),
		peakHour: make([]int, len(ms)),
		limit:    max(1+delta, tab.hourFloor(fair, len(ms))),
	}
	for s, o := range owners {
		b.pos[s] = len(b.list[o])
		b.list[o] = append(b.list[o], s)
	}
	for m := range ms {
		b.refreshPeak(m)
	}
	steps, limit := 0, max(4*budget, len(owners)/8)
	for ; steps < limit; steps++ {
		n := b.worst()
		p, t := b.peak[n], b.peakHour[n]
		if p <= b.limit {
			break
		}
		st, ok := b.bestMove(n, t, p, budget, hourCandidate)
		if !ok {
			st, ok = b.bestMove(n, t, p, budget, hourWide)
		}
		if !ok {
			st, ok = b.bestSwap(n, t, p, budget)
		}
		if !ok {
			break
		}
		b.apply(st)
		budget -= st.cost
	}
	return steps
}

// inverse returns 1/f for each f, 0 where f is 0.
func inverse(fair []float64) []float64 {
	inv := make([]float64, len(fair))
	for i, f := range fair {
		if f > 0 {
			inv[i] = 1 / f
		}
	}
	return inv
}

// ratio is member m's load v in hour t over its fair share; 0 for an hour
// with no load anywhere. (A product, not a quotient, for speed; the pass
// compares only values computed this way.)
func (b *balancer) ratio(m, t int, v int64) float64 {
	return float64(v) * b.inv[m*b.tab.hours+t]
}

// peakAfter returns member m's worst ratio if shard add (≥ 0) joined it and
// shard sub (≥ 0) left it; -1 means none. It returns early, with some value
// ≥ cutoff, once the answer is known to be at least cutoff.
func (b *balancer) peakAfter(m, add, sub int, cutoff float64) float64 {
	h := b.tab.hours
	row, inv := b.sum[m*h:(m+1)*h], b.inv[m*h:(m+1)*h]
	var qa, qs []int64
	if add >= 0 {
		qa = b.tab.row(add)
	}
	if sub >= 0 {
		qs = b.tab.row(sub)
	}
	p := 0.0
	for t, v := range row {
		if len(qa) != 0 {
			v += qa[t]
		}
		if len(qs) != 0 {
			v -= qs[t]
		}
		if r := float64(v) * inv[t]; r > p {
			p = r
			if p >= cutoff {
				return p
			}
		}
	}
	return p
}

// refreshPeak recomputes peak[m] and peakHour[m].
func (b *balancer) refreshPeak(m int) {
	h := b.tab.hours
	b.peak[m], b.peakHour[m] = 0, 0
	for t, v := range b.sum[m*h : (m+1)*h] {
		if r := b.ratio(m, t, v); r > b.peak[m] {
			b.peak[m], b.peakHour[m] = r, t
		}
	}
}

// worst returns the member with the highest peak, the lowest index on ties.
func (b *balancer) worst() int {
	n := 0
	for m, p := range b.peak {
		if p > b.peak[n] {
			n = m
		}
	}
	return n
}

// cost is how far moving shard s from one member to another takes it from
// its previous owner: +1 leaving it, -1 returning to it, else 0.
func (b *balancer) cost(s, from, to int) int {
	c := 0
	if p := int(b.prevOwner[s]); p == from {
		c++
	} else if p == to {
		c--
	}
	return c
}

// targets returns up to hourTargets members other than n, least loaded in
// hour t first; with room, only those below their count bound.
func (b *balancer) targets(n, t int, room bool) []int {
	var ms []int
	for m := range b.loads {
		if m != n && (!room || b.loads[m] < b.bounds[m]) {
			ms = append(ms, m)
		}
	}
	h := b.tab.hours
	slices.SortFunc(ms, func(x, y int) int {
		if c := cmp.Compare(b.ratio(x, t, b.sum[x*h+t]), b.ratio(y, t, b.sum[y*h+t])); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	return ms[:min(len(ms), hourTargets)]
}

// candidates returns shards of member n with load in hour t: the k
// heaviest in t among those free to move (cost ≤ 0) and as many among the
// rest.
func (b *balancer) candidates(n, t, k int) []int {
	var free, costly []int
	for _, s := range b.list[n] {
		switch {
		case b.tab.row(s)[t] == 0:
		case b.cost(s, n, -1) <= 0:
			free = append(free, s)
		default:
			costly = append(costly, s)
		}
	}
	return append(b.heaviest(free, t, k), b.heaviest(costly, t, k)...)
}

// heaviest sorts shards by load in hour t, heaviest first (lowest index on
// ties), and returns the first k; all of them, unsorted, if k ≥ len(shards).
func (b *balancer) heaviest(shards []int, t, k int) []int {
	if k >= len(shards) {
		return shards
	}
	slices.SortFunc(shards, func(x, y int) int {
		if c := cmp.Compare(b.tab.row(y)[t], b.tab.row(x)[t]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	return shards[:min(len(shards), k)]
}

// lightest sorts shards by load in hour t, lightest first (lowest index on
// ties), and returns the first k.
func (b *balancer) lightest(shards []int, t, k int) []int {
	slices.SortFunc(shards, func(x, y int) int {
		if c := cmp.Compare(b.tab.row(x)[t], b.tab.row(y)[t]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	return shards[:min(len(shards), k)]
}

// better reports whether c beats best: lower cost, then lower peak.
func better(c, best step) bool {
	return c.cost < best.cost || c.cost == best.cost && c.peak < best.peak
}

// noStep returns a placeholder worse than every real step.
func noStep() step { return step{cost: math.MaxInt, peak: math.Inf(1)} }

// bestMove returns the best improving move of one of n's shards, among the
// k heaviest in hour t of each cost class, where n's worst ratio p is at
// hour t; and whether there is one.
func (b *balancer) bestMove(n, t int, p float64, budget, k int) (step, bool) {
	best := noStep()
	dests := b.targets(n, t, true)
	for _, s := range b.candidates(n, t, k) {
		without := b.peakAfter(n, -1, s, p)
		if without >= p {
			continue
		}
		for _, m := range dests {
			c := step{shard: s, other: -1, from: n, to: m, cost: b.cost(s, n, m)}
			if c.cost > budget || c.cost > best.cost {
				continue
			}
			cutoff := p
			if c.cost == best.cost {
				cutoff = min(p, best.peak)
			}
			c.peak = max(without, b.peakAfter(m, s, -1, cutoff))
			if c.peak < cutoff && better(c, best) {
				best = c
			}
		}
	}
	return best, best.cost != math.MaxInt
}

// bestSwap returns the best improving swap of one of n's shards, heavy in
// hour t, with a shard light in t of another member, and whether there is
// one.
func (b *balancer) bestSwap(n, t int, p float64, budget int) (step, bool) {
	best := noStep()
	mine := b.heaviest(slices.Clone(b.list[n]), t, hourSwapSide)
	for _, m := range b.targets(n, t, false) {
		theirs := b.lightest(slices.Clone(b.list[m]), t, hourSwapSide)
		for _, s := range mine {
			for _, o := range theirs {
				if b.tab.row(o)[t] >= b.tab.row(s)[t] {
					continue
				}
				c := step{shard: s, other: o, from: n, to: m, cost: b.cost(s, n, m) + b.cost(o, m, n)}
				if c.cost > budget || c.cost > best.cost {
					continue
				}
				cutoff := p
				if c.cost == best.cost {
					cutoff = min(p, best.peak)
				}
				pn := b.peakAfter(n, o, s, cutoff)
				if pn >= cutoff {
					continue
				}
				c.peak = max(pn, b.peakAfter(m, s, o, cutoff))
				if c.peak < cutoff && better(c, best) {
					best = c
				}
			}
		}
	}
	return best, best.cost != math.MaxInt
}

// apply performs st and refreshes the two members' peaks.
func (b *balancer) apply(st step) {
	b.transfer(st.shard, st.from, st.to)
	if st.other >= 0 {
		b.transfer(st.other, st.to, st.from)
	}
	b.refreshPeak(st.from)
	b.refreshPeak(st.to)
}

// transfer moves shard s from member from to member to, keeping the
// balancer's invariants.
func (b *balancer) transfer(s, from, to int) {
	h := b.tab.hours
	for t, v := range b.tab.row(s) {
		b.sum[from*h+t] -= v
		b.sum[to*h+t] += v
	}
	l := b.list[from]
	i, last := b.pos[s], l[len(l)-1]
	l[i], b.pos[last] = last, i
	b.list[from] = l[:len(l)-1]
	b.pos[s] = len(b.list[to])
	b.list[to] = append(b.list[to], s)
	b.owners[s] = uint16(to)
	b.loads[from]--
	b.loads[to]++
}
