package cluster

import (
	"context"
	"encoding/json"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/sharding"
)

// claim is the value of an owner key: who may write the shard, since which
// assignment epoch, under which lease. The lease makes a claim unique to
// one session, so a comparison on the value fails for a write prepared
// under a session that has since been lost, even if the same node claimed
// the shard again in the same epoch.
type claim struct {
	Node  string `json:"node"`
	Epoch uint64 `json:"epoch"`
	Lease string `json:"lease"`
}

func (c claim) encode() string {
	b, _ := json.Marshal(c) // a struct of strings and an integer always encodes
	return string(b)
}

// claimEntry is an owner key as the view last saw it.
type claimEntry struct {
	claim claim
	// value is the stored bytes, what Cmps compares.
	value     string
	createRev int64
}

// candidate is one key of the leader election.
type candidate struct {
	key       string
	name      string
	createRev int64
}

// clusterState is the cluster as one revision of etcd shows it. It is never
// modified once published by the view: readers share it.
type clusterState struct {
	rev   int64
	nodes map[string]nodeInfo
	// candidates are sorted by create revision; the first one leads.
	candidates []candidate
	assignment sharding.Assignment
	// assignmentRev is the assignment key's mod revision, 0 if none.
	assignmentRev int64
	owners        map[int]claimEntry
}

// leader returns the elected candidate, if any.
func (st *clusterState) leader() (candidate, bool) {
	if len(st.candidates) == 0 {
		return candidate{}, false
	}
	return st.candidates[0], true
}

func (st *clusterState) clone() *clusterState {
	c := *st
	c.nodes = maps.Clone(st.nodes)
	c.candidates = append([]candidate(nil), st.candidates...)
	c.owners = maps.Clone(st.owners)
	return &c
}

// view mirrors every key under P/cluster/ with one watch, so that its
// states follow etcd's revisions in order. Reconcilers (leader, owner,
// join) read it and wake up on its changed channel; their writes never
// trust it, they compare in etcd.
type view struct {
	client  *clientv3.Client
	keys    keys
	lg      *zap.Logger
	backoff time.Duration
	// observe, if set, is called with every pair of successive states, in
	// the view's goroutine.
	observe func(prev, next *clusterState, at time.Time)

	mu      sync.Mutex
	st      *clusterState
	changed chan struct{}
}

func newView(client *clientv3.Client, k keys, backoff time.Duration, lg *zap.Logger) *view {
	return &view{client: client, keys: k, lg: lg, backoff: backoff, changed: make(chan struct{}),
		st: &clusterState{nodes: map[string]nodeInfo{}, owners: map[int]claimEntry{}}}
}

// current returns the latest state and a channel closed when a newer one
// is published.
func (v *view) current() (*clusterState, <-chan struct{}) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.st, v.changed
}

// waitRev blocks until the view has reached revision rev, and reports
// whether it did before ctx was done.
func (v *view) waitRev(ctx context.Context, rev int64) bool {
	for {
		st, ch := v.current()
		if st.rev >= rev {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

func (v *view) publish(next *clusterState) {
	v.mu.Lock()
	prev := v.st
	v.st = next
	close(v.changed)
	v.changed = make(chan struct{})
	v.mu.Unlock()
	if v.observe != nil {
		v.observe(prev, next, time.Now())
	}
}

// run keeps the view until ctx is done, blocking that long: a full read,
// then a watch from the next revision; a read again whenever the watch
// breaks (compaction, lost etcd leader, network).
func (v *view) run(ctx context.Context) {
	for ctx.Err() == nil {
		rev, err := v.resync(ctx)
		if err == nil {
			err = v.watch(ctx, rev)
		}
		if ctx.Err() != nil {
			return
		}
		v.lg.Warn("cluster watch interrupted; reading again", zap.Error(err))
		if !pause(ctx, v.backoff) {
			return
		}
	}
}

func (v *view) resync(ctx context.Context) (int64, error) {
	resp, err := v.client.Get(ctx, v.keys.cluster(), clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	st := &clusterState{rev: resp.Header.Revision, nodes: map[string]nodeInfo{}, owners: map[int]claimEntry{}}
	for _, kv := range resp.Kvs {
		v.put(st, kv)
	}
	sortCandidates(st)
	v.publish(st)
	return st.rev, nil
}

func (v *view) watch(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := v.client.Watch(wctx, v.keys.cluster(), clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return err
		}
		cur, _ := v.current()
		st := cur.clone()
		for _, ev := range resp.Events {
			if ev.Type == mvccpb.DELETE {
				v.delete(st, string(ev.Kv.Key))
			} else {
				v.put(st, ev.Kv)
			}
		}
		sortCandidates(st)
		if resp.Header.Revision > st.rev {
			st.rev = resp.Header.Revision
		}
		v.publish(st)
	}
	return ctx.Err()
}

// put applies a created or updated key to st; values it cannot read are
// logged and skipped, as if absent.
func (v *view) put(st *clusterState, kv *mvccpb.KeyValue) {
	key := string(kv.Key)
	switch {
	case strings.HasPrefix(key, v.keys.nodes()):
		var info nodeInfo
		if err := json.Unmarshal(kv.Value, &info); err != nil {
			v.lg.Warn("unreadable node registration", zap.String("key", key), zap.Error(err))
			return
		}
		info.Name = strings.TrimPrefix(key, v.keys.nodes())
		st.nodes[info.Name] = info
	case strings.HasPrefix(key, v.keys.election()+"/"):
		for i, c := range st.candidates {
			if c.key == key {
				st.candidates[i].name = string(kv.Value)
				return
			}
		}
		st.candidates = append(st.candidates, candidate{key: key, name: string(kv.Value), createRev: kv.CreateRevision})
	case key == v.keys.assignment():
		var a sharding.Assignment
		if err := a.UnmarshalBinary(kv.Value); err != nil {
			v.lg.Error("unreadable shard assignment", zap.Error(err))
			return
		}
		st.assignment, st.assignmentRev = a, kv.ModRevision
	default:
		shard, ok := v.keys.shardOfOwnerKey(key)
		if !ok {
			return
		}
		var c claim
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			v.lg.Warn("unreadable shard claim", zap.String("key", key), zap.Error(err))
			return
		}
		st.owners[shard] = claimEntry{claim: c, value: string(kv.Value), createRev: kv.CreateRevision}
	}
}

func (v *view) delete(st *clusterState, key string) {
	switch {
	case strings.HasPrefix(key, v.keys.nodes()):
		delete(st.nodes, strings.TrimPrefix(key, v.keys.nodes()))
	case strings.HasPrefix(key, v.keys.election()+"/"):
		for i, c := range st.candidates {
			if c.key == key {
				st.candidates = append(st.candidates[:i], st.candidates[i+1:]...)
				return
			}
		}
	case key == v.keys.assignment():
		st.assignment, st.assignmentRev = sharding.Assignment{}, 0
	default:
		if shard, ok := v.keys.shardOfOwnerKey(key); ok {
			delete(st.owners, shard)
		}
	}
}

func sortCandidates(st *clusterState) {
	sort.Slice(st.candidates, func(i, j int) bool { return st.candidates[i].createRev < st.candidates[j].createRev })
}
