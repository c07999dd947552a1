package cluster

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/imgsched/imgsched/sharding"
)

func TestThreeNodesElectOneLeaderAndShareEveryShardOnce(t *testing.T) {
	c := newTestCluster(t, 256)
	for _, name := range []string{"a", "b", "c"} {
		c.start(name)
	}
	st := c.waitSettled("a", "b", "c")

	leaders := 0
	for _, cand := range st.candidates {
		if cand.createRev == st.candidates[0].createRev {
			leaders++
		}
	}
	if leaders != 1 || len(st.candidates) != 3 {
		t.Errorf("candidates %v: want 3 with exactly one lowest", st.candidates)
	}
	leading := 0
	seen := map[int]string{}
	for name, n := range c.nodes {
		if _, _, ok := n.elector.leading(); ok {
			leading++
			if name != st.candidates[0].name {
				t.Errorf("node %s acts as leader, the election says %s", name, st.candidates[0].name)
			}
		}
		owned, _ := n.Owned()
		if max := bound(c.shards, 3, sharding.DefaultEpsilon); len(owned) > max {
			t.Errorf("node %s owns %d shards, above the bound %d", name, len(owned), max)
		}
		for _, s := range owned {
			if other, dup := seen[s]; dup {
				t.Errorf("shard %d owned by %s and %s", s, other, name)
			}
			seen[s] = name
		}
	}
	if leading != 1 {
		t.Errorf("%d nodes act as leader, want 1", leading)
	}
	if len(seen) != c.shards {
		t.Errorf("owned sets cover %d shards, want %d", len(seen), c.shards)
	}
	// Every node's own view agrees on the leader once it has caught up.
	for name, n := range c.nodes {
		if s := c.statusAt(n, st.rev); s.Leader != st.candidates[0].name || s.Epoch < st.assignment.Epoch() {
			t.Errorf("node %s status: leader %q epoch %d, want %q and at least %d", name, s.Leader, s.Epoch, st.candidates[0].name, st.assignment.Epoch())
		}
	}
}

func TestTheFenceHoldsOnlyForTheClaimHolder(t *testing.T) {
	c := newTestCluster(t, 16)
	a := c.start("a")
	b := c.start("b")
	c.startEngine(a)
	c.startEngine(b)
	st := c.waitSettled("a", "b")
	shard := st.assignment.ShardsOf("a")[0]

	cmps, err := a.Cmps(shard)
	if err != nil {
		t.Fatalf("owner's Cmps: %v", err)
	}
	if !txnHolds(t, c.observer, c.prefix, cmps) {
		t.Error("the owner's fence failed in etcd")
	}
	if _, err := b.Cmps(shard); !errors.Is(err, ErrFenced) {
		t.Errorf("another node's Cmps: %v, want ErrFenced", err)
	}
	if _, err := a.Cmps(c.shards + 1); !errors.Is(err, ErrFenced) {
		t.Errorf("Cmps of a shard that does not exist: %v, want ErrFenced", err)
	}
	// A claim deleted behind the owner's back fails the fence it handed
	// out, even once the owner has claimed the shard again with the same
	// session in the same epoch.
	if _, err := c.observer.Delete(context.Background(), c.keys().owner(shard)); err != nil {
		t.Fatal(err)
	}
	again := waitNewFence(t, a, shard, cmps)
	if txnHolds(t, c.observer, c.prefix, cmps) {
		t.Error("a fence on a deleted claim held")
	}
	if !txnHolds(t, c.observer, c.prefix, again) {
		t.Error("the fence of the new claim failed")
	}
}

// waitNewFence waits until n holds a claim on shard whose fence differs
// from old, and returns it.
func waitNewFence(t *testing.T, n *Node, shard int, old []clientv3.Cmp) []clientv3.Cmp {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		_, changed := n.Owned()
		if cmps, err := n.Cmps(shard); err == nil && !reflect.DeepEqual(cmps, old) {
			return cmps
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("node %s did not claim shard %d again", n.Name(), shard)
		}
	}
}

func (c *testCluster) keys() keys { return keys{prefix: c.prefix} }

