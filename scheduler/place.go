package scheduler

import (
	"math"
	"math/bits"
	"time"
)

// Greedy placement. Each new schedule goes where it raises the load least,
// compared lexicographically: first how many of its images would overlap a
// host-mate's booking, then the busiest hour it would land in, then the
// sum of the loads of its hours, then how many of its hours leave too
// little room for its retries (edges.go), then how far its daily hours
// stray from one base hour, then the expected in-flight minutes, and last,
// for a schedule with host-mates, how tightly its images pack against the
// host's other bookings and how few creations share its minute.
//
// Host conflicts come first because an overlap costs twice: the later
// image waits, and a wait past the end of its hour moves a creation into
// the next hour, which is flatness lost where it is measured (by the
// hour the image is asked for). An hour one creation busier than the
// others costs only until Rebalance, which moves slots towards emptier
// hours (never onto a host-mate's booking) and so restores the flatness.
// Without host-mates, every schedule lands in the currently emptiest hours
// its windows allow, so the histogram stays within one creation of flat
// for daily-only fleets, and close to the window-imposed bound
// (Demand.Bound) for mixed ones.
//
// A schedule without host-mates has its hours chosen first and its minute
// after (the least used minute of those hours); one with host-mates has
// both chosen together, since whether an image fits on its host depends on
// the minute.

// score orders candidate placements; smaller is better. Its fields, most
// significant first (daily; weekly slots use the same order where it
// applies): conflicts, peak, sum, tail, stray, in-flight, waste, minute
// creations.
type score [8]int64

func (a score) less(b score) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Layout of a packed cell key, so that one integer comparison orders the
// hours of a day, most significant first: a host conflict (bit 61), the
// creations capped below by the day's peak (bits 42..60, filled in per
// base hour), a tail hour (bit 41: a long snapshot avoids the last hours
// unless that would raise the day's peak), the creations (bits 22..40: a
// node holds far fewer than 2¹⁹ schedules per hour), hours away from the
// base (bits 19..21, at most 6), in-flight minutes capped below 2¹⁹.
const (
	keyConflictShift = 61
	keyCappedShift   = 42
	keyTailShift     = 41
	keyCountShift    = 22
	keyStrayShift    = 19
	keyCountMask     = int64(1)<<19 - 1
	keyInFlightMask  = int64(1)<<keyStrayShift - 1
)

// dailyKeys packs, for every hour of the week, its creations, whether it
// is a tail hour for a daily slot of weight minutes (edges.go: only long
// snapshots avoid them), and its in-flight minutes.
func (p *Planner) dailyKeys(weight uint16) (key [hoursPerWeek]int64) {
	long := p.long(weight)
	for c, n := range p.hist.Creations {
		var tail int64
		if long && p.edges.tail[0][c%24] {
			tail = 1
		}
		key[c] = min(n, keyCountMask)<<keyCountShift | tail<<keyTailShift | min(p.hist.InFlight[c], keyInFlightMask)
	}
	return key
}

// span is, per weekday, the hours a daily slot's position may take.
type span struct{ lo, hi [7]int }

// anyHour lets every position take any hour of its date.
var anyHour = span{hi: [7]int{23, 23, 23, 23, 23, 23, 23}}

// bestDaily picks a base hour b and, for each weekday, an hour within
// MaxShift/2 of b, so consecutive days differ by at most MaxShift (the
// Saturday-to-Sunday step included) and every image stays on its own UTC
// date. Per weekday the choice is independent given b (and, with
// host-mates, the minute), so the search is 24 × 7 × (MaxShift+1)
// comparisons of packed keys, times 60 minutes with host-mates.
func (p *Planner) bestDaily(key Key, weight uint16, host Host) Slot {
	keys := p.dailyKeys(weight)
	if p.hostMembers(host, key) {
		s, _ := p.bestDailyOnHost(&keys, p.occupy(host, key), weight, &anyHour, math.MaxInt64, nil)
		return s
	}
	allowed := &p.edges.allowed[0]
	var (
		best      score
		bestHours [7]uint8
		found     bool
	)
	for b := range 24 {
		sc, hours, ok := p.dailyHours(&keys, b, &anyHour, func(cell int) (int64, bool) { return 0, allowed[cell%24] != 0 })
		if ok && (!found || sc.less(best)) {
			best, bestHours, found = sc, hours, true
		}
	}
	s := Slot{kind: Daily, hours: bestHours}
	s.minute = p.bestMinute(s)
	return s
}

