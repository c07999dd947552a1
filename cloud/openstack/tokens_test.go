package openstack

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cloud/sim"
)

const validations = "/identity/v3/auth/tokens"

func TestValidateTokenReturnsTheIdentityAndCachesIt(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t, func(cfg *Config) { cfg.TokenCache.TTL = 5 * time.Minute })
	token := tc.userToken(t, ten)

	id, err := c.ValidateToken(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != ten.user.ID || id.ProjectID != ten.project.ID || !id.HasRole("member") ||
		!id.ExpiresAt.Equal(epoch.Add(time.Hour)) {
		t.Errorf("ValidateToken = %+v", id)
	}
	if n := tc.front.count("GET", validations); n != 1 {
		t.Fatalf("%d validations, want 1", n)
	}

	tc.clock.Advance(4 * time.Minute)
	again, err := c.ValidateToken(t.Context(), token)
	if err != nil || again.UserID != id.UserID || !slices.Equal(again.Roles, id.Roles) {
		t.Errorf("cached ValidateToken = %+v, %v", again, err)
	}
	if n := tc.front.count("GET", validations); n != 1 {
		t.Errorf("%d validations within the TTL, want 1 (cached)", n)
	}

	tc.clock.Advance(2 * time.Minute)
	if _, err := c.ValidateToken(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	if n := tc.front.count("GET", validations); n != 2 {
		t.Errorf("%d validations after the TTL, want 2", n)
	}
}

func TestValidateTokenNeverTrustsATokenPastItsExpiry(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t, func(cfg *Config) { cfg.TokenCache.TTL = 24 * time.Hour })
	token := tc.userToken(t, ten) // lives 1h

	if _, err := c.ValidateToken(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	tc.clock.Advance(time.Hour)
	if _, err := c.ValidateToken(t.Context(), token); !errors.Is(err, cloud.ErrUnauthorized) {
		t.Errorf("ValidateToken of an expired token = %v, want ErrUnauthorized", err)
	}
}

func TestValidateTokenRejectsBadTokensAndRemembersThemBriefly(t *testing.T) {
	tc := newTestCloud(t)
	c, _ := tc.newClient(t, func(cfg *Config) { cfg.TokenCache.NegativeTTL = 10 * time.Second })

	if _, err := c.ValidateToken(t.Context(), ""); !errors.Is(err, cloud.ErrUnauthorized) {
		t.Errorf("empty token: %v, want ErrUnauthorized", err)
	}
	if n := tc.front.count("GET", validations); n != 0 {
		t.Errorf("an empty token was sent to Keystone")
	}
	for range 3 {
		if _, err := c.ValidateToken(t.Context(), "gAAAAA-not-a-token"); !errors.Is(err, cloud.ErrUnauthorized) {
			t.Fatalf("bad token: %v, want ErrUnauthorized", err)
		}
	}
	if n := tc.front.count("GET", validations); n != 1 {
		t.Errorf("%d validations of the same bad token, want 1 (negative cache)", n)
	}
	tc.clock.Advance(11 * time.Second)
	if _, err := c.ValidateToken(t.Context(), "gAAAAA-not-a-token"); !errors.Is(err, cloud.ErrUnauthorized) {
		t.Fatalf("bad token: %v", err)
	}
	if n := tc.front.count("GET", validations); n != 2 {
		t.Errorf("%d validations after the negative TTL, want 2", n)
	}
}

func TestValidateTokenOfARevokedTokenIsUnauthorized(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	token := tc.userToken(t, ten)
	if err := tc.sim.ExpireToken(token); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ValidateToken(t.Context(), token); !errors.Is(err, cloud.ErrUnauthorized) {
		t.Errorf("ValidateToken = %v, want ErrUnauthorized", err)
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	tc := newTestCloud(t)
	a, b := tc.addTenant("a"), tc.addTenant("b")
	c, _ := tc.newClient(t, func(cfg *Config) { cfg.TokenCache.Size = 1 })
	ta, tb := tc.userToken(t, a), tc.userToken(t, b)

	for _, tok := range []string{ta, tb, ta} {
		if _, err := c.ValidateToken(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := tc.front.count("GET", validations); n != 3 {
		t.Errorf("%d validations, want 3: a cache of one must have forgotten the first token", n)
	}
	if c.tokens.len() != 1 {
		t.Errorf("cache holds %d tokens, want 1", c.tokens.len())
	}
}

func TestValidateTokenSurvivesTheServiceTokenExpiring(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	tc.sim.ExpireAllTokens()
	token := tc.userToken(t, ten) // issued after the purge

	id, err := c.ValidateToken(t.Context(), token)
	if err != nil || id.UserID != ten.user.ID {
		t.Errorf("ValidateToken after the service token expired = %+v, %v", id, err)
	}
}

func TestRefusedServiceCredentialsAreNotBlamedOnTheTenant(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	token := tc.userToken(t, ten)
	// The operator rotates the service password without telling the node,
	// and the node's token runs out.
	svc, _ := tc.sim.LookupProject(sim.ServiceProject)
	tc.sim.AddUser(svc.ID, sim.ServiceUser, "rotated", "admin", "service")
	if err := tc.sim.ExpireToken(c.operator.compute.Token()); err != nil {
		t.Fatal(err)
	}

	_, err := c.ValidateToken(t.Context(), token)
	if err == nil || errors.Is(err, cloud.ErrUnauthorized) {
		t.Errorf("ValidateToken with refused service credentials = %v; want an error that is not ErrUnauthorized", err)
	}
	if _, err := c.GetServer(t.Context(), ten.server.ID); !errors.Is(err, cloud.ErrUnauthorized) {
		t.Errorf("GetServer with refused service credentials = %v, want ErrUnauthorized", err)
	}
}

func TestAKeystoneOutageIsTransientAndNotRemembered(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, sl := tc.newClient(t, withRetries(2))
	token := tc.userToken(t, ten)
	tc.front.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || r.URL.Path != validations {
			return false
		}
		w.Header().Set("Retry-After", "5")
		http.Error(w, "keystone is down", http.StatusServiceUnavailable)
		return true
	})

	_, err := c.ValidateToken(t.Context(), token)
	var terr *cloud.TransientError
	if !errors.As(err, &terr) || terr.Status != 503 || errors.Is(err, cloud.ErrUnauthorized) {
		t.Fatalf("ValidateToken during an outage = %v, want a TransientError 503", err)
	}
	if got := sl.recorded(); !equalDurations(got, []time.Duration{5 * time.Second, 5 * time.Second}) {
		t.Errorf("slept %v, want the Retry-After twice", got)
	}

	tc.front.intercept(nil)
	if id, err := c.ValidateToken(t.Context(), token); err != nil || id.UserID != ten.user.ID {
		t.Errorf("ValidateToken after the outage = %+v, %v; the failure must not have been cached", id, err)
	}
}
