package openstack

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/imgsched/imgsched/cloud"
)

// tokenEntry is a cached validation: an identity, or ErrUnauthorized, good
// until until.
type tokenEntry struct {
	id    cloud.Identity
	err   error
	until time.Time
}

// ValidateToken returns who a tenant's Keystone token belongs to, asking
// Keystone (GET /v3/auth/tokens with the service token) unless a cached
// answer is still good: a valid token for TokenCache.TTL but never past its
// expiry, an invalid one for TokenCache.NegativeTTL. Only the SHA-256 of a
// token is kept. An invalid or expired token is cloud.ErrUnauthorized; a
// failure of the service's own credentials or of Keystone is not (the API
// answers 5xx, not 401).
//
// It blocks until Keystone answers or the retries end; ctx cancels the wait.
func (c *Client) ValidateToken(ctx context.Context, token string) (cloud.Identity, error) {
	if token == "" {
		return cloud.Identity{}, fmt.Errorf("openstack: validate token: no token: %w", cloud.ErrUnauthorized)
	}
	key := sha256.Sum256([]byte(token))
	if e, ok := c.tokens.get(key); ok && c.cfg.Clock.Now().Before(e.until) {
		return e.id, e.err
	}
	id, err := c.fetchIdentity(ctx, token)
	now := c.cfg.Clock.Now()
	switch {
	case err == nil:
		until := now.Add(c.cfg.TokenCache.TTL)
		if !id.ExpiresAt.IsZero() && id.ExpiresAt.Before(until) {
			until = id.ExpiresAt
		}
		c.tokens.add(key, tokenEntry{id: id, until: until})
	case errors.Is(err, cloud.ErrUnauthorized):
		c.tokens.add(key, tokenEntry{err: err, until: now.Add(c.cfg.TokenCache.NegativeTTL)})
	}
	return id, err
}

// fetchIdentity asks Keystone about token.
func (c *Client) fetchIdentity(ctx context.Context, token string) (cloud.Identity, error) {
	r := tokens.Get(ctx, c.identity, token)
	if err := r.Err; err != nil {
		if unableToReauthenticate(err) != nil {
			return cloud.Identity{}, fmt.Errorf("openstack: validate token: the service credentials were refused: %w", err)
		}
		if code, ok := responseError(err); ok {
			switch code.Actual {
			case http.StatusNotFound, http.StatusUnauthorized:
				// Keystone answers 404 for an unknown or expired subject
				// token; a 401 that survived a fresh service token is the
				// subject's too.
				return cloud.Identity{}, fmt.Errorf("openstack: validate token: %w: %w", cloud.ErrUnauthorized, err)
			case http.StatusForbidden:
				return cloud.Identity{}, fmt.Errorf("openstack: validate token: the service user may not validate tokens: %w", err)
			}
		}
		return cloud.Identity{}, fmt.Errorf("openstack: validate token: %w", mapError(err, statusErrors{}))
	}
	tok, err := r.ExtractToken()
	if err != nil {
		return cloud.Identity{}, fmt.Errorf("openstack: validate token: %w", err)
	}
	user, err := r.ExtractUser()
	if err != nil || user == nil || user.ID == "" {
		return cloud.Identity{}, fmt.Errorf("openstack: validate token: answer names no user: %w", errors.Join(err, cloud.ErrUnauthorized))
	}
	roles, err := r.ExtractRoles()
	if err != nil {
		return cloud.Identity{}, fmt.Errorf("openstack: validate token: %w", err)
	}
	project, err := r.ExtractProject()
	if err != nil {
		return cloud.Identity{}, fmt.Errorf("openstack: validate token: %w", err)
	}
	id := cloud.Identity{UserID: user.ID, ExpiresAt: tok.ExpiresAt}
	if project != nil {
		id.ProjectID = project.ID
	}
	for _, role := range roles {
		id.Roles = append(id.Roles, role.Name)
	}
	if !tok.ExpiresAt.IsZero() && !c.cfg.Clock.Now().Before(tok.ExpiresAt) {
		return cloud.Identity{}, fmt.Errorf("openstack: validate token: expired at %s: %w", tok.ExpiresAt, cloud.ErrUnauthorized)
	}
	return id, nil
}
