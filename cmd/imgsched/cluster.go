package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/cluster"
	"github.com/imgsched/imgsched/scheduler/engine"
)

// clusterFlags configure the node's membership in the scheduler cluster.
// Unset tunables keep the preset's values (cluster.DefaultLANConfig, or
// DefaultLocalConfig with --cluster-timings local).
type clusterFlags struct {
	name            string
	gossipAddr      string
	gossipAdvertise string
	join            []string
	gossipKey       string
	capacity        uint32
	timings         string
	sessionTTL      int
	quiet           time.Duration
	leaveTimeout    time.Duration
	loadInterval    time.Duration
}

func (c *clusterFlags) register(cmd *cobra.Command, gossipAddr, timings string) {
	host, _ := os.Hostname()
	f := cmd.Flags()
	f.StringVar(&c.name, "node-name", host, "this node's name in the cluster: unique, and the same across restarts")
	f.StringVar(&c.gossipAddr, "gossip-addr", gossipAddr, "memberlist listen address (TCP and UDP), host:port; port 0 picks one")
	f.StringVar(&c.gossipAdvertise, "gossip-advertise", "", "memberlist address other nodes dial, host:port (default: from --gossip-addr)")
	f.StringSliceVar(&c.join, "join", nil, "memberlist addresses of nodes to join; optional, nodes also find each other through etcd")
	f.StringVar(&c.gossipKey, "gossip-key", "", "base64 AES key (16, 24 or 32 bytes) encrypting gossip; the same on every node")
	f.Uint32Var(&c.capacity, "capacity", 1, "this node's relative share of shards")
	f.StringVar(&c.timings, "cluster-timings", timings, "failure-detection preset: lan (production) or local (one machine, tests)")
	f.IntVar(&c.sessionTTL, "session-ttl", 0, "seconds of real time the node's etcd lease lives without renewal: how long a lost node's shards stay unowned (default: the preset's)")
	f.DurationVar(&c.quiet, "membership-quiet", 0, "how long membership must stay unchanged before shards are reassigned (default: the preset's)")
	f.DurationVar(&c.leaveTimeout, "leave-timeout", 30*time.Second, "how long a stopping node spends handing its shards over")
	f.DurationVar(&c.loadInterval, "load-report-interval", 15*time.Second, "how often the node reports its schedules and planned load to the cluster")
}

// config returns the cluster configuration for a node serving at the given
// API addresses.
func (c clusterFlags) config(grpcAddr, restAddr string, log *zap.Logger) (cluster.Config, error) {
	var cfg cluster.Config
	switch c.timings {
	case "lan":
		cfg = cluster.DefaultLANConfig()
	case "local":
		cfg = cluster.DefaultLocalConfig()
	default:
		return cfg, fmt.Errorf("--cluster-timings %q: use lan or local", c.timings)
	}
	cfg.Name = c.name
	host, port, err := splitHostPort("--gossip-addr", c.gossipAddr)
	if err != nil {
		return cfg, err
	}
	cfg.BindAddr, cfg.BindPort = host, port
	if c.gossipAdvertise != "" {
		if cfg.AdvertiseAddr, cfg.AdvertisePort, err = splitHostPort("--gossip-advertise", c.gossipAdvertise); err != nil {
			return cfg, err
		}
	}
	cfg.Join = c.join
	if c.gossipKey != "" {
		if cfg.SecretKey, err = base64.StdEncoding.DecodeString(c.gossipKey); err != nil {
			return cfg, fmt.Errorf("--gossip-key: not base64: %w", err)
		}
	}
	cfg.Capacity = c.capacity
	if c.sessionTTL > 0 {
		cfg.SessionTTL = c.sessionTTL
	}
	if c.quiet > 0 {
		cfg.Quiet = c.quiet
	}
	cfg.GRPCAddr, cfg.RESTAddr = grpcAddr, restAddr
	cfg.Logger = log.Named("cluster")
	return cfg, nil
}

func splitHostPort(flag, addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: %w", flag, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: port: %w", flag, addr, err)
	}
	return host, port, nil
}

// clusterView is what the API shows of the cluster: this node's view and
// every node's reported load.
type clusterView struct {
	*cluster.Node
	store *cluster.Store
}

func (v clusterView) Loads(ctx context.Context) (map[string]cluster.NodeLoad, error) {
	return v.store.Loads(ctx)
}

// reportLoad records the engine's share of the work every interval until
// ctx is done, so that cluster status and the load histogram can sum the
// members.
func reportLoad(ctx context.Context, store *cluster.Store, name string, eng *engine.Engine, clock interface{ Now() time.Time }, every time.Duration, log *zap.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		r := eng.Load()
		l := cluster.NodeLoad{
			Schedules: r.Schedules, InFlight: r.InFlight,
			Creations: r.Histogram.Creations, InFlightMinutes: r.Histogram.InFlight,
			DemandDaily: r.Demand.Daily, DemandWeekly: r.Demand.Weekly, At: clock.Now(), ShardHours: r.ShardHours,
		}
		if err := store.PutLoad(ctx, name, l); err != nil && ctx.Err() == nil {
			log.Warn("could not report this node's load", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
