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

// WithRetry tells the planner the executor's retry policy: no slot is
// placed within its Guard of a window's edges (at most 6 h is used), and
// slots from which all its attempts fit before the window's end less the
// guard are preferred at equal load. Default DefaultRetryPolicy().
func WithRetry(policy RetryPolicy) Option {
	return func(p *Planner) {
		policy.Guard = min(max(policy.Guard, 0), 6*time.Hour)
		p.retry = policy
	}
}

// WithHourMargin keeps slots out of the last d of every hour (0..59 min),
// so that an image asked for up to d late still counts in its planned
// hour. Default DefaultHourMargin.
func WithHourMargin(d time.Duration) Option {
	return func(p *Planner) { p.margin = min(max(d, 0), 59*time.Minute) }
}

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
	weight uint16 // expected snapshot duration in minutes, booked on the host
	host   Host
}

// Planner places the slots of one node's schedules so that the number of
// image creations per hour of the week is as flat as the windows allow,
// and keeps it so as schedules come and go (see Place and Rebalance).
//
// Schedules on one hypervisor host (see Host) are placed so that their
// images, each booked for its expected duration, do not overlap, as far as
// their windows allow; Rebalance then restores the flatness without
// making any overlap (place.go says why in that order).
//
// Invariants: Histogram().Creations is the sum over schedules of their
// slots' cells; every daily slot's consecutive hours differ by at most
// MaxShift; index maps each key to its position in items; hosts lists each
// known host's members; every schedule whose bookings overlap a
// host-mate's is in tangled (which may also hold keys that no longer
// overlap, or are gone).
//
// A Planner is not safe for concurrent use.
type Planner struct {
	maxShift int
	retry    RetryPolicy
	margin   time.Duration
	edges    edges
	items    []plan
	index    map[Key]int32
	hosts    map[Host][]Key
	tangled  map[Key]int64 // → the Unix minute from which Rebalance tries to repair it
	hist     Histogram
	minutes  [hoursPerWeek * minutesPerHour]int32
	demand   Demand
	cursor   int
	// tangleCursor is where the next repair of tangled schedules starts.
	tangleCursor Key
	lastMoves    int        // moves made by the last full scan of Rebalance, -1 before one completes
	scratch      *occupancy // for host-aware placement, allocated on first use
}

// NewPlanner returns an empty planner.
func NewPlanner(opts ...Option) *Planner {
	p := &Planner{
		maxShift: DefaultMaxShift, retry: DefaultRetryPolicy(), margin: DefaultHourMargin,
		index: make(map[Key]int32), hosts: make(map[Host][]Key), tangled: make(map[Key]int64), lastMoves: -1,
	}
	for _, o := range opts {
		o(p)
	}
	p.edges = newEdges(p.retry, p.margin)
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

// Place gives key a slot for schedule s and returns it; expected is how
// long its image is expected to hold its host (booked there), host its
// host (0: unknown). A key already placed with the same schedule keeps its
// slot (only its expected duration and host are updated), as SPEC §1
// requires when a tenant changes only the retention; with another schedule
// it is placed afresh. A kept slot that now overlaps a host-mate's booking
// is left for Repair or Rebalance to move (Tangled reports it).
//
// Placement is greedy on the current load: O(24·7·MaxShift) for a daily
// schedule, O(48) for a weekly one, and for a schedule with host-mates
// O(60·24·7·MaxShift) plus rebuilding its host's bookings.
func (p *Planner) Place(key Key, s Schedule, expected time.Duration, host Host) (Slot, error) {
	if err := s.Validate(); err != nil {
		return Slot{}, err
	}
	w := weightOf(expected)
	if i, ok := p.index[key]; ok {
		it := p.items[i]
		if it.slot.Schedule() == s {
			if it.weight != w || it.host != host {
				p.account(it, -1)
				p.leave(key, it.host)
				it.weight, it.host = w, host
				p.items[i] = it
				p.account(it, 1)
				p.join(key, host)
				p.markTangled(int(i))
			}
			return it.slot, nil
		}
		p.Remove(key)
	}
	var slot Slot
	if s.Kind == Daily {
		slot = p.bestDaily(key, w, host)
	} else {
		slot = p.bestWeekly(s.Day, key, w, host)
	}
	p.insert(plan{key: key, slot: slot, weight: w, host: host})
	return slot, nil
}

// Restore puts key back with a slot chosen earlier (read from storage
// after a restart or a takeover), so that schedules keep their times, with
// its expected duration and host as for Place. It rejects a slot that
// breaks the MaxShift bound.
func (p *Planner) Restore(key Key, slot Slot, expected time.Duration, host Host) error {
	if slot.IsZero() || slot.Schedule().Validate() != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSlot, slot)
	}
	if slot.kind == Daily && slot.maxStep() > p.maxShift {
		return fmt.Errorf("%w: %v shifts more than %d h between days", ErrInvalidSlot, slot, p.maxShift)
	}
	p.Remove(key)
	p.insert(plan{key: key, slot: slot, weight: weightOf(expected), host: host})
	return nil
}

// Remove forgets key and reports whether it was placed. O(1), plus the
// host's members.
func (p *Planner) Remove(key Key) bool {
	i, ok := p.index[key]
	if !ok {
		return false
	}
	p.account(p.items[i], -1)
	p.leave(key, p.items[i].host)
	delete(p.tangled, key)
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
	i := len(p.items)
	p.index[it.key] = int32(i)
	p.items = append(p.items, it)
	p.account(it, 1)
	p.join(it.key, it.host)
	p.markTangled(i)
}

// markTangled records item i, and the host-mates it overlaps, as tangled
// when its bookings overlap theirs.
func (p *Planner) markTangled(i int) {
	if p.clashes(i, true) != 0 {
		p.tangled[p.items[i].key] = 0
	}
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
