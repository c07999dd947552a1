// Package sharding decides which scheduler node owns which shard.
//
// Servers hash into a fixed number of shards (Shard, part of the storage
// format). The leader calls Assign with the live members, the previous
// Assignment and, optionally, each shard's expected creations per hour; it
// gets the next Assignment, an immutable value with an epoch, an owner per
// shard and the sorted member list, which it encodes (MarshalBinary) and
// publishes. Every node decodes it (UnmarshalBinary) and asks Owner or
// ShardsOf. Assign uses consistent hashing with bounded loads (no member
// above ⌈(1+ε) × its fair count⌉), a sticky pass that moves only the shards
// a join or leave requires, and an hourly pass that evens out each member's
// load hour by hour. Diff and Stats measure the result; Debouncer decides,
// from event times the caller passes in, when membership churn has settled
// enough to recompute.
//
// The package owns these decisions and their byte format, and nothing
// else. It never does I/O: no etcd, memberlist, network, files, clocks or
// goroutines, and it holds no package-level mutable state. Publishing the
// assignment, fencing writes by epoch and detecting membership belong to
// package cluster.
package sharding
