package engine

import (
	"context"

	"go.uber.org/zap"
)

// rebalanceLoop moves slots towards emptier hours every RebalanceInterval
// until ctx ends.
func (e *Engine) rebalanceLoop(ctx context.Context) {
	for e.pause(ctx, e.cfg.RebalanceInterval) {
		e.Rebalance()
	}
}

// Rebalance moves up to RebalanceMoves slots later towards emptier hours
// (scheduler.Planner.Rebalance) and queues each moved schedule now: its
// reconcile stores the new slot and moves its pending run. It returns the
// number of slots moved.
func (e *Engine) Rebalance() int {
	e.mu.Lock()
	moves := e.planner.Rebalance(e.clock.Now(), e.cfg.RebalanceMoves)
	now := e.clock.Now().UnixNano()
	for _, m := range moves {
		if i := int32(m.Key); int(i) < len(e.tab.entries) && e.tab.entries[i].id != "" {
			e.tab.schedule(i, now)
		}
	}
	if len(moves) > 0 {
		e.signalLocked()
	}
	e.mu.Unlock()
	if len(moves) > 0 {
		e.wake()
		e.log.Debug("engine: slots rebalanced", zap.Int("moves", len(moves)))
	}
	return len(moves)
}
