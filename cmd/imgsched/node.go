package main

import (
	"context"
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
	// EtcdPrefix is the key prefix of this imgsched cluster in etcd.
	EtcdPrefix string
	// Shards is the shard count, fixed when the cluster is first created.
	Shards int
	// RESTAddr and GRPCAddr are the API listen addresses.
	RESTAddr string
	GRPCAddr string
	// DialTimeout bounds connecting to etcd.
	DialTimeout time.Duration
}

func (c *nodeConfig) register(cmd *cobra.Command, restAddr, grpcAddr, dataDir string) {
	f := cmd.Flags()
	f.StringVar(&c.DataDir, "data-dir", dataDir, "directory for the embedded etcd's data (used without --etcd-endpoints)")
	f.StringSliceVar(&c.EtcdEndpoints, "etcd-endpoints", nil, "etcd client URLs, comma-separated; empty starts an embedded single-member etcd")
	f.StringVar(&c.EtcdPrefix, "etcd-prefix", cluster.DefaultPrefix, "etcd key prefix of this imgsched cluster")
	f.IntVar(&c.Shards, "shards", cluster.DefaultShardCount, "shard count, fixed when the cluster is created")
	f.StringVar(&c.RESTAddr, "rest-addr", restAddr, "REST listen address (compatible /v2 resource, /v1 API, /healthz, /readyz, /metrics)")
	f.StringVar(&c.GRPCAddr, "grpc-addr", grpcAddr, "gRPC listen address (imgsched.v1, health, reflection)")
	f.DurationVar(&c.DialTimeout, "etcd-dial-timeout", 10*time.Second, "how long to wait for etcd at start")
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
	registry *prometheus.Registry
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
	return n, nil
}

// ready reports whether etcd answers, for /readyz.
func (n *node) ready(ctx context.Context) error {
	if _, err := n.client.Get(ctx, n.store.Prefix()+"/meta/shards"); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	return nil
}

// runNode starts a node and serves the API until ctx is done; started, when
// set, sees the running node first (dev prints its banner there).
func runNode(ctx context.Context, cfg nodeConfig, log *zap.Logger, cloud *openstack.Client, clock api.Clock, started func(*node)) error {
	n, err := startNode(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer n.close()
	if started != nil {
		started(n)
	}
	log.Info("serving", zap.String("rest", n.restLis.Addr().String()), zap.String("grpc", n.grpcLis.Addr().String()))
	return n.serveAPI(ctx, cloud, clock)
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
	for _, l := range []net.Listener{n.grpcLis, n.restLis} {
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
