package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/imgsched/imgsched/cluster"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

// setOwned makes shards the owned set: entries of shards no longer owned
// are dropped at once (their writes would be fenced anyway), new shards are
// loaded. It returns the lowest revision a load read at (0 when nothing
// was loaded), from which a watch misses nothing.
func (e *Engine) setOwned(ctx context.Context, shards []int) (int64, error) {
	next := make(map[int]bool, len(shards))
	var added []int
	e.mu.Lock()
	for _, s := range shards {
		next[s] = true
		if !e.owned[s] {
			added = append(added, s)
		}
	}
	var lostShards []int
	for s := range e.owned {
		if !next[s] {
			lostShards = append(lostShards, s)
		}
	}
	var lost []string
	if len(lostShards) > 0 {
		for i := range e.tab.entries {
			en := &e.tab.entries[i]
			if en.id != "" && !next[int(en.shard)] && en.flags&flagDrop == 0 {
				lost = append(lost, en.id)
			}
		}
	}
	// Owned before loaded: watch events of a new shard are taken from now
	// on, and a schedule both loaded and announced is queued only once.
	e.owned = next
	now := e.clock.Now()
	for _, s := range added {
		e.gained[s] = now
	}
	for _, s := range lostShards {
		delete(e.gained, s)
	}
	e.mu.Unlock()
	for _, id := range lost {
		e.drop(id)
	}
	// Shards whose reconciles have all ended are released now; the others
	// when their last one finishes (runOne).
	e.mu.Lock()
	idle := lostShards[:0]
	for _, s := range lostShards {
		if e.dropping[s] == 0 {
			idle = append(idle, s)
		}
	}
	e.mu.Unlock()
	e.release(idle)
	return e.loadShards(ctx, added)
}

