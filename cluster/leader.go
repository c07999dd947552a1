package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/sharding"
)

var (
	// ErrNotLeader means a publish was refused because the caller's
	// election key is gone: it no longer leads.
	ErrNotLeader = errors.New("cluster: not the leader")
	// errAssignmentChanged means the assignment changed since the leader
	// read it, so it computed from a stale one.
	errAssignmentChanged = errors.New("cluster: assignment changed meanwhile")
)

// leader is the leader's reconcile loop: it compares the published
// assignment with the live members and, once membership has settled,
// publishes the next one. It is level-triggered: a new leader, or one that
// failed halfway, simply reconciles again.
type leader struct {
	name    string
	client  *clientv3.Client
	keys    keys
	cfg     sharding.Config
	quiet   time.Duration
	delay   time.Duration
	backoff time.Duration
	view    *view
	gossip  *gossip
	lg      *zap.Logger
}

// lead runs while this node holds the election key key (created at rev).
// It returns ErrNotLeader once the view shows the key gone, or ctx's error
// when ctx is done.
func (l *leader) lead(ctx context.Context, key string, rev int64) error {
	deb := sharding.Debouncer{Quiet: l.quiet, MaxDelay: l.delay}
	// A new leader reconciles at once: whatever changed while nobody led
	// has waited long enough.
	deb.Observe(time.Now().Add(-l.quiet))
	var last []sharding.Member
	first := true
	var retryAt time.Time
	for {
		st, vch := l.view.current()
		alive, gch := l.gossip.current()
		if st.rev >= rev && !hasCandidate(st, key) {
			return ErrNotLeader
		}
		now := time.Now()
		ms := liveMembers(st, alive)
		if !first && !sameMembers(ms, last) {
			deb.Observe(now)
		}
		first, last = false, ms

		if deb.Ready(now) && !now.Before(retryAt) {
			err := l.reconcile(ctx, key, rev, ms)
			switch {
			case err == nil:
				deb.Done(now)
			case errors.Is(err, ErrNotLeader) || ctx.Err() != nil:
				return err
			default:
				l.lg.Warn("assignment not published; retrying", zap.Error(err), zap.Duration("backoff", l.backoff))
				retryAt = now.Add(l.backoff)
			}
		}

		var timer *time.Timer
		var tc <-chan time.Time
		if at, ok := deb.Deadline(); ok {
			if retryAt.After(at) {
				at = retryAt
			}
			timer = time.NewTimer(time.Until(at))
			tc = timer.C
		}
		select {
		case <-vch:
		case <-gch:
		case <-tc:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// reconcile reads the published assignment and, if its members differ from
// ms, computes and publishes the next one.
func (l *leader) reconcile(ctx context.Context, key string, rev int64, ms []sharding.Member) error {
	if len(ms) == 0 {
		l.lg.Warn("no live member to assign shards to")
		return nil
	}
	resp, err := l.client.Get(ctx, l.keys.assignment())
	if err != nil {
		return fmt.Errorf("read assignment: %w", err)
	}
	var prev sharding.Assignment
	var prevRev int64
	if len(resp.Kvs) == 1 {
		prevRev = resp.Kvs[0].ModRevision
		if err := prev.UnmarshalBinary(resp.Kvs[0].Value); err != nil || prev.Shards() != l.cfg.Shards {
			// Shard counts never change; an unreadable or foreign
			// assignment is replaced, keeping its epoch going up.
			l.lg.Error("replacing unusable assignment", zap.Error(err), zap.Int("shards", prev.Shards()))
			prev = sharding.Assignment{}.WithEpoch(prev.Epoch())
		}
	}
	if prev.Shards() == l.cfg.Shards && prev.SameMembers(ms) {
		return nil
	}
	// Each node's per-hour load stays within bound: the nodes' reports of
	// their shards' planned hours feed the assignment's hourly pass.
	loads, err := readLoads(ctx, l.client, l.keys.prefix+"/cluster/load/")
	if err != nil {
		return err
	}
	next, err := sharding.Assign(l.cfg, ms, prev, shardHours(loads, ms, l.cfg.Shards))
	if err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	if err := publishAssignment(ctx, l.client, l.keys, key, rev, prevRev, next); err != nil {
		return err
	}
	stats := next.Stats()
	l.lg.Info("published assignment", zap.Uint64("epoch", next.Epoch()), zap.Int("members", len(ms)),
		zap.Int("moved", len(sharding.Diff(prev, next))), zap.Int("max_shards", stats.Max),
		zap.Float64("max_over_fair", stats.MaxOverFair))
	return nil
}

// publishAssignment writes a as the cluster's assignment if, in the same
// transaction, the election key leaderKey still has create revision
// leaderRev (its writer still leads) and the assignment key still has mod
// revision prevRev (0: absent), the one a was computed from:
//
//	If(CreateRevision(leaderKey) == leaderRev, ModRevision(assignment) == prevRev)
//	Then(Put(assignment, a))
//	Else(Get(leaderKey))
//
// A deposed leader gets ErrNotLeader; a stale read, errAssignmentChanged.
func publishAssignment(ctx context.Context, client *clientv3.Client, k keys, leaderKey string, leaderRev, prevRev int64, a sharding.Assignment) error {
	b, err := a.MarshalBinary()
	if err != nil {
		return err
	}
	resp, err := client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(leaderKey), "=", leaderRev),
			clientv3.Compare(clientv3.ModRevision(k.assignment()), "=", prevRev)).
		Then(clientv3.OpPut(k.assignment(), string(b))).
		Else(clientv3.OpGet(leaderKey)).
		Commit()
	if err != nil {
		return fmt.Errorf("publish assignment: %w", err)
	}
	if resp.Succeeded {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 || kvs[0].CreateRevision != leaderRev {
		return fmt.Errorf("%w: election key %s is gone", ErrNotLeader, leaderKey)
	}
	return errAssignmentChanged
}

func hasCandidate(st *clusterState, key string) bool {
	for _, c := range st.candidates {
		if c.key == key {
			return true
		}
	}
	return false
}

// sameMembers reports whether two sorted member lists are equal.
func sameMembers(a, b []sharding.Member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
