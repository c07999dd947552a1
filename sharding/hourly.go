package sharding

import (
	"fmt"
	"math"
)

// Hourly loads: what the caller supplies and how it is held.
//
// The caller passes, per shard, the expected image creations in each hour:
// HoursPerDay values (hour of the UTC day) or HoursPerWeek values (hour of
// the week from Sunday 00:00 UTC). Values are quantised to 1/hourScale of a
// creation and summed as integers, so sums are exact and every node, on any
// architecture, compares the same numbers.

// Supported lengths of an hourly load row.
const (
	HoursPerDay  = 24
	HoursPerWeek = 168
)

const (
	hourScale    = 1 << 16 // fixed-point units per expected creation
	maxHourValue = 1 << 30 // largest accepted value; keeps sums far from overflow
)

// hourTable is a validated, quantised hourly load table.
//
// Invariant: len(q) == shards × hours; q[s*hours+t] ≥ 0 is shard s's load in
// hour t, in units of 1/hourScale creation.
type hourTable struct {
	hours int
	q     []int64
}

// newHourTable validates and quantises hourly. It returns nil for an empty
// table (no hourly balancing), or an error wrapping ErrShardCount or
// ErrHourly.
func newHourTable(hourly [][]float64, shards int) (*hourTable, error) {
	if len(hourly) == 0 {
		return nil, nil
	}
	if len(hourly) != shards {
		return nil, fmt.Errorf("%w: %d hourly rows for %d shards", ErrShardCount, len(hourly), shards)
	}
	h := len(hourly[0])
	if h != HoursPerDay && h != HoursPerWeek {
		return nil, fmt.Errorf("%w: rows of %d hours, want %d or %d", ErrHourly, h, HoursPerDay, HoursPerWeek)
	}
	q := make([]int64, shards*h)
	for s, row := range hourly {
		if len(row) != h {
			return nil, fmt.Errorf("%w: shard %d has %d hours, shard 0 has %d", ErrHourly, s, len(row), h)
		}
		for t, v := range row {
			if !(v >= 0 && v <= maxHourValue) {
				return nil, fmt.Errorf("%w: shard %d hour %d value %v not in [0, %d]", ErrHourly, s, t, v, maxHourValue)
			}
			q[s*h+t] = int64(math.Round(v * hourScale))
		}
	}
	return &hourTable{hours: h, q: q}, nil
}

// row returns shard s's quantised loads.
func (h *hourTable) row(s int) []int64 { return h.q[s*h.hours : (s+1)*h.hours] }

// fairShares returns fair[m*hours+t]: hour t's total load times member m's
// share of capacity, the load m would carry in a perfect split. It is 0
// for hours nobody has load in.
func (h *hourTable) fairShares(ms []Member) []float64 {
	total := make([]int64, h.hours)
	for s := range len(h.q) / h.hours {
		for t, v := range h.row(s) {
			total[t] += v
		}
	}
	var capacity uint64
	for _, m := range ms {
		capacity += m.weight()
	}
	fair := make([]float64, len(ms)*h.hours)
	for i, m := range ms {
		share := float64(m.weight()) / float64(capacity)
		for t, v := range total {
			fair[i*h.hours+t] = float64(v) * share
		}
	}
	return fair
}

// memberSums returns sum[m*hours+t]: the load of member m's shards in hour t.
func (h *hourTable) memberSums(owners []uint16, members int) []int64 {
	sum := make([]int64, members*h.hours)
	for s, o := range owners {
		base := int(o) * h.hours
		for t, v := range h.row(s) {
			sum[base+t] += v
		}
	}
	return sum
}

// hourPeak returns the largest ratio, over members and hours, of a member's
// load to its fair share of that hour: 1 is a perfect split. Hours with no
// load anywhere are skipped.
func hourPeak(sum []int64, fair []float64) float64 {
	p := 0.0
	for i, f := range fair {
		if f > 0 {
			p = max(p, float64(sum[i])/f)
		}
	}
	return p
}

// hourFloor returns a lower bound on hourPeak for any assignment: 1 (some
// member carries at least its share of every hour), or more when a single
// shard's load in an hour exceeds the largest fair share of that hour.
func (h *hourTable) hourFloor(fair []float64, members int) float64 {
	best := make([]float64, h.hours)
	for m := range members {
		for t := range h.hours {
			best[t] = max(best[t], fair[m*h.hours+t])
		}
	}
	floor := 1.0
	for s := range len(h.q) / h.hours {
		for t, v := range h.row(s) {
			if best[t] > 0 {
				floor = max(floor, float64(v)/best[t])
			}
		}
	}
	return floor
}