func TestALostSessionFencesTheNodeAtOnce(t *testing.T) {
	c := newTestCluster(t, 256)
	for _, name := range []string{"a", "b", "c"} {
		c.start(name)
	}
	st := c.waitSettled("a", "b", "c")
	victim := c.nodes["b"]
	shard := st.assignment.ShardsOf("b")[0]
	cmps, err := victim.Cmps(shard)
	if err != nil {
		t.Fatal(err)
	}
	_, changed := victim.Owned()
	sess, _ := victim.sessions.current()

	lost := time.Now()
	if _, err := c.observer.Revoke(context.Background(), sess.Lease()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(waitTimeout):
		t.Fatal("Owned did not change after the session was lost")
	}
	if txnHolds(t, c.observer, c.prefix, cmps) {
		t.Error("a fence from the lost session held in etcd")
	}
	// The node makes a new session and the cluster settles again, every
	// shard claimed once; b's claims are new ones.
	st = c.waitSettled("a", "b", "c")
	t.Logf("session lost → every shard claimed again: %s", time.Since(lost))
	for _, s := range st.assignment.ShardsOf("b") {
		if ow := st.owners[s]; ow.claim.Lease == leaseHex(sess.Lease()) {
			t.Errorf("shard %d still claimed under the revoked lease", s)
		}
	}
	if owned, _ := victim.Owned(); len(owned) > 0 {
		now, err := victim.Cmps(owned[0])
		if err != nil || !txnHolds(t, c.observer, c.prefix, now) {
			t.Errorf("the fence of the new session's claim on shard %d: %v", owned[0], err)
		}
	}
}

func TestACrashedNodesShardsAreClaimedByTheOthers(t *testing.T) {
	c := newTestCluster(t, 256)
	for _, name := range []string{"a", "b", "c"} {
		c.start(name)
	}
	st := c.waitSettled("a", "b", "c")
	victim := pickNonLeader(st)
	victimShards := st.assignment.ShardsOf(victim)
	cmps, err := c.nodes[victim].Cmps(victimShards[0])
	if err != nil {
		t.Fatal(err)
	}

	lost := time.Now()
	if err := c.nodes[victim].Close(); err != nil {
		t.Fatal(err)
	}
	if owned, _ := c.nodes[victim].Owned(); len(owned) != 0 {
		t.Errorf("a closed node still owns %v", owned)
	}
	var survivors []string
	for name := range c.nodes {
		if name != victim {
			survivors = append(survivors, name)
		}
	}
	st = c.waitSettled(survivors...)
	took := time.Since(lost)
	t.Logf("node crashed (session TTL %d s) → its %d shards claimed by the others: %s", DefaultLocalConfig().SessionTTL, len(victimShards), took)
	if txnHolds(t, c.observer, c.prefix, cmps) {
		t.Error("the crashed node's fence still holds")
	}
	for _, s := range victimShards {
		if ow := st.owners[s]; ow.claim.Node == victim {
			t.Errorf("shard %d still claimed by %s", s, victim)
		}
	}

	// Status of a survivor: members, leader, epoch, and the takeover.
	s := c.statusAt(c.nodes[survivors[0]], st.rev)
	if s.Leader == "" || s.Leader == victim || s.Epoch < st.assignment.Epoch() || s.Shards != c.shards {
		t.Errorf("status leader %q epoch %d shards %d", s.Leader, s.Epoch, s.Shards)
	}
	assigned := 0
	for _, m := range s.Members {
		assigned += m.Assigned
		alive := m.State == MemberAlive
		if alive == (m.Name == victim) {
			t.Errorf("member %s is %s", m.Name, m.State)
		}
	}
	if assigned != c.shards {
		t.Errorf("members are assigned %d shards, want %d", assigned, c.shards)
	}
	f := findFailover(s.Failovers, FailoverShards, victim)
	if f == nil {
		t.Fatalf("no takeover of %s's shards in %+v", victim, s.Failovers)
	}
	if f.Reason != ReasonLost || f.Shards != len(victimShards) || f.Done.IsZero() || f.Took <= 0 || f.Took > took+time.Second {
		t.Errorf("takeover %+v: want lost, %d shards, done within the %s the test saw", *f, len(victimShards), took)
	}
	t.Logf("status: %s's shards taken over by %v in %s (from its last contact)", victim, f.To, f.Took)
}

func TestLeaderLossElectsAnotherWhoPublishesANewEpoch(t *testing.T) {
	c := newTestCluster(t, 256)
	for _, name := range []string{"a", "b", "c"} {
		c.start(name)
	}
	st := c.waitSettled("a", "b", "c")
	old, _ := st.leader()
	key, rev, ok := c.nodes[old.name].elector.leading()
	if !ok {
		t.Fatalf("the elected %s does not act as leader", old.name)
	}
	epoch := st.assignment.Epoch()

	lost := time.Now()
	if err := c.nodes[old.name].Close(); err != nil {
		t.Fatal(err)
	}
	var survivors []string
	for name := range c.nodes {
		if name != old.name {
			survivors = append(survivors, name)
		}
	}
	st = c.waitSettled(survivors...)
	t.Logf("leader crashed → new leader published and every shard claimed: %s", time.Since(lost))
	now, _ := st.leader()
	if now.name == old.name || st.assignment.Epoch() <= epoch {
		t.Errorf("leader %s epoch %d after %s at epoch %d", now.name, st.assignment.Epoch(), old.name, epoch)
	}

	// The deposed leader cannot publish, whatever it computed.
	err := publishAssignment(context.Background(), c.observer, c.keys(), key, rev, st.assignmentRev, st.assignment.WithEpoch(epoch+100))
	if !errors.Is(err, ErrNotLeader) {
		t.Errorf("deposed leader's publish: %v, want ErrNotLeader", err)
	}
	s := c.statusAt(c.nodes[now.name], st.rev)
	f := findFailover(s.Failovers, FailoverLeader, old.name)
	if f == nil || len(f.To) != 1 || f.To[0] != now.name || f.Reason != ReasonLost {
		t.Fatalf("no leader change from %s to %s in %+v", old.name, now.name, s.Failovers)
	}
	t.Logf("status: leader %s replaced by %s in %s (from its last contact)", old.name, now.name, f.Took)
}

