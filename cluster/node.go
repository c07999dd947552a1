package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/sharding"
)

var (
	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("cluster: node already started")
	// ErrNotRunning means Leave was called on a node that is not running:
	// never started, already leaving, left or closed.
	ErrNotRunning = errors.New("cluster: node not running")
)

type nodeState int

const (
	nodeNew nodeState = iota
	nodeRunning
	nodeLeaving
	nodeClosed
)

// Node is one scheduler node's part in the cluster: memberlist membership,
// an etcd session, the leader election and, when elected, the assignment of
// shards; the claims on the shards assigned to it, and the fence of its
// engine's writes. It implements the engine's ownership source (Owned,
// Release) and Guard (Cmps). A Node is safe for concurrent use.
//
// Lifecycle: New, Start, then Leave for a graceful stop (or Close alone,
// which looks like a crash to the others), then Close.
type Node struct {
	cfg    Config
	client *clientv3.Client
	keys   keys
	shards int
	lg     *zap.Logger

	sessions *sessions
	view     *view
	owners   *ownership
	history  *history

	mu          sync.Mutex
	state       nodeState
	info        nodeInfo
	gossip      *gossip
	elector     *elector
	cancel      context.CancelFunc // stops every goroutine
	electCancel context.CancelFunc // stops campaigning and leading
	electDone   chan struct{}
	wg          sync.WaitGroup
}

// New returns a node of the cluster whose schedules store is on client:
// the store gives the key prefix and the shard count. It validates cfg and
// starts nothing.
func New(cfg Config, client *clientv3.Client, store *Store) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	lg = lg.With(zap.String("node", cfg.Name))
	n := &Node{
		cfg: cfg, client: client, keys: keys{prefix: store.Prefix()}, shards: store.Shards(), lg: lg,
		info: nodeInfo{Name: cfg.Name, GRPC: cfg.GRPCAddr, REST: cfg.RESTAddr, Capacity: cfg.Capacity},
	}
	n.history = newHistory(cfg.History, n.lastContact)
	n.view = newView(client, n.keys, cfg.RetryBackoff, lg)
	n.view.observe = n.history.observe
	n.sessions = newSessions(client, cfg.SessionTTL, cfg.RetryBackoff, lg, n.register)
	n.owners = newOwnership(cfg.Name, client, n.keys, n.sessions, n.view, cfg.ReleaseGrace, cfg.RetryBackoff, store.maxTxnOps, lg)
	return n, nil
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Start binds memberlist, joins Config.Join, and starts the node's
// session, election and ownership in the background, where they run until
// Leave or Close. It blocks until the node is registered in etcd and sees
// its registration, or ctx is done; ctx bounds only that wait. If Start
// fails, call Close.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	if n.state != nodeNew {
		n.mu.Unlock()
		return ErrStarted
	}
	g, err := startGossip(n.cfg, n.info, n.lg.Named("memberlist"))
	if err != nil {
		n.mu.Unlock()
		return err
	}
	n.gossip = g
	n.info.Gossip = g.address()
	n.state = nodeRunning
	bg, cancel := context.WithCancel(context.Background())
	ectx, ecancel := context.WithCancel(bg)
	n.cancel, n.electCancel, n.electDone = cancel, ecancel, make(chan struct{})
	l := &leader{
		name: n.cfg.Name, client: n.client, keys: n.keys,
		cfg:   sharding.Config{Shards: n.shards, Epsilon: n.cfg.Epsilon},
		quiet: cmp.Or(n.cfg.Quiet, sharding.DefaultQuiet), delay: cmp.Or(n.cfg.MaxDelay, sharding.DefaultMaxDelay),
		backoff: n.cfg.RetryBackoff,
		view:    n.view, gossip: g, lg: n.lg,
	}
	n.elector = &elector{name: n.cfg.Name, keys: n.keys, sessions: n.sessions, backoff: n.cfg.RetryBackoff, lg: n.lg, lead: l.lead}
	n.mu.Unlock()

	n.lg.Info("node starting", zap.String("gossip", n.info.Gossip), zap.Int("shards", n.shards))
	n.goRun(func() { n.view.run(bg) })
	n.goRun(func() { n.sessions.run(bg) })
	n.goRun(func() { n.owners.run(bg) })
	n.goRun(func() { g.runJoin(bg, n.view, n.cfg.JoinRetry) })
	n.goRun(func() {
		defer close(n.electDone)
		n.elector.run(ectx)
	})
	if len(n.cfg.Join) > 0 {
		if joined, err := g.join(n.cfg.Join); err != nil {
			n.lg.Warn("memberlist join incomplete; relying on the nodes registered in etcd",
				zap.Strings("join", n.cfg.Join), zap.Int("joined", joined), zap.Error(err))
		}
	}
	for {
		st, ch := n.view.current()
		if _, ok := st.nodes[n.cfg.Name]; ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cluster: node %s not registered: %w", n.cfg.Name, ctx.Err())
		}
	}
}

