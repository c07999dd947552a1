package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// EmbeddedConfig configures the single-member etcd a node starts when it is
// given no etcd endpoints.
type EmbeddedConfig struct {
	// Name is the member's name in its cluster (default "imgsched").
	Name string
	// Dir holds the member's data; reusing it keeps every stored schedule.
	Dir string
	// ClientURL is where the member serves clients. Port 0 picks a free
	// port; Endpoints reports the real one.
	ClientURL string
	// PeerURL is where the member talks to peers. A single member never
	// dials it, but etcd insists on one.
	PeerURL string
	// AdvertiseClientURL and AdvertisePeerURL are what other members and
	// clients are told; default the listen URLs (set them when listening
	// on 0.0.0.0).
	AdvertiseClientURL string
	AdvertisePeerURL   string
	// InitialCluster lists every member as name=peerURL, comma-separated,
	// for a multi-member cluster; empty means this member alone.
	InitialCluster string
	// NewCluster is true when the members bootstrap a new cluster, false
	// when this member joins an existing one (etcd's initial-cluster-state).
	// It only matters on the first start; later starts use the data.
	NewCluster bool
	// MaxTxnOps is etcd's --max-txn-ops. The default of 1024 lets the bulk
	// import write larger batches per transaction than etcd's 128.
	MaxTxnOps uint
	// UnsafeNoFsync skips fsync. Only for throwaway test data.
	UnsafeNoFsync bool
	// StartTimeout bounds how long Start waits for the member to be ready.
	StartTimeout time.Duration
	Logger       *zap.Logger
}

// DefaultEmbeddedConfig returns the configuration `imgsched dev` and a
// single-node `imgsched serve` use for an embedded etcd under dir.
func DefaultEmbeddedConfig(dir string) EmbeddedConfig {
	return EmbeddedConfig{
		Name:         "imgsched",
		Dir:          dir,
		NewCluster:   true,
		ClientURL:    "http://127.0.0.1:0",
		PeerURL:      "http://127.0.0.1:0",
		MaxTxnOps:    1024,
		StartTimeout: 60 * time.Second,
		Logger:       zap.NewNop(),
	}
}

// Embedded is a running in-process etcd member.
type Embedded struct {
	etcd *embed.Etcd
}

// StartEmbedded starts an etcd member in cfg.Dir and waits until it serves
// clients, cfg.StartTimeout passes, or ctx is done.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.Dir == "" {
		return nil, errors.New("cluster: embedded etcd needs a data directory")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: create etcd data directory: %w", err)
	}
	curl, err := url.Parse(cfg.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd client URL %q: %w", cfg.ClientURL, err)
	}
	purl, err := url.Parse(cfg.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd peer URL %q: %w", cfg.PeerURL, err)
	}
	acurl, apurl := curl, purl
	if cfg.AdvertiseClientURL != "" {
		if acurl, err = url.Parse(cfg.AdvertiseClientURL); err != nil {
			return nil, fmt.Errorf("cluster: etcd advertised client URL %q: %w", cfg.AdvertiseClientURL, err)
		}
	}
	if cfg.AdvertisePeerURL != "" {
		if apurl, err = url.Parse(cfg.AdvertisePeerURL); err != nil {
			return nil, fmt.Errorf("cluster: etcd advertised peer URL %q: %w", cfg.AdvertisePeerURL, err)
		}
	}
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	if ec.Name == "" {
		ec.Name = "imgsched"
	}
	ec.Dir = filepath.Clean(cfg.Dir)
	ec.ListenClientUrls = []url.URL{*curl}
	ec.AdvertiseClientUrls = []url.URL{*acurl}
	ec.ListenPeerUrls = []url.URL{*purl}
	ec.AdvertisePeerUrls = []url.URL{*apurl}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	if cfg.InitialCluster != "" {
		ec.InitialCluster = cfg.InitialCluster
	}
	ec.ClusterState = embed.ClusterStateFlagExisting
	if cfg.NewCluster {
		ec.ClusterState = embed.ClusterStateFlagNew
	}
	ec.MaxTxnOps = cfg.MaxTxnOps
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg.Named("etcd"))
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("cluster: start embedded etcd: %w", err)
	}
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	select {
	case <-e.Server.ReadyNotify():
		return &Embedded{etcd: e}, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("cluster: embedded etcd failed: %w", err)
	case <-time.After(timeout):
		e.Close()
		return nil, fmt.Errorf("cluster: embedded etcd not ready after %s", timeout)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("cluster: start embedded etcd: %w", ctx.Err())
	}
}

// Endpoints returns the client URLs the member really listens on.
func (e *Embedded) Endpoints() []string {
	eps := make([]string, 0, len(e.etcd.Clients))
	for _, l := range e.etcd.Clients {
		eps = append(eps, "http://"+l.Addr().String())
	}
	return eps
}

// Err reports a fatal error of the running member.
func (e *Embedded) Err() <-chan error { return e.etcd.Err() }

// Close stops the member and waits until its data is flushed.
func (e *Embedded) Close() { e.etcd.Close() }
