package cluster

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
)

// MergeFunc computes the schedule to store for incoming, given what is
// stored for its server (nil when nothing). Like UpdateFunc it may run more
// than once and must not have side effects.
type MergeFunc func(current, incoming *storagev1.Schedule) (*storagev1.Schedule, error)

// UpdateMany writes many schedules in few transactions: each chunk is one
// read transaction and one conditional write transaction, falling back to
// Update one by one for a chunk that lost a race. The result holds one error
// per incoming schedule, nil where it was written; the error return is for
// failures of etcd itself, after which nothing more is written.
func (s *Store) UpdateMany(ctx context.Context, incoming []*storagev1.Schedule, merge MergeFunc) ([]error, error) {
	errs := make([]error, len(incoming))
	// A chunk holds at most maxTxnOps/2 schedules (a schedule and its tenant
	// index entry per put) and never the same server twice, which etcd
	// rejects within one transaction.
	per := max(s.maxTxnOps/2, 1)
	for lo := 0; lo < len(incoming); {
		seen := make(map[string]bool, per)
		hi := lo
		for hi < len(incoming) && hi-lo < per && !seen[incoming[hi].GetServerId()] {
			seen[incoming[hi].GetServerId()] = true
			hi++
		}
		if err := s.updateChunk(ctx, incoming[lo:hi], errs[lo:hi], merge); err != nil {
			return errs, err
		}
		lo = hi
	}
	return errs, nil
}

func (s *Store) updateChunk(ctx context.Context, chunk []*storagev1.Schedule, errs []error, merge MergeFunc) error {
	keys := make([]string, len(chunk))
	reads := make([]clientv3.Op, len(chunk))
	for i, sc := range chunk {
		keys[i] = s.scheduleKey(sc.GetServerId())
		// Serializable, as in Update: the write transaction compares every
		// revision read, so a stale read only costs the fallback.
		reads[i] = clientv3.OpGet(keys[i], clientv3.WithSerializable())
	}
	resp, err := s.client.Txn(ctx).Then(reads...).Commit()
	if err != nil {
		return fmt.Errorf("cluster: read schedules: %w", err)
	}
	var cmps []clientv3.Cmp
	var ops []clientv3.Op
	for i, sc := range chunk {
		var current *storagev1.Schedule
		var rev int64
		if kvs := resp.Responses[i].GetResponseRange().Kvs; len(kvs) == 1 {
			rev = kvs[0].ModRevision
			if current, err = decodeSchedule(kvs[0].Value); err != nil {
				return err
			}
		}
		next, err := merge(current, sc)
		if err != nil {
			errs[i] = err
			continue
		}
		val, err := proto.MarshalOptions{Deterministic: true}.Marshal(next)
		if err != nil {
			errs[i] = fmt.Errorf("cluster: encode schedule %s: %w", sc.GetServerId(), err)
			continue
		}
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(keys[i]), "=", rev))
		ops = append(ops, clientv3.OpPut(keys[i], string(val)))
		if current.GetTenantId() != next.GetTenantId() {
			if current != nil {
				ops = append(ops, clientv3.OpDelete(s.keys.tenantSchedule(current.GetTenantId(), sc.GetServerId())))
			}
			ops = append(ops, clientv3.OpPut(s.keys.tenantSchedule(next.GetTenantId(), sc.GetServerId()), ""))
		}
	}
	if len(ops) == 0 {
		return nil
	}
	if len(ops) <= s.maxTxnOps {
		txn, err := s.client.Txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return fmt.Errorf("cluster: write schedules: %w", err)
		}
		if txn.Succeeded {
			return nil
		}
	}
	// A concurrent writer (or tenant moves that made the chunk too large for
	// one transaction): redo this chunk one schedule at a time.
	for i, sc := range chunk {
		if errs[i] != nil {
			continue
		}
		var mergeErr error
		_, err := s.Update(ctx, sc.GetServerId(), func(current *storagev1.Schedule) (*storagev1.Schedule, error) {
			next, err := merge(current, sc)
			mergeErr = err
			return next, err
		})
		if err != nil && mergeErr == nil {
			return err
		}
		errs[i] = mergeErr
	}
	return nil
}
