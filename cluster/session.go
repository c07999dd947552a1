package cluster

import (
	"context"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// sessions keeps the node's etcd session: it creates one, registers the node
// under its lease, and when the lease is lost (expired, revoked, or the
// keep-alives could not reach etcd for a TTL) creates another.
//
// Invariant: cur is nil or a session whose registration was written under
// its lease. A session whose Done channel is closed may still be cur for
// the moment it takes run to notice; users select on Done themselves.
type sessions struct {
	client   *clientv3.Client
	ttl      int
	backoff  time.Duration
	lg       *zap.Logger
	register func(ctx context.Context, lease clientv3.LeaseID) error

	// regMu serialises registrations, so that a metadata change (update)
	// and a new session never write the registration out of order.
	regMu sync.Mutex

	mu      sync.Mutex
	cur     *concurrency.Session
	changed chan struct{} // closed and replaced whenever cur changes
	stopped bool          // no new session after stop

	// deadline bounds cur's lease from below; endRenew stops keeping it,
	// with the session (see leaseDeadline).
	deadline leaseDeadline
	endRenew context.CancelFunc
}

func newSessions(client *clientv3.Client, ttl int, backoff time.Duration, lg *zap.Logger,
	register func(context.Context, clientv3.LeaseID) error) *sessions {
	return &sessions{client: client, ttl: ttl, backoff: backoff, lg: lg, register: register, changed: make(chan struct{})}
}

// current returns the live session, or nil, and a channel closed when that
// changes.
func (ss *sessions) current() (*concurrency.Session, <-chan struct{}) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.cur, ss.changed
}

func (ss *sessions) set(s *concurrency.Session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.cur = s
	close(ss.changed)
	ss.changed = make(chan struct{})
}

// wait blocks until there is a session whose lease is still alive, and
// returns it; it returns nil when ctx is done.
func (ss *sessions) wait(ctx context.Context) *concurrency.Session {
	for {
		s, changed := ss.current()
		if sessionLive(s) {
			return s
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}

// writeDeadline returns a lower bound of when the live session s's lease
// expires in etcd (see leaseDeadline), or the zero time if none is known.
func (ss *sessions) writeDeadline(s *concurrency.Session) time.Time {
	return ss.deadline.get(s.Lease())
}

// sessionLive reports whether s is a session whose lease the client still keeps
// alive.
func sessionLive(s *concurrency.Session) bool {
	if s == nil {
		return false
	}
	select {
	case <-s.Done():
		return false
	default:
		return true
	}
}

// run keeps a session until ctx is done or stop is called: it blocks for
// that long. Each lost session is replaced after the backoff.
func (ss *sessions) run(ctx context.Context) {
	for ctx.Err() == nil {
		s, err := ss.open(ctx)
		if err != nil {
			if ctx.Err() == nil {
				ss.lg.Warn("etcd session not created; retrying", zap.Error(err), zap.Duration("backoff", ss.backoff))
			}
			if !pause(ctx, ss.backoff) {
				return
			}
			continue
		}
		if s == nil { // stopped
			return
		}
		ss.lg.Info("etcd session started", zap.String("lease", leaseHex(s.Lease())), zap.Int("ttl_s", ss.ttl))
		select {
		case <-s.Done():
			ss.set(nil)
			ss.mu.Lock()
			stopped := ss.stopped
			ss.mu.Unlock()
			if stopped {
				return
			}
			ss.lg.Warn("etcd session lost; shard claims and leadership are gone with its lease",
				zap.String("lease", leaseHex(s.Lease())))
		case <-ctx.Done():
			return
		}
	}
}

// open creates a session and registers the node under its lease. It
// returns nil, nil if stop was called meanwhile.
func (ss *sessions) open(ctx context.Context) (*concurrency.Session, error) {
	before := time.Now()
	s, err := concurrency.NewSession(ss.client, concurrency.WithTTL(ss.ttl), concurrency.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	rctx, endRenew := context.WithCancel(ctx)
	ss.mu.Lock()
	if ss.endRenew != nil {
		ss.endRenew()
	}
	ss.endRenew = endRenew
	ss.mu.Unlock()
	go ss.deadline.renew(rctx, ss.client, s, ss.ttl, before)
	ss.regMu.Lock()
	defer ss.regMu.Unlock()
	ss.mu.Lock()
	stopped := ss.stopped
	ss.mu.Unlock()
	if stopped {
		ss.revoke(ctx, s)
		return nil, nil
	}
	if err := ss.register(ctx, s.Lease()); err != nil {
		ss.revoke(ctx, s)
		return nil, err
	}
	ss.set(s)
	return s, nil
}

// update writes the registration again under the current lease, after the
// node's metadata changed. Without a live session it does nothing: the
// next session registers the new metadata.
func (ss *sessions) update(ctx context.Context) error {
	ss.regMu.Lock()
	defer ss.regMu.Unlock()
	s, _ := ss.current()
	if !sessionLive(s) {
		return nil
	}
	return ss.register(ctx, s.Lease())
}

// stop ends the current session by revoking its lease, which deletes every
// key attached to it at once, and prevents new ones. It waits for the
// revoke or until ctx is done (the lease then expires after its TTL).
func (ss *sessions) stop(ctx context.Context) error {
	ss.regMu.Lock()
	defer ss.regMu.Unlock()
	ss.mu.Lock()
	ss.stopped = true
	s := ss.cur
	ss.mu.Unlock()
	if s == nil {
		return nil
	}
	err := ss.revoke(ctx, s)
	ss.set(nil)
	return err
}

// orphan stops keeping the current session alive without revoking it, as
// a crash would: its lease expires after the TTL.
func (ss *sessions) orphan() {
	ss.mu.Lock()
	ss.stopped = true
	s := ss.cur
	if ss.endRenew != nil {
		ss.endRenew()
	}
	ss.mu.Unlock()
	if s != nil {
		s.Orphan()
	}
}

func (ss *sessions) revoke(ctx context.Context, s *concurrency.Session) error {
	ss.mu.Lock()
	if ss.endRenew != nil {
		ss.endRenew()
	}
	ss.mu.Unlock()
	s.Orphan()
	_, err := ss.client.Revoke(ctx, s.Lease())
	return err
}

func leaseHex(id clientv3.LeaseID) string { return strconv.FormatInt(int64(id), 16) }

// pause waits d or until ctx is done; it reports whether d passed.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