// dailyHours picks, for base hour b, the best hour of each weekday within
// sp by key plus what extra(cell) adds, among the hours extra allows, and
// scores the choice; ok is false when a weekday has no hour left.
//
// It takes two passes: the first finds the peak, the largest over
// weekdays of the fewest creations an hour offers; the second compares
// hours with their creations capped below by the peak, so that a weekday
// takes a conflict-free hour rather than an emptier conflicting one as long
// as that does not raise the peak.
func (p *Planner) dailyHours(keys *[hoursPerWeek]int64, b int, sp *span, extra func(cell int) (int64, bool)) (sc score, hours [7]uint8, ok bool) {
	r := p.maxShift / 2
	var peak int64
	for pass := range 2 {
		for w := range 7 {
			lo, hi := max(sp.lo[w], b-r), min(sp.hi[w], b+r)
			bh, bk := -1, int64(0)
			for h := lo; h <= hi; h++ {
				x, allowed := extra(w*24 + h)
				if !allowed {
					continue
				}
				k := keys[w*24+h] + x + int64(abs(h-b))<<keyStrayShift
				if pass == 0 {
					// The peak is the fewest creations on offer, tail or not.
					k &^= 1 << keyTailShift
				} else {
					k += max(k>>keyCountShift&keyCountMask, peak) << keyCappedShift
				}
				if bh < 0 || k < bk {
					bh, bk = h, k
				}
			}
			if bh < 0 {
				return score{}, hours, false
			}
			c := bk >> keyCountShift & keyCountMask
			if pass == 0 {
				peak = max(peak, c)
				continue
			}
			hours[w] = uint8(bh)
			sc[0] += bk >> keyConflictShift & 1
			sc[1] = max(sc[1], c)
			sc[2] += c
			sc[3] += bk >> keyTailShift & 1
			sc[4] += int64(abs(bh - b))
			sc[5] += bk & keyInFlightMask
		}
	}
	return sc, hours, true
}

// bestDailyOnHost is bestDaily for a schedule with host-mates, whose
// bookings o holds: it tries every minute, so that its seven images fit
// between the host's bookings, with each weekday's hour within sp and
// below limit creations. When valid is not nil it also vets each
// candidate slot. It returns the zero Slot when no candidate is left.
func (p *Planner) bestDailyOnHost(keys *[hoursPerWeek]int64, o *occupancy, weight uint16, sp *span, limit int64, valid func(Slot) bool) (Slot, score) {
	allowed := &p.edges.allowed[0]
	var (
		best score
		bs   Slot
	)
	for m := range minutesPerHour {
		bit := uint64(1) << m
		extra := func(cell int) (int64, bool) {
			if allowed[cell%24]&bit == 0 || p.hist.Creations[cell] >= limit {
				return 0, false
			}
			if o.fits(cell*minutesPerHour+m, int(weight)) {
				return 0, true
			}
			return 1 << keyConflictShift, true
		}
		for b := range 24 {
			sc, hours, ok := p.dailyHours(keys, b, sp, extra)
			if !ok {
				continue
			}
			s := Slot{kind: Daily, minute: uint8(m), hours: hours}
			if valid != nil && !valid(s) {
				continue
			}
			var buf [7]int
			for _, c := range s.cells(&buf) {
				sc[6] += o.waste(c*minutesPerHour+m, int(weight))
				sc[7] += int64(p.minutes[c*minutesPerHour+m])
			}
			if bs.IsZero() || sc.less(best) {
				best, bs = sc, s
			}
		}
	}
	return bs, best
}

// hostMembers reports whether host has members other than key, which
// placing key must keep clear of.
func (p *Planner) hostMembers(host Host, key Key) bool {
	if host == 0 {
		return false
	}
	for _, k := range p.hosts[host] {
		if k != key {
			return true
		}
	}
	return false
}

