package scheduler

import "time"

// Swaps: the last resort of Repair. On a fleet whose hours are all at
// their share, an image that overlaps a host-mate's may find no hour with
// room and no free minute in its own hours. It can still take, for one day
// (or its weekly window), the hour of another host's image that is clear
// for it, if that image moves on: back to the first one's hour (a swap),
// or to any hour it may move to that stays within the busiest hour's
// count. The hours keep within the busiest hour, so flatness is
// untouched, and the overlaps drop.

// swapScan bounds the schedules one swap examines, so a repair costs at
// most a few milliseconds whatever the fleet.
const swapScan = 4096

// swap moves each overlapping position of item i into the hour of another
// host's schedule, scanning from i onwards, where i would be clear, and
// moves that schedule on (see above), when the rules allow both moves at
// instant at (targets). It reports whether i overlaps nothing after.
func (p *Planner) swap(i int, at instant, peak int64, r *moveRecorder) bool {
	n := len(p.items)
	set := p.clashes(i, false)
	o := p.occupy(p.items[i].host, p.items[i].key)
	for k := range positions(p.items[i].slot) {
		if set&(1<<k) == 0 {
			continue
		}
		lo, hi, ok := p.targets(p.items[i].slot, k, at)
		if !ok {
			continue
		}
		for step := 1; step < min(n, swapScan); step++ {
			j := (i + step) % n
			if p.swapAt(o, i, j, k, lo, hi, peak, at, r) {
				break
			}
		}
	}
	return p.clashes(i, false) == 0
}

// swapAt moves position k of item i into the hour of item j's, and j's on,
// if the rules allow; o holds the bookings of i's host-mates.
func (p *Planner) swapAt(o *occupancy, i, j, k, lo, hi int, peak int64, at instant, r *moveRecorder) bool {
	a, b := &p.items[i], &p.items[j]
	if b.slot.kind != a.slot.kind || b.slot.day != a.slot.day || b.host == a.host && a.host != 0 {
		return false
	}
	mine, theirs := int(a.slot.hours[k]), int(b.slot.hours[k])
	if theirs == mine || theirs < lo || theirs > hi || !p.mayMove(i, k, theirs) ||
		!o.fits(startOf(a.slot, k, theirs), int(a.weight)) {
		return false
	}
	blo, bhi, ok := p.targets(b.slot, k, at)
	if !ok {
		return false
	}
	c := &p.hist.Creations
	next := -1
	for pos := blo; pos <= bhi; pos++ {
		if pos == theirs || !p.mayMove(j, k, pos) {
			continue
		}
		count := c[cellOf(b.slot, k, pos)]
		if pos == mine {
			count-- // i leaves it
		}
		if count+1 > peak || next >= 0 && next != mine && pos != mine && count >= c[cellOf(b.slot, k, next)] {
			continue
		}
		if p.freeFor(j, startOf(b.slot, k, pos)) {
			next = pos
		}
	}
	if next < 0 {
		return false
	}
	p.shiftTo(i, k, theirs, r)
	p.shiftTo(j, k, next, r)
	return true
}

// mayBecome reports whether a slot may change from old to s at instant
// at, by the rules of Rebalance: the same schedule; the current window's
// image, once taken or under way, does not move; a daily slot keeps
// yesterday's hour, moves today's image only later, keeps consecutive
// hours within MaxShift and its first image still ahead within MaxShift−1
// hours of the last one taken (so that the two stay within MaxShift of
// 24 h apart, whatever minute each was taken at);
// a weekly slot in its open window moves only later; and s starts only
// where the window's edges allow (edges.go).
func (p *Planner) mayBecome(old, s Slot, at instant) bool {
	if s.kind != old.kind || s.day != old.day {
		return false
	}
	for k := range positions(s) {
		if !p.edges.allowedAt(s, int(s.hours[k])) {
			return false
		}
	}
	if s.kind == Weekly {
		open := weeklyCell(time.Weekday(s.day), 0) * minutesPerHour
		rel := (at.ofWeek - open + weekMinutes) % weekMinutes
		if rel >= 48*minutesPerHour {
			return true
		}
		was := int(old.hours[0])*minutesPerHour + int(old.minute)
		now := int(s.hours[0])*minutesPerHour + int(s.minute)
		if was <= rel {
			return s == old
		}
		return now > rel && now >= was
	}
	if s.maxStep() > p.maxShift {
		return false
	}
	today, yesterday := at.weekday, (at.weekday+6)%7
	if s.hours[yesterday] != old.hours[yesterday] {
		return false
	}
	oldToday := int(old.hours[today])*minutesPerHour + int(old.minute)
	first, last := today, yesterday // the first image still ahead, the last taken
	if oldToday <= at.ofDay {
		// Today's image is taken or under way: its instant stays, minute
		// included.
		if s.hours[today] != old.hours[today] || s.minute != old.minute {
			return false
		}
		first, last = (today+1)%7, today
	} else if newToday := int(s.hours[today])*minutesPerHour + int(s.minute); newToday <= at.ofDay || newToday < oldToday {
		return false
	}
	// Within MaxShift−1 hours, as targets keeps it: the last image may
	// have been taken at an earlier minute.
	return abs(int(s.hours[first])-int(old.hours[last])) <= p.maxShift-1
}
