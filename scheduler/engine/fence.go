package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cluster"
)

// Cloud writes happen outside etcd, where no comparison can fence them.
// Two rules keep a takeover from making a second image of a window:
//
//  1. the old owner sends a write only before its CloudFence deadline, a
//     lower bound of its lease's expiry, so every request of it leaves
//     before a new owner can claim the shard (sendBy);
//  2. the new owner, finding a run some earlier owner left asking for an
//     image and no image of it, waits Config.TakeoverSettle from the
//     takeover before it asks again, so a request sent just in time has
//     landed (and is adopted) by then (settling).

// minSendWindow is the least time before the fence's deadline in which a
// cloud write is still started: closer than that, the request could not
// leave in time, and the pass waits for the next keep-alive instead.
const minSendWindow = 50 * time.Millisecond

// sendBy returns ctx carrying the send deadline of the pass's shard, or
// an error wrapping cluster.ErrFenced when no write may be sent now.
func (p *pass) sendBy(ctx context.Context) (context.Context, error) {
	if p.e.fence == nil {
		return ctx, nil
	}
	d, err := p.e.fence.WriteDeadline(p.shard)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", cluster.ErrFenced, err)
	}
	if time.Until(d) < minSendWindow {
		return nil, fmt.Errorf("%w: lease of shard %d may end within %v", cluster.ErrFenced, p.shard, minSendWindow)
	}
	return cloud.WithSendDeadline(ctx, d), nil
}

// settling reports until when the current run, whose attempt was started
// before this node took the run's shard, must wait for an earlier owner's
// createImage to land; ok is false when it need not wait.
func (p *pass) settling() (until time.Time, ok bool) {
	if p.run == nil || len(p.run.Attempts) == 0 || p.e.cfg.TakeoverSettle <= 0 {
		return time.Time{}, false
	}
	started := p.run.Attempts[len(p.run.Attempts)-1].At
	p.e.mu.Lock()
	gained, owned := p.e.gained[p.shard]
	p.e.mu.Unlock()
	if !owned || !started.Before(gained) {
		return time.Time{}, false
	}
	until = gained.Add(p.e.cfg.TakeoverSettle)
	return until, p.now.Before(until)
}
