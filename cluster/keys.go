package cluster

import (
	"fmt"
	"strings"
)

// Key layout under the configured prefix P (default "/imgsched"):
//
//	P/meta/shards              shard count, fixed when the cluster is created
//	P/s/SSSS/SERVER            storagev1.Schedule of SERVER, SSSS = its shard
//	P/t/TENANT/SERVER          empty; index of a tenant's schedules
//	P/r/SSSS/SERVER            storagev1.ScheduleRuns of SERVER: the engine's
//	                           slot, current run and history; written only
//	                           by the node executing shard SSSS
//
// The shard leads the schedule key so that a node can range over and watch
// exactly the shards it owns.
type keys struct {
	prefix string
}

func (k keys) shardCount() string { return k.prefix + "/meta/shards" }

func (k keys) schedules() string { return k.prefix + "/s/" }

func (k keys) shard(shard int) string { return fmt.Sprintf("%s/s/%04d/", k.prefix, shard) }

func (k keys) schedule(shard int, serverID string) string { return k.shard(shard) + serverID }

func (k keys) runsOfShard(shard int) string { return fmt.Sprintf("%s/r/%04d/", k.prefix, shard) }

func (k keys) runs(shard int, serverID string) string { return k.runsOfShard(shard) + serverID }

func (k keys) tenant(tenantID string) string { return k.prefix + "/t/" + tenantID + "/" }

func (k keys) tenantSchedule(tenantID, serverID string) string {
	return k.tenant(tenantID) + serverID
}

// serverOfTenantKey returns the server id at the end of a tenant index key.
func serverOfTenantKey(key string) string {
	return key[strings.LastIndexByte(key, '/')+1:]
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\x00"
}
