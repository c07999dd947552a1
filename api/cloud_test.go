package api

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/trusts"

	cloudos "github.com/imgsched/imgsched/cloud/openstack"
	"github.com/imgsched/imgsched/cloud/sim"
	"github.com/imgsched/imgsched/scheduler/schedulertest"
)

// cloudHarness is the API wired to the real adapter, which talks to the
// simulated cloud over HTTP, in trust tenancy.
type cloudHarness struct {
	*harness
	sim     *sim.Cloud
	clock   *schedulertest.Clock
	authURL string
	servers map[string]string // name → id
	project map[string]string // name → id
}

func newCloudHarness(t *testing.T) *cloudHarness {
	t.Helper()
	ctx := context.Background()
	clock := schedulertest.NewClock(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
	sc := sim.DefaultConfig()
	sc.Clock = clock
	c := sim.New(sc)
	h := &cloudHarness{sim: c, clock: clock, servers: map[string]string{}, project: map[string]string{}}
	for _, name := range []string{"alpha", "beta"} {
		p := c.AddProject(name)
		h.project[name] = p.ID
		c.AddUser(p.ID, name+"-user", "pw", "member")
		for i := 1; i <= 2; i++ {
			srv := fmt.Sprintf("%s-%d", name, i)
			h.servers[srv] = c.AddServer(p.ID, sim.ServerSpec{Name: srv, DiskGB: 10}).ID
		}
	}
	url, stop, err := c.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	h.authURL = url + "/identity/v3"
	ocfg := cloudos.DefaultConfig()
	ocfg.Clock = clock
	ocfg.Auth = &gophercloud.AuthOptions{IdentityEndpoint: h.authURL, Username: sim.ServiceUser, Password: sc.ServicePassword,
		DomainName: sim.DomainName, Scope: &gophercloud.AuthScope{ProjectName: sim.ServiceProject, DomainName: sim.DomainName}}
	adapter, err := cloudos.New(ctx, ocfg)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := openStore(t, "api-cloud-test", 8)
	h.harness = serve(t, store, Config{Tokens: adapter, Servers: adapter, Trusts: adapter, Tenants: adapter, Clock: clock})
	return h
}

// login returns a project-scoped token and the provider holding it.
func (h *cloudHarness) login(t *testing.T, user, password, project string) (string, *gophercloud.ProviderClient) {
	t.Helper()
	p, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{IdentityEndpoint: h.authURL,
		Username: user, Password: password, DomainName: sim.DomainName,
		Scope: &gophercloud.AuthScope{ProjectName: project, DomainName: sim.DomainName}})
	if err != nil {
		t.Fatal(err)
	}
	return p.Token(), p
}

