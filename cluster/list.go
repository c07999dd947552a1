package cluster

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
)

// ListOptions selects and pages schedules.
type ListOptions struct {
	// TenantID limits the listing to one tenant, through the tenant index.
	TenantID string
	// Match, when set, keeps only the schedules it accepts.
	Match func(*storagev1.Schedule) bool
	// PageSize is the most schedules a page holds (at least 1).
	PageSize int
	// PageToken continues a previous listing with the same TenantID.
	PageToken string
	// MaxScan bounds the keys one call examines, so that a filter matching
	// little cannot make one request read the whole store; the page is then
	// short and the token continues the scan. Default 20×PageSize, at least
	// 1000.
	MaxScan int
}

// List returns one page of schedules in key order and the token of the next
// page, empty at the end.
func (s *Store) List(ctx context.Context, opt ListOptions) ([]*storagev1.Schedule, string, error) {
	if opt.PageSize < 1 {
		opt.PageSize = 1
	}
	if opt.MaxScan <= 0 {
		opt.MaxScan = max(20*opt.PageSize, 1000)
	}
	rangePrefix := s.keys.schedules()
	if opt.TenantID != "" {
		rangePrefix = s.keys.tenant(opt.TenantID)
	}
	start, err := s.pageStart(opt.PageToken, rangePrefix)
	if err != nil {
		return nil, "", err
	}
	end := prefixEnd(rangePrefix)
	var out []*storagev1.Schedule
	scanned := 0
	for {
		batch := int64(min(max(2*(opt.PageSize-len(out)), 64), s.maxTxnOps*4, opt.MaxScan-scanned))
		getOpts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(batch)}
		if opt.TenantID != "" {
			getOpts = append(getOpts, clientv3.WithKeysOnly())
		}
		resp, err := s.client.Get(ctx, start, getOpts...)
		if err != nil {
			return nil, "", fmt.Errorf("cluster: list schedules: %w", err)
		}
		var scheds []*storagev1.Schedule
		var keys []string
		if opt.TenantID != "" {
			for _, kv := range resp.Kvs {
				keys = append(keys, string(kv.Key))
			}
			if scheds, err = s.schedulesOfTenantKeys(ctx, keys); err != nil {
				return nil, "", err
			}
		} else {
			for _, kv := range resp.Kvs {
				sc, err := decodeSchedule(kv.Value)
				if err != nil {
					return nil, "", err
				}
				keys = append(keys, string(kv.Key))
				scheds = append(scheds, sc)
			}
		}
		for i, sc := range scheds {
			scanned++
			if sc != nil && (opt.Match == nil || opt.Match(sc)) {
				out = append(out, sc)
			}
			last := i == len(scheds)-1
			full := len(out) == opt.PageSize || scanned >= opt.MaxScan
			if full {
				if last && !resp.More {
					return out, "", nil
				}
				return out, s.pageToken(keys[i]), nil
			}
		}
		if !resp.More {
			return out, "", nil
		}
		start = keys[len(keys)-1] + "\x00"
	}
}

// schedulesOfTenantKeys reads the schedules behind tenant index keys, in
// transactions of at most maxTxnOps gets. A schedule deleted meanwhile
// reads as nil.
func (s *Store) schedulesOfTenantKeys(ctx context.Context, tenantKeys []string) ([]*storagev1.Schedule, error) {
	out := make([]*storagev1.Schedule, 0, len(tenantKeys))
	for lo := 0; lo < len(tenantKeys); lo += s.maxTxnOps {
		hi := min(lo+s.maxTxnOps, len(tenantKeys))
		ops := make([]clientv3.Op, 0, hi-lo)
		for _, k := range tenantKeys[lo:hi] {
			ops = append(ops, clientv3.OpGet(s.scheduleKey(serverOfTenantKey(k))))
		}
		resp, err := s.client.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("cluster: read tenant schedules: %w", err)
		}
		for _, r := range resp.Responses {
			kvs := r.GetResponseRange().Kvs
			if len(kvs) == 0 {
				out = append(out, nil)
				continue
			}
			sc, err := decodeSchedule(kvs[0].Value)
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
		}
	}
	return out, nil
}
