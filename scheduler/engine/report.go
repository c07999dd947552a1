package engine

import "github.com/imgsched/imgsched/scheduler"

// LoadReport is a node's share of the cluster's work: what it tells the
// other nodes so that status and the cluster-wide load histogram can be
// summed over the members.
type LoadReport struct {
	// Schedules the node executes and images it has in creation now.
	Schedules int
	InFlight  int
	// Planned creations per hour of the week, and the demand the flatness
	// bound is computed from; both sum over nodes.
	Histogram scheduler.Histogram
	Demand    scheduler.Demand
	// ShardHours counts, for each shard with schedules here, the planned
	// creations per hour of the UTC day over a week: what the cluster's
	// leader balances the nodes' hours with.
	ShardHours map[int][24]int32
}

// Load reports the node's current share.
func (e *Engine) Load() LoadReport {
	// The limits' lock is taken alone, as the metrics collector does.
	r := LoadReport{InFlight: e.limits.inFlight()}
	e.mu.Lock()
	defer e.mu.Unlock()
	r.Schedules = e.tab.len()
	r.Histogram = e.planner.Histogram()
	r.Demand = e.planner.Demand()
	r.ShardHours = make(map[int][24]int32)
	for i, en := range e.tab.entries {
		if en.id == "" {
			continue
		}
		slot, ok := e.planner.Slot(scheduler.Key(i))
		if !ok {
			continue
		}
		hours := r.ShardHours[int(en.shard)]
		for _, h := range slot.HoursOfWeek() {
			hours[h%24]++
		}
		r.ShardHours[int(en.shard)] = hours
	}
	return r
}
