package sim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/imgsched/imgsched/scheduler/schedulertest"
)

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// testCloud is a simulated cloud served on a real loopback socket, with a
// manual clock the test advances instead of sleeping.
type testCloud struct {
	*Cloud
	URL   string
	Clock *schedulertest.Clock
	// Tenant is project "tenant" with user "alice" (member); Other is
	// project "other" with user "bob" (member).
	Tenant, Other Project
	Alice, Bob    User
}

func startCloud(t *testing.T, cfg Config) *testCloud {
	t.Helper()
	clock := schedulertest.NewClock(epoch)
	cfg.Clock = clock
	c := New(cfg)
	url, stop, err := c.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(stop)
	tc := &testCloud{Cloud: c, URL: url, Clock: clock}
	tc.Tenant = c.AddProject("tenant")
	tc.Alice = c.AddUser(tc.Tenant.ID, "alice", "alice-pw", "member")
	tc.Other = c.AddProject("other")
	tc.Bob = c.AddUser(tc.Other.ID, "bob", "bob-pw", "member")
	return tc
}

func (tc *testCloud) authURL() string { return tc.URL + "/identity/v3" }

// provider authenticates with gophercloud, scoped to project by name.
func (tc *testCloud) provider(t *testing.T, user, password, project string) *gophercloud.ProviderClient {
	t.Helper()
	pc, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: tc.authURL(),
		Username:         user,
		Password:         password,
		DomainName:       DomainName,
		TenantName:       project,
		AllowReauth:      true,
	})
	if err != nil {
		t.Fatalf("authenticate %s: %v", user, err)
	}
	return pc
}

func compute(t *testing.T, pc *gophercloud.ProviderClient, microversion string) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewComputeV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatalf("compute client: %v", err)
	}
	sc.Microversion = microversion
	return sc
}

func imageClient(t *testing.T, pc *gophercloud.ProviderClient) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewImageV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatalf("image client: %v", err)
	}
	return sc
}

// do sends a raw request and returns status, headers and body.
func do(t *testing.T, method, url, token, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "" {
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, resp.Header, string(b)
}
