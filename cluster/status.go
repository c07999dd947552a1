package cluster

import (
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// MemberState is how this node sees another, combining gossip and etcd.
type MemberState string

// Member states.
const (
	// MemberAlive: alive in memberlist and registered in etcd; it gets shards.
	MemberAlive MemberState = "alive"
	// MemberLeaving: alive and registered, but leaving; it gets no shards.
	MemberLeaving MemberState = "leaving"
	// MemberSuspect: registered, but memberlist suspects it failed.
	MemberSuspect MemberState = "suspect"
	// MemberUnreachable: registered in etcd, but memberlist does not hold it
	// alive (not joined yet, or a gossip partition); it gets no shards.
	MemberUnreachable MemberState = "unreachable"
	// MemberNoSession: alive in memberlist, but without an etcd session (cut
	// off from etcd, or between sessions); it gets no shards.
	MemberNoSession MemberState = "no-session"
	// MemberDead: memberlist declared it dead and it is not registered.
	MemberDead MemberState = "dead"
	// MemberLeft: it left gracefully.
	MemberLeft MemberState = "left"
)

// Member is one node in a Status.
type Member struct {
	Name  string
	State MemberState
	// GossipAddr, GRPCAddr and RESTAddr are from its registration; empty
	// when it is not registered.
	GossipAddr string
	GRPCAddr   string
	RESTAddr   string
	Capacity   uint32
	// Assigned is its number of shards in the current assignment; Claimed,
	// the number whose owner key it holds.
	Assigned int
	Claimed  int
	// LastContact is when this node last heard from it directly over
	// memberlist; zero for this node itself or if never.
	LastContact time.Time
}

// FailoverKind says what moved in a Failover.
type FailoverKind string

// Failover kinds.
const (
	FailoverLeader FailoverKind = "leader"
	FailoverShards FailoverKind = "shards"
)

// Failover reasons.
const (
	// ReasonLost: From's registration was gone when it lost the leadership
	// or its claims: its lease expired or was revoked (crash, partition,
	// pause, lost session).
	ReasonLost = "lost"
	// ReasonHandover: From let go while still registered (resigned, or
	// released shards a new assignment moved) or while leaving (Leave).
	ReasonHandover = "handover"
)

// Failover is one change of leader, or the move of one member's shards to
// others, as this node watched it happen.
type Failover struct {
	Kind   FailoverKind
	Reason string
	From   string
	// To lists the new owners (the new leader), sorted.
	To []string
	// Shards is the number of shards moved (FailoverShards).
	Shards int
	// Since is when From was last known to act: the earlier of this node's
	// last direct contact with it and the moment its election key or claims
	// vanished.
	Since time.Time
	// Done is when the new leader was elected or the last of the shards was
	// claimed again; zero while some are still unclaimed.
	Done time.Time
	// Took is Done − Since: how long the cluster went without From's work
	// being owned, detection included.
	Took time.Duration
}

// Status is a node's view of the cluster.
type Status struct {
	// Node is this node's name; Leader, the elected node's ("" if none),
	// elected at LeaderSince as far as this node saw.
	Node        string
	Leader      string
	LeaderSince time.Time
	// Epoch is the current assignment's; 0 before the first one.
	Epoch uint64
	// Shards is the cluster's shard count; Unclaimed, how many have no
	// owner key now.
	Shards    int
	Unclaimed int
	// Members are sorted by name.
	Members []Member
	// Owned is what this node may execute now.
	Owned []int
	// Failovers are the latest, oldest first, at most Config.History, then
	// any still in progress.
	Failovers []Failover
}

// pendingTakeover is a move of one member's shards in progress.
type pendingTakeover struct {
	f       Failover
	pending map[int]bool
	to      map[string]bool
}

// history derives failovers from successive cluster states. Bounded: at
// most max finished ones and max in progress.
type history struct {
	max         int
	lastContact func(name string) (time.Time, bool)

	mu          sync.Mutex
	done        []Failover
	takeovers   map[string]*pendingTakeover // by From
	leaderGone  *Failover                   // the leader vanished, no successor yet
	leaderSince time.Time
}

func newHistory(max int, lastContact func(string) (time.Time, bool)) *history {
	return &history{max: max, lastContact: lastContact, takeovers: map[string]*pendingTakeover{}}
}

// since is when from was last known to act, at the latest at.
func (h *history) since(from string, at time.Time) time.Time {
	if t, ok := h.lastContact(from); ok && t.Before(at) {
		return t
	}
	return at
}

// reason tells why from let go between prev and next: still registered,
// or registered as leaving before its lease went, it handed over.
func reason(prev, next *clusterState, from string) string {
	if _, ok := next.nodes[from]; ok || prev.nodes[from].Leaving {
		return ReasonHandover
	}
	return ReasonLost
}

// observe records what changed from prev to next, seen at at.
func (h *history) observe(prev, next *clusterState, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, hadLeader := prev.leader()
	q, hasLeader := next.leader()
	if hadLeader && (!hasLeader || p.key != q.key) && h.leaderGone == nil {
		h.leaderGone = &Failover{Kind: FailoverLeader, Reason: reason(prev, next, p.name), From: p.name, Since: h.since(p.name, at)}
	}
	if hasLeader && (!hadLeader || p.key != q.key) {
		h.leaderSince = at
		if f := h.leaderGone; f != nil {
			f.To, f.Done, f.Took = []string{q.name}, at, at.Sub(f.Since)
			h.push(*f)
			h.leaderGone = nil
		}
	}

	for shard, po := range prev.owners {
		if no, ok := next.owners[shard]; ok && no.createRev == po.createRev {
			continue
		}
		from := po.claim.Node
		t := h.takeovers[from]
		if t == nil {
			if len(h.takeovers) >= h.max {
				h.dropOldestTakeover()
			}
			t = &pendingTakeover{
				f:       Failover{Kind: FailoverShards, Reason: reason(prev, next, from), From: from, Since: h.since(from, at)},
				pending: map[int]bool{}, to: map[string]bool{},
			}
			h.takeovers[from] = t
		}
		if !t.pending[shard] {
			t.pending[shard] = true
			t.f.Shards++
		}
	}
	for shard, no := range next.owners {
		if po, ok := prev.owners[shard]; ok && po.createRev == no.createRev {
			continue
		}
		for _, t := range h.takeovers {
			if !t.pending[shard] {
				continue
			}
			delete(t.pending, shard)
			t.to[no.claim.Node] = true
			break
		}
	}
	for from, t := range h.takeovers {
		if len(t.pending) == 0 && !owes(next, from) {
			t.f.To = slices.Sorted(maps.Keys(t.to))
			t.f.Done, t.f.Took = at, at.Sub(t.f.Since)
			h.push(t.f)
			delete(h.takeovers, from)
		}
	}
}

// owes reports whether from still claims a shard that st's assignment gives
// to another: it is releasing them in batches, and the hand-over is not
// over.
func owes(st *clusterState, from string) bool {
	n := st.assignment.Shards()
	for shard, ow := range st.owners {
		if ow.claim.Node == from && shard < n && st.assignment.Owner(shard) != from {
			return true
		}
	}
	return false
}

func (h *history) push(f Failover) {
	h.done = append(h.done, f)
	if len(h.done) > h.max {
		h.done = slices.Delete(h.done, 0, len(h.done)-h.max)
	}
}

func (h *history) dropOldestTakeover() {
	var oldest string
	for from, t := range h.takeovers {
		if oldest == "" || t.f.Since.Before(h.takeovers[oldest].f.Since) {
			oldest = from
		}
	}
	delete(h.takeovers, oldest)
}

// leaderElected returns when this node saw the current leader elected.
func (h *history) leaderElected() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.leaderSince
}

