package cluster

import (
	"fmt"
	"strconv"
	"strings"
)

// Cluster keys under the prefix P, all but the assignment attached to the
// writer's session lease, so that they vanish with it:
//
//	P/cluster/nodes/NAME        nodeInfo JSON: a live node's registration
//	P/cluster/leader/LEASE      the election (concurrency.Election): the key
//	                            with the lowest create revision is the leader
//	P/cluster/assignment        sharding.Assignment, binary; written only by
//	                            the leader, conditioned on its election key
//	P/cluster/owners/SSSS       claim JSON: the node allowed to write shard
//	                            SSSS; created only when absent
//
// Every key of the cluster lies under P/cluster/, which a node watches as
// one range (view.go) so that it sees them change in revision order.

func (k keys) cluster() string { return k.prefix + "/cluster/" }

func (k keys) nodes() string { return k.prefix + "/cluster/nodes/" }

func (k keys) node(name string) string { return k.nodes() + name }

// election is the concurrency.Election prefix; candidates' keys are
// election()+"/"+lease.
func (k keys) election() string { return k.prefix + "/cluster/leader" }

func (k keys) assignment() string { return k.prefix + "/cluster/assignment" }

func (k keys) owners() string { return k.prefix + "/cluster/owners/" }

func (k keys) owner(shard int) string { return fmt.Sprintf("%s/cluster/owners/%04d", k.prefix, shard) }

// shardOfOwnerKey returns the shard of an owner key, and false for any
// other key.
func (k keys) shardOfOwnerKey(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, k.owners())
	if !ok {
		return 0, false
	}
	s, err := strconv.Atoi(rest)
	return s, err == nil && s >= 0
}
