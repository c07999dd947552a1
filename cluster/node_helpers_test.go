package cluster

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// waitTimeout bounds every wait of the node tests; they synchronise on
// events and never sleep, so it is only reached when something is broken.
const waitTimeout = 30 * time.Second

// testCluster is a set of in-process nodes, each with its own etcd client
// and memberlist on loopback, under one key prefix of the shared etcd.
type testCluster struct {
	tb     testing.TB
	prefix string
	shards int
	// observer is an etcd client of the test's own, and view a mirror of
	// the cluster keys through it.
	observer *clientv3.Client
	view     *view
	nodes    map[string]*Node
}

func newTestCluster(tb testing.TB, shards int) *testCluster {
	tb.Helper()
	c := &testCluster{tb: tb, prefix: uniquePrefix(), shards: shards, nodes: map[string]*Node{}}
	c.observer = newNodeClient(tb)
	c.view = newView(c.observer, keys{prefix: c.prefix}, 100*time.Millisecond, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.view.run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	return c
}

// newNodeClient is newTestClient for tests and benchmarks alike.
func newNodeClient(tb testing.TB) *clientv3.Client {
	tb.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: testEtcd.endpoints, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// testLogger logs to stderr when IMGSCHED_TEST_LOG is set; nothing
// otherwise.
func testLogger(tb testing.TB) *zap.Logger {
	if os.Getenv("IMGSCHED_TEST_LOG") == "" {
		return zap.NewNop()
	}
	lg, err := zap.NewDevelopment()
	if err != nil {
		tb.Fatal(err)
	}
	return lg
}

// start starts a node named name with the local preset, changed by mods,
// and waits until it is registered.
func (c *testCluster) start(name string, mods ...func(*Config)) *Node {
	c.tb.Helper()
	client := newNodeClient(c.tb)
	store, err := OpenStore(context.Background(), client, WithPrefix(c.prefix), WithShardCount(c.shards))
	if err != nil {
		c.tb.Fatal(err)
	}
	cfg := DefaultLocalConfig()
	cfg.Name = name
	cfg.Logger = testLogger(c.tb)
	for _, m := range mods {
		m(&cfg)
	}
	n, err := New(cfg, client, store)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.tb.Cleanup(func() { n.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		c.tb.Fatal(err)
	}
	c.nodes[name] = n
	return n
}

// startEngine stands in for the snapshot engine on n: whenever shards leave
// Owned, it releases them at once. It stops with the test.
func (c *testCluster) startEngine(n *Node) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		owned, changed := n.Owned()
		for {
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
			var now []int
			now, changed = n.Owned()
			for _, s := range owned {
				if !slices.Contains(now, s) {
					n.Release(s)
				}
			}
			owned = now
		}
	}()
	c.tb.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitFor blocks until cond holds for the observer's view of the cluster,
// and returns that state.
func (c *testCluster) waitFor(what string, cond func(*clusterState) bool) *clusterState {
	c.tb.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		st, changed := c.view.current()
		if cond(st) {
			return st
		}
		select {
		case <-changed:
		case <-deadline.C:
			c.tb.Fatalf("after %s: still waiting for %s; cluster at revision %d: %s", waitTimeout, what, st.rev, describe(st))
		}
	}
}

// waitSettled waits until exactly names are the assignment's members, one
// of them leads, every shard is claimed by its assigned owner, and each of
// those nodes' Owned is what it was assigned. It returns that state.
func (c *testCluster) waitSettled(names ...string) *clusterState {
	c.tb.Helper()
	slices.Sort(names)
	st := c.waitFor(fmt.Sprintf("settled on %v", names), func(st *clusterState) bool { return settled(st, c.shards, names) })
	for _, name := range names {
		c.waitOwned(c.nodes[name], st.assignment.ShardsOf(name))
	}
	return st
}

func settled(st *clusterState, shards int, names []string) bool {
	var members []string
	for _, m := range st.assignment.Members() {
		members = append(members, m.ID)
	}
	l, ok := st.leader()
	if !ok || !slices.Contains(names, l.name) || !slices.Equal(members, names) || st.assignment.Shards() != shards {
		return false
	}
	if len(st.owners) != shards {
		return false
	}
	for shard, ow := range st.owners {
		if ow.claim.Node != st.assignment.Owner(shard) {
			return false
		}
	}
	return true
}

// waitOwned waits until n's Owned is want.
func (c *testCluster) waitOwned(n *Node, want []int) {
	c.tb.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		got, changed := n.Owned()
		if slices.Equal(got, want) {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			c.tb.Fatalf("node %s owns %d shards %v, want %d %v", n.Name(), len(got), got, len(want), want)
		}
	}
}

// statusAt returns n's Status once n's view has reached revision rev.
func (c *testCluster) statusAt(n *Node, rev int64) Status {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if !n.view.waitRev(ctx, rev) {
		c.tb.Fatalf("node %s did not see revision %d", n.Name(), rev)
	}
	return n.Status()
}

// describe summarises a state for failure messages.
func describe(st *clusterState) string {
	l, _ := st.leader()
	counts := map[string]int{}
	for _, ow := range st.owners {
		counts[ow.claim.Node]++
	}
	var nodes []string
	for name, info := range st.nodes {
		nodes = append(nodes, fmt.Sprintf("%s(leaving=%v)", name, info.Leaving))
	}
	sort.Strings(nodes)
	return fmt.Sprintf("leader %q, nodes %v, epoch %d members %v, claims per node %v",
		l.name, nodes, st.assignment.Epoch(), st.assignment.Members(), counts)
}

// bound is the most shards one of k equal members may hold with ε.
func bound(shards, k int, eps float64) int {
	return int(math.Ceil((1 + eps) * float64(shards) / float64(k)))
}

// txnHolds reports whether a transaction conditioned on cmps succeeds.
func txnHolds(tb testing.TB, client *clientv3.Client, prefix string, cmps []clientv3.Cmp) bool {
	tb.Helper()
	resp, err := client.Txn(context.Background()).If(cmps...).Then(clientv3.OpPut(prefix+"/fenced-write", "x")).Commit()
	if err != nil {
		tb.Fatal(err)
	}
	return resp.Succeeded
}
