package scheduler

import "time"

// Move is one slot changed by Rebalance. The caller stores To with the
// schedule; the executor arms its timers from it.
type Move struct {
	Key  Key
	From Slot
	To   Slot
}

// Rebalance moves up to maxMoves slots towards emptier hours and returns
// the moves, at most one per key. It returns no move only when the plan
// cannot improve at instant now: it has converged.
//
// It works in three steps. First, it repairs the schedules whose images
// overlap a host-mate's booking (see Repair). Then local moves: scanning
// from where the previous call stopped, a schedule's image moves from an
// hour with c creations to an hour of the same window with at most c−2.
// Then, with the moves left, chains: a breadth-first search over the 168
// hours, where an edge u→v means "some schedule with an image in u may
// move it to v", finds a path from a busiest hour to an hour with two
// creations fewer, and moves one image along each edge; the hours in
// between keep their counts. Chains are what brings small fleets to the
// integral optimum, and what drains a busiest hour whose own schedules
// have no local move while others keep moving elsewhere. Either way
// Σ creations² drops with every step, and no local or chain move makes an
// image overlap a host-mate's booking or start inside its window's guard
// band (edges.go), so with repairs, which take away an overlap each and
// never raise the busiest hour, the pair (overlaps, Σ creations²) drops
// with every move and repeated calls converge. Local moves cost
// O(schedules examined × MaxShift); a chain search costs
// O(schedules × 48).
//
// Rebalance never gives a window a second image or takes its image away.
// At instant now:
//   - in the window containing now, a slot only moves later, to an instant
//     after both now and its old instant; a slot whose instant has passed
//     (its image is taken or being taken) does not move at all;
//   - a daily slot's hour for yesterday's weekday does not move, so today's
//     image stays within MaxShift of the one actually taken yesterday;
//   - every daily slot keeps consecutive hours within MaxShift.
//
// Windows that have not opened yet may move anywhere inside themselves.
func (p *Planner) Rebalance(now time.Time, maxMoves int) []Move {
	if maxMoves <= 0 || len(p.items) == 0 {
		return nil
	}
	at := instantOf(now)
	r := moveRecorder{p: p}
	p.repairTangled(now, maxMoves, &r)
	p.localMoves(at, maxMoves, &r)
	p.chainMoves(at, maxMoves, &r)
	return r.moves
}

func instantOf(now time.Time) instant {
	now = now.UTC()
	at := instant{weekday: int(now.Weekday()), ofDay: now.Hour()*minutesPerHour + now.Minute()}
	at.ofWeek = at.weekday*24*minutesPerHour + at.ofDay
	return at
}

// instant is now, in the units the plan uses.
type instant struct {
	weekday int // 0 = Sunday
	ofDay   int // minutes since 00:00 UTC
	ofWeek  int // minutes since Sunday 00:00 UTC
}

// moveRecorder collects moves, one per key, the last slot winning.
type moveRecorder struct {
	p     *Planner
	moves []Move
}

func (r *moveRecorder) record(key Key, from, to Slot) {
	for i := range r.moves {
		if r.moves[i].Key == key {
			r.moves[i].To = to
			return
		}
	}
	r.moves = append(r.moves, Move{Key: key, From: from, To: to})
}