// bestWeekly picks the hour of day's 48-hour window with the fewest
// creations, preferring, in this order, no overlap with a host-mate's
// booking, the requested day itself (offsets 12..35), room for every
// retry, then less in flight; with host-mates the minute is chosen with
// the hour.
func (p *Planner) bestWeekly(d time.Weekday, key Key, weight uint16, host Host) Slot {
	if p.hostMembers(host, key) {
		return p.weeklyOnHost(d, p.occupy(host, key), weight, math.MaxInt64, true, nil)
	}
	c, f := &p.hist.Creations, &p.hist.InFlight
	var (
		best score
		bs   Slot
	)
	for off := range 48 {
		if p.edges.allowed[1][off] == 0 {
			continue
		}
		cell := weeklyCell(d, off)
		sc := score{0, c[cell], p.weeklyOut(off), p.weeklyTail(off), f[cell]}
		if bs.IsZero() || sc.less(best) {
			best, bs = sc, Slot{kind: Weekly, day: uint8(d), hours: [7]uint8{uint8(off)}}
		}
	}
	bs.minute = p.bestMinute(bs)
	return bs
}

// weeklyOnHost is bestWeekly for a schedule with host-mates, whose
// bookings o holds: it tries every hour and minute of day's window, ranked
// as bestWeekly ranks hours, then by how tightly the image packs against
// the host's bookings and how few creations share its minute. It skips
// hours with limit creations or more, minutes that overlap a booking
// unless overlapOK, and slots valid rejects (nil: none). It returns the
// zero Slot when no candidate is left.
func (p *Planner) weeklyOnHost(d time.Weekday, o *occupancy, weight uint16, limit int64, overlapOK bool, valid func(Slot) bool) Slot {
	c, f := &p.hist.Creations, &p.hist.InFlight
	var (
		best score
		bs   Slot
	)
	for off := range 48 {
		cell := weeklyCell(d, off)
		if c[cell] >= limit {
			continue
		}
		for mask := p.edges.allowed[1][off]; mask != 0; mask &= mask - 1 {
			m := bits.TrailingZeros64(mask)
			start := cell*minutesPerHour + m
			var clash int64
			if !o.fits(start, int(weight)) {
				if !overlapOK {
					continue
				}
				clash = 1
			}
			s := Slot{kind: Weekly, day: uint8(d), minute: uint8(m), hours: [7]uint8{uint8(off)}}
			if valid != nil && !valid(s) {
				continue
			}
			sc := score{clash, c[cell], p.weeklyOut(off), p.weeklyTail(off), f[cell], o.waste(start, int(weight)), int64(p.minutes[start])}
			if bs.IsZero() || sc.less(best) {
				best, bs = sc, s
			}
		}
	}
	return bs
}

// weeklyOut is 1 for the offsets of a weekly window outside its requested
// day (the 12 hours on each side), which placement avoids when it can.
func (p *Planner) weeklyOut(off int) int64 {
	if off < 12 || off >= 36 {
		return 1
	}
	return 0
}

// weeklyTail is 1 for the offsets too close to the window's end for every
// retry (edges.go).
func (p *Planner) weeklyTail(off int) int64 {
	if p.edges.tail[1][off] {
		return 1
	}
	return 0
}

// bestMinute picks, among the minutes the slot's positions allow, the one
// with the fewest creations summed over the slot's cells, so that within
// an hour creations are spread over its minutes as well.
func (p *Planner) bestMinute(s Slot) uint8 {
	var (
		buf  [7]int
		sums [minutesPerHour]int32
	)
	mask := ^uint64(0)
	for k, cell := range s.cells(&buf) {
		mask &= p.edges.allowed[row(s.kind)][s.hours[k]]
		row := p.minutes[cell*minutesPerHour : cell*minutesPerHour+minutesPerHour]
		for m, v := range row {
			sums[m] += v
		}
	}
	if mask == 0 {
		// Only a guard of hours leaves no minute common to all the
		// positions; the executor's guard still holds.
		mask = p.edges.allowed[row(s.kind)][s.hours[0]] | 1
	}
	best := -1
	for ; mask != 0; mask &= mask - 1 {
		m := bits.TrailingZeros64(mask)
		if m < minutesPerHour && (best < 0 || sums[m] < sums[best]) {
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
