package cluster

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/imgsched/imgsched/sharding"
)

// ErrNodeConfig means a Config field is missing or out of range.
var ErrNodeConfig = errors.New("cluster: invalid node config")

// Config configures a Node: how it gossips with the other nodes, how long
// its etcd session lives, and how the leader paces reassignments.
//
// Start from DefaultLANConfig (production nodes on one network) or
// DefaultLocalConfig (dev and tests on loopback) and change what you need.
// Every node of a cluster must use the same Epsilon; the other fields may
// differ between nodes, though mixing failure-detection settings makes
// failover times harder to reason about.
type Config struct {
	// Name identifies the node in memberlist, in etcd and in the
	// assignment. It must be unique in the cluster and stable across
	// restarts of the same node, so that a restarted node is recognised
	// (and its shards return to it by the sticky assignment). At most
	// sharding.MaxIDLen bytes. The presets use the hostname.
	Name string

	// BindAddr and BindPort are where memberlist listens, on both TCP and
	// UDP. Port 0 lets the kernel pick a free port (tests); the chosen one
	// is what the node publishes in etcd. Change them when several nodes
	// share a host or the default port 7946 is taken.
	BindAddr string
	BindPort int

	// AdvertiseAddr and AdvertisePort are what other nodes dial to reach
	// this node's memberlist, when that differs from the bind address
	// (NAT, containers). Empty and 0 mean: derived from the bind address.
	AdvertiseAddr string
	AdvertisePort int

	// Join lists memberlist addresses ("host:port") of nodes to join at
	// start. It is optional: every node also publishes its memberlist
	// address in etcd, and a node joins the registered nodes it does not
	// yet see, so etcd alone is enough for discovery. Give addresses when
	// etcd is shared by clusters you want kept apart or to speed up the
	// first join.
	Join []string

	// JoinRetry is how often, at most, a node retries joining registered
	// nodes that memberlist does not list as alive. Lower it for faster
	// healing after a gossip partition; each attempt dials every missing
	// node.
	JoinRetry time.Duration

	// SecretKey, if set, encrypts and authenticates gossip with AES-GCM:
	// 16, 24 or 32 bytes (AES-128, -192, -256). Every node needs the same
	// key. Leave it nil on a trusted network or in tests.
	SecretKey []byte

	// GRPCAddr and RESTAddr are the node's API addresses, published in its
	// metadata so that status and operators can reach every node.
	// Informational only.
	GRPCAddr string
	RESTAddr string

	// Capacity is the node's relative share of shards: a node of capacity
	// 2 gets about twice the shards of one of capacity 1. Raise it on
	// larger machines. 1..sharding.MaxCapacity.
	Capacity uint32

	// ProbeInterval is memberlist's failure-detection probe period: every
	// interval the node probes one other node (round robin). Lower values
	// detect failures sooner at the cost of more UDP traffic; the LAN
	// preset probes every 500 ms, memberlist's own default is 1 s.
	ProbeInterval time.Duration

	// ProbeTimeout is how long a probe waits for an ack before asking
	// other nodes to probe indirectly. It must exceed the network's
	// round-trip time at the 99th percentile, or healthy nodes get
	// suspected; below ProbeInterval.
	ProbeTimeout time.Duration

	// SuspicionMult sets how long a suspected node has to refute before it
	// is declared dead: SuspicionMult × max(1, log10(nodes)) ×
	// ProbeInterval. Lower values fail over sooner; higher values tolerate
	// longer pauses (GC, a busy host) without a false failover.
	SuspicionMult int

	// GossipInterval is how often memberlist gossips queued messages
	// (joins, suspicions, deaths) to a few random nodes. Lower values
	// spread membership changes faster.
	GossipInterval time.Duration

	// SessionTTL is the time to live, in whole seconds of real time, of
	// the node's etcd session lease. The lease marks the node alive: its
	// registration, its candidacy for leader and every shard claim are
	// attached to it and vanish when it expires. So it bounds both how
	// long a crashed or partitioned node's shards stay unowned and how
	// long a node paused longer than that keeps believing it owns them
	// (its writes are fenced regardless). Leases count real time even
	// when the service runs on an accelerated clock. etcd rounds it up to
	// its minimum, about 1.5 × its election timeout (2 s with defaults).
	SessionTTL int

	// Quiet is how long membership must stay unchanged before the leader
	// recomputes the assignment (sharding.Debouncer.Quiet): it merges a
	// burst of joins or failures into one reassignment. Raise it when
	// nodes flap; every failover waits at least this long after detection.
	// 0 means sharding.DefaultQuiet.
	Quiet time.Duration

	// MaxDelay bounds how long a stream of membership events can put off
	// a reassignment (sharding.Debouncer.MaxDelay). 0 means
	// sharding.DefaultMaxDelay.
	MaxDelay time.Duration

	// ReleaseGrace is how long a node keeps its claim on a shard that a
	// new assignment moved away, waiting for the engine to call Release
	// (it has stopped working on the shard), before deleting the claim
	// anyway. While it keeps the claim the shard's new owner waits; its
	// writes stay fenced either way, so this only trades hand-over delay
	// against wasted work of an engine that does not call Release.
	ReleaseGrace time.Duration

	// Epsilon is ε of the bounded-load assignment (sharding.Config): no
	// node holds more than ⌈(1+ε) × its fair share⌉ shards. Lower means
	// flatter, higher means fewer moves per membership change. 0 means
	// sharding.DefaultEpsilon. Must be the same on every node.
	Epsilon float64

	// History is how many failovers Status keeps (the oldest go first).
	History int

	// RetryBackoff is how long a node waits before retrying a failed etcd
	// operation (a new session, a claim, a publish) when etcd is
	// unavailable.
	RetryBackoff time.Duration

	// Logger receives the node's structured logs, memberlist's included
	// (at debug level unless memberlist marks them warnings or errors).
	// nil means no logs.
	Logger *zap.Logger
}

