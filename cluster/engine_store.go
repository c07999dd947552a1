package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/sharding"
)

// Record is one server's schedule and runs as the engine reads them, with
// the mod revisions its writes are conditioned on. Schedule is nil (and
// ScheduleRev 0) when the server has no schedule; Runs is nil (and RunsRev
// 0) before the engine first wrote one.
type Record struct {
	Schedule    *storagev1.Schedule
	ScheduleRev int64
	Runs        *storagev1.ScheduleRuns
	RunsRev     int64
}

// ReadRecord reads serverID's schedule and runs in one transaction, so both
// are of the same revision. It blocks until etcd answers or ctx ends.
func (s *Store) ReadRecord(ctx context.Context, serverID string) (Record, error) {
	shard := sharding.Shard(serverID, s.shards)
	txn, err := s.client.Txn(ctx).Then(
		clientv3.OpGet(s.keys.schedule(shard, serverID)),
		clientv3.OpGet(s.keys.runs(shard, serverID)),
	).Commit()
	if err != nil {
		return Record{}, fmt.Errorf("cluster: read record of %s: %w", serverID, err)
	}
	var rec Record
	if kvs := txn.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
		if rec.Schedule, err = decodeSchedule(kvs[0].Value); err != nil {
			return Record{}, err
		}
		rec.ScheduleRev = kvs[0].ModRevision
	}
	if kvs := txn.Responses[1].GetResponseRange().Kvs; len(kvs) == 1 {
		if rec.Runs, err = decodeRuns(kvs[0].Value); err != nil {
			return Record{}, err
		}
		rec.RunsRev = kvs[0].ModRevision
	}
	return rec, nil
}

// MarkServerGone records that Nova no longer knows the server: the
// schedule's state becomes SERVER_GONE with server_gone_at = at, and runs is
// written beside it, in one transaction:
//
//	If(ModRevision(schedule) = scheduleRev, ModRevision(runs) = runsRev, guard...)
//	Then(Put(schedule), Put(runs))
//	Else(Get(runs), Get(schedule))
//
// sched is the schedule as read at scheduleRev; it is not modified. It
// returns the runs record's new mod revision, or ErrConflict (either key
// moved: a tenant may have changed the schedule), ErrNotFound, ErrFenced.
func (s *Store) MarkServerGone(ctx context.Context, sched *storagev1.Schedule, scheduleRev int64, at time.Time,
	runs *storagev1.ScheduleRuns, runsRev int64, guard Guard) (int64, error) {
	serverID := sched.GetServerId()
	shard := sharding.Shard(serverID, s.shards)
	fence, err := guardCmps(guard, shard)
	if err != nil {
		return 0, err
	}
	next := proto.Clone(sched).(*storagev1.Schedule)
	next.State = imgschedv1.ScheduleState_SERVER_GONE
	next.ServerGoneAt = at.UnixNano()
	sval, err := proto.MarshalOptions{Deterministic: true}.Marshal(next)
	if err != nil {
		return 0, fmt.Errorf("cluster: encode schedule %s: %w", serverID, err)
	}
	rval, err := proto.MarshalOptions{Deterministic: true}.Marshal(runs)
	if err != nil {
		return 0, fmt.Errorf("cluster: encode runs of %s: %w", serverID, err)
	}
	rk, sk := s.keys.runs(shard, serverID), s.keys.schedule(shard, serverID)
	cmps := append([]clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(sk), "=", scheduleRev),
		clientv3.Compare(clientv3.ModRevision(rk), "=", runsRev),
	}, fence...)
	txn, err := s.client.Txn(ctx).If(cmps...).
		Then(clientv3.OpPut(sk, string(sval)), clientv3.OpPut(rk, string(rval))).
		Else(clientv3.OpGet(rk, clientv3.WithKeysOnly()), clientv3.OpGet(sk, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("cluster: mark server %s gone: %w", serverID, err)
	}
	if txn.Succeeded {
		return txn.Header.Revision, nil
	}
	if kvs := txn.Responses[1].GetResponseRange().Kvs; len(kvs) == 1 && kvs[0].ModRevision != scheduleRev {
		return 0, fmt.Errorf("cluster: schedule of %s changed: %w", serverID, ErrConflict)
	}
	return 0, whyFailed(serverID, txn, runsRev)
}

