package scheduler

import (
	"fmt"
	"time"
)

// Key identifies a schedule inside a Planner. The caller chooses it (a
// dense index into its own table, or a 64-bit hash of the server id); the
// planner never sees server ids, which keeps its state per schedule to a
// few dozen bytes.
type Key uint64

// DefaultMaxShift is the default bound, in hours, on how much a daily
// slot's hour may differ between consecutive days: consecutive daily
// images are 24 h ± 2 h apart.
const DefaultMaxShift = 2

// Option configures a Planner.
type Option func(*Planner)

// WithMaxShift sets the largest difference, in hours (1..12), between the
// slot hours of two consecutive days of a daily schedule. Larger values
// give the planner more room to absorb a popular weekly day; smaller ones
// keep daily images closer to 24 h apart. 0 keeps daily slots at the same
// hour every day.
func WithMaxShift(hours int) Option {
	return func(p *Planner) { p.maxShift = min(max(hours, 0), 12) }
}

// plan is the planner's state for one schedule: 24 bytes.
type plan struct {
	key    Key
	slot   Slot
	weight uint16 // expected snapshot duration in minutes
}

// Planner places the slots of one node's schedules so that the number of
// image creations per hour of the week is as flat as the windows allow,
// and keeps it so as schedules come and go (see Place and Rebalance).
//
// Invariants: Histogram().Creations is the sum over schedules of their
// slots' cells; every daily slot's consecutive hours differ by at most
// MaxShift; index maps each key to its position in items.
//
// A Planner is not safe for concurrent use.
type Planner struct {
	maxShift  int
	items     []plan
	index     map[Key]int32
	hist      Histogram
	minutes   [hoursPerWeek * minutesPerHour]int32
	demand    Demand
	cursor    int
	lastMoves int // moves made by the last full scan of Rebalance, -1 before one completes
}

// NewPlanner returns an empty planner.
func NewPlanner(opts ...Option) *Planner {
	p := &Planner{maxShift: DefaultMaxShift, index: make(map[Key]int32), lastMoves: -1}
	for _, o := range opts {
		o(p)
	}
	return p
}

// MaxShift returns the bound, in hours, on the day-to-day change of a daily
// slot's hour.
func (p *Planner) MaxShift() int { return p.maxShift }

// Len returns the number of schedules placed.
func (p *Planner) Len() int { return len(p.items) }

// Histogram returns the planned load per hour of the week.
func (p *Planner) Histogram() Histogram { return p.hist }

// Demand returns the schedules counted by window, for Demand.Bound.
func (p *Planner) Demand() Demand { return p.demand }

// Slot returns the slot of key.
func (p *Planner) Slot(key Key) (Slot, bool) {
	i, ok := p.index[key]
	if !ok {
		return Slot{}, false
	}
	return p.items[i].slot, true
}

// Place gives key a slot for schedule s and returns it. A key already
// placed with the same schedule keeps its slot (only its expected duration
// is updated), as SPEC §1 requires when a tenant changes only the
// retention; with another schedule it is placed afresh.
//
// Placement is greedy on the current load: O(24·7·MaxShift) for a daily
// schedule, O(48) for a weekly one.
func (p *Planner) Place(key Key, s Schedule, expected time.Duration) (Slot, error) {
	if err := s.Validate(); err != nil {
		return Slot{}, err
	}
	w := weightOf(expected)
	if i, ok := p.index[key]; ok {
		it := p.items[i]
		if it.slot.Schedule() == s {
			p.account(it, -1)
			it.weight = w
			p.account(it, 1)
			p.items[i] = it
			return it.slot, nil
		}
		p.Remove(key)
	}
	var slot Slot
	if s.Kind == Daily {
		slot = p.bestDaily()
	} else {
		slot = p.bestWeekly(s.Day)
	}
	p.insert(plan{key: key, slot: slot, weight: w})
	return slot, nil
}

// Restore puts key back with a slot chosen earlier (read from storage
// after a restart or a takeover), so that schedules keep their times. It
// rejects a slot that breaks the MaxShift bound.
func (p *Planner) Restore(key Key, slot Slot, expected time.Duration) error {
	if slot.IsZero() || slot.Schedule().Validate() != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSlot, slot)
	}
	if slot.kind == Daily && slot.maxStep() > p.maxShift {
		return fmt.Errorf("%w: %v shifts more than %d h between days", ErrInvalidSlot, slot, p.maxShift)
	}
	p.Remove(key)
	p.insert(plan{key: key, slot: slot, weight: weightOf(expected)})
	return nil
}

// Remove forgets key and reports whether it was placed. O(1).
func (p *Planner) Remove(key Key) bool {
	i, ok := p.index[key]
	if !ok {
		return false
	}
	p.account(p.items[i], -1)
	last := len(p.items) - 1
	if int(i) != last {
		p.items[i] = p.items[last]
		p.index[p.items[i].key] = i
	}
	p.items = p.items[:last]
	delete(p.index, key)
	return true
}

func (p *Planner) insert(it plan) {
	p.index[it.key] = int32(len(p.items))
	p.items = append(p.items, it)
	p.account(it, 1)
}

// account adds (sign 1) or removes (sign −1) an item's load.
func (p *Planner) account(it plan, sign int64) {
	var buf [7]int
	for _, c := range it.slot.cells(&buf) {
		p.addCell(c, it.slot.minute, it.weight, sign)
	}
	if it.slot.kind == Daily {
		p.demand.Daily += sign
	} else {
		p.demand.Weekly[it.slot.day] += sign
	}
}

// addCell adds one creation starting at minute m of hour cell, and its
// expected duration to the in-flight load of that hour and the following
// ones.
func (p *Planner) addCell(cell int, m uint8, weight uint16, sign int64) {
	p.hist.Creations[cell] += sign
	p.minutes[cell*minutesPerHour+int(m)] += int32(sign)
	rest := int64(weight)
	first := min(rest, int64(minutesPerHour-int(m)))
	p.hist.InFlight[cell] += sign * first
	rest -= first
	for h := cell + 1; rest > 0; h++ {
		x := min(rest, minutesPerHour)
		p.hist.InFlight[h%hoursPerWeek] += sign * x
		rest -= x
	}
}

// weightOf converts an expected duration to whole minutes, at least one,
// at most a week.
func weightOf(d time.Duration) uint16 {
	m := (d + time.Minute - 1) / time.Minute
	return uint16(min(max(m, 1), hoursPerWeek*minutesPerHour))
}
