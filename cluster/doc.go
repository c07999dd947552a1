// Package cluster adapts etcd (and, for the cluster, memberlist) to
// imgsched: the schedule store, the embedded single-member etcd, and the
// membership, election and shard ownership that keep nodes from acting on
// the same server twice.
//
// It owns every key imgsched writes to etcd and their layout (keys.go). It
// never decides what a schedule should do: that is package scheduler's job,
// and the API's translation is package api's.
package cluster