func TestGracefulLeaveHandsOverOnlyTheLeaversShards(t *testing.T) {
	for _, tt := range []struct {
		name   string
		leader bool
	}{
		{"the leader leaves", true},
		{"a follower leaves", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCluster(t, 256)
			for _, name := range []string{"a", "b", "c"} {
				c.startEngine(c.start(name))
			}
			st := c.waitSettled("a", "b", "c")
			prev := st.assignment
			l, _ := st.leader()
			leaver := pickNonLeader(st)
			if tt.leader {
				leaver = l.name
			}

			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := c.nodes[leaver].Leave(ctx); err != nil {
				t.Fatalf("Leave: %v", err)
			}
			var rest []string
			for name := range c.nodes {
				if name != leaver {
					rest = append(rest, name)
				}
			}
			st = c.waitSettled(rest...)
			t.Logf("Leave of %s → its shards claimed by the others: %s", leaver, time.Since(start))
			moves := sharding.Diff(prev, st.assignment)
			if len(moves) != len(prev.ShardsOf(leaver)) {
				t.Errorf("%d shards moved, the leaver had %d", len(moves), len(prev.ShardsOf(leaver)))
			}
			for _, m := range moves {
				if m.From != leaver {
					t.Errorf("shard %d moved from %s, not the leaver", m.Shard, m.From)
				}
			}
			if err := c.nodes[leaver].Leave(ctx); !errors.Is(err, ErrNotRunning) {
				t.Errorf("second Leave: %v, want ErrNotRunning", err)
			}
			fs := c.statusAt(c.nodes[rest[0]], st.rev).Failovers
			f := findFailover(fs, FailoverShards, leaver)
			if f == nil || f.Reason != ReasonHandover || f.Shards != len(prev.ShardsOf(leaver)) {
				t.Fatalf("no hand-over of %s's shards in %+v", leaver, fs)
			}
			t.Logf("status: %d shards handed over from %s in %s", f.Shards, leaver, f.Took)
			if tt.leader {
				lf := findFailover(fs, FailoverLeader, leaver)
				if lf == nil || lf.Reason != ReasonHandover {
					t.Errorf("no leader hand-over from %s in %+v", leaver, fs)
				}
			}
		})
	}
}

func TestAJoinMovesAboutTheJoinersShare(t *testing.T) {
	c := newTestCluster(t, 1024)
	for _, name := range []string{"a", "b", "c"} {
		c.startEngine(c.start(name))
	}
	prev := c.waitSettled("a", "b", "c").assignment

	start := time.Now()
	c.startEngine(c.start("d"))
	st := c.waitSettled("a", "b", "c", "d")
	t.Logf("join → its shards claimed: %s", time.Since(start))
	moves := sharding.Diff(prev, st.assignment)
	ideal := float64(c.shards) / 4
	if r := float64(len(moves)) / ideal; r < 0.5 || r > 1.25 {
		t.Errorf("a join moved %d shards, ideal %.0f (ratio %.2f)", len(moves), ideal, r)
	}
	toJoiner := 0
	for _, m := range moves {
		if m.To == "d" {
			toJoiner++
		}
	}
	if toJoiner != len(st.assignment.ShardsOf("d")) {
		t.Errorf("%d moves went to the joiner, which has %d shards", toJoiner, len(st.assignment.ShardsOf("d")))
	}
}

func TestASingleNodeOwnsEverythingAndLeaves(t *testing.T) {
	c := newTestCluster(t, 8)
	a := c.start("a")
	c.waitSettled("a")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	c.waitFor("no claim, node or candidate left", func(st *clusterState) bool {
		return len(st.owners) == 0 && len(st.nodes) == 0 && len(st.candidates) == 0
	})
	if owned, _ := a.Owned(); len(owned) != 0 {
		t.Errorf("a node that left owns %v", owned)
	}
	if _, err := a.Cmps(0); !errors.Is(err, ErrFenced) {
		t.Errorf("Cmps after Leave: %v, want ErrFenced", err)
	}
}

