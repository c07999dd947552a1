package sharding

import "fmt"

// Stats summarises how evenly an assignment spreads shards.
type Stats struct {
	// Min and Max are the fewest and most shards any member holds.
	Min, Max int
	// MaxOverFair is the largest ratio of a member's shards to its fair
	// count (Shards × capacity / total capacity): 1 is a perfect split,
	// and Assign keeps it at most (1+ε) plus rounding of one shard.
	MaxOverFair float64
}

// Stats returns the count statistics of a; the zero Stats for the zero
// Assignment.
func (a Assignment) Stats() Stats {
	if len(a.members) == 0 {
		return Stats{}
	}
	counts := a.counts()
	var total uint64
	for _, m := range a.members {
		total += m.weight()
	}
	st := Stats{Min: counts[0], Max: counts[0]}
	for i, c := range counts {
		st.Min, st.Max = min(st.Min, c), max(st.Max, c)
		fair := float64(a.Shards()) * float64(a.members[i].weight()) / float64(total)
		if fair > 0 {
			st.MaxOverFair = max(st.MaxOverFair, float64(c)/fair)
		}
	}
	return st
}

// HourPeak returns, for the hourly loads given as to Assign, the largest
// ratio over members and hours of a member's load in an hour to its fair
// share of that hour (the hour's total times the member's share of
// capacity), and floor, a lower bound on that ratio for any assignment of
// these loads to these members: 1, or more when one shard outweighs an
// hour's largest fair share. 1 is a perfect split; Assign's hourly pass
// aims at max(1+δ, floor). Errors wrap ErrShardCount or ErrHourly; an
// empty table gives zeros.
func (a Assignment) HourPeak(hourly [][]float64) (peak, floor float64, err error) {
	tab, err := newHourTable(hourly, a.Shards())
	if err != nil || tab == nil {
		return 0, 0, err
	}
	if len(a.members) == 0 {
		return 0, 0, fmt.Errorf("%w: assignment has no members", ErrShardCount)
	}
	fair := tab.fairShares(a.members)
	return hourPeak(tab.memberSums(a.owners, len(a.members)), fair), tab.hourFloor(fair, len(a.members)), nil
}
