package sim

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/trusts"
)

func TestPasswordAuthScopesTheTokenToTheProject(t *testing.T) {
	tc := startCloud(t, Config{})
	ctx := context.Background()
	cases := []struct {
		name string
		opts gophercloud.AuthOptions
	}{
		{"user and project by name in a domain", gophercloud.AuthOptions{
			Username: "alice", Password: "alice-pw", DomainName: DomainName, TenantName: "tenant"}},
		{"user by id and project by id", gophercloud.AuthOptions{
			UserID: tc.Alice.ID, Password: "alice-pw", TenantID: tc.Tenant.ID}},
		{"no scope falls back to the default project", gophercloud.AuthOptions{
			Username: "alice", Password: "alice-pw", DomainID: DomainID}},
		{"unversioned auth URL is discovered", gophercloud.AuthOptions{
			IdentityEndpoint: tc.URL + "/identity", Username: "alice", Password: "alice-pw", DomainName: DomainName, TenantName: "tenant"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.opts.IdentityEndpoint == "" {
				c.opts.IdentityEndpoint = tc.authURL()
			}
			pc, err := openstack.AuthenticatedClient(ctx, c.opts)
			if err != nil {
				t.Fatalf("auth: %v", err)
			}
			res, ok := pc.GetAuthResult().(tokens.CreateResult)
			if !ok {
				t.Fatalf("auth result is %T", pc.GetAuthResult())
			}
			p, err := res.ExtractProject()
			if err != nil || p == nil || p.ID != tc.Tenant.ID || p.Name != "tenant" {
				t.Fatalf("project = %+v, %v", p, err)
			}
			u, _ := res.ExtractUser()
			if u.ID != tc.Alice.ID || u.Domain.ID != DomainID {
				t.Fatalf("user = %+v", u)
			}
			roles, _ := res.ExtractRoles()
			if len(roles) != 1 || roles[0].Name != "member" {
				t.Fatalf("roles = %+v", roles)
			}
			tok, _ := res.ExtractToken()
			if want := epoch.Add(time.Hour); !tok.ExpiresAt.Equal(want) {
				t.Fatalf("expires_at = %v, want %v", tok.ExpiresAt, want)
			}
			cat, _ := res.ExtractServiceCatalog()
			var types []string
			for _, e := range cat.Entries {
				types = append(types, e.Type)
				if len(e.Endpoints) != 3 || e.Endpoints[0].Region != "RegionOne" {
					t.Fatalf("endpoints of %s = %+v", e.Type, e.Endpoints)
				}
			}
			if !slices.Equal(types, []string{"identity", "compute", "image"}) {
				t.Fatalf("catalog types = %v", types)
			}
		})
	}
}

func TestPasswordAuthRejectsBadCredentials(t *testing.T) {
	tc := startCloud(t, Config{})
	cases := []struct {
		name string
		opts gophercloud.AuthOptions
	}{
		{"wrong password", gophercloud.AuthOptions{Username: "alice", Password: "nope", DomainName: DomainName, TenantName: "tenant"}},
		{"unknown user", gophercloud.AuthOptions{Username: "mallory", Password: "x", DomainName: DomainName, TenantName: "tenant"}},
		{"project without a role", gophercloud.AuthOptions{Username: "alice", Password: "alice-pw", DomainName: DomainName, TenantName: "other"}},
		{"unknown domain", gophercloud.AuthOptions{Username: "alice", Password: "alice-pw", DomainName: "Elsewhere", TenantName: "tenant"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.IdentityEndpoint = tc.authURL()
			_, err := openstack.AuthenticatedClient(context.Background(), c.opts)
			if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
				t.Fatalf("err = %v, want 401", err)
			}
		})
	}
}

func TestTokenValidationFollowsTheClock(t *testing.T) {
	tc := startCloud(t, Config{TokenTTL: 10 * time.Minute})
	ctx := context.Background()
	svc := tc.provider(t, ServiceUser, "secret", ServiceProject)
	identity, err := openstack.NewIdentityV3(svc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	alice := tc.provider(t, "alice", "alice-pw", "tenant")
	aliceTok := alice.Token()

	res := tokens.Get(ctx, identity, aliceTok)
	u, err := res.ExtractUser()
	if err != nil || u.ID != tc.Alice.ID {
		t.Fatalf("validate: user %+v, %v", u, err)
	}
	if id, _ := res.ExtractTokenID(); id != aliceTok {
		t.Fatalf("X-Subject-Token = %q", id)
	}
	if _, err := tokens.Get(ctx, identity, "not-a-token").ExtractToken(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("bad token: %v, want 404", err)
	}
	ok, err := tokens.Validate(ctx, identity, aliceTok)
	if err != nil || !ok {
		t.Fatalf("HEAD validate = %v, %v", ok, err)
	}

	// Alice cannot validate the service's token.
	aliceIdentity, _ := openstack.NewIdentityV3(alice, gophercloud.EndpointOpts{})
	if _, err := tokens.Get(ctx, aliceIdentity, svc.Token()).ExtractToken(); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("member validating another token: %v, want 403", err)
	}

	// Revoked through the admin endpoint.
	if err := tc.ExpireToken(aliceTok); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Get(ctx, identity, aliceTok).ExtractToken(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("expired token: %v, want 404", err)
	}

	// Expired by the clock: the service re-authenticates by itself, Alice's
	// new token is rejected once the TTL passes.
	alice = tc.provider(t, "alice", "alice-pw", "tenant")
	tc.Clock.Advance(10*time.Minute + time.Second)
	if _, err := tokens.Get(ctx, identity, alice.Token()).ExtractToken(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("token past its TTL: %v, want 404", err)
	}
}

