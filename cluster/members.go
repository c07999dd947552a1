package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/sharding"
)

// maxDeparted bounds how many departed nodes gossip remembers for Status.
const maxDeparted = 64

// nodeInfo is a node's registration in etcd (P/cluster/nodes/NAME, under
// its session lease) and, without Leaving, its memberlist metadata.
type nodeInfo struct {
	Name string `json:"name"`
	// Gossip is the memberlist address other nodes join, "host:port".
	Gossip   string `json:"gossip,omitempty"`
	GRPC     string `json:"grpc,omitempty"`
	REST     string `json:"rest,omitempty"`
	Capacity uint32 `json:"capacity"`
	// Leaving is set by Leave: the leader assigns the node nothing more.
	Leaving bool `json:"leaving,omitempty"`
}

// gossipNode is what memberlist told this node about another.
type gossipNode struct {
	addr  string
	state memberlist.NodeStateType // alive, dead or left: events do not report suspicion
	since time.Time                // when state began
	// lastContact is the last time this node heard from the other
	// directly: a probe acknowledged, a join or a metadata update.
	lastContact time.Time
}

// gossip runs the node's memberlist and remembers what its events said. It
// implements memberlist's Delegate, EventDelegate and PingDelegate; the
// callbacks only update gossip's own state, never call memberlist back.
type gossip struct {
	name string
	meta []byte
	lg   *zap.Logger
	ml   *memberlist.Memberlist

	mu      sync.Mutex
	nodes   map[string]*gossipNode
	changed chan struct{} // closed and replaced when a node joins or departs
}

// startGossip creates the memberlist, listening on cfg's address. It does
// not join anyone.
func startGossip(cfg Config, info nodeInfo, lg *zap.Logger) (*gossip, error) {
	meta, err := json.Marshal(nodeInfo{Name: info.Name, GRPC: info.GRPC, REST: info.REST, Capacity: info.Capacity})
	if err != nil {
		return nil, err
	}
	if len(meta) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("%w: node metadata is %d bytes, memberlist allows %d", ErrNodeConfig, len(meta), memberlist.MetaMaxSize)
	}
	g := &gossip{name: cfg.Name, meta: meta, lg: lg, nodes: map[string]*gossipNode{}, changed: make(chan struct{})}
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	mc.BindAddr, mc.BindPort = cfg.BindAddr, cfg.BindPort
	mc.AdvertiseAddr, mc.AdvertisePort = cfg.AdvertiseAddr, cfg.AdvertisePort
	if cfg.AdvertisePort == 0 {
		mc.AdvertisePort = cfg.BindPort
	}
	mc.ProbeInterval, mc.ProbeTimeout = cfg.ProbeInterval, cfg.ProbeTimeout
	mc.SuspicionMult = cfg.SuspicionMult
	mc.GossipInterval = cfg.GossipInterval
	if cfg.ProbeInterval < time.Second {
		// Stream timeouts (push/pull, TCP fallback probes) scale with the
		// probes, or a dead peer holds a join or sync for memberlist's 10 s.
		mc.TCPTimeout = 10 * cfg.ProbeInterval
	}
	// A node restarted under its name on another address (a new port in
	// dev, a rescheduled container) may take its name back once its old
	// self is dead and its lease, which the name is unique under, expired.
	mc.DeadNodeReclaimTime = time.Duration(cfg.SessionTTL) * time.Second
	mc.SecretKey = cfg.SecretKey
	mc.Delegate, mc.Events, mc.Ping = g, g, g
	mc.Logger = log.New(memberlistLog{lg}, "", 0)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("cluster: start memberlist on %s:%d: %w", cfg.BindAddr, cfg.BindPort, err)
	}
	g.ml = ml
	return g, nil
}

// address returns the memberlist address other nodes dial.
func (g *gossip) address() string { return g.ml.LocalNode().Address() }

// join contacts the nodes at addrs; it blocks until each has answered or
// timed out. It reports how many answered.
func (g *gossip) join(addrs []string) (int, error) {
	if len(addrs) == 0 {
		return 0, nil
	}
	return g.ml.Join(addrs)
}

// current returns the names memberlist holds alive (this node included)
// and a channel closed when that changes.
func (g *gossip) current() (map[string]bool, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	alive := make(map[string]bool, len(g.nodes))
	for name, n := range g.nodes {
		if n.state == memberlist.StateAlive {
			alive[name] = true
		}
	}
	return alive, g.changed
}

// lastContact returns when this node last heard from name directly.
func (g *gossip) lastContact(name string) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.nodes[name]
	if !ok || n.lastContact.IsZero() {
		return time.Time{}, false
	}
	return n.lastContact, true
}

// states returns a copy of every node's gossip state, with suspicion as
// memberlist reports it now.
func (g *gossip) states() map[string]gossipNode {
	suspect := map[string]bool{}
	for _, n := range g.ml.Members() {
		if n.State == memberlist.StateSuspect {
			suspect[n.Name] = true
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]gossipNode, len(g.nodes))
	for name, n := range g.nodes {
		c := *n
		if suspect[name] && c.state == memberlist.StateAlive {
			c.state = memberlist.StateSuspect
		}
		out[name] = c
	}
	return out
}

