package loadtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/imgsched/imgsched/cloud/sim"
)

var cloudsimURL = regexp.MustCompile(`simulated cloud at (http://\S+)`)

// startCloud runs `imgsched cloudsim` seeded with the configured fleet and
// returns it with its base URL.
func startCloud(ctx context.Context, cfg Config, clock simClock, workDir string) (*proc, string, error) {
	args := append([]string{"cloudsim", "--addr", addr(cfg.BasePort, 0), "--record-deletions", "--token-ttl", "87600h",
		"--servers", fmt.Sprint(cfg.Servers), "--projects", fmt.Sprint(cfg.Projects), "--seed", fmt.Sprint(cfg.Seed)}, clock.flags()...)
	p, err := startProc("cloudsim", cfg.Binary, filepath.Join(workDir, "cloudsim.log"), args...)
	if err != nil {
		return nil, "", err
	}
	m, err := p.waitFor(ctx, cloudsimURL, 10*time.Minute)
	if err != nil {
		p.stop(time.Minute)
		return nil, "", err
	}
	return p, m[1], nil
}

// addr is 127.0.0.1 with port base+offset, or an ephemeral port when base
// is 0.
func addr(base, offset int) string {
	if base == 0 {
		return "127.0.0.1:0"
	}
	return fmt.Sprintf("127.0.0.1:%d", base+offset)
}

// writeServiceClouds writes a clouds.yaml with imgsched's service user of
// the simulated cloud, entry "svc".
func writeServiceClouds(dir, cloudURL string) (string, error) {
	cfg := sim.DefaultConfig()
	f := filepath.Join(dir, "clouds.yaml")
	yaml := fmt.Sprintf(`clouds:
  svc:
    auth:
      auth_url: %s/identity/v3
      username: %s
      password: %s
      project_name: %s
      user_domain_name: %s
      project_domain_name: %s
    region_name: %s
    identity_api_version: 3
`, cloudURL, sim.ServiceUser, cfg.ServicePassword, sim.ServiceProject, sim.DomainName, sim.DomainName, cfg.Region)
	return f, os.WriteFile(f, []byte(yaml), 0o600)
}

// admin is the simulated cloud's administrator, through gophercloud. The
// cloud's tokens outlive the run (--token-ttl), so one login serves it all.
type admin struct {
	provider *gophercloud.ProviderClient
}

func loginAdmin(ctx context.Context, cloudURL string) (admin, error) {
	p, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: cloudURL + "/identity/v3", Username: sim.AdminUser, Password: sim.DefaultConfig().AdminPassword,
		DomainName: sim.DomainName, Scope: &gophercloud.AuthScope{ProjectName: sim.AdminProject, DomainName: sim.DomainName},
		AllowReauth: true,
	})
	if err != nil {
		return admin{}, fmt.Errorf("log in to the simulated cloud as admin: %w", err)
	}
	return admin{provider: p}, nil
}

func (a admin) token() string { return a.provider.Token() }

// server is what the load test needs of a server.
type server struct {
	ID, TenantID string
}

// servers lists every server of every project, as any Nova client would.
func (a admin) servers(ctx context.Context) ([]server, error) {
	c, err := openstack.NewComputeV2(a.provider, gophercloud.EndpointOpts{})
	if err != nil {
		return nil, err
	}
	c.Microversion = "2.47"
	var out []server
	err = servers.List(c, servers.ListOpts{AllTenants: true, Limit: 1000}).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		ss, err := servers.ExtractServers(page)
		for _, s := range ss {
			out = append(out, server{ID: s.ID, TenantID: strings.TrimSpace(s.TenantID)})
		}
		return err == nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("list the servers: %w", err)
	}
	return out, nil
}