// DefaultLANConfig returns the configuration of a production node on one
// LAN: failure detection within about 2 s (probe every 500 ms, dead after
// 1.5 s of suspicion, a 2 s lease), and a 500 ms quiet period, so that a lost
// node's shards are owned again well within SPEC §5's 5 s.
func DefaultLANConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Name:           host,
		BindAddr:       "0.0.0.0",
		BindPort:       7946,
		JoinRetry:      5 * time.Second,
		Capacity:       1,
		ProbeInterval:  500 * time.Millisecond,
		ProbeTimeout:   200 * time.Millisecond,
		SuspicionMult:  3,
		GossipInterval: 100 * time.Millisecond,
		SessionTTL:     2,
		Quiet:          500 * time.Millisecond,
		MaxDelay:       2 * time.Second,
		ReleaseGrace:   2 * time.Second,
		Epsilon:        sharding.DefaultEpsilon,
		History:        32,
		RetryBackoff:   500 * time.Millisecond,
	}
}

// DefaultLocalConfig returns a configuration for several nodes on one
// machine (imgsched dev, tests): loopback, a kernel-chosen port, fast probes
// and short pauses, so that membership settles in well under a second.
func DefaultLocalConfig() Config {
	c := DefaultLANConfig()
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.JoinRetry = 500 * time.Millisecond
	c.ProbeInterval = 100 * time.Millisecond
	c.ProbeTimeout = 50 * time.Millisecond
	c.SuspicionMult = 3
	c.GossipInterval = 50 * time.Millisecond
	c.Quiet = 100 * time.Millisecond
	c.MaxDelay = 500 * time.Millisecond
	c.ReleaseGrace = 500 * time.Millisecond
	c.RetryBackoff = 100 * time.Millisecond
	return c
}

// validate reports the first unusable field.
func (c Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrNodeConfig}, args...)...)
	}
	switch {
	case c.Name == "" || len(c.Name) > sharding.MaxIDLen:
		return bad("name %q must have 1..%d bytes", c.Name, sharding.MaxIDLen)
	case c.BindPort < 0 || c.BindPort > 65535 || c.AdvertisePort < 0 || c.AdvertisePort > 65535:
		return bad("ports must be within 0..65535")
	case len(c.SecretKey) != 0 && len(c.SecretKey) != 16 && len(c.SecretKey) != 24 && len(c.SecretKey) != 32:
		return bad("secret key has %d bytes, want 16, 24 or 32", len(c.SecretKey))
	case c.Capacity < 1 || c.Capacity > sharding.MaxCapacity:
		return bad("capacity %d must be within 1..%d", c.Capacity, sharding.MaxCapacity)
	case c.ProbeInterval <= 0 || c.ProbeTimeout <= 0 || c.ProbeTimeout >= c.ProbeInterval:
		return bad("probe timeout %s must be positive and below the probe interval %s", c.ProbeTimeout, c.ProbeInterval)
	case c.SuspicionMult < 1 || c.GossipInterval <= 0:
		return bad("suspicion multiplier and gossip interval must be positive")
	case c.SessionTTL < 1:
		return bad("session TTL %d s must be at least 1", c.SessionTTL)
	case c.Quiet < 0 || c.MaxDelay < 0 || c.ReleaseGrace < 0 || c.JoinRetry <= 0 || c.RetryBackoff <= 0:
		return bad("durations must not be negative, join retry and backoff must be positive")
	case c.Epsilon < 0 || c.Epsilon > 4:
		return bad("epsilon %g must be within (0, 4], or 0 for the default", c.Epsilon)
	case c.History < 1:
		return bad("history %d must be at least 1", c.History)
	}
	return nil
}
