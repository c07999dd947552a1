package cluster

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	"github.com/imgsched/imgsched/sharding"
)

// Errors of the engine's writes, checked with errors.Is.
var (
	// ErrConflict means the record changed since it was read (its mod
	// revision moved): read it again and recompute.
	ErrConflict = errors.New("cluster: record changed since it was read")
	// ErrFenced means this node may not write the shard: its Guard refused,
	// or the comparisons the Guard gave failed in etcd. The node must stop
	// acting on the shard's servers.
	ErrFenced = errors.New("cluster: node is fenced off the shard")
)

// Guard fences a node's engine writes: Cmps returns the comparisons that
// hold only while this node may write shard's runs; an error (ErrFenced)
// when it knows it may not. A nil Guard means no fence beyond revisions (a
// single node).
type Guard interface {
	Cmps(shard int) ([]clientv3.Cmp, error)
}

// guardCmps returns the fence of shard under g, wrapping a refusal in
// ErrFenced. Every engine write transaction goes through it, so the fence
// is stated in one place.
func guardCmps(g Guard, shard int) ([]clientv3.Cmp, error) {
	if g == nil {
		return nil, nil
	}
	cmps, err := g.Cmps(shard)
	if err != nil {
		if errors.Is(err, ErrFenced) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrFenced, err)
	}
	return cmps, nil
}

// GetRuns returns the engine's record of serverID's runs, or ErrNotFound
// while the engine has not yet written one.
func (s *Store) GetRuns(ctx context.Context, serverID string) (*storagev1.ScheduleRuns, error) {
	resp, err := s.client.Get(ctx, s.runsKey(serverID))
	if err != nil {
		return nil, fmt.Errorf("cluster: get runs of %s: %w", serverID, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrNotFound
	}
	return decodeRuns(resp.Kvs[0].Value)
}

// SaveRuns writes serverID's runs record if its mod revision is still
// expectRev (0: the record must not exist yet), the server still has a
// schedule, and guard's fence holds, all in one transaction:
//
//	If(ModRevision(runs) = expectRev, CreateRevision(schedule) ≠ 0, guard...)
//	Then(Put(runs))
//	Else(Get(runs), Get(schedule))
//
// It returns the record's new mod revision; ErrConflict when the record
// moved, ErrNotFound when the schedule was deleted (its runs go with it, so
// none may be written), ErrFenced when the fence failed.
func (s *Store) SaveRuns(ctx context.Context, serverID string, runs *storagev1.ScheduleRuns, expectRev int64, guard Guard) (int64, error) {
	shard := sharding.Shard(serverID, s.shards)
	fence, err := guardCmps(guard, shard)
	if err != nil {
		return 0, err
	}
	val, err := proto.MarshalOptions{Deterministic: true}.Marshal(runs)
	if err != nil {
		return 0, fmt.Errorf("cluster: encode runs of %s: %w", serverID, err)
	}
	rk, sk := s.keys.runs(shard, serverID), s.keys.schedule(shard, serverID)
	cmps := append([]clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(rk), "=", expectRev),
		clientv3.Compare(clientv3.CreateRevision(sk), "!=", 0),
	}, fence...)
	txn, err := s.client.Txn(ctx).If(cmps...).
		Then(clientv3.OpPut(rk, string(val))).
		Else(clientv3.OpGet(rk, clientv3.WithKeysOnly()), clientv3.OpGet(sk, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("cluster: write runs of %s: %w", serverID, err)
	}
	if txn.Succeeded {
		return txn.Header.Revision, nil
	}
	return 0, whyFailed(serverID, txn, expectRev)
}

// whyFailed tells which compare of an engine write failed, from the Else
// branch's reads of the runs key (first) and the schedule key (second).
func whyFailed(serverID string, txn *clientv3.TxnResponse, expectRev int64) error {
	runs := txn.Responses[0].GetResponseRange().Kvs
	sched := txn.Responses[1].GetResponseRange().Kvs
	var rev int64
	if len(runs) == 1 {
		rev = runs[0].ModRevision
	}
	switch {
	case len(sched) == 0:
		return fmt.Errorf("cluster: runs of %s: schedule deleted: %w", serverID, ErrNotFound)
	case rev != expectRev:
		return fmt.Errorf("cluster: runs of %s at revision %d, expected %d: %w", serverID, rev, expectRev, ErrConflict)
	}
	return fmt.Errorf("cluster: runs of %s: %w", serverID, ErrFenced)
}

func decodeRuns(b []byte) (*storagev1.ScheduleRuns, error) {
	var r storagev1.ScheduleRuns
	if err := proto.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("cluster: decode runs: %w", err)
	}
	return &r, nil
}
