package cluster

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// leaseDeadline knows a lower bound of when a session's lease expires in
// etcd: the local instant at which the last acknowledged keep-alive was
// sent, plus the TTL etcd granted in its answer. etcd renews a lease when
// it processes a keep-alive, which is after it was sent, so the lease lives
// at least until then, however slow the network was.
//
// It exists for writes that etcd cannot fence: a createImage sent to the
// cloud cannot carry a comparison on the claim, so the engine sends it only
// before this bound, with a context that ends there. Any request of this
// node therefore leaves it before its claims can be deleted, and a new
// owner can wait a settle period for such a request to land instead of
// waiting for ever.
//
// The session's own keep-alives (concurrency.Session) cannot be timed, as
// they are sent by the client's lease loop, so the bound is kept by
// separate KeepAliveOnce calls, at a third of the TTL like the session's.
type leaseDeadline struct {
	mu    sync.Mutex
	lease clientv3.LeaseID
	until time.Time
}

// get returns the bound for lease, or the zero time if none is known.
func (d *leaseDeadline) get(lease clientv3.LeaseID) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lease != lease {
		return time.Time{}
	}
	return d.until
}

// set records that lease lives at least until until; only later bounds
// replace earlier ones, and a new lease replaces any bound of an old one.
func (d *leaseDeadline) set(lease clientv3.LeaseID, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lease != lease || until.After(d.until) {
		d.lease, d.until = lease, until
	}
}

// renew keeps the bound of s's lease current until the session ends or
// ctx is done. grantedBefore is an instant before the lease was granted.
func (d *leaseDeadline) renew(ctx context.Context, client *clientv3.Client, s *concurrency.Session, ttl int, grantedBefore time.Time) {
	lease := s.Lease()
	d.set(lease, grantedBefore.Add(time.Duration(ttl)*time.Second))
	every := max(time.Duration(ttl)*time.Second/3, 100*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.Done():
			return
		case <-t.C:
		}
		sent := time.Now()
		actx, cancel := context.WithTimeout(ctx, every)
		resp, err := client.KeepAliveOnce(actx, lease)
		cancel()
		if err == nil && resp.TTL > 0 {
			d.set(lease, sent.Add(time.Duration(resp.TTL)*time.Second))
		}
		// A failure leaves the bound where it was: it runs out, and
		// the session's own loop ends the session.
	}
}
