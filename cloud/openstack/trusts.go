package openstack

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/trusts"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/cloud"
)

// CreateTrust makes a Keystone trust from the tenant user behind userToken
// (the trustor, id as returned by ValidateToken) to the service user (the
// trustee), scoped to id.ProjectID, delegating the token's roles, with
// impersonation, so images the service creates through it are the
// tenant's. The request is made with userToken, as Keystone requires. An
// invalid token is cloud.ErrUnauthorized; a user Keystone does not let
// delegate is cloud.ErrForbidden.
//
// It blocks until Keystone answers; it is not repeated after an answer that
// may have created the trust. ctx cancels the wait.
func (c *Client) CreateTrust(ctx context.Context, userToken string, id cloud.Identity) (string, error) {
	switch {
	case userToken == "":
		return "", fmt.Errorf("openstack: create trust: no token: %w", cloud.ErrUnauthorized)
	case id.UserID == "" || id.ProjectID == "":
		return "", fmt.Errorf("openstack: create trust: the identity needs a user and a project (got %q, %q): %w", id.UserID, id.ProjectID, cloud.ErrForbidden)
	case len(id.Roles) == 0:
		return "", fmt.Errorf("openstack: create trust: user %s has no role to delegate in project %s: %w", id.UserID, id.ProjectID, cloud.ErrForbidden)
	}
	p, err := c.newProvider(c.auth.IdentityEndpoint)
	if err != nil {
		return "", err
	}
	p.SetToken(userToken)
	asUser := &gophercloud.ServiceClient{ProviderClient: p, Endpoint: c.identity.Endpoint, Type: c.identity.Type}
	opts := trusts.CreateOpts{
		Impersonation: true,
		TrustorUserID: id.UserID,
		TrusteeUserID: c.serviceUserID,
		ProjectID:     id.ProjectID,
	}
	for _, r := range id.Roles {
		opts.Roles = append(opts.Roles, trusts.Role{Name: r})
	}
	t, err := trusts.Create(ctx, asUser, opts).Extract()
	if err != nil {
		return "", fmt.Errorf("openstack: create trust for user %s in project %s: %w", id.UserID, id.ProjectID, mapError(err, statusErrors{}))
	}
	c.log.Info("trust created", zap.String("trust_id", t.ID),
		zap.String("trustor_user_id", id.UserID), zap.String("project_id", id.ProjectID))
	return t.ID, nil
}

// DeleteTrust deletes the trust with the service credentials and forgets
// its client. Deleting a trust that is already gone succeeds. Keystone lets
// the trustor or an admin delete a trust, so in trust mode the service user
// needs the admin role or a policy allowing identity:delete_trust.
//
// It blocks until Keystone answers; ctx cancels the wait.
func (c *Client) DeleteTrust(ctx context.Context, trustID string) error {
	if err := checkID("trust", trustID); err != nil {
		return err
	}
	c.trusts.remove(trustID)
	err := trusts.Delete(ctx, c.identity, trustID).ExtractErr()
	if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return fmt.Errorf("openstack: delete trust %s: %w", trustID, mapError(err, statusErrors{}))
	}
	c.log.Info("trust deleted", zap.String("trust_id", trustID))
	return nil
}

// ForTrust returns a cloud.Compute acting in the trustor's project through
// a trust-scoped token of the service user. Clients are cached per trust
// (TrustClients of them); the token is obtained on first use and renewed
// when it expires. A trust that was deleted or no longer grants its roles
// makes every call fail with cloud.ErrUnauthorized.
func (c *Client) ForTrust(trustID string) (cloud.Compute, error) {
	if err := checkID("trust", trustID); err != nil {
		return nil, err
	}
	return c.trusts.getOrAdd(trustID, func() *trustSession {
		return &trustSession{c: c, trustID: trustID, sem: make(chan struct{}, 1)}
	}), nil
}

// trustSession is a cloud.Compute that logs in with the trust on first use.
type trustSession struct {
	c       *Client
	trustID string
	sem     chan struct{} // held while logging in
	s       *session      // set once logged in; guarded by sem
}

var _ cloud.Compute = (*trustSession)(nil)

// session logs in once; a failed login is tried again by the next call. It
// waits for a login in progress on another goroutine unless ctx ends first.
func (t *trustSession) session(ctx context.Context) (*session, error) {
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("openstack: trust %s: %w", t.trustID, ctx.Err())
	}
	defer func() { <-t.sem }()
	if t.s != nil {
		return t.s, nil
	}
	ao := t.c.auth
	ao.TenantID, ao.TenantName = "", ""
	ao.Scope = &gophercloud.AuthScope{TrustID: t.trustID}
	p, err := t.c.authenticate(ctx, ao)
	if err != nil {
		// Keystone answers 401 or 404 for a trust that is gone.
		return nil, fmt.Errorf("openstack: authenticate with trust %s: %w", t.trustID,
			mapError(err, statusErrors{notFound: cloud.ErrUnauthorized}))
	}
	s, err := t.c.newSession(p)
	if err != nil {
		return nil, err
	}
	t.s = s
	return s, nil
}

func (t *trustSession) GetServer(ctx context.Context, serverID string) (cloud.Server, error) {
	s, err := t.session(ctx)
	if err != nil {
		return cloud.Server{}, err
	}
	return s.GetServer(ctx, serverID)
}

func (t *trustSession) CreateImage(ctx context.Context, serverID, name string, metadata map[string]string) (string, error) {
	s, err := t.session(ctx)
	if err != nil {
		return "", err
	}
	return s.CreateImage(ctx, serverID, name, metadata)
}

func (t *trustSession) GetImage(ctx context.Context, imageID string) (cloud.Image, error) {
	s, err := t.session(ctx)
	if err != nil {
		return cloud.Image{}, err
	}
	return s.GetImage(ctx, imageID)
}

func (t *trustSession) ListScheduledImages(ctx context.Context, serverID string) ([]cloud.Image, error) {
	s, err := t.session(ctx)
	if err != nil {
		return nil, err
	}
	return s.ListScheduledImages(ctx, serverID)
}

func (t *trustSession) DeleteImage(ctx context.Context, imageID string) error {
	s, err := t.session(ctx)
	if err != nil {
		return err
	}
	return s.DeleteImage(ctx, imageID)
}