// targets returns the range [lo, hi] of positions (hours of the date for a
// daily slot, hour offsets into the window for a weekly one) that position
// k of slot s may move to at instant at, or ok false when it is frozen.
// The current position may lie inside the range.
func (p *Planner) targets(s Slot, k int, at instant) (lo, hi int, ok bool) {
	if s.kind == Weekly {
		open := weeklyCell(time.Weekday(s.day), 0) * minutesPerHour
		const weekMinutes = hoursPerWeek * minutesPerHour
		if rel := (at.ofWeek - open + weekMinutes) % weekMinutes; rel < 48*minutesPerHour {
			off := int(s.hours[0])
			if off*minutesPerHour+int(s.minute) <= rel {
				return 0, 0, false // this window's image is taken or under way
			}
			return off + 1, 47, true
		}
		return 0, 47, true
	}
	if k == (at.weekday+6)%7 {
		return 0, 0, false // yesterday's image anchors today's
	}
	h := int(s.hours[k])
	lo, hi = 0, 23
	todayTaken := int(s.hours[at.weekday])*minutesPerHour+int(s.minute) <= at.ofDay
	if k == at.weekday {
		if todayTaken {
			return 0, 0, false // today's image is taken or under way
		}
		lo = h + 1
	}
	prev, next := int(s.hours[(k+6)%7]), int(s.hours[(k+1)%7])
	// The first image still ahead keeps within MaxShift−1 hours of the last
	// one taken: Repair may change the minute, and whatever the two
	// minutes, the images then stay within MaxShift of 24 h apart.
	back := p.maxShift
	if k == at.weekday || k == (at.weekday+1)%7 && todayTaken {
		back = p.maxShift - 1
	}
	lo = max(lo, prev-back, next-p.maxShift)
	hi = min(hi, prev+back, next+p.maxShift)
	return lo, hi, lo <= hi
}

// cellOf returns the hour of the week of position pos of slot s at index k.
func cellOf(s Slot, k, pos int) int {
	if s.kind == Weekly {
		return weeklyCell(time.Weekday(s.day), pos)
	}
	return k*24 + pos
}

// startOf returns the minute of the week at which position k of slot s
// would start at position pos.
func startOf(s Slot, k, pos int) int {
	return cellOf(s, k, pos)*minutesPerHour + int(s.minute)
}

// positions returns how many positions slot s has: 7 days or 1 window.
func positions(s Slot) int {
	if s.kind == Weekly {
		return 1
	}
	return 7
}

// shiftTo moves position k of item i to pos, updating the load.
func (p *Planner) shiftTo(i int, k, pos int, r *moveRecorder) {
	it := &p.items[i]
	from := it.slot
	p.addCell(cellOf(from, k, int(from.hours[k])), from.minute, it.weight, -1)
	it.slot.hours[k] = uint8(pos)
	p.addCell(cellOf(it.slot, k, pos), from.minute, it.weight, 1)
	r.record(it.key, from, it.slot)
}

// localMoves scans schedules from the cursor, moving each position to the
// emptiest allowed hour when it has at least two creations fewer.
func (p *Planner) localMoves(at instant, maxMoves int, r *moveRecorder) {
	c := &p.hist.Creations
	for scanned := 0; scanned < len(p.items) && len(r.moves) < maxMoves; scanned++ {
		if p.cursor >= len(p.items) {
			p.cursor = 0
		}
		i := p.cursor
		p.cursor++
		for k := range positions(p.items[i].slot) {
			s := p.items[i].slot
			lo, hi, ok := p.targets(s, k, at)
			if !ok {
				continue
			}
			cur := int(s.hours[k])
			from := c[cellOf(s, k, cur)]
			best := -1
			var bc int64
			for pos := lo; pos <= hi; pos++ {
				cc := c[cellOf(s, k, pos)]
				if pos == cur || cc > from-2 || !p.mayMove(i, k, pos) {
					continue
				}
				if (best < 0 || cc < bc || cc == bc && abs(pos-cur) < abs(best-cur)) && p.freeFor(i, startOf(s, k, pos)) {
					best, bc = pos, cc
				}
			}
			if best >= 0 {
				p.shiftTo(i, k, best, r)
			}
		}
	}
}

