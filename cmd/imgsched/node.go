package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/api"
	"github.com/imgsched/imgsched/cloud/openstack"
	"github.com/imgsched/imgsched/cluster"
	"github.com/imgsched/imgsched/scheduler"
	"github.com/imgsched/imgsched/scheduler/engine"
)

// nodeConfig is what one scheduler node runs with. Every field has a flag
// (and so an IMGSCHED_* variable); defaults are those of `serve`, and `dev`
// changes the listen addresses and the data directory.
type nodeConfig struct {
	// DataDir holds the embedded etcd's data when no endpoints are given.
	DataDir string
	// EtcdEndpoints of an external etcd cluster; empty starts an embedded
	// single-member etcd in DataDir.
	EtcdEndpoints []string
	// EtcdUnsafeNoFsync runs the embedded etcd without fsync: for tests and
	// demos on accelerated clocks, where a disk stall of a fraction of a
	// second is simulated hours late; a crash can lose acknowledged writes.
	EtcdUnsafeNoFsync bool
	// EtcdPrefix is the key prefix of this imgsched cluster in etcd.
	EtcdPrefix string
	// Shards is the shard count, fixed when the cluster is first created.
	Shards int
	// RESTAddr and GRPCAddr are the API listen addresses.
	RESTAddr string
	GRPCAddr string
	// PprofAddr, when set, serves Go's /debug/pprof on its own listener,
	// apart from the API: profiles expose the process, so keep it on
	// loopback or an admin network.
	PprofAddr string
	// DialTimeout bounds connecting to etcd.
	DialTimeout time.Duration
	// Engine tunes the snapshot engine the node runs.
	Engine engineFlags
	// Cluster configures membership, election and shard ownership.
	Cluster clusterFlags
}

// engineFlags are the snapshot engine's tunables a node exposes; the rest
// keep engine.DefaultConfig's values.
type engineFlags struct {
	// Disabled runs the API alone (a node that only serves requests).
	Disabled           bool
	Workers            int
	MaxInFlight        int
	MaxInFlightPerHost int
	CloudRate          float64
	CloudBurst         int
	GoneGrace          time.Duration
	RebalanceInterval  time.Duration
	// TakeoverSettle is in real time: it covers a cloud request in flight.
	TakeoverSettle time.Duration
}

func (c *engineFlags) register(cmd *cobra.Command) {
	d := engine.DefaultConfig()
	f := cmd.Flags()
	f.BoolVar(&c.Disabled, "no-engine", false, "serve the API only; take no images")
	f.IntVar(&c.Workers, "engine-workers", d.Workers, "schedules reconciled at once")
	f.IntVar(&c.MaxInFlight, "max-in-flight", d.MaxInFlight, "most images this node has in creation at once")
	f.IntVar(&c.MaxInFlightPerHost, "max-in-flight-per-host", d.MaxInFlightPerHost, "most images in creation at once per hypervisor host")
	f.Float64Var(&c.CloudRate, "cloud-rate", d.CloudRate, "most cloud requests per (simulated) second from this node's engine; 0 unlimited")
	f.IntVar(&c.CloudBurst, "cloud-burst", d.CloudBurst, "burst of cloud requests allowed above --cloud-rate")
	f.DurationVar(&c.GoneGrace, "gone-grace", d.GoneGrace, "how long a schedule whose server was deleted is kept (state SERVER_GONE) before it is removed")
	f.DurationVar(&c.TakeoverSettle, "takeover-settle", d.TakeoverSettle, "real time a run taken over while asking for an image waits for that request to land before asking again; above the cloud's slowest createImage answer")
	f.DurationVar(&c.RebalanceInterval, "rebalance-interval", d.RebalanceInterval, "how often slots are moved towards emptier hours; 0 never")
}

// config returns the engine configuration the flags describe.
// config returns the engine's configuration on clock: real-time flags are
// converted to its scale.
func (c engineFlags) config(clock scheduler.Clock) engine.Config {
	cfg := engine.DefaultConfig()
	cfg.TakeoverSettle = c.TakeoverSettle
	if sc, ok := clock.(interface{ Scale() float64 }); ok {
		cfg.TakeoverSettle = time.Duration(float64(c.TakeoverSettle) * sc.Scale())
	}
	cfg.Workers, cfg.MaxInFlight, cfg.MaxInFlightPerHost = c.Workers, c.MaxInFlight, c.MaxInFlightPerHost
	cfg.CloudRate, cfg.CloudBurst = c.CloudRate, c.CloudBurst
	cfg.GoneGrace, cfg.RebalanceInterval = c.GoneGrace, c.RebalanceInterval
	return cfg
}