// leave broadcasts this node's departure and waits up to timeout for it to
// spread, then stops memberlist.
func (g *gossip) leave(timeout time.Duration) error {
	err := g.ml.Leave(timeout)
	if serr := g.ml.Shutdown(); err == nil {
		err = serr
	}
	return err
}

// shutdown stops memberlist without a word to the others, as a crash
// would: they find the node dead by probing.
func (g *gossip) shutdown() error { return g.ml.Shutdown() }

func (g *gossip) notify() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// NotifyJoin implements memberlist.EventDelegate.
func (g *gossip) NotifyJoin(n *memberlist.Node) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nodes[n.Name] = &gossipNode{addr: n.Address(), state: memberlist.StateAlive, since: now, lastContact: now}
	g.notify()
}

// NotifyLeave implements memberlist.EventDelegate: the node is dead or left.
func (g *gossip) NotifyLeave(n *memberlist.Node) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	gn, ok := g.nodes[n.Name]
	if !ok {
		gn = &gossipNode{addr: n.Address()}
		g.nodes[n.Name] = gn
	}
	gn.state, gn.since = n.State, now
	if gn.state != memberlist.StateLeft {
		gn.state = memberlist.StateDead
	}
	g.prune()
	g.notify()
}

// NotifyUpdate implements memberlist.EventDelegate.
func (g *gossip) NotifyUpdate(n *memberlist.Node) {
	g.touch(n.Name)
}

// NotifyPingComplete implements memberlist.PingDelegate: a probe of other
// was acknowledged.
func (g *gossip) NotifyPingComplete(other *memberlist.Node, _ time.Duration, _ []byte) {
	g.touch(other.Name)
}

// AckPayload implements memberlist.PingDelegate.
func (g *gossip) AckPayload() []byte { return nil }

func (g *gossip) touch(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n, ok := g.nodes[name]; ok {
		n.lastContact = time.Now()
	}
}

// prune forgets the departed nodes that departed first, beyond
// maxDeparted. Called with mu held.
func (g *gossip) prune() {
	var gone []string
	for name, n := range g.nodes {
		if n.state != memberlist.StateAlive {
			gone = append(gone, name)
		}
	}
	if len(gone) <= maxDeparted {
		return
	}
	sort.Slice(gone, func(i, j int) bool { return g.nodes[gone[i]].since.Before(g.nodes[gone[j]].since) })
	for _, name := range gone[:len(gone)-maxDeparted] {
		delete(g.nodes, name)
	}
}

// NodeMeta implements memberlist.Delegate.
func (g *gossip) NodeMeta(limit int) []byte {
	if len(g.meta) > limit {
		return nil
	}
	return g.meta
}

// NotifyMsg implements memberlist.Delegate; nodes send no user messages.
func (g *gossip) NotifyMsg([]byte) {}

// GetBroadcasts implements memberlist.Delegate; nodes broadcast nothing.
func (g *gossip) GetBroadcasts(int, int) [][]byte { return nil }

// LocalState implements memberlist.Delegate; state lives in etcd.
func (g *gossip) LocalState(bool) []byte { return nil }

// MergeRemoteState implements memberlist.Delegate.
func (g *gossip) MergeRemoteState([]byte, bool) {}

// runJoin joins, at most every retry, the nodes registered in etcd that
// memberlist does not hold alive: etcd is the discovery service, and this
// also heals a gossip partition once the network does. It blocks until ctx
// is done.
func (g *gossip) runJoin(ctx context.Context, v *view, retry time.Duration) {
	for {
		st, vch := v.current()
		alive, gch := g.current()
		var addrs []string
		for name, info := range st.nodes {
			if name != g.name && !alive[name] && info.Gossip != "" {
				addrs = append(addrs, info.Gossip)
			}
		}
		if len(addrs) > 0 {
			sort.Strings(addrs)
			if n, err := g.join(addrs); err != nil {
				g.lg.Debug("memberlist join of registered nodes incomplete",
					zap.Strings("addrs", addrs), zap.Int("joined", n), zap.Error(err))
			}
			if !pause(ctx, retry) {
				return
			}
			continue
		}
		select {
		case <-vch:
		case <-gch:
		case <-ctx.Done():
			return
		}
	}
}

// liveMembers returns the members the assignment is for: nodes registered
// in etcd (their lease is alive), not leaving, and alive in memberlist. A
// node cut off from etcd cannot execute, and one memberlist declares dead
// will soon lose its lease.
func liveMembers(st *clusterState, alive map[string]bool) []sharding.Member {
	var ms []sharding.Member
	for name, info := range st.nodes {
		if info.Leaving || !alive[name] {
			continue
		}
		ms = append(ms, sharding.Member{ID: name, Capacity: info.Capacity})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	return ms
}

// memberlistLog turns memberlist's "[LEVEL] memberlist: ..." lines into zap
// entries.
type memberlistLog struct{ lg *zap.Logger }

func (w memberlistLog) Write(p []byte) (int, error) {
	msg := string(bytes.TrimSpace(p))
	switch {
	case bytes.Contains(p, []byte("[ERR]")):
		w.lg.Error(msg)
	case bytes.Contains(p, []byte("[WARN]")):
		w.lg.Warn(msg)
	default:
		w.lg.Debug(msg)
	}
	return len(p), nil
}
