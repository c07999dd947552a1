package scheduler

import "time"

// Greedy placement. Each new schedule goes where it raises the load least,
// compared lexicographically: first the busiest hour it would land in, then
// the sum of the loads of its hours, then how far its daily hours stray from
// one base hour, then the expected in-flight minutes. Because every
// schedule lands in the currently emptiest hours its windows allow, the
// histogram stays within one creation of flat for daily-only fleets, and
// close to the window-imposed bound (Demand.Bound) for mixed ones;
// Rebalance repairs what arrival order and removals leave behind.

// score orders candidate placements; smaller is better.
type score struct {
	peak, sum, stray, inflight int64
}

func (a score) less(b score) bool {
	switch {
	case a.peak != b.peak:
		return a.peak < b.peak
	case a.sum != b.sum:
		return a.sum < b.sum
	case a.stray != b.stray:
		return a.stray < b.stray
	}
	return a.inflight < b.inflight
}

// bestDaily picks a base hour b and, for each weekday, an hour within
// MaxShift/2 of b, so consecutive days differ by at most MaxShift (the
// Saturday-to-Sunday step included) and every image stays on its own UTC
// date. Per weekday the choice is independent given b, so the search is
// 24 × 7 × (MaxShift+1) comparisons of packed keys.
func (p *Planner) bestDaily() Slot {
	r := p.maxShift / 2
	// key packs, most significant first, the creations of a cell, the
	// distance to the base hour, and the (capped) in-flight minutes, so one
	// integer comparison orders the hours of a day: fewer creations, then
	// closer to the base hour, then less in flight.
	var key [hoursPerWeek]int64
	for i, c := range p.hist.Creations {
		key[i] = c<<keyCountShift | min(p.hist.InFlight[i], keyStrayUnit-1)
	}
	var (
		best      score
		bestHours [7]uint8
		found     bool
	)
	for b := range 24 {
		var (
			sc    score
			hours [7]uint8
		)
		lo, hi := max(0, b-r), min(23, b+r)
		for w := range 7 {
			row := key[w*24 : w*24+24]
			bh, bk := -1, int64(0)
			for h := lo; h <= hi; h++ {
				k := row[h] + int64(abs(h-b))*keyStrayUnit
				if bh < 0 || k < bk {
					bh, bk = h, k
				}
			}
			hours[w] = uint8(bh)
			c := bk >> keyCountShift
			sc.peak = max(sc.peak, c)
			sc.sum += c
			sc.stray += int64(abs(bh - b))
			sc.inflight += bk & (keyStrayUnit - 1)
		}
		if !found || sc.less(best) {
			best, bestHours, found = sc, hours, true
		}
	}
	s := Slot{kind: Daily, hours: bestHours}
	s.minute = p.bestMinute(s)
	return s
}

// Layout of a packed cell key: creations from bit 40 (a node holds far
// fewer than 2²³ schedules), hours away from the base in bits 36..39 (at
// most 6), in-flight minutes capped below 2³⁶.
const (
	keyCountShift = 40
	keyStrayUnit  = int64(1) << 36
)

// bestWeekly picks the hour of day's 48-hour window with the fewest
// creations, preferring the requested day itself (offsets 12..35), then
// less in flight.
func (p *Planner) bestWeekly(d time.Weekday) Slot {
	c, f := &p.hist.Creations, &p.hist.InFlight
	best := -1
	var bc, bf int64
	var bout bool
	for off := range 48 {
		cell := weeklyCell(d, off)
		out := off < 12 || off >= 36
		cc, ff := c[cell], f[cell]
		if best < 0 || cc < bc || (cc == bc && (!out && bout || out == bout && ff < bf)) {
			best, bc, bf, bout = off, cc, ff, out
		}
	}
	s := Slot{kind: Weekly, day: uint8(d), hours: [7]uint8{uint8(best)}}
	s.minute = p.bestMinute(s)
	return s
}

// bestMinute picks the minute of the hour with the fewest creations
// summed over the slot's cells, so that within an hour creations are
// spread over its minutes as well.
func (p *Planner) bestMinute(s Slot) uint8 {
	var (
		buf  [7]int
		sums [minutesPerHour]int32
	)
	for _, cell := range s.cells(&buf) {
		row := p.minutes[cell*minutesPerHour : cell*minutesPerHour+minutesPerHour]
		for m, v := range row {
			sums[m] += v
		}
	}
	best := 0
	for m, v := range sums {
		if v < sums[best] {
			best = m
		}
	}
	return uint8(best)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
