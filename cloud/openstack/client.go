package openstack

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/cloud"
)

// Client is the service's connection to one OpenStack cloud. It is safe for
// concurrent use.
type Client struct {
	cfg       Config
	log       *zap.Logger
	auth      gophercloud.AuthOptions // the service credentials, for trust scopes
	endpoints gophercloud.EndpointOpts
	http      http.Client
	retry     *retrier

	identity      *gophercloud.ServiceClient // Keystone, service token
	operator      *session                   // Nova and Glance, service token
	serviceUserID string

	tokens *lru[[32]byte, tokenEntry]
	trusts *lru[string, *trustSession]
}

// New authenticates the service credentials described by cfg (blocking until
// Keystone answers, the retries end or ctx ends) and returns a Client whose
// tokens are renewed on expiry.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ao, eo, tlsConf, err := cfg.credentials()
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		log:       cfg.Logger,
		auth:      ao,
		endpoints: eo,
		http:      newHTTPClient(cfg, tlsConf),
		retry:     &retrier{policy: cfg.Retry, clock: cfg.Clock, sleep: cfg.Sleep, log: cfg.Logger},
		tokens:    newLRU[[32]byte, tokenEntry](cfg.TokenCache.Size),
		trusts:    newLRU[string, *trustSession](cfg.TrustClients),
	}
	provider, err := c.authenticate(ctx, ao)
	if err != nil {
		return nil, fmt.Errorf("openstack: authenticate the service user: %w", mapError(err, statusErrors{notFound: cloud.ErrUnauthorized}))
	}
	result, ok := provider.GetAuthResult().(tokens.CreateResult)
	if !ok {
		return nil, fmt.Errorf("openstack: authenticate the service user: unexpected auth result %T", provider.GetAuthResult())
	}
	user, err := result.ExtractUser()
	if err != nil || user == nil || user.ID == "" {
		return nil, fmt.Errorf("openstack: authenticate the service user: token names no user (%v)", err)
	}
	c.serviceUserID = user.ID
	if c.identity, err = openstack.NewIdentityV3(provider, eo); err != nil {
		return nil, fmt.Errorf("openstack: identity endpoint: %w", err)
	}
	if c.operator, err = c.newSession(provider); err != nil {
		return nil, err
	}
	c.log.Info("authenticated to the cloud",
		zap.String("auth_url", ao.IdentityEndpoint), zap.String("region", eo.Region),
		zap.String("service_user_id", user.ID), zap.String("tenancy", string(cfg.Tenancy)))
	return c, nil
}

// Tenancy is the mode the client was configured with.
func (c *Client) Tenancy() Tenancy { return c.cfg.Tenancy }

// ServiceUserID is the Keystone user of the service credentials: the
// trustee of every trust the client creates.
func (c *Client) ServiceUserID() string { return c.serviceUserID }

// AsOperator returns a cloud.Compute acting with the service credentials
// themselves (operator mode): images belong to whatever project Nova gives
// an admin's snapshot of a tenant's server.
func (c *Client) AsOperator() cloud.Compute { return c.operator }

// ForTenant returns the cloud.Compute the scheduler uses for a schedule:
// ForTrust(trustID) in trust mode, AsOperator() in operator mode (where
// trustID is ignored) and for a schedule that holds no trust.
func (c *Client) ForTenant(trustID string) (cloud.Compute, error) {
	// A schedule without a trust (set by an admin for a tenant, or
	// imported) is served with the operator's credentials in either mode.
	if c.cfg.Tenancy == TenancyOperator || trustID == "" {
		return c.operator, nil
	}
	return c.ForTrust(trustID)
}

// GetServer returns any tenant's server, using the service credentials; its
// ProjectID is what the API compares with the token's project. A server Nova
// does not know is cloud.ErrServerGone.
func (c *Client) GetServer(ctx context.Context, serverID string) (cloud.Server, error) {
	return c.operator.GetServer(ctx, serverID)
}

// authenticate returns a provider client logged in with ao (Keystone v3),
// sharing the client's HTTP client and retry policy.
func (c *Client) authenticate(ctx context.Context, ao gophercloud.AuthOptions) (*gophercloud.ProviderClient, error) {
	p, err := c.newProvider(ao.IdentityEndpoint)
	if err != nil {
		return nil, err
	}
	if err := openstack.AuthenticateV3(ctx, p, &ao, gophercloud.EndpointOpts{}); err != nil {
		return nil, err
	}
	return p, nil
}

func (c *Client) newProvider(identityEndpoint string) (*gophercloud.ProviderClient, error) {
	p, err := openstack.NewClient(identityEndpoint)
	if err != nil {
		return nil, fmt.Errorf("openstack: auth URL %q: %w", identityEndpoint, err)
	}
	p.HTTPClient = c.http
	p.RetryFunc = c.retry.retry
	p.UserAgent.Prepend("imgsched")
	return p, nil
}

// newSession finds Nova and Glance in the provider's catalog.
func (c *Client) newSession(p *gophercloud.ProviderClient) (*session, error) {
	compute, err := openstack.NewComputeV2(p, c.endpoints)
	if err != nil {
		return nil, fmt.Errorf("openstack: compute endpoint: %w", err)
	}
	compute.Microversion = c.cfg.ComputeMicroversion
	image, err := openstack.NewImageV2(p, c.endpoints)
	if err != nil {
		return nil, fmt.Errorf("openstack: image endpoint: %w", err)
	}
	return &session{compute: compute, image: image, pageSize: c.cfg.ImagePageSize}, nil
}

func newHTTPClient(cfg Config, tlsConf *tls.Config) http.Client {
	if cfg.HTTPClient != nil {
		hc := *cfg.HTTPClient
		if hc.Timeout == 0 {
			hc.Timeout = cfg.RequestTimeout
		}
		next := hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		hc.Transport = sendGate{next: next}
		return hc
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	tr.MaxIdleConnsPerHost = 32
	return http.Client{Transport: sendGate{next: tr}, Timeout: cfg.RequestTimeout}
}

// sendGate refuses to send a request whose context's send deadline
// (cloud.WithSendDeadline) has passed. It checks immediately before the
// transport writes, every attempt included (gophercloud's retries and
// re-authentications go through it too), so that the window between the
// check and the request leaving is as small as it can be.
type sendGate struct{ next http.RoundTripper }

func (g sendGate) RoundTrip(req *http.Request) (*http.Response, error) {
	if d, ok := cloud.SendDeadline(req.Context()); ok && !time.Now().Before(d) {
		if req.Body != nil {
			req.Body.Close() // RoundTrip must close it, even on error
		}
		return nil, fmt.Errorf("%w (%s %s, deadline %s)", cloud.ErrSendDeadline, req.Method, req.URL.Path, d.Format(time.RFC3339Nano))
	}
	return g.next.RoundTrip(req)
}
