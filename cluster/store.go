package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	"github.com/imgsched/imgsched/sharding"
)

var (
	// ErrNotFound means the server has no schedule.
	ErrNotFound = errors.New("cluster: schedule not found")
	// ErrBadPageToken means a page token was not produced by List with the
	// same tenant filter.
	ErrBadPageToken = errors.New("cluster: page token is not valid")
	// ErrShardCountMismatch means the cluster was created with another shard
	// count than the one asked for; the count can never change.
	ErrShardCountMismatch = errors.New("cluster: shard count differs from the cluster's")
)

// Defaults of the store's options.
const (
	DefaultPrefix     = "/imgsched"
	DefaultShardCount = 1024
	// DefaultMaxTxnOps is etcd's own default --max-txn-ops; an external
	// cluster configured higher can be told with WithMaxTxnOps.
	DefaultMaxTxnOps = 128
)

// Store keeps schedules in etcd. Every write is a single transaction that
// compares what it read, so concurrent writers never lose each other's
// changes and a server never has two schedules. A Store is safe for
// concurrent use.
type Store struct {
	client    *clientv3.Client
	keys      keys
	shards    int
	maxTxnOps int
}

type storeOptions struct {
	prefix    string
	shards    int
	shardsSet bool
	maxTxnOps int
}

// StoreOption configures OpenStore.
type StoreOption func(*storeOptions)

// WithPrefix sets the etcd key prefix (default DefaultPrefix). Several
// imgsched clusters can share one etcd under different prefixes.
func WithPrefix(p string) StoreOption {
	return func(o *storeOptions) { o.prefix = strings.TrimRight(p, "/") }
}

// WithShardCount sets the shard count of a new cluster (default
// DefaultShardCount). For an existing cluster it must match, or OpenStore
// fails with ErrShardCountMismatch.
func WithShardCount(n int) StoreOption {
	return func(o *storeOptions) { o.shards, o.shardsSet = n, true }
}

// WithMaxTxnOps sets how many operations one transaction may carry; it must
// not exceed the etcd cluster's --max-txn-ops (default DefaultMaxTxnOps).
func WithMaxTxnOps(n int) StoreOption {
	return func(o *storeOptions) { o.maxTxnOps = n }
}

// OpenStore opens the schedule store, creating the cluster's metadata on
// first use. It blocks until etcd answers or ctx is done.
func OpenStore(ctx context.Context, client *clientv3.Client, opts ...StoreOption) (*Store, error) {
	o := storeOptions{prefix: DefaultPrefix, shards: DefaultShardCount, maxTxnOps: DefaultMaxTxnOps}
	for _, opt := range opts {
		opt(&o)
	}
	if o.shards < 1 || o.shards > 65536 {
		return nil, fmt.Errorf("cluster: shard count %d must be within 1..65536", o.shards)
	}
	if o.maxTxnOps < 2 {
		return nil, fmt.Errorf("cluster: max txn ops %d must be at least 2", o.maxTxnOps)
	}
	k := keys{prefix: o.prefix}
	// The first node to open the store fixes the shard count for good.
	resp, err := client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k.shardCount()), "=", 0)).
		Then(clientv3.OpPut(k.shardCount(), strconv.Itoa(o.shards))).
		Else(clientv3.OpGet(k.shardCount())).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("cluster: read shard count: %w", err)
	}
	shards := o.shards
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) != 1 {
			return nil, fmt.Errorf("cluster: shard count key %s vanished", k.shardCount())
		}
		stored, err := strconv.Atoi(string(kvs[0].Value))
		if err != nil {
			return nil, fmt.Errorf("cluster: shard count %q: %w", kvs[0].Value, err)
		}
		if o.shardsSet && stored != o.shards {
			return nil, fmt.Errorf("%w: asked for %d, cluster has %d", ErrShardCountMismatch, o.shards, stored)
		}
		shards = stored
	}
	return &Store{client: client, keys: k, shards: shards, maxTxnOps: o.maxTxnOps}, nil
}

// Shards returns the cluster's shard count.
func (s *Store) Shards() int { return s.shards }

// Prefix returns the etcd key prefix.
func (s *Store) Prefix() string { return s.keys.prefix }

func (s *Store) runsKey(serverID string) string {
	return s.keys.runs(sharding.Shard(serverID, s.shards), serverID)
}

func (s *Store) scheduleKey(serverID string) string {
	return s.keys.schedule(sharding.Shard(serverID, s.shards), serverID)
}

