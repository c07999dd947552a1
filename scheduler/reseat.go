package scheduler

import (
	"math"
	"time"
)

// Reseat places key afresh, as Place places a new schedule with its host
// known, and returns the new slot and whether it differs from the old one.
// It is for a schedule whose images have not been taken yet and whose host
// was unknown when it was placed: without the host, its slot could only be
// chosen for flatness, and may overlap its host-mates' images on every day
// to come, which Repair can only undo step by step within the rules that
// keep consecutive images 24 hours apart. With no image taken yet, no such
// rule binds it; only an image still ahead of now stays ahead of now (a
// daily slot keeps today's image later than now, if it was; a weekly slot
// in its open window moves only later), so the run the caller has pending
// keeps a time that has not passed.
//
// The caller must know that no image has been taken for key's schedule;
// the planner does not. O(60·24·7·MaxShift) for a daily schedule.
func (p *Planner) Reseat(key Key, now time.Time) (Slot, bool) {
	i, ok := p.index[key]
	if !ok {
		return Slot{}, false
	}
	it := p.items[i]
	old := it.slot
	at := instantOf(now)
	o := p.occupy(it.host, it.key)
	p.account(it, -1)
	var s Slot
	if old.kind == Daily {
		s = p.reseatDaily(old, o, it.weight, at)
	} else {
		s = p.reseatWeekly(old, o, it.weight, at)
	}
	if s.IsZero() || s == old {
		p.account(it, 1)
		return old, false
	}
	p.items[i].slot = s
	p.account(p.items[i], 1)
	delete(p.tangled, key)
	p.markTangled(int(i))
	return s, true
}

// reseatDaily is bestDaily on o's host with one rule: if today's image of
// old is still ahead of at, today's image of the new slot is too.
func (p *Planner) reseatDaily(old Slot, o *occupancy, weight uint16, at instant) Slot {
	today := at.weekday
	sp := anyHour
	var valid func(Slot) bool
	if int(old.hours[today])*minutesPerHour+int(old.minute) > at.ofDay {
		sp.lo[today] = at.ofDay / minutesPerHour
		valid = func(s Slot) bool {
			return int(s.hours[today])*minutesPerHour+int(s.minute) > at.ofDay
		}
	}
	keys := p.dailyKeys(weight)
	s, _ := p.bestDailyOnHost(&keys, o, weight, &sp, math.MaxInt64, valid)
	return s
}

// reseatWeekly is bestWeekly on o's host, keeping what mayBecome keeps of
// a weekly slot: in its open window, an image still ahead moves only
// later, and one taken or under way does not move.
func (p *Planner) reseatWeekly(old Slot, o *occupancy, weight uint16, at instant) Slot {
	return p.weeklyOnHost(time.Weekday(old.day), o, weight, math.MaxInt64, true, func(s Slot) bool { return p.mayBecome(old, s, at) })
}
