package cluster

import (
	"context"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// maxClaimBatch caps the shards claimed or released in one transaction;
// each is a nested transaction with its own comparison.
const maxClaimBatch = 64

// heldClaim is an owner key this node created.
type heldClaim struct {
	value string // what the key holds: the fence compares it
	rev   int64  // the revision that created it
}

// ownership claims the shards the assignment gives this node and releases
// the others. It is a level-triggered reconcile of (session, assignment,
// owner keys) into claims: safe to run again at any time, after a lost
// session, or on a node that just took over.
//
// Invariants:
//   - every held claim is attached to the current session's lease
//     (claimLease); when the session is lost, claims is emptied at once,
//     since etcd deletes the keys with the lease;
//   - owned ⊆ claims ∩ (shards the latest assignment gives this node); a
//     shard leaves owned the moment either side stops holding, before any
//     I/O, and enters it only after its claim was created in etcd;
//   - a claim is created only if its key is absent (CreateRevision == 0)
//     and the assignment is still the one the claim was computed from, and
//     deleted only if it is still this very claim (value and create
//     revision).
type ownership struct {
	name     string
	client   *clientv3.Client
	keys     keys
	sessions *sessions
	view     *view
	grace    time.Duration
	backoff  time.Duration
	batch    int
	lg       *zap.Logger

	kick chan struct{} // buffered: Release or drain asks for a reconcile

	mu         sync.Mutex
	claimLease clientv3.LeaseID
	claims     map[int]heldClaim
	releasing  map[int]time.Time // claims no longer assigned, and when their grace ends
	released   map[int]bool      // shards the engine said it stopped working on
	deletedAt  map[int]int64     // revisions of this node's own deletions the view may not show yet
	draining   bool              // Leave: hold nothing
	drained    chan struct{}     // closed once draining and no claim is held
	owned      []int
	changed    chan struct{} // closed and replaced when owned changes
}

func newOwnership(name string, client *clientv3.Client, k keys, ss *sessions, v *view, grace, backoff time.Duration, maxTxnOps int, lg *zap.Logger) *ownership {
	batch := min(maxClaimBatch, maxTxnOps/2)
	return &ownership{
		name: name, client: client, keys: k, sessions: ss, view: v, grace: grace, backoff: backoff,
		batch: max(batch, 1), lg: lg, kick: make(chan struct{}, 1),
		claims: map[int]heldClaim{}, releasing: map[int]time.Time{}, released: map[int]bool{}, deletedAt: map[int]int64{},
		drained: make(chan struct{}), changed: make(chan struct{}),
	}
}

// current returns the shards this node may execute now, ascending, and a
// channel closed when that set changes.
func (o *ownership) current() ([]int, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.owned), o.changed
}

// setOwned publishes owned, closing the changed channel if it differs.
// Called with mu held.
func (o *ownership) setOwned(owned []int) {
	if slices.Equal(owned, o.owned) {
		return
	}
	o.owned = owned
	close(o.changed)
	o.changed = make(chan struct{})
}

// release records that the engine stopped working on shard, so that a claim
// being given up can go without waiting out the grace.
func (o *ownership) release(shard int) {
	o.mu.Lock()
	if !slices.Contains(o.owned, shard) {
		o.released[shard] = true
	}
	o.mu.Unlock()
	o.poke()
}

// drain makes the node give up every claim, and returns a channel closed
// once it holds none.
func (o *ownership) drain() <-chan struct{} {
	o.mu.Lock()
	o.draining = true
	ch := o.drained
	o.mu.Unlock()
	o.poke()
	return ch
}