// nodeDefaults are a command's defaults for the node flags.
type nodeDefaults struct {
	restAddr, grpcAddr, gossipAddr, dataDir, timings string
}

func (c *nodeConfig) register(cmd *cobra.Command, d nodeDefaults) {
	restAddr, grpcAddr, dataDir := d.restAddr, d.grpcAddr, d.dataDir
	f := cmd.Flags()
	f.StringVar(&c.DataDir, "data-dir", dataDir, "directory for the embedded etcd's data (used without --etcd-endpoints)")
	f.StringSliceVar(&c.EtcdEndpoints, "etcd-endpoints", nil, "etcd client URLs, comma-separated; empty starts an embedded single-member etcd")
	f.BoolVar(&c.EtcdUnsafeNoFsync, "etcd-unsafe-no-fsync", false, "run the embedded etcd without fsync (tests and demos only: a crash can lose acknowledged writes)")
	f.StringVar(&c.EtcdPrefix, "etcd-prefix", cluster.DefaultPrefix, "etcd key prefix of this imgsched cluster")
	f.IntVar(&c.Shards, "shards", cluster.DefaultShardCount, "shard count, fixed when the cluster is created")
	f.StringVar(&c.RESTAddr, "rest-addr", restAddr, "REST listen address (compatible /v2 resource, /v1 API, /healthz, /readyz, /metrics)")
	f.StringVar(&c.GRPCAddr, "grpc-addr", grpcAddr, "gRPC listen address (imgsched.v1, health, reflection)")
	f.StringVar(&c.PprofAddr, "pprof-addr", "", "listen address for Go's /debug/pprof profiles (empty: off; keep it on loopback or an admin network)")
	f.DurationVar(&c.DialTimeout, "etcd-dial-timeout", 10*time.Second, "how long to wait for etcd at start")
	c.Engine.register(cmd)
	c.Cluster.register(cmd, d.gossipAddr, d.timings)
}

// node is a running scheduler node.
type node struct {
	cfg      nodeConfig
	log      *zap.Logger
	etcd     *cluster.Embedded
	client   *clientv3.Client
	store    *cluster.Store
	grpcLis  net.Listener
	restLis  net.Listener
	pprofLis net.Listener
	registry *prometheus.Registry
	// member is the node's cluster membership, once it has joined.
	member *cluster.Node
}

// startNode connects (or starts) etcd, opens the store and binds the API
// listeners. The caller serves with serveAPI and closes with close.
func startNode(ctx context.Context, cfg nodeConfig, log *zap.Logger) (n *node, err error) {
	n = &node{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	endpoints := cfg.EtcdEndpoints
	if len(endpoints) == 0 {
		ec := cluster.DefaultEmbeddedConfig(filepath.Join(cfg.DataDir, "etcd"))
		ec.Logger = log
		ec.UnsafeNoFsync = cfg.EtcdUnsafeNoFsync
		if n.etcd, err = cluster.StartEmbedded(ctx, ec); err != nil {
			return n, err
		}
		endpoints = n.etcd.Endpoints()
		log.Info("embedded etcd started", zap.String("dir", ec.Dir), zap.Strings("endpoints", endpoints))
	}
	n.client, err = clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: cfg.DialTimeout, Logger: log.Named("etcd-client")})
	if err != nil {
		return n, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	opts := []cluster.StoreOption{cluster.WithPrefix(cfg.EtcdPrefix), cluster.WithShardCount(cfg.Shards)}
	if n.etcd != nil {
		opts = append(opts, cluster.WithMaxTxnOps(int(cluster.DefaultEmbeddedConfig("").MaxTxnOps)))
	}
	openCtx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if n.store, err = cluster.OpenStore(openCtx, n.client, opts...); err != nil {
		return n, fmt.Errorf("open the schedule store: %w", err)
	}
	if n.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return n, fmt.Errorf("listen for gRPC on %s: %w", cfg.GRPCAddr, err)
	}
	if n.restLis, err = net.Listen("tcp", cfg.RESTAddr); err != nil {
		return n, fmt.Errorf("listen for REST on %s: %w", cfg.RESTAddr, err)
	}
	if cfg.PprofAddr != "" {
		if n.pprofLis, err = net.Listen("tcp", cfg.PprofAddr); err != nil {
			return n, fmt.Errorf("listen for pprof on %s: %w", cfg.PprofAddr, err)
		}
	}
	return n, nil
}

// ready reports whether etcd answers, for /readyz.
func (n *node) ready(ctx context.Context) error {
	if _, err := n.client.Get(ctx, n.store.Prefix()+"/meta/shards"); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	return nil
}