func (n *Node) goRun(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// register writes the node's registration under lease.
func (n *Node) register(ctx context.Context, lease clientv3.LeaseID) error {
	n.mu.Lock()
	b, err := json.Marshal(n.info)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	if _, err := n.client.Put(ctx, n.keys.node(n.cfg.Name), string(b), clientv3.WithLease(lease)); err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	return nil
}

func (n *Node) lastContact(name string) (time.Time, bool) {
	n.mu.Lock()
	g := n.gossip
	n.mu.Unlock()
	if g == nil {
		return time.Time{}, false
	}
	return g.lastContact(name)
}

// Owned returns the shards this node may execute now, ascending, and a
// channel closed when that set changes; then call Owned again. A shard is
// owned while this node's live session holds its claim and the current
// assignment gives it to this node. The set empties the moment the session
// is lost, and when the node stops.
func (n *Node) Owned() (shards []int, changed <-chan struct{}) { return n.owners.current() }

// Release tells the node that its engine has stopped working on shard, which
// has left Owned: the node deletes its claim at once instead of after
// Config.ReleaseGrace, and the shard's new owner can take it over.
func (n *Node) Release(shard int) {
	if shard >= 0 && shard < n.shards {
		n.owners.release(shard)
	}
}

// Cmps implements Guard: the comparison that holds only while this node's
// claim on shard exists in etcd, to be put in the transaction of a write
// to the shard. It fails with ErrFenced when the node already knows it has
// no claim (no live session, or the shard is not claimed). While a shard is
// being handed over (out of Owned, claim not yet released), Cmps still
// succeeds, so the engine can record where it stopped.
func (n *Node) Cmps(shard int) ([]clientv3.Cmp, error) { return n.owners.cmps(shard) }

// WriteDeadline implements the engine's cloud fence: the instant until
// which this node may still send a request to the cloud on behalf of
// shard, a lower bound of its session lease's expiry while it holds the
// shard's claim. It fails with ErrFenced when the node has no claim, no
// live session, or the bound has passed. A request sent before the bound
// reaches the cloud before any other node can claim the shard.
func (n *Node) WriteDeadline(shard int) (time.Time, error) { return n.owners.writeDeadline(shard) }

// Status returns the node's view of the cluster. It does not block on the
// network.
func (n *Node) Status() Status {
	st, _ := n.view.current()
	owned, _ := n.owners.current()
	n.mu.Lock()
	g := n.gossip
	n.mu.Unlock()
	var gs map[string]gossipNode
	if g != nil {
		gs = g.states()
	}
	return status(n.cfg.Name, st, n.shards, gs, owned, n.history)
}

// Leave hands the node's work over and stops it:
//  1. it registers as leaving, so the leader (itself, if it leads) assigns
//     its shards to the others after the quiet period;
//  2. it waits until the published assignment gives it no shard, or no
//     other member is alive to take them;
//  3. it drops every shard from Owned and deletes each claim once the
//     engine calls Release or Config.ReleaseGrace passes, so each new owner
//     claims right after;
//  4. it stops campaigning, revokes its session (deleting its
//     registration, election key and any claim left at once), leaves
//     memberlist and stops.
//
// It blocks until all that is done. If ctx ends first, Leave skips to step
// 4 (with a deadline of its own, Config.SessionTTL) and returns ctx's
// error: nothing is lost, the others claim the shards once the revoke is
// seen. Call Close afterwards to release what remains.
func (n *Node) Leave(ctx context.Context) error {
	n.mu.Lock()
	if n.state != nodeRunning {
		n.mu.Unlock()
		return ErrNotRunning
	}
	n.state = nodeLeaving
	n.info.Leaving = true
	g := n.gossip
	n.mu.Unlock()
	n.lg.Info("leaving the cluster")
	if err := n.sessions.update(ctx); err != nil {
		n.lg.Warn("leaving not registered; revoking the session instead", zap.Error(err))
	} else {
		n.awaitHandover(ctx)
	}
	select {
	case <-n.owners.drain():
	case <-ctx.Done():
	}
	n.electCancel()
	<-n.electDone

	rctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(context.Background(), time.Duration(n.cfg.SessionTTL)*time.Second)
		defer cancel()
	}
	var errs []error
	if err := n.sessions.stop(rctx); err != nil {
		errs = append(errs, fmt.Errorf("revoke session: %w", err))
	}
	if err := g.leave(10 * n.cfg.ProbeInterval); err != nil {
		errs = append(errs, fmt.Errorf("leave memberlist: %w", err))
	}
	n.halt()
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("cluster: hand-over cut short: %w", err))
	}
	n.lg.Info("left the cluster", zap.Errors("errors", errs))
	return errors.Join(errs...)
}

// awaitHandover blocks until the assignment gives this node no shard, no
// other member is alive to take them, or ctx is done.
func (n *Node) awaitHandover(ctx context.Context) {
	for {
		st, vch := n.view.current()
		alive, gch := n.gossip.current()
		others := 0
		for _, m := range liveMembers(st, alive) {
			if m.ID != n.cfg.Name {
				others++
			}
		}
		if others == 0 || len(st.assignment.ShardsOf(n.cfg.Name)) == 0 {
			return
		}
		select {
		case <-vch:
		case <-gch:
		case <-ctx.Done():
			return
		}
	}
}

// Close stops the node at once, without a word to the others: to them it
// looks like a crash. memberlist stops answering probes, and the session is
// abandoned, not revoked, so its claims and election key stay until its
// lease expires (Config.SessionTTL); only then can others take over. Call
// Leave first for a graceful hand-over. Close waits for the node's
// goroutines to end; it is idempotent.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.state == nodeNew || n.state == nodeClosed {
		n.state = nodeClosed
		n.mu.Unlock()
		return nil
	}
	g, electCancel := n.gossip, n.electCancel
	n.mu.Unlock()
	electCancel()
	n.sessions.orphan()
	err := g.shutdown()
	n.halt()
	return err
}

// halt cancels every goroutine and waits for them.
func (n *Node) halt() {
	n.mu.Lock()
	n.state = nodeClosed
	cancel := n.cancel
	n.mu.Unlock()
	cancel()
	n.wg.Wait()
}
