package sharding

import "fmt"

// Assign computes the assignment of cfg.Shards shards to members that
// follows prev (the zero Assignment if there is none), with epoch
// prev.Epoch()+1.
//
// hourly is optional: nil, or one row per shard of HoursPerDay or
// HoursPerWeek expected creations per hour. With it, Assign also balances
// each member's load hour by hour (pass 3 below).
//
// The result is a deterministic function of (cfg, the set of members,
// prev, hourly): every node computing it gets the same answer, whatever the
// order of members. Three passes, each keeping the count bound
// ⌈(1+ε) × Shards × capacity / total capacity⌉ for every member:
//  1. consistent hashing with bounded loads over a ring of virtual nodes;
//  2. unless cfg.DisableSticky or there is no previous assignment, the
//     sticky pass: joining members take their share from the first pass
//     (at most their fair count),
//     every other shard stays with its previous owner while that owner is
//     below its bound, and the rest walk the ring as in the first pass;
//  3. with hourly loads and cfg.HourMoves ≥ 0, the hourly pass: moves and
//     swaps that lower the worst ratio, over members and hours, of a
//     member's load to its fair share of that hour, until it is at most
//     max(1+δ, the floor one shard's load imposes) or cfg.HourMoves shards
//     have left their previous owner.
//
// Errors wrap ErrConfig, ErrNoMembers, ErrMember, ErrShardCount (prev or
// hourly made for another shard count) or ErrHourly.
func Assign(cfg Config, members []Member, prev Assignment, hourly [][]float64) (Assignment, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Assignment{}, err
	}
	ms, err := normalizeMembers(members)
	if err != nil {
		return Assignment{}, err
	}
	if n := prev.Shards(); n != 0 && n != cfg.Shards {
		return Assignment{}, fmt.Errorf("%w: previous assignment has %d shards, config %d", ErrShardCount, n, cfg.Shards)
	}
	tab, err := newHourTable(hourly, cfg.Shards)
	if err != nil {
		return Assignment{}, err
	}

	bounds := loadBounds(ms, cfg.Shards, cfg.Epsilon)
	r := newRing(ms, cfg.VirtualNodes)
	owners, loads, err := boundedPass(r, bounds, cfg.Shards)
	if err != nil {
		return Assignment{}, err
	}
	prevOwner, fresh := remapOwners(prev, ms, cfg.Shards)
	if !cfg.DisableSticky && prev.Shards() != 0 {
		owners, loads, err = stickyPass(r, ms, owners, bounds, prevOwner, fresh)
		if err != nil {
			return Assignment{}, err
		}
	}
	if budget := cfg.hourMoves(len(ms)); tab != nil && budget > 0 {
		balanceHours(tab, ms, owners, loads, bounds, prevOwner, cfg.HourDelta, budget)
	}
	return Assignment{epoch: prev.epoch + 1, members: ms, owners: owners}, nil
}