// runNode starts a node, joins the cluster, serves the API and runs the
// snapshot engine on the shards the node owns, until ctx is done or one of
// them fails; started, when set, sees the running node first (dev prints
// its banner there).
//
// Stopping is graceful: when ctx ends the node first leaves the cluster
// while its engine keeps running, so the engine drops each shard as it is
// handed over and the new owners resume its runs; only then do the engine
// and the API stop and etcd close.
func runNode(ctx context.Context, cfg nodeConfig, log *zap.Logger, cloud *openstack.Client, clock scheduler.Clock, started func(*node)) error {
	if clock == nil {
		clock = scheduler.RealClock{}
	}
	n, err := startNode(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer n.close()
	ccfg, err := cfg.Cluster.config(n.grpcLis.Addr().String(), n.restLis.Addr().String(), log)
	if err != nil {
		return err
	}
	member, err := cluster.New(ccfg, n.client, n.store)
	if err != nil {
		return err
	}
	startCtx, cancelStart := context.WithTimeout(ctx, cfg.DialTimeout)
	err = member.Start(startCtx)
	cancelStart()
	if err != nil {
		return fmt.Errorf("join the cluster: %w", err)
	}
	defer member.Close()
	n.member = member

	// run outlives ctx: the engine and the API keep going while the node
	// hands its shards over.
	run, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	engineDone := make(chan error, 1)
	if cfg.Engine.Disabled {
		engineDone <- nil
	} else {
		eng, err := engine.New(cfg.Engine.config(clock), n.store, cloud,
			engine.WithClock(clock), engine.WithLogger(log.Named("engine")), engine.WithRegisterer(n.registry),
			engine.WithOwnership(member), engine.WithGuard(member), engine.WithCloudFence(member))
		if err != nil {
			return err
		}
		go func() {
			err := eng.Run(run)
			if err != nil {
				err = fmt.Errorf("snapshot engine: %w", err)
			}
			engineDone <- err
			// An engine that cannot run takes the node down with it.
			stop()
		}()
		go reportLoad(run, n.store, member.Name(), eng, clock, cfg.Cluster.loadInterval, log)
	}
	if started != nil {
		started(n)
	}
	fields := []zap.Field{zap.String("rest", n.restLis.Addr().String()), zap.String("grpc", n.grpcLis.Addr().String()),
		zap.Bool("engine", !cfg.Engine.Disabled), zap.String("node", member.Name())}
	if n.pprofLis != nil {
		go servePprof(run, n.pprofLis, log)
		fields = append(fields, zap.String("pprof", n.pprofLis.Addr().String()))
	}
	log.Info("serving", fields...)
	apiDone := make(chan error, 1)
	go func() {
		apiDone <- n.serveAPI(run, cloud, clock)
		stop()
	}()
	select {
	case <-ctx.Done():
	case <-run.Done():
	}
	leaveCtx, cancelLeave := context.WithTimeout(context.Background(), cfg.Cluster.leaveTimeout)
	if err := member.Leave(leaveCtx); err != nil {
		log.Warn("left the cluster without handing every shard over; the others take them when this node's lease expires", zap.Error(err))
	} else {
		log.Info("left the cluster; shards handed over")
	}
	cancelLeave()
	stop()
	return errors.Join(<-apiDone, <-engineDone)
}

// serveAPI serves the API until ctx is done.
func (n *node) serveAPI(ctx context.Context, cloud *openstack.Client, clock api.Clock) error {
	var trusts api.Trusts
	if cloud.Tenancy() == openstack.TenancyTrust {
		trusts = cloud
	}
	srv, err := api.New(api.Config{
		Store:      n.store,
		Tokens:     cloud,
		Servers:    cloud,
		Trusts:     trusts,
		Tenants:    cloud,
		Cluster:    clusterView{Node: n.member, store: n.store},
		Clock:      clock,
		Ready:      n.ready,
		Registerer: n.registry,
		Gatherer:   n.registry,
		Logger:     n.log.Named("api"),
	})
	if err != nil {
		return err
	}
	return srv.Serve(ctx, n.grpcLis, n.restLis)
}

func (n *node) close() {
	for _, l := range []net.Listener{n.grpcLis, n.restLis, n.pprofLis} {
		if l != nil {
			l.Close()
		}
	}
	if n.client != nil {
		n.client.Close()
	}
	if n.etcd != nil {
		n.etcd.Close()
	}
}

// newLogger builds the process logger: JSON for production, console for dev.
func newLogger(level string, dev bool) (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	if dev {
		cfg = zap.NewDevelopmentConfig()
		cfg.DisableStacktrace = true
	}
	if err := cfg.Level.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	return cfg.Build()
}