func (o *ownership) poke() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// run reconciles whenever the session, the view or the engine changes
// something, until ctx is done; it blocks that long. When ctx is done the
// node owns nothing.
func (o *ownership) run(ctx context.Context) {
	defer func() {
		o.mu.Lock()
		o.setOwned(nil)
		o.mu.Unlock()
	}()
	for {
		s, sch := o.sessions.current()
		st, vch := o.view.current()
		wait := o.reconcile(ctx, s, st)
		var sdone <-chan struct{}
		if s != nil {
			sdone = s.Done()
		}
		var timer *time.Timer
		var tc <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			tc = timer.C
		}
		select {
		case <-sch:
		case <-vch:
		case <-sdone:
		case <-o.kick:
		case <-tc:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// reconcile moves the claims one step toward what st assigns this node. It
// returns how long to wait before reconciling again without news: until a
// release grace ends or after a failed write; 0 for no deadline.
func (o *ownership) reconcile(ctx context.Context, s *concurrency.Session, st *clusterState) time.Duration {
	now := time.Now()
	o.mu.Lock()
	if !sessionLive(s) {
		// The lease is gone or going, and every claim with it.
		clear(o.claims)
		clear(o.releasing)
		o.claimLease = 0
		o.setOwned(nil)
		o.checkDrained()
		o.mu.Unlock()
		return 0
	}
	lease := s.Lease()
	if o.claimLease != lease {
		clear(o.claims)
		clear(o.releasing)
		clear(o.deletedAt)
		o.claimLease = lease
	}
	for shard, rev := range o.deletedAt {
		if st.rev >= rev {
			delete(o.deletedAt, shard)
		}
	}
	mine := claim{Node: o.name, Lease: leaseHex(lease)}
	for shard, ow := range st.owners {
		if _, held := o.claims[shard]; !held && ow.claim.Node == mine.Node && ow.claim.Lease == mine.Lease &&
			ow.createRev > o.deletedAt[shard] {
			// Created by this session but the answer was lost: adopt it.
			// (Not one this node deleted and the view still shows.)
			o.claims[shard] = heldClaim{value: ow.value, rev: ow.createRev}
		}
	}
	var lost []int
	for shard, h := range o.claims {
		if ow, ok := st.owners[shard]; st.rev >= h.rev && (!ok || ow.value != h.value || ow.createRev != h.rev) {
			// Its lease was revoked, or someone deleted it: the view sees
			// that before the session's keep-alive does.
			lost = append(lost, shard)
			delete(o.claims, shard)
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		o.lg.Warn("shard claims deleted by someone else", zap.Ints("shards", lost))
	}
	desired := map[int]bool{}
	if !o.draining {
		for _, shard := range st.assignment.ShardsOf(o.name) {
			desired[shard] = true
		}
	}

	var wait time.Duration
	var toRelease []int
	for shard := range o.claims {
		if desired[shard] {
			delete(o.releasing, shard)
			continue
		}
		until, ok := o.releasing[shard]
		if !ok {
			until = now.Add(o.grace)
			o.releasing[shard] = until
		}
		if o.released[shard] || !now.Before(until) {
			toRelease = append(toRelease, shard)
		} else if d := until.Sub(now); wait == 0 || d < wait {
			wait = d
		}
	}
	var owned, toClaim []int
	for shard := range desired {
		if _, held := o.claims[shard]; held {
			owned = append(owned, shard)
			delete(o.released, shard)
		} else if _, taken := st.owners[shard]; !taken {
			toClaim = append(toClaim, shard)
		}
	}
	slices.Sort(owned)
	o.setOwned(owned)
	o.mu.Unlock()

	failed := false
	if len(toRelease) > 0 {
		slices.Sort(toRelease)
		failed = o.deleteClaims(ctx, toRelease) != nil
	}
	if len(toClaim) > 0 {
		slices.Sort(toClaim)
		mine.Epoch = st.assignment.Epoch()
		if o.createClaims(ctx, lease, mine.encode(), st.assignmentRev, toClaim) != nil {
			failed = true
		}
	}
	o.mu.Lock()
	o.checkDrained()
	o.mu.Unlock()
	if failed && ctx.Err() == nil && (wait == 0 || o.backoff < wait) {
		wait = o.backoff
	}
	return wait
}

// createClaims claims shards for this node with value under lease, in
// batches of nested transactions:
//
//	If(ModRevision(assignment) == assignmentRev)
//	Then(Txn(If(CreateRevision(owner/S) == 0) Then(Put(owner/S, value, lease))) for each S)
//
// A shard whose key exists is skipped (its owner has not let go yet; the
// view will show its deletion); a changed assignment skips the batch.
// Claimed shards join owned at once.
func (o *ownership) createClaims(ctx context.Context, lease clientv3.LeaseID, value string, assignmentRev int64, shards []int) error {
	for chunk := range slices.Chunk(shards, o.batch) {
		ops := make([]clientv3.Op, len(chunk))
		for i, shard := range chunk {
			key := o.keys.owner(shard)
			ops[i] = clientv3.OpTxn(
				[]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)},
				[]clientv3.Op{clientv3.OpPut(key, value, clientv3.WithLease(lease))}, nil)
		}
		resp, err := o.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(o.keys.assignment()), "=", assignmentRev)).
			Then(ops...).Commit()
		if err != nil {
			if ctx.Err() == nil {
				o.lg.Warn("shard claims failed", zap.Ints("shards", chunk), zap.Error(err))
			}
			return err
		}
		if !resp.Succeeded {
			return nil
		}
		var got []int
		for i, r := range resp.Responses {
			if r.GetResponseTxn().GetSucceeded() {
				got = append(got, chunk[i])
			}
		}
		o.mu.Lock()
		if o.claimLease == lease {
			for _, shard := range got {
				o.claims[shard] = heldClaim{value: value, rev: resp.Header.Revision}
				delete(o.released, shard)
			}
			owned := append(slices.Clone(o.owned), got...)
			slices.Sort(owned)
			o.setOwned(slices.Compact(owned))
		}
		o.mu.Unlock()
		if len(got) > 0 {
			o.lg.Debug("claimed shards", zap.Ints("shards", got))
		}
	}
	return nil
}

