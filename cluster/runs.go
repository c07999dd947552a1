package cluster

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
)

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
	var r storagev1.ScheduleRuns
	if err := proto.Unmarshal(resp.Kvs[0].Value, &r); err != nil {
		return nil, fmt.Errorf("cluster: decode runs of %s: %w", serverID, err)
	}
	return &r, nil
}
