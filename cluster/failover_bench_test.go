package cluster

import (
	"testing"
	"time"
)

// BenchmarkFailover measures, on three in-process nodes on loopback with
// 1024 shards, how long after a node crashes (Close: no leave, its lease left
// to expire) every shard is claimed again by a live owner, with the timings
// of the local preset (2 s session TTL, 100 ms probes, 100 ms quiet) and of
// the LAN preset (2 s TTL, 500 ms probes, 500 ms quiet):
//
//	ms-to-owned    from the crash to the last claim, by the benchmark's clock
//	ms-status      the survivors' own figure (Status), from their last
//	               contact with the lost node
//
// Run: go test ./cluster/ -run '^$' -bench BenchmarkFailover -benchtime 5x
func BenchmarkFailover(b *testing.B) {
	lan := func(c *Config) {
		l := DefaultLANConfig()
		c.ProbeInterval, c.ProbeTimeout, c.SuspicionMult, c.GossipInterval = l.ProbeInterval, l.ProbeTimeout, l.SuspicionMult, l.GossipInterval
		c.SessionTTL, c.Quiet, c.MaxDelay, c.JoinRetry = l.SessionTTL, l.Quiet, l.MaxDelay, l.JoinRetry
	}
	for _, bb := range []struct {
		name   string
		leader bool
		preset func(*Config)
	}{
		{"local/node", false, func(*Config) {}},
		{"local/leader", true, func(*Config) {}},
		{"lan/node", false, lan},
		{"lan/leader", true, lan},
	} {
		b.Run(bb.name, func(b *testing.B) {
			var owned, reported time.Duration
			for range b.N {
				b.StopTimer()
				c := newTestCluster(b, 1024)
				for _, name := range []string{"a", "b", "c"} {
					c.start(name, bb.preset)
				}
				st := c.waitSettled("a", "b", "c")
				l, _ := st.leader()
				victim := pickNonLeader(st)
				kind := FailoverShards
				if bb.leader {
					victim, kind = l.name, FailoverLeader
				}
				var survivors []string
				for name := range c.nodes {
					if name != victim {
						survivors = append(survivors, name)
					}
				}
				b.StartTimer()
				start := time.Now()
				c.nodes[victim].Close()
				st = c.waitSettled(survivors...)
				owned += time.Since(start)
				b.StopTimer()
				s := c.statusAt(c.nodes[survivors[0]], st.rev)
				f := findFailover(s.Failovers, kind, victim)
				if f == nil {
					b.Fatalf("no %s failover from %s in %+v", kind, victim, s.Failovers)
				}
				if !bb.leader {
					reported += f.Took
				} else if g := findFailover(s.Failovers, FailoverShards, victim); g != nil {
					reported += max(f.Took, g.Took)
				}
				for _, n := range c.nodes {
					n.Close()
				}
			}
			b.ReportMetric(float64(owned.Milliseconds())/float64(b.N), "ms-to-owned")
			b.ReportMetric(float64(reported.Milliseconds())/float64(b.N), "ms-status")
		})
	}
}
