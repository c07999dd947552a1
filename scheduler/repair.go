package scheduler

import (
	"math/bits"
	"slices"
	"time"
)

// Repair moves key's images that overlap a host-mate's booking to where
// they overlap none, as Rebalance may move them at instant now (the same
// rules: only later in the current window, never a taken image, never
// yesterday's daily hour, consecutive daily images 24 h ± MaxShift apart),
// never raising the busiest hour of the week. It first tries other hours
// at the same minute, then a new slot altogether (minute included; on as
// many days as it can, if not on all), then trading hours with another
// host's schedule (swap.go). Every move it makes leaves fewer pairs of
// overlapping images. It returns the moves, none when key overlaps nothing
// or nothing allowed is clear; a swap moves another schedule too, whose
// move the caller stores like key's.
//
// A caller that learns a schedule's host or a new expected duration calls
// Place (which keeps the slot) and then Repair; Rebalance repairs every
// schedule left overlapping as time makes other hours reachable.
func (p *Planner) Repair(key Key, now time.Time) []Move {
	i, ok := p.index[key]
	if !ok {
		return nil
	}
	r := moveRecorder{p: p}
	p.repair(int(i), instantOf(now), &r)
	if _, ok := p.tangled[key]; ok {
		p.tangled[key] = retryAt(now)
	}
	return r.moves
}

// Tangled reports whether key's images overlap a host-mate's booking.
func (p *Planner) Tangled(key Key) bool {
	i, ok := p.index[key]
	return ok && p.clashes(int(i), false) != 0
}

// repairTangled tries to repair up to maxMoves tangled schedules, in key
// order from where the previous call stopped (so a schedule that cannot be
// repaired now does not cost every call); those repaired, or found clear,
// leave the set.
func (p *Planner) repairTangled(now time.Time, maxMoves int, r *moveRecorder) {
	if len(p.tangled) == 0 {
		return
	}
	at, minute := instantOf(now), now.Unix()/60
	keys := make([]Key, 0, len(p.tangled))
	for k, after := range p.tangled {
		if after <= minute {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.Sort(keys)
	first, _ := slices.BinarySearch(keys, p.tangleCursor)
	for n := range min(len(keys), maxMoves) {
		if len(r.moves) >= maxMoves {
			return
		}
		k := keys[(first+n)%len(keys)]
		p.tangleCursor = k + 1
		i, ok := p.index[k]
		if !ok {
			delete(p.tangled, k)
			continue
		}
		p.repair(int(i), at, r)
		if _, ok := p.tangled[k]; ok {
			p.tangled[k] = retryAt(now)
		}
	}
}

// repairRetry is how long a schedule that could not be repaired waits
// before Rebalance tries again: time makes other hours reachable (a day's
// image is taken, a window opens), not the next call a few minutes on.
const repairRetry = 3 * time.Hour

// retryAt returns the Unix minute from which a repair that failed at now
// is tried again.
func retryAt(now time.Time) int64 { return now.Add(repairRetry).Unix() / 60 }

// repair moves each overlapping position of item i to the emptiest clear
// hour it may move to whose count stays within the busiest hour's, nearest
// first at equal count.
func (p *Planner) repair(i int, at instant, r *moveRecorder) {
	key := p.items[i].key
	set := p.clashes(i, false)
	if set == 0 {
		delete(p.tangled, key)
		return
	}
	c := &p.hist.Creations
	peak := c[0]
	for _, v := range c {
		peak = max(peak, v)
	}
	for k := range positions(p.items[i].slot) {
		if set&(1<<k) == 0 {
			continue
		}
		s := p.items[i].slot
		lo, hi, ok := p.targets(s, k, at)
		if !ok {
			continue
		}
		cur := int(s.hours[k])
		best := -1
		var bc int64
		for pos := lo; pos <= hi; pos++ {
			cc := c[cellOf(s, k, pos)]
			if pos == cur || cc+1 > peak || !p.mayMove(i, k, pos) {
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
	if p.clashes(i, false) != 0 {
		p.replace(i, at, peak, r)
	}
	if p.clashes(i, false) != 0 {
		p.swap(i, at, peak, r)
	}
	if p.clashes(i, false) == 0 {
		delete(p.tangled, key)
	}
}

// replace gives item i a new slot, minute included, whose images overlap
// fewer of its host-mates' bookings (none, if it can) and whose hours all
// keep at most peak creations, as the rules of Repair allow at instant at.
// A daily slot that cannot be cleared on every day is cleared on as many
// as it can: its image then waits for a host-mate's on fewer days.
func (p *Planner) replace(i int, at instant, peak int64, r *moveRecorder) {
	it := p.items[i]
	old := it.slot
	set, pairs := p.overlaps(i, false)
	before := int64(bits.OnesCount8(set))
	o := p.occupy(it.host, it.key)
	p.account(it, -1)
	var s Slot
	if old.kind == Daily {
		s = p.replaceDaily(old, o, it.weight, at, peak, before)
	} else {
		s = p.replaceWeekly(old, o, it.weight, at, peak)
	}
	if s.IsZero() || s == old {
		p.account(it, 1)
		return
	}
	p.items[i].slot = s
	if _, after := p.overlaps(i, false); after >= pairs {
		// Fewer days overlap, but more images on them: no better.
		p.items[i].slot = old
		p.account(it, 1)
		return
	}
	p.account(p.items[i], 1)
	r.record(it.key, old, s)
}

// replaceDaily searches a daily slot for replace: yesterday's hour and,
// once taken, today's stay; today's image, if still ahead, only moves
// later; the first image still ahead stays within MaxShift of the last
// one taken (at the old minute). It returns the zero Slot when no slot is
// clear.
func (p *Planner) replaceDaily(old Slot, o *occupancy, weight uint16, at instant, peak, clashing int64) Slot {
	today, yesterday := at.weekday, (at.weekday+6)%7
	sp := anyHour
	sp.lo[yesterday], sp.hi[yesterday] = int(old.hours[yesterday]), int(old.hours[yesterday])
	if int(old.hours[today])*minutesPerHour+int(old.minute) <= at.ofDay {
		sp.lo[today], sp.hi[today] = int(old.hours[today]), int(old.hours[today])
	}
	valid := func(s Slot) bool { return p.mayBecome(old, s, at) }
	keys := p.dailyKeys(weight)
	s, sc := p.bestDailyOnHost(&keys, o, weight, &sp, peak, valid)
	if s.IsZero() || sc[0] >= clashing {
		return Slot{}
	}
	return s
}

// replaceWeekly searches a weekly slot for replace: clear of the host's
// bookings, its hour below peak creations, and in the open window a slot
// only moves later, and not at all once its image is taken (mayBecome).
func (p *Planner) replaceWeekly(old Slot, o *occupancy, weight uint16, at instant, peak int64) Slot {
	return p.weeklyOnHost(time.Weekday(old.day), o, weight, peak, false, func(s Slot) bool { return p.mayBecome(old, s, at) })
}
