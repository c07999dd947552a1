package sharding

import "hash/fnv"

// Ring positions. They are part of what every node must compute alike: a
// change here reassigns shards on upgrade, so treat it like the encoding.

const (
	golden    = 0x9e3779b97f4a7c15 // 2^64 / φ, the splitmix64 increment
	shardSalt = 0x5348415244524e47 // "SHARDRNG": keeps shard and member streams apart
)

// mix64 is the splitmix64 finaliser: a bijection on uint64 whose output
// bits each depend on every input bit.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// shardPos is where shard s starts its walk on the ring. Distinct shards
// get distinct positions, since mix64 is a bijection.
func shardPos(s int) uint64 {
	return mix64(uint64(s)*golden + shardSalt)
}

// memberSeed is the seed of a member's virtual-node positions.
func memberSeed(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// vnodePos is the position of virtual node v of the member whose seed is seed.
func vnodePos(seed uint64, v int) uint64 {
	return mix64(seed + uint64(v+1)*golden)
}
