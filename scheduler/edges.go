package scheduler

import "time"

// Where in its window a slot may start.
//
// No slot starts within the retry policy's Guard of either edge of its
// window: created_at is stamped by the cloud, on the cloud's clock, when the
// request arrives, so an image asked for at the very edge could be counted
// in the neighbouring window (see RetryPolicy.Guard). The executor refuses
// to start an attempt there too; the planner keeps slots out so that it
// never has to.
//
// No slot starts in the last HourMargin minutes of an hour either: flatness
// is measured on the hour of created_at, and an image asked for a little
// late (a busy worker, a slow etcd write, or mostly an earlier image on
// its host that ran longer than the last time) would otherwise count in
// the next hour, which the plan filled to its share already. Nor within
// HourMargin of the guard band at a window's end, for the same reason.
//
// A slot from which all the policy's attempts fit before the window's
// cutoff is preferred at equal load (tail). Weekly slots lose nothing by
// it, since their windows spill twelve hours past the requested day. Daily
// windows need their last hours as much as any other for flatness (a
// twelfth of the daily images start there whatever the preference), so
// the preference only decides which schedules take them: the short ones.
// A long snapshot (at least half the retry interval) ties up its host for
// longer, so an attempt waiting behind it, or a failure found only when it
// ends, leaves less of the day for the retries; a short one that fails is
// retried at once. Preferring every schedule out of the last hours would
// only leave them for whichever schedules arrive last, when their hosts
// are the fullest.
type edges struct {
	allowed [2][48]uint64 // [daily, weekly][position]: minutes a slot may start at
	tail    [2][48]bool   // [daily, weekly][position]: the last attempt would not fit
}

// DefaultHourMargin is the default of WithHourMargin: ten minutes, about
// what a host's previous image runs over when its save takes a fifth
// longer than the last one (save times vary that much), while a sixth of
// each hour's minutes is all it takes from the spread of creations within
// the hour.
const DefaultHourMargin = 10 * time.Minute

func newEdges(policy RetryPolicy, margin time.Duration) edges {
	var e edges
	guard := ceilMinutes(policy.Guard)
	last := minutesPerHour - min(ceilMinutes(margin), minutesPerHour-1)
	span := 0
	if policy.Attempts > 1 {
		span = (policy.Attempts - 1) * ceilMinutes(policy.Interval)
	}
	for k, length := range [2]int{24, 48} {
		end := length * minutesPerHour
		for pos := range length {
			var mask uint64
			first := -1
			for m := range last {
				// The hour margin also keeps a late image before the
				// window's cutoff.
				if at := pos*minutesPerHour + m; at >= guard && at < end-guard-(minutesPerHour-last) {
					mask |= 1 << m
					if first < 0 {
						first = at
					}
				}
			}
			e.allowed[k][pos] = mask
			e.tail[k][pos] = first < 0 || first+span >= end-guard
		}
	}
	return e
}

func ceilMinutes(d time.Duration) int {
	return int(max(d+time.Minute-1, 0) / time.Minute)
}

// row returns the index of kind's rows in edges.
func row(k Kind) int {
	if k == Weekly {
		return 1
	}
	return 0
}

// allowedAt reports whether slot s's minute may start at position pos
// (hour of the date for daily, hour offset into the window for weekly).
func (e *edges) allowedAt(s Slot, pos int) bool {
	return e.allowed[row(s.kind)][pos]&(1<<s.minute) != 0
}

// long reports whether a snapshot of weight minutes is long enough to keep
// daily slots out of the tail hours: half the retry interval or more.
func (p *Planner) long(weight uint16) bool {
	return time.Duration(weight)*time.Minute >= p.retry.Interval/2
}

// mayMove reports whether a move may take position k of item i to
// position pos: its minute must be allowed there, and a long snapshot
// moves into a tail position only from another (Rebalance and Repair
// balance counts alone, and would otherwise undo the preference).
func (p *Planner) mayMove(i, k, pos int) bool {
	it := &p.items[i]
	if !p.edges.allowedAt(it.slot, pos) {
		return false
	}
	tail := &p.edges.tail[row(it.slot.kind)]
	return !tail[pos] || tail[it.slot.hours[k]] || !p.long(it.weight)
}