// loadShard reads shard's schedules and runs and queues each when its
// record says it is next due.
func (e *Engine) loadShard(ctx context.Context, shard int) (int64, error) {
	now := e.clock.Now()
	rev, err := e.store.LoadShard(ctx, shard, func(l cluster.Loaded) error {
		e.admit(l, now)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("engine: load shard %d: %w", shard, err)
	}
	e.wake()
	return rev, nil
}

// admit adds a loaded schedule: its stored slot goes back into the planner
// and it is queued when its record says.
func (e *Engine) admit(l cluster.Loaded, now time.Time) {
	sched := timing(l.Schedule)
	e.mu.Lock()
	defer e.mu.Unlock()
	shard := l.Shard
	if !e.owned[shard] {
		return
	}
	i, _ := e.tab.add(l.ServerID, shard)
	runs := l.Runs
	if slot, err := scheduler.ParseSlot(runs.GetSlot()); err == nil && slot.Schedule() == sched {
		// A slot that breaks the planner's bound is placed afresh by the
		// first reconcile.
		_ = e.planner.Restore(scheduler.Key(i), slot, e.booked(time.Duration(runs.GetObservedDuration()), 0), hostKey(runs.GetHost()))
	}
	if runs.GetMissedWindows() >= uint32(e.cfg.MissedAlert) {
		e.setMissedLocked(i, true)
	}
	if due := dueAtLoad(l, now, e.cfg.GoneGrace); !due.IsZero() {
		e.tab.schedule(i, due.UnixNano())
	}
	e.signalLocked()
}

// dueAtLoad returns when a loaded schedule must next be reconciled, from
// its records alone; zero when only a change can give it work.
func dueAtLoad(l cluster.Loaded, now time.Time, grace time.Duration) time.Time {
	sc, runs := l.Schedule, l.Runs
	if sc.GetState() == imgschedv1.ScheduleState_SERVER_GONE {
		return fromNanos(sc.GetServerGoneAt()).Add(grace)
	}
	if sc.GetRunNowAt() > runs.GetRunNowHandled() {
		return now
	}
	cur := runs.GetCurrent()
	if cur == nil {
		if sc.GetState() == imgschedv1.ScheduleState_PAUSED && runs != nil {
			return time.Time{}
		}
		return now
	}
	switch st := scheduler.State(cur.GetState()); st {
	case scheduler.StatePending, scheduler.StateRetryWait, scheduler.StateWaiting:
		if cur.GetLeftover() == "" {
			return fromNanos(cur.GetNextAt())
		}
	}
	return now
}

// drop forgets serverID: its planner slot, its queue entry and any
// in-flight place. A busy entry is freed when its reconcile finishes.
func (e *Engine) drop(serverID string) {
	e.mu.Lock()
	if i, ok := e.tab.lookup(serverID); ok && e.tab.entries[i].flags&flagDrop == 0 {
		e.setMissedLocked(i, false)
		e.planner.Remove(scheduler.Key(i))
		if shard := int(e.tab.entries[i].shard); !e.tab.remove(i) {
			e.dropping[shard]++
		}
		e.signalLocked()
	}
	e.mu.Unlock()
	e.wakeAll(e.limits.release(serverID))
}

// setMissedLocked sets or clears entry i's missed-windows flag, keeping
// the gauge's count. e.mu must be held.
func (e *Engine) setMissedLocked(i int32, on bool) {
	en := &e.tab.entries[i]
	switch was := en.flags&flagMissed != 0; {
	case on && !was:
		en.flags |= flagMissed
		e.missed++
	case !on && was:
		en.flags &^= flagMissed
		e.missed--
	}
}

// watch follows schedule changes from rev on, queueing the owned ones;
// a compacted revision reloads the owned shards and watches from there.
func (e *Engine) watch(ctx context.Context, rev int64) {
	for ctx.Err() == nil {
		var failed error
		for b := range e.store.WatchSchedules(ctx, rev) {
			if b.Err != nil {
				failed = b.Err
				break
			}
			e.apply(b.Changes)
			rev = b.Revision + 1
		}
		if ctx.Err() != nil {
			return
		}
		if failed == nil || errors.Is(failed, cluster.ErrCompacted) {
			e.log.Warn("engine: schedule watch lost, reloading", zap.Error(failed))
			r, err := e.reload(ctx)
			if err != nil {
				e.log.Error("engine: reload", zap.Error(err))
				if !e.pause(ctx, e.cfg.ErrorBackoff) {
					return
				}
				continue
			}
			rev = r + 1
			continue
		}
		e.log.Warn("engine: schedule watch failed, resuming", zap.Int64("revision", rev), zap.Error(failed))
		if !e.pause(ctx, time.Second) {
			return
		}
	}
}

// pause waits d of clock time, or returns false when ctx ends first.
func (e *Engine) pause(ctx context.Context, d time.Duration) bool {
	t := e.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// apply queues the owned schedules a watch batch changed; a schedule not
// yet known is added, a deleted one reconciled (which forgets it).
func (e *Engine) apply(changes []cluster.ScheduleChange) {
	now := e.clock.Now().UnixNano()
	e.mu.Lock()
	for _, c := range changes {
		if !e.owned[c.Shard] {
			continue
		}
		i, ok := e.tab.lookup(c.ServerID)
		if !ok {
			if c.Deleted {
				continue
			}
			i, _ = e.tab.add(c.ServerID, c.Shard)
		}
		e.tab.schedule(i, now)
	}
	e.signalLocked()
	e.mu.Unlock()
	e.wake()
}

// reload reads every owned shard again after the watch lost track: new
// schedules are added, and every known one is reconciled, which forgets
// those deleted meanwhile.
func (e *Engine) reload(ctx context.Context) (int64, error) {
	e.mu.Lock()
	shards := make([]int, 0, len(e.owned))
	for s := range e.owned {
		shards = append(shards, s)
	}
	now := e.clock.Now().UnixNano()
	for i := range e.tab.entries {
		if e.tab.entries[i].id != "" {
			e.tab.schedule(int32(i), now)
		}
	}
	e.signalLocked()
	e.mu.Unlock()
	return e.loadShards(ctx, shards)
}

// loadShards loads each shard and returns the lowest revision they were
// read at, from which one watch misses none of their changes.
func (e *Engine) loadShards(ctx context.Context, shards []int) (int64, error) {
	var minRev int64
	for _, s := range shards {
		rev, err := e.loadShard(ctx, s)
		if err != nil {
			return 0, err
		}
		if minRev == 0 || rev < minRev {
			minRev = rev
		}
	}
	return minRev, nil
}