// deleteClaims gives up the claims on shards, each only if it still holds
// this node's value:
//
//	Txn(If(Value(owner/S) == held value, CreateRevision(owner/S) == held rev)
//	    Then(Delete(owner/S))) for each S
func (o *ownership) deleteClaims(ctx context.Context, shards []int) error {
	o.mu.Lock()
	values := make(map[int]heldClaim, len(shards))
	for _, shard := range shards {
		if h, ok := o.claims[shard]; ok {
			values[shard] = h
		}
	}
	o.mu.Unlock()
	for chunk := range slices.Chunk(shards, o.batch) {
		var ops []clientv3.Op
		for _, shard := range chunk {
			if v, ok := values[shard]; ok {
				key := o.keys.owner(shard)
				ops = append(ops, clientv3.OpTxn(ownerCmps(key, v.value, v.rev), []clientv3.Op{clientv3.OpDelete(key)}, nil))
			}
		}
		if len(ops) == 0 {
			continue
		}
		resp, err := o.client.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			if ctx.Err() == nil {
				o.lg.Warn("shard releases failed", zap.Ints("shards", chunk), zap.Error(err))
			}
			return err
		}
		o.mu.Lock()
		for _, shard := range chunk {
			if h, ok := o.claims[shard]; ok && h == values[shard] {
				delete(o.claims, shard)
				o.deletedAt[shard] = resp.Header.Revision
			}
			delete(o.releasing, shard)
			delete(o.released, shard)
		}
		o.mu.Unlock()
		o.lg.Debug("released shards", zap.Ints("shards", chunk))
	}
	return nil
}

// checkDrained closes drained once draining and no claim is held. Called
// with mu held.
func (o *ownership) checkDrained() {
	if !o.draining || len(o.claims) > 0 {
		return
	}
	select {
	case <-o.drained:
	default:
		close(o.drained)
	}
}

// held returns the number of claims this node holds.
func (o *ownership) held() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.claims)
}
