package sharding

import "hash/fnv"

// Shard returns the shard, in [0, count), that serverID hashes into.
//
// The mapping is FNV-1a 64 modulo count. It is part of the storage format:
// keys in etcd carry the shard, so changing this function or a cluster's
// shard count after creation would orphan every stored schedule.
func Shard(serverID string, count int) int {
	if count <= 0 {
		panic("sharding: shard count must be positive")
	}
	h := fnv.New64a()
	h.Write([]byte(serverID))
	return int(h.Sum64() % uint64(count))
}