func pickNonLeader(st *clusterState) string {
	l, _ := st.leader()
	for _, m := range st.assignment.Members() {
		if m.ID != l.name {
			return m.ID
		}
	}
	return ""
}

func findFailover(fs []Failover, kind FailoverKind, from string) *Failover {
	for i := len(fs) - 1; i >= 0; i-- {
		if fs[i].Kind == kind && fs[i].From == from {
			return &fs[i]
		}
	}
	return nil
}

func TestARestartedNodeTakesItsNameBack(t *testing.T) {
	for _, tt := range []struct {
		name     string
		graceful bool
	}{
		{"after leaving", true},
		{"after crashing", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCluster(t, 64)
			for _, name := range []string{"a", "b", "c"} {
				c.startEngine(c.start(name))
			}
			c.waitSettled("a", "b", "c")
			if tt.graceful {
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				if err := c.nodes["b"].Leave(ctx); err != nil {
					t.Fatal(err)
				}
			} else {
				c.nodes["b"].Close()
			}
			c.waitSettled("a", "c")
			// The new b listens on another port: memberlist must let it
			// take the name back.
			c.startEngine(c.start("b"))
			c.waitSettled("a", "b", "c")
		})
	}
}

func TestALostLeaderSessionDeposesItAndItCampaignsAgain(t *testing.T) {
	c := newTestCluster(t, 64)
	for _, name := range []string{"a", "b", "c"} {
		c.start(name)
	}
	st := c.waitSettled("a", "b", "c")
	old, _ := st.leader()
	n := c.nodes[old.name]
	key, rev, ok := n.elector.leading()
	if !ok {
		t.Fatalf("the elected %s does not act as leader", old.name)
	}
	sess, _ := n.sessions.current()
	if _, err := c.observer.Revoke(context.Background(), sess.Lease()); err != nil {
		t.Fatal(err)
	}
	st = c.waitFor("another leader, and the old one campaigning with a new session", func(st *clusterState) bool {
		l, ok := st.leader()
		if !ok || l.name == old.name {
			return false
		}
		for _, cand := range st.candidates {
			if cand.name == old.name && cand.key != key {
				return true
			}
		}
		return false
	})
	if err := publishAssignment(context.Background(), c.observer, c.keys(), key, rev, st.assignmentRev, st.assignment); !errors.Is(err, ErrNotLeader) {
		t.Errorf("publish under the lost session's election key: %v, want ErrNotLeader", err)
	}
	if k, _, ok := n.elector.leading(); ok && k == key {
		t.Errorf("%s still acts as leader under its lost key", old.name)
	}
	c.waitSettled("a", "b", "c")
}

func TestConfigPresetsAreValidAndBadFieldsAreNamed(t *testing.T) {
	for name, cfg := range map[string]Config{"LAN": DefaultLANConfig(), "local": DefaultLocalConfig()} {
		cfg.Name = "n"
		if err := cfg.validate(); err != nil {
			t.Errorf("%s preset: %v", name, err)
		}
	}
	for _, tt := range []struct {
		name string
		mod  func(*Config)
	}{
		{"an empty name is refused", func(c *Config) { c.Name = "" }},
		{"a secret key of 10 bytes is refused", func(c *Config) { c.SecretKey = make([]byte, 10) }},
		{"a capacity of 0 is refused", func(c *Config) { c.Capacity = 0 }},
		{"a probe timeout above the interval is refused", func(c *Config) { c.ProbeTimeout = 2 * c.ProbeInterval }},
		{"a session TTL of 0 is refused", func(c *Config) { c.SessionTTL = 0 }},
		{"a negative quiet period is refused", func(c *Config) { c.Quiet = -1 }},
		{"an epsilon above 4 is refused", func(c *Config) { c.Epsilon = 5 }},
		{"a port above 65535 is refused", func(c *Config) { c.BindPort = 70000 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultLocalConfig()
			cfg.Name = "n"
			tt.mod(&cfg)
			if err := cfg.validate(); !errors.Is(err, ErrNodeConfig) {
				t.Errorf("validate: %v, want ErrNodeConfig", err)
			}
		})
	}
}

func TestALeaveCutShortStillRevokesAndTheOthersTakeOver(t *testing.T) {
	c := newTestCluster(t, 64)
	for _, name := range []string{"a", "b", "c"} {
		c.start(name)
	}
	c.waitSettled("a", "b", "c")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.nodes["c"].Leave(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Leave with a cancelled context: %v, want context.Canceled", err)
	}
	if owned, _ := c.nodes["c"].Owned(); len(owned) != 0 {
		t.Errorf("a node that left owns %v", owned)
	}
	st := c.waitSettled("a", "b")
	if _, ok := st.nodes["c"]; ok {
		t.Error("the leaver is still registered")
	}
}