// trustIDs lists the trusts Keystone holds, as the cloud admin sees them.
func (h *cloudHarness) trustIDs(t *testing.T) []string {
	t.Helper()
	_, admin := h.login(t, sim.AdminUser, sim.DefaultConfig().AdminPassword, sim.AdminProject)
	id, err := openstack.NewIdentityV3(admin, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := trusts.List(id, nil).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all, err := trusts.ExtractTrusts(pages)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range all {
		ids = append(ids, tr.ID)
	}
	return ids
}

func TestTenantIsolationThroughTheRealCloud(t *testing.T) {
	h := newCloudHarness(t)
	alpha, _ := h.login(t, "alpha-user", "pw", "alpha")
	beta, _ := h.login(t, "beta-user", "pw", "beta")
	body := []byte(`{"image_schedule": {"retention": 2}}`)
	if r := h.do(t, "POST", schedulePath(h.project["beta"], h.servers["beta-1"]), beta, body); r.status != 200 {
		t.Fatalf("beta enables its own: %d %s", r.status, r.body)
	}
	expired, _ := h.login(t, "alpha-user", "pw", "alpha")
	if err := h.sim.ExpireToken(expired); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		fault, message            string
	}{
		{"another project's server under one's own tenant is not found",
			"POST", schedulePath(h.project["alpha"], h.servers["beta-1"]), alpha, 404, "itemNotFound", "Specified instance " + h.servers["beta-1"] + " could not be found."},
		{"another project's server is not found either when read",
			"GET", schedulePath(h.project["alpha"], h.servers["beta-1"]), alpha, 404, "itemNotFound", "Specified instance"},
		{"another project in the URL is forbidden",
			"GET", schedulePath(h.project["beta"], h.servers["beta-1"]), alpha, 403, "forbidden", "Tenant"},
		{"a made-up token is unauthorized",
			"GET", schedulePath(h.project["alpha"], h.servers["alpha-1"]), "gAAAAA-not-a-token", 401, "unauthorized", "The request you have made requires authentication"},
		{"a revoked token is unauthorized",
			"GET", schedulePath(h.project["alpha"], h.servers["alpha-1"]), expired, 401, "unauthorized", "The request you have made requires authentication"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.method == "POST" {
				b = body
			}
			msg := fault(t, h.do(t, tc.method, tc.path, tc.token, b), tc.status, tc.fault)
			if !strings.HasPrefix(msg, tc.message) {
				t.Fatalf("message %q, want it to start with %q", msg, tc.message)
			}
		})
	}
	if r := h.do(t, "GET", "/v1/schedules?tenant_id="+h.project["beta"], alpha, nil); r.status != 403 {
		t.Fatalf("a member listing another tenant: %d %s, want 403", r.status, r.body)
	}
	// A streaming call reports its error inside the stream.
	r := h.do(t, "POST", "/v1/schedules:import", alpha, []byte(`{"schedules": [{"tenant_id": "x", "server_id": "y", "retention": 1}]}`))
	if !strings.Contains(r.body, `"code":7`) || !strings.Contains(r.body, "importing schedules needs the admin role") {
		t.Fatalf("a member importing: %d %s, want PERMISSION_DENIED", r.status, r.body)
	}
	if r := h.do(t, "GET", schedulePath(h.project["beta"], h.servers["beta-1"]), beta, nil); r.body != `{"image_schedule":{"retention":2}}` {
		t.Fatalf("beta's schedule changed: %d %s", r.status, r.body)
	}
	// Validation is cached only until the token expires: a day later the
	// same token is refused.
	h.clock.Advance(25 * time.Hour)
	fault(t, h.do(t, "GET", schedulePath(h.project["beta"], h.servers["beta-1"]), beta, nil), 401, "unauthorized")
}

func TestEnablingDelegatesOneTrustAndDisablingRevokesIt(t *testing.T) {
	h := newCloudHarness(t)
	alpha, _ := h.login(t, "alpha-user", "pw", "alpha")
	path := schedulePath(h.project["alpha"], h.servers["alpha-1"])
	var wg sync.WaitGroup
	for i := 1; i <= 20; i++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			if resp := h.do(t, "POST", path, alpha, []byte(fmt.Sprintf(`{"image_schedule": {"retention": %d}}`, r))); resp.status != 200 {
				t.Errorf("POST: %d %s", resp.status, resp.body)
			}
		}(i)
	}
	wg.Wait()
	rec, err := h.store.Get(context.Background(), h.servers["alpha-1"])
	if err != nil {
		t.Fatal(err)
	}
	ids := h.trustIDs(t)
	if rec.GetTrustId() == "" || fmt.Sprint(ids) != fmt.Sprint([]string{rec.GetTrustId()}) {
		t.Fatalf("Keystone holds trusts %v, the schedule %q: want exactly the schedule's", ids, rec.GetTrustId())
	}
	if r := h.do(t, "POST", path, alpha, []byte(`{"image_schedule": {"retention": 9}}`)); r.status != 200 {
		t.Fatalf("re-enable: %d %s", r.status, r.body)
	}
	again, _ := h.store.Get(context.Background(), h.servers["alpha-1"])
	if again.GetTrustId() != rec.GetTrustId() {
		t.Fatalf("re-enabling by the same user replaced trust %s with %s", rec.GetTrustId(), again.GetTrustId())
	}
	if r := h.do(t, "DELETE", path, alpha, nil); r.status != 202 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if ids := h.trustIDs(t); len(ids) != 0 {
		t.Fatalf("trusts %v remain after the schedule was disabled", ids)
	}
}