// chainMoves augments along paths from the busiest hours, as described on
// Rebalance, until maxMoves or no path is left.
func (p *Planner) chainMoves(at instant, maxMoves int, r *moveRecorder) {
	c := &p.hist.Creations
	for round := 0; round < maxMoves && len(r.moves) < maxMoves; round++ {
		peak, low := c[0], c[0]
		for _, v := range c {
			peak, low = max(peak, v), min(low, v)
		}
		if low > peak-2 {
			return // no hour to drain into: the week is flat to within one
		}
		path := chain(p.witnesses(at, peak-1), c, peak)
		if path == nil || len(r.moves)+len(path) > maxMoves {
			return
		}
		// Apply from the sink backwards. Every witness was valid when the
		// graph was built, so the first step always applies; a later one
		// can be stale only when one daily schedule witnesses two edges of
		// the path. Then stop there: the steps applied so far still move
		// one image from an hour with more creations (every hour inside a
		// shortest path has at least peak−1) to one with at most peak−2,
		// and the next call starts afresh.
		for j := len(path) - 1; j >= 0; j-- {
			e := path[j]
			s := p.items[e.item].slot
			lo, hi, ok := p.targets(s, e.k, at)
			if !ok || cellOf(s, e.k, int(s.hours[e.k])) != e.from || e.pos < lo || e.pos > hi ||
				!p.mayMove(int(e.item), e.k, e.pos) || !p.freeFor(int(e.item), startOf(s, e.k, e.pos)) {
				return
			}
			p.shiftTo(int(e.item), e.k, e.pos, r)
		}
	}
}

// witness is one schedule able to move an image from one hour to another.
type witness struct {
	item int32 // -1 when none
	k    int8
	pos  int8
}

// witnesses returns, for each pair of hours (u, v) where u has at least
// floor creations, one schedule that may move an image from u to v at
// instant at. A shortest chain only leaves hours with peak or peak−1
// creations, so other hours need no edges.
func (p *Planner) witnesses(at instant, floor int64) *[hoursPerWeek][hoursPerWeek]witness {
	c := &p.hist.Creations
	var wit [hoursPerWeek][hoursPerWeek]witness
	for u := range wit {
		for v := range wit[u] {
			wit[u][v].item = -1
		}
	}
	for i := range p.items {
		s := p.items[i].slot
		for k := range positions(s) {
			u := cellOf(s, k, int(s.hours[k]))
			if c[u] < floor {
				continue
			}
			lo, hi, ok := p.targets(s, k, at)
			if !ok {
				continue
			}
			for pos := lo; pos <= hi; pos++ {
				v := cellOf(s, k, pos)
				if v == u || wit[u][v].item >= 0 || !p.mayMove(i, k, pos) || !p.freeFor(i, startOf(s, k, pos)) {
					continue
				}
				wit[u][v] = witness{item: int32(i), k: int8(k), pos: int8(pos)}
			}
		}
	}
	return &wit
}

// step is one edge of a chain: move item's position k from hour from to
// position pos.
type step struct {
	item int32
	k    int
	pos  int
	from int
}

// chain finds, breadth-first from every hour with peak creations, a
// shortest path to an hour with at most peak−2, and returns its steps from
// the source; nil when there is none.
func chain(wit *[hoursPerWeek][hoursPerWeek]witness, c *[hoursPerWeek]int64, peak int64) []step {
	var parent [hoursPerWeek]int16
	queue := make([]int, 0, hoursPerWeek)
	for u := range parent {
		parent[u] = -2 // unvisited
		if c[u] == peak {
			parent[u] = -1
			queue = append(queue, u)
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for v := range hoursPerWeek {
			if parent[v] != -2 || wit[u][v].item < 0 {
				continue
			}
			parent[v] = int16(u)
			if c[v] <= peak-2 {
				var path []step
				for x := v; parent[x] >= 0; x = int(parent[x]) {
					w := wit[parent[x]][x]
					path = append(path, step{item: w.item, k: int(w.k), pos: int(w.pos), from: int(parent[x])})
				}
				for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
					path[i], path[j] = path[j], path[i]
				}
				return path
			}
			queue = append(queue, v)
		}
	}
	return nil
}