// failovers returns the finished failovers, oldest first, then those in
// progress.
func (h *history) failovers() []Failover {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.done)
	var open []Failover
	for _, t := range h.takeovers {
		f := t.f
		f.To = slices.Sorted(maps.Keys(t.to))
		open = append(open, f)
	}
	if h.leaderGone != nil {
		open = append(open, *h.leaderGone)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].Since.Before(open[j].Since) })
	return append(out, open...)
}

// status assembles a Status from the node's parts.
func status(self string, st *clusterState, shards int, gossip map[string]gossipNode, owned []int, h *history) Status {
	s := Status{Node: self, Epoch: st.assignment.Epoch(), Shards: shards, Owned: owned, Failovers: h.failovers()}
	if l, ok := st.leader(); ok {
		s.Leader, s.LeaderSince = l.name, h.leaderElected()
	}
	s.Unclaimed = shards - len(st.owners)
	claimed := map[string]int{}
	for _, ow := range st.owners {
		claimed[ow.claim.Node]++
	}
	loads := st.assignment.Loads()
	names := map[string]bool{}
	for name := range st.nodes {
		names[name] = true
	}
	for name := range gossip {
		names[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		m := Member{Name: name, Assigned: loads[name], Claimed: claimed[name]}
		info, registered := st.nodes[name]
		if registered {
			m.GossipAddr, m.GRPCAddr, m.RESTAddr, m.Capacity = info.Gossip, info.GRPC, info.REST, info.Capacity
		}
		g, gossiped := gossip[name]
		if gossiped && name != self {
			m.LastContact = g.lastContact
		}
		switch {
		case registered && info.Leaving:
			m.State = MemberLeaving
		case registered && gossiped && g.state == memberlist.StateAlive:
			m.State = MemberAlive
		case registered && gossiped && g.state == memberlist.StateSuspect:
			m.State = MemberSuspect
		case registered:
			m.State = MemberUnreachable
		case gossiped && (g.state == memberlist.StateAlive || g.state == memberlist.StateSuspect):
			m.State = MemberNoSession
		case gossiped && g.state == memberlist.StateLeft:
			m.State = MemberLeft
		default:
			m.State = MemberDead
		}
		s.Members = append(s.Members, m)
	}
	return s
}
