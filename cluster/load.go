package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/imgsched/imgsched/sharding"
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
	// ShardHours holds, for each shard the node executes, its planned
	// creations per hour of the UTC day over a week: what the leader
	// balances each node's hours with when it assigns shards.
	ShardHours map[int][24]int32 `json:"shard_hours,omitempty"`
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
	return readLoads(ctx, s.client, s.loadPrefix())
}

func readLoads(ctx context.Context, client *clientv3.Client, prefix string) (map[string]NodeLoad, error) {
	resp, err := client.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("cluster: read loads: %w", err)
	}
	out := make(map[string]NodeLoad, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var l NodeLoad
		if err := json.Unmarshal(kv.Value, &l); err != nil {
			return nil, fmt.Errorf("cluster: decode load %s: %w", kv.Key, err)
		}
		out[strings.TrimPrefix(string(kv.Key), prefix)] = l
	}
	return out, nil
}

// shardHours builds the per-shard hourly rows the leader assigns with, from
// the reports of the members in ms (a lost node's report is stale: its
// shards count as empty until their new owner reports them). It returns nil
// when nobody reported hours, so the assignment skips the hourly pass.
func shardHours(loads map[string]NodeLoad, ms []sharding.Member, shards int) [][]float64 {
	var rows [][]float64
	for _, m := range ms {
		for shard, hours := range loads[m.ID].ShardHours {
			if shard < 0 || shard >= shards {
				continue
			}
			if rows == nil {
				rows = make([][]float64, shards)
				for i := range rows {
					rows[i] = make([]float64, sharding.HoursPerDay)
				}
			}
			for h, v := range hours {
				rows[shard][h] = float64(v)
			}
		}
	}
	return rows
}