// RemoveGone deletes the schedule of a server found gone, with its tenant
// index entry and its runs, if the schedule is still at scheduleRev (a
// tenant who enabled it again in between wins) and guard's fence holds:
//
//	If(ModRevision(schedule) = scheduleRev, guard...)
//	Then(Delete(schedule), Delete(tenant index), Delete(runs))
//
// sched is the schedule as read at scheduleRev. It returns ErrConflict when
// the schedule moved (or is already gone), ErrFenced when the fence failed.
func (s *Store) RemoveGone(ctx context.Context, sched *storagev1.Schedule, scheduleRev int64, guard Guard) error {
	serverID := sched.GetServerId()
	shard := sharding.Shard(serverID, s.shards)
	fence, err := guardCmps(guard, shard)
	if err != nil {
		return err
	}
	sk := s.keys.schedule(shard, serverID)
	cmps := append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(sk), "=", scheduleRev)}, fence...)
	txn, err := s.client.Txn(ctx).If(cmps...).
		Then(clientv3.OpDelete(sk), clientv3.OpDelete(s.keys.tenantSchedule(sched.GetTenantId(), serverID)),
			clientv3.OpDelete(s.keys.runs(shard, serverID))).
		Else(clientv3.OpGet(sk, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return fmt.Errorf("cluster: remove schedule of gone server %s: %w", serverID, err)
	}
	if txn.Succeeded {
		return nil
	}
	if kvs := txn.Responses[0].GetResponseRange().Kvs; len(kvs) == 0 || kvs[0].ModRevision != scheduleRev {
		return fmt.Errorf("cluster: schedule of %s changed: %w", serverID, ErrConflict)
	}
	return fmt.Errorf("cluster: remove schedule of %s: %w", serverID, ErrFenced)
}

// Loaded is one schedule of a shard with its runs (nil before the engine
// wrote any), as LoadShard hands them out.
type Loaded struct {
	ServerID string
	Shard    int
	Schedule *storagev1.Schedule
	Runs     *storagev1.ScheduleRuns
}

// loadPage is how many schedules one range read of LoadShard returns.
const loadPage = 512

// LoadShard reads every schedule of shard and its runs, at one revision,
// in pages, calling fn for each in server id order; fn's error stops the
// load and is returned. It returns the revision read at, from which a
// watch continues. It blocks until etcd answers or ctx ends; a compaction
// during a long load returns an error and the caller loads again.
func (s *Store) LoadShard(ctx context.Context, shard int, fn func(Loaded) error) (int64, error) {
	sp, rp := s.keys.shard(shard), s.keys.runsOfShard(shard)
	send, rend := prefixEnd(sp), prefixEnd(rp)
	var rev int64
	start := sp
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(send), clientv3.WithLimit(loadPage)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.client.Get(ctx, start, opts...)
		if err != nil {
			return 0, fmt.Errorf("cluster: load schedules of shard %d: %w", shard, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		if len(resp.Kvs) == 0 {
			return rev, nil
		}
		// The runs of exactly this page's servers: the same id range under
		// the runs prefix.
		first := strings.TrimPrefix(string(resp.Kvs[0].Key), sp)
		last := strings.TrimPrefix(string(resp.Kvs[len(resp.Kvs)-1].Key), sp)
		rresp, err := s.client.Get(ctx, rp+first, clientv3.WithRange(min(rp+last+"\x00", rend)), clientv3.WithRev(rev))
		if err != nil {
			return 0, fmt.Errorf("cluster: load runs of shard %d: %w", shard, err)
		}
		runs := make(map[string]*storagev1.ScheduleRuns, len(rresp.Kvs))
		for _, kv := range rresp.Kvs {
			r, err := decodeRuns(kv.Value)
			if err != nil {
				return 0, err
			}
			runs[strings.TrimPrefix(string(kv.Key), rp)] = r
		}
		for _, kv := range resp.Kvs {
			sc, err := decodeSchedule(kv.Value)
			if err != nil {
				return 0, err
			}
			id := strings.TrimPrefix(string(kv.Key), sp)
			if err := fn(Loaded{ServerID: id, Shard: shard, Schedule: sc, Runs: runs[id]}); err != nil {
				return 0, err
			}
		}
		if !resp.More {
			return rev, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}
