package engine

import (
	"context"
	"time"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cluster"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
)

// Store is the engine's durable state: the schedules (written by the API)
// and the runs records (written only by the engine). *cluster.Store
// implements it; every write is conditioned on the revisions read and on
// the Guard's fence.
type Store interface {
	Shards() int
	LoadShard(ctx context.Context, shard int, fn func(cluster.Loaded) error) (rev int64, err error)
	WatchSchedules(ctx context.Context, fromRev int64) <-chan cluster.ScheduleChanges
	ReadRecord(ctx context.Context, serverID string) (cluster.Record, error)
	SaveRuns(ctx context.Context, serverID string, runs *storagev1.ScheduleRuns, expectRev int64, guard cluster.Guard) (int64, error)
	MarkServerGone(ctx context.Context, sched *storagev1.Schedule, scheduleRev int64, at time.Time,
		runs *storagev1.ScheduleRuns, runsRev int64, guard cluster.Guard) (int64, error)
	RemoveGone(ctx context.Context, sched *storagev1.Schedule, scheduleRev int64, guard cluster.Guard) error
}

// Cloud gives the cloud.Compute that acts for a schedule: through its
// Keystone trust, or with the operator's credentials when trustID is empty
// or the service runs in operator tenancy. *openstack.Client implements it.
type Cloud interface {
	ForTenant(trustID string) (cloud.Compute, error)
}

// Ownership says which shards this node executes. Owned returns the
// current set and a channel closed (or sent on) when it changes; the engine
// then calls Owned again. A node that loses a shard stops acting on it at
// once; its writes are fenced by the Guard in any case.
type Ownership interface {
	Owned() (shards []int, changed <-chan struct{})
}

// Releaser is what an Ownership may also implement to learn when the engine
// has stopped working on a shard that left the owned set (no reconcile of
// it is under way any more), so that the shard can be handed over at once
// instead of after a grace period. *cluster.Node implements it.
type Releaser interface {
	Release(shard int)
}

// CloudFence bounds, in real time, until when this node may still send
// the cloud a write (createImage, an image delete) for a shard's servers.
// The cloud cannot compare a fence token as etcd does, so the engine sends
// such a request only before the deadline, with a context that ends
// there; a node that lost its lease (paused, cut off) therefore cannot
// create an image after another node took the shard over. An error
// (cluster.ErrFenced) means no write at all. *cluster.Node implements it.
type CloudFence interface {
	WriteDeadline(shard int) (time.Time, error)
}

// AllShards is the ownership of a single node: every shard, forever.
func AllShards(count int) Ownership { return allShards(count) }

type allShards int

func (n allShards) Owned() ([]int, <-chan struct{}) {
	s := make([]int, int(n))
	for i := range s {
		s[i] = i
	}
	return s, nil
}
