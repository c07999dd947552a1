package openstack

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"go.uber.org/zap"
)

// Tenancy says whose credentials create the tenants' images.
type Tenancy string

const (
	// TenancyTrust: when a tenant enables a schedule the API creates a
	// Keystone trust from the tenant user to the service user; the scheduler
	// then acts through a trust-scoped token, so images are owned by the
	// tenant's project without the service holding admin rights.
	TenancyTrust Tenancy = "trust"
	// TenancyOperator: the service credentials (an admin) act directly.
	// Simpler to deploy; the cloud must let the admin image any server.
	TenancyOperator Tenancy = "operator"
)

// Clock tells the time. The token cache and Retry-After dates use it, so
// tests and accelerated runs can drive it.
type Clock interface{ Now() time.Time }

// RetryPolicy bounds the retries the client makes on its own before it gives
// up with a cloud.TransientError.
type RetryPolicy struct {
	// MaxRetries is how many times a failed request is repeated (so at most
	// MaxRetries+1 attempts). Default 4. Zero after defaults means "default";
	// use a negative value for no retries.
	MaxRetries int
	// BaseBackoff is the delay before the first retry; each further retry
	// doubles it, and a random jitter of up to half of it is taken off.
	// Default 500ms.
	BaseBackoff time.Duration
	// MaxBackoff caps the exponential delay. Default 30s.
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits out itself;
	// a longer one ends the call at once with a TransientError carrying it,
	// so the scheduler can come back later instead of holding a worker.
	// Default 60s.
	MaxRetryAfter time.Duration
}

// TokenCachePolicy bounds the cache of validated API tokens.
type TokenCachePolicy struct {
	// Size is the most tokens remembered (least recently used go first).
	// Default 10000.
	Size int
	// TTL is how long a valid token is trusted without asking Keystone again
	// (never past the token's own expiry). A revoked token keeps working on
	// this node for at most TTL. Default 5m.
	TTL time.Duration
	// NegativeTTL is how long an invalid token is remembered as invalid,
	// sparing Keystone from repeated bad requests. Default 10s.
	NegativeTTL time.Duration
}

// Config describes how to reach the cloud. The zero value (plus credentials
// from OS_CLOUD / clouds.yaml or OS_* variables) is usable; DefaultConfig
// spells out the defaults.
type Config struct {
	// Auth, when not nil, gives the service credentials directly (the dev
	// command uses it for the simulated cloud). Otherwise they come from
	// clouds.yaml when Cloud, CloudsFile or OS_CLOUD is set, and else from
	// the OS_* variables (openstack.AuthOptionsFromEnv). Only Keystone v3
	// password (or token-free) credentials of a user can consume trusts.
	Auth *gophercloud.AuthOptions
	// Cloud names the clouds.yaml entry; empty means OS_CLOUD.
	Cloud string
	// CloudsFile is the clouds.yaml path; empty means the standard search
	// (OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack, /etc/openstack).
	CloudsFile string
	// Region selects catalog endpoints; empty means the one from clouds.yaml
	// or OS_REGION_NAME, else any.
	Region string
	// Interface is the catalog endpoint interface: public, internal or admin.
	// Empty means clouds.yaml's, OS_INTERFACE, else public.
	Interface string

	// RequestTimeout bounds one HTTP attempt (connect to last byte); a
	// timed-out attempt is retried like a 503. Default 30s.
	RequestTimeout time.Duration
	// Retry bounds the client's own retries.
	Retry RetryPolicy
	// Tenancy chooses trust or operator mode. Default TenancyTrust.
	Tenancy Tenancy
	// ComputeMicroversion is requested from Nova. 2.45 makes createImage
	// return image_id in the body (older clouds: the Location header is
	// used); 2.47 embeds the flavor, giving Server.DiskGB. Default "2.47".
	ComputeMicroversion string
	// ImagePageSize is the Glance page size used when listing. Default 100.
	ImagePageSize int
	// TokenCache bounds the cache of validated tokens.
	TokenCache TokenCachePolicy
	// TrustClients is the most trust-scoped clients kept (one per trust,
	// each holding a token). Default 10000.
	TrustClients int

	// HTTPClient, when not nil, is used for every request (its Timeout is
	// set to RequestTimeout when zero). Default: a client with the TLS
	// settings of clouds.yaml.
	HTTPClient *http.Client
	// Logger receives retries and trust changes. Default zap.NewNop().
	Logger *zap.Logger
	// Clock tells the time for caches and Retry-After dates. Default: the
	// system clock.
	Clock Clock
	// Sleep waits between retries; it must return early with ctx.Err() when
	// ctx ends. Default: a timer. Tests inject one that records delays.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultConfig returns the defaults described on Config's fields.
func DefaultConfig() Config {
	return Config{
		RequestTimeout: 30 * time.Second,
		Retry: RetryPolicy{
			MaxRetries:    4,
			BaseBackoff:   500 * time.Millisecond,
			MaxBackoff:    30 * time.Second,
			MaxRetryAfter: 60 * time.Second,
		},
		Tenancy:             TenancyTrust,
		ComputeMicroversion: "2.47",
		ImagePageSize:       100,
		TokenCache: TokenCachePolicy{
			Size:        10000,
			TTL:         5 * time.Minute,
			NegativeTTL: 10 * time.Second,
		},
		TrustClients: 10000,
		Logger:       zap.NewNop(),
		Clock:        systemClock{},
		Sleep:        sleep,
	}
}

// withDefaults fills every zero field from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	set := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&c.RequestTimeout, d.RequestTimeout)
	set(&c.Retry.BaseBackoff, d.Retry.BaseBackoff)
	set(&c.Retry.MaxBackoff, d.Retry.MaxBackoff)
	set(&c.Retry.MaxRetryAfter, d.Retry.MaxRetryAfter)
	set(&c.TokenCache.TTL, d.TokenCache.TTL)
	set(&c.TokenCache.NegativeTTL, d.TokenCache.NegativeTTL)
	switch {
	case c.Retry.MaxRetries == 0:
		c.Retry.MaxRetries = d.Retry.MaxRetries
	case c.Retry.MaxRetries < 0:
		c.Retry.MaxRetries = 0
	}
	if c.Tenancy == "" {
		c.Tenancy = d.Tenancy
	}
	if c.ComputeMicroversion == "" {
		c.ComputeMicroversion = d.ComputeMicroversion
	}
	if c.ImagePageSize <= 0 {
		c.ImagePageSize = d.ImagePageSize
	}
	if c.TokenCache.Size <= 0 {
		c.TokenCache.Size = d.TokenCache.Size
	}
	if c.TrustClients <= 0 {
		c.TrustClients = d.TrustClients
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.Sleep == nil {
		c.Sleep = d.Sleep
	}
	return c
}

func (c Config) validate() error {
	switch c.Tenancy {
	case TenancyTrust, TenancyOperator:
	default:
		return fmt.Errorf("openstack: unknown tenancy %q (use %q or %q)", c.Tenancy, TenancyTrust, TenancyOperator)
	}
	switch c.Interface {
	case "", "public", "publicURL", "internal", "internalURL", "admin", "adminURL":
	default:
		return fmt.Errorf("openstack: unknown endpoint interface %q (use public, internal or admin)", c.Interface)
	}
	if c.Retry.MaxBackoff < c.Retry.BaseBackoff {
		return fmt.Errorf("openstack: retry max backoff %s is below base backoff %s", c.Retry.MaxBackoff, c.Retry.BaseBackoff)
	}
	return nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
