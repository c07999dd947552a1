package cluster

import (
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ownerCmps is the fence: it holds only while the owner key holds value,
// the claim of one node in one session, and was created at createRev, by
// that very claim. The key is attached to the session's lease, so the fence
// holds only while the session lives and nobody has claimed the shard since:
// a node that was partitioned, paused past its TTL, or replaced, finds it
// false in the very transaction of its write. The create revision also
// tells apart two claims of the same node, session and epoch, so a write
// prepared before a claim was lost does not pass after it was made again.
func ownerCmps(ownerKey, value string, createRev int64) []clientv3.Cmp {
	return []clientv3.Cmp{
		clientv3.Compare(clientv3.Value(ownerKey), "=", value),
		clientv3.Compare(clientv3.CreateRevision(ownerKey), "=", createRev),
	}
}

// cmps returns the fence of shard: the comparison on this node's claim.
// It refuses (ErrFenced) when the node holds no claim on shard in its live
// session. A shard being handed over keeps its fence until the claim is
// deleted, so the engine can record where it stopped; the new owner cannot
// claim it before.
func (o *ownership) cmps(shard int) ([]clientv3.Cmp, error) {
	s, _ := o.sessions.current()
	o.mu.Lock()
	defer o.mu.Unlock()
	h, ok := o.claims[shard]
	switch {
	case !sessionLive(s) || s.Lease() != o.claimLease:
		return nil, fmt.Errorf("%w: node %s has no live etcd session", ErrFenced, o.name)
	case !ok:
		return nil, fmt.Errorf("%w: node %s holds no claim on shard %d", ErrFenced, o.name, shard)
	}
	return ownerCmps(o.keys.owner(shard), h.value, h.rev), nil
}

// writeDeadline returns until when this node may act on shard outside etcd
// (a cloud request): the lower bound of its session's lease (see
// leaseDeadline), while it holds a claim on shard in that session. It
// fails with ErrFenced like cmps, and also once the bound has passed.
func (o *ownership) writeDeadline(shard int) (time.Time, error) {
	s, _ := o.sessions.current()
	o.mu.Lock()
	_, ok := o.claims[shard]
	claimLease := o.claimLease
	o.mu.Unlock()
	switch {
	case !sessionLive(s) || s.Lease() != claimLease:
		return time.Time{}, fmt.Errorf("%w: node %s has no live etcd session", ErrFenced, o.name)
	case !ok:
		return time.Time{}, fmt.Errorf("%w: node %s holds no claim on shard %d", ErrFenced, o.name, shard)
	}
	d := o.sessions.writeDeadline(s)
	if !time.Now().Before(d) {
		return time.Time{}, fmt.Errorf("%w: node %s's lease may have expired (no keep-alive acknowledged since %v)",
			ErrFenced, o.name, d)
	}
	return d, nil
}
