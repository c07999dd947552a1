package cluster

import (
	"context"
	"sync"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// elector campaigns for leadership with each of the node's sessions and,
// while elected, runs the leader loop.
//
// Invariant: the node acts as leader only inside lead, whose context ends
// the moment the session that won the election is lost (Session.Ctx is
// cancelled when its keep-alives stop); and every write lead makes is
// conditioned on the election key in etcd, which vanishes with the lease.
// A new session campaigns afresh.
type elector struct {
	name     string
	keys     keys
	sessions *sessions
	backoff  time.Duration
	lg       *zap.Logger
	// lead runs while elected; it returns when ctx is done or the node is
	// no longer leader (ErrNotLeader).
	lead func(ctx context.Context, key string, rev int64) error

	mu  sync.Mutex
	key string // the election key while leading, "" otherwise
	rev int64  // its create revision
}

// leading returns the election key and its create revision while this
// node leads.
func (el *elector) leading() (key string, rev int64, ok bool) {
	el.mu.Lock()
	defer el.mu.Unlock()
	return el.key, el.rev, el.key != ""
}

func (el *elector) set(key string, rev int64) {
	el.mu.Lock()
	defer el.mu.Unlock()
	el.key, el.rev = key, rev
}

// run campaigns until ctx is done, blocking that long. Cancelling ctx stops
// the campaign and the leader loop without resigning: the caller revokes
// or orphans the session, and with it the election key.
func (el *elector) run(ctx context.Context) {
	for {
		s := el.sessions.wait(ctx)
		if s == nil {
			return
		}
		err := el.term(ctx, s)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			el.lg.Warn("leadership ended", zap.Error(err))
			if sessionLive(s) && !pause(ctx, el.backoff) {
				return
			}
		}
	}
}

// term campaigns with session s and leads if elected, until s is lost, ctx
// is done or the node is deposed.
func (el *elector) term(ctx context.Context, s *concurrency.Session) error {
	sctx, cancel := context.WithCancel(s.Ctx())
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()

	e := concurrency.NewElection(s, el.keys.election())
	if err := e.Campaign(sctx, el.name); err != nil {
		return err
	}
	key, rev := e.Key(), e.Rev()
	el.set(key, rev)
	el.lg.Info("elected leader", zap.String("key", key), zap.Int64("rev", rev))
	err := el.lead(sctx, key, rev)
	el.set("", 0)
	el.lg.Info("no longer leader", zap.Error(err))
	if ctx.Err() == nil && sessionLive(s) {
		// Deposed or failed while the session lives: give up the key, if it
		// is still there, so that the next campaign starts clean.
		rctx, rcancel := context.WithTimeout(s.Ctx(), el.backoff)
		_ = e.Resign(rctx)
		rcancel()
	}
	return err
}
