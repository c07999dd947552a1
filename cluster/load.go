package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// HoursPerWeek is the length of a load histogram.
const HoursPerWeek = 7 * 24

// NodeLoad is a node's share of the cluster's work, as it last reported
// it: at {prefix}/cluster/load/{node}, JSON. Reports outlive their node
// (they carry no lease, so a status read during a failover still shows
// the lost node's last figures); readers count only live members.
type NodeLoad struct {
	Schedules int `json:"schedules"`
	InFlight  int `json:"in_flight"`
	// Creations and InFlightMinutes are the planned load per hour of the
	// week (hour 0 = Sunday 00:00 UTC).
	Creations       [HoursPerWeek]int64 `json:"creations"`
	InFlightMinutes [HoursPerWeek]int64 `json:"in_flight_minutes"`
	// DemandDaily and DemandWeekly count schedules by the windows they
	// must be placed in (weekly indexed by time.Weekday), for the bound.
	DemandDaily  int64     `json:"demand_daily"`
	DemandWeekly [7]int64  `json:"demand_weekly"`
	At           time.Time `json:"at"`
}

func (s *Store) loadPrefix() string { return s.keys.prefix + "/cluster/load/" }

// PutLoad records node's report.
func (s *Store) PutLoad(ctx context.Context, node string, l NodeLoad) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("cluster: encode load of %s: %w", node, err)
	}
	if _, err := s.client.Put(ctx, s.loadPrefix()+node, string(b)); err != nil {
		return fmt.Errorf("cluster: record load of %s: %w", node, err)
	}
	return nil
}

// Loads returns every node's last report, by node name.
func (s *Store) Loads(ctx context.Context) (map[string]NodeLoad, error) {
	resp, err := s.client.Get(ctx, s.loadPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("cluster: read loads: %w", err)
	}
	out := make(map[string]NodeLoad, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var l NodeLoad
		if err := json.Unmarshal(kv.Value, &l); err != nil {
			return nil, fmt.Errorf("cluster: decode load %s: %w", kv.Key, err)
		}
		out[strings.TrimPrefix(string(kv.Key), s.loadPrefix())] = l
	}
	return out, nil
}