// Get returns the schedule of serverID, or ErrNotFound.
func (s *Store) Get(ctx context.Context, serverID string) (*storagev1.Schedule, error) {
	resp, err := s.client.Get(ctx, s.scheduleKey(serverID))
	if err != nil {
		return nil, fmt.Errorf("cluster: get schedule %s: %w", serverID, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrNotFound
	}
	return decodeSchedule(resp.Kvs[0].Value)
}

// UpdateFunc computes the schedule to store from the current one (nil when
// the server has none). It may be called several times when writers race,
// so it must not have side effects; returning an error aborts the update
// and leaves the store unchanged.
type UpdateFunc func(current *storagev1.Schedule) (*storagev1.Schedule, error)

// Update atomically replaces the schedule of serverID with what fn returns.
// It retries fn on a conflicting concurrent write until it wins or ctx is
// done.
func (s *Store) Update(ctx context.Context, serverID string, fn UpdateFunc) (*storagev1.Schedule, error) {
	key := s.scheduleKey(serverID)
	// A serializable read skips the leader round trip and the wait for
	// pending applies that a linearizable one costs under write load. If it
	// is stale, the transaction's revision compare fails and returns the
	// current value, so correctness rests on the compare alone.
	resp, err := s.client.Get(ctx, key, clientv3.WithSerializable())
	if err != nil {
		return nil, fmt.Errorf("cluster: read schedule %s: %w", serverID, err)
	}
	kvs := resp.Kvs
	for {
		var current *storagev1.Schedule
		var rev int64
		if len(kvs) == 1 {
			rev = kvs[0].ModRevision
			if current, err = decodeSchedule(kvs[0].Value); err != nil {
				return nil, err
			}
		}
		next, err := fn(current)
		if err != nil {
			return nil, err
		}
		if next.GetServerId() != serverID {
			return nil, fmt.Errorf("cluster: update of %s returned schedule of %q", serverID, next.GetServerId())
		}
		val, err := proto.MarshalOptions{Deterministic: true}.Marshal(next)
		if err != nil {
			return nil, fmt.Errorf("cluster: encode schedule %s: %w", serverID, err)
		}
		ops := []clientv3.Op{clientv3.OpPut(key, string(val))}
		if current.GetTenantId() != next.GetTenantId() {
			if current != nil {
				ops = append(ops, clientv3.OpDelete(s.keys.tenantSchedule(current.GetTenantId(), serverID)))
			}
			ops = append(ops, clientv3.OpPut(s.keys.tenantSchedule(next.GetTenantId(), serverID), ""))
		}
		txn, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(ops...).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("cluster: write schedule %s: %w", serverID, err)
		}
		if txn.Succeeded {
			return next, nil
		}
		// Someone else wrote first: retry on what they wrote.
		kvs = txn.Responses[0].GetResponseRange().Kvs
	}
}

// Delete removes the schedule of serverID and returns what it was, or nil
// when there was none.
func (s *Store) Delete(ctx context.Context, serverID string) (*storagev1.Schedule, error) {
	key := s.scheduleKey(serverID)
	// Linearizable: a stale "absent" here would skip a real schedule, and
	// no compare would catch it.
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("cluster: read schedule %s: %w", serverID, err)
	}
	kvs := resp.Kvs
	for {
		if len(kvs) == 0 {
			return nil, nil
		}
		current, err := decodeSchedule(kvs[0].Value)
		if err != nil {
			return nil, err
		}
		txn, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kvs[0].ModRevision)).
			// The runs go with the schedule: the engine stops at its next look.
			Then(clientv3.OpDelete(key), clientv3.OpDelete(s.keys.tenantSchedule(current.GetTenantId(), serverID)),
				clientv3.OpDelete(s.runsKey(serverID))).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("cluster: delete schedule %s: %w", serverID, err)
		}
		if txn.Succeeded {
			return current, nil
		}
		kvs = txn.Responses[0].GetResponseRange().Kvs
	}
}

func decodeSchedule(b []byte) (*storagev1.Schedule, error) {
	var sc storagev1.Schedule
	if err := proto.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("cluster: decode schedule: %w", err)
	}
	return &sc, nil
}

// pageToken encodes the last key a page examined, relative to the prefix,
// so that the next page starts right after it.
func (s *Store) pageToken(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.TrimPrefix(key, s.keys.prefix)))
}

func (s *Store) pageStart(token, rangePrefix string) (string, error) {
	if token == "" {
		return rangePrefix, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", ErrBadPageToken
	}
	key := s.keys.prefix + string(b)
	if !strings.HasPrefix(key, rangePrefix) {
		return "", ErrBadPageToken
	}
	return key + "\x00", nil
}