func TestRevokeEndsAToken(t *testing.T) {
	tc := startCloud(t, Config{})
	ctx := context.Background()
	alice := tc.provider(t, "alice", "alice-pw", "tenant")
	identity, _ := openstack.NewIdentityV3(alice, gophercloud.EndpointOpts{})
	other := tc.provider(t, "alice", "alice-pw", "tenant")
	if err := tokens.Revoke(ctx, identity, other.Token()).Err; err != nil {
		t.Fatalf("revoke: %v", err)
	}
	ok, err := tokens.Validate(ctx, identity, other.Token())
	if err != nil || ok {
		t.Fatalf("revoked token valid = %v, %v", ok, err)
	}
}

func TestTrustLetsTheServiceActForTheTenant(t *testing.T) {
	tc := startCloud(t, Config{})
	ctx := context.Background()
	alice := tc.provider(t, "alice", "alice-pw", "tenant")
	identity, _ := openstack.NewIdentityV3(alice, gophercloud.EndpointOpts{})
	svcUser, _ := tc.LookupUser(ServiceUser)

	tr, err := trusts.Create(ctx, identity, trusts.CreateOpts{
		TrustorUserID: tc.Alice.ID, TrusteeUserID: svcUser.ID, ProjectID: tc.Tenant.ID,
		Roles: []trusts.Role{{Name: "member"}}, Impersonation: true,
	}).Extract()
	if err != nil {
		t.Fatalf("create trust: %v", err)
	}
	if tr.TrustorUserID != tc.Alice.ID || tr.TrusteeUserID != svcUser.ID || tr.ProjectID != tc.Tenant.ID || !tr.Impersonation {
		t.Fatalf("trust = %+v", tr)
	}
	got, err := trusts.Get(ctx, identity, tr.ID).Extract()
	if err != nil || got.ID != tr.ID || len(got.Roles) != 1 || got.Roles[0].Name != "member" {
		t.Fatalf("get trust = %+v, %v", got, err)
	}
	pages, err := trusts.List(identity, trusts.ListOpts{TrustorUserID: tc.Alice.ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := trusts.ExtractTrusts(pages)
	if len(list) != 1 || list[0].ID != tr.ID {
		t.Fatalf("list trusts = %+v", list)
	}

	// A member cannot create a trust on someone else's behalf.
	_, err = trusts.Create(ctx, identity, trusts.CreateOpts{
		TrustorUserID: tc.Bob.ID, TrusteeUserID: svcUser.ID, ProjectID: tc.Tenant.ID, Roles: []trusts.Role{{Name: "member"}},
	}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("trust for another trustor: %v, want 403", err)
	}

	// The trustee authenticates with the trust scope.
	scoped, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: tc.authURL(), Username: ServiceUser, Password: "secret", DomainName: DomainName,
		Scope: &gophercloud.AuthScope{TrustID: tr.ID},
	})
	if err != nil {
		t.Fatalf("trust-scoped auth: %v", err)
	}
	res := scoped.GetAuthResult().(tokens.CreateResult)
	p, _ := res.ExtractProject()
	u, _ := res.ExtractUser()
	ext, _ := res.ExtractTrust()
	if p.ID != tc.Tenant.ID || u.ID != tc.Alice.ID || ext == nil || ext.ID != tr.ID || ext.TrusteeUserID.ID != svcUser.ID {
		t.Fatalf("trust token: project %+v user %+v trust %+v", p, u, ext)
	}

	// Only the trustee may use it.
	_, err = openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: tc.authURL(), Username: "bob", Password: "bob-pw", DomainName: DomainName,
		Scope: &gophercloud.AuthScope{TrustID: tr.ID},
	})
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("non-trustee: %v, want 403", err)
	}

	// Deleting the trust invalidates its tokens.
	if err := trusts.Delete(ctx, identity, tr.ID).ExtractErr(); err != nil {
		t.Fatalf("delete trust: %v", err)
	}
	if _, err := trusts.Get(ctx, identity, tr.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("get deleted trust: %v, want 404", err)
	}
	svc := tc.provider(t, ServiceUser, "secret", ServiceProject)
	svcIdentity, _ := openstack.NewIdentityV3(svc, gophercloud.EndpointOpts{})
	if ok, err := tokens.Validate(ctx, svcIdentity, scoped.Token()); err != nil || ok {
		t.Fatalf("token of a deleted trust: valid=%v err=%v", ok, err)
	}
}
