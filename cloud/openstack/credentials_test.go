package openstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cloud/sim"
)

// clearOSEnv keeps the developer's own OS_* variables out of a test.
func clearOSEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "OS_") {
			t.Setenv(name, "")
		}
	}
}

func writeCloudsYAML(t *testing.T, tc *testCloud, password string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	yaml := fmt.Sprintf(`clouds:
  imgsched-sim:
    auth:
      auth_url: %s/identity
      username: %s
      password: %s
      project_name: %s
      user_domain_name: %s
      project_domain_name: %s
    region_name: RegionOne
    interface: public
    identity_api_version: 3
`, tc.url, sim.ServiceUser, password, sim.ServiceProject, sim.DomainName, sim.DomainName)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNewReadsAGeneratedCloudsYAML(t *testing.T) {
	clearOSEnv(t)
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	path := writeCloudsYAML(t, tc, sim.DefaultConfig().ServicePassword)

	c, _ := tc.newClient(t, func(cfg *Config) {
		cfg.Auth = nil
		cfg.Cloud = "imgsched-sim"
		cfg.CloudsFile = path
	})
	svc, _ := tc.sim.LookupUser(sim.ServiceUser)
	if c.ServiceUserID() != svc.ID {
		t.Errorf("ServiceUserID = %s, want %s", c.ServiceUserID(), svc.ID)
	}
	if _, err := c.GetServer(t.Context(), ten.server.ID); err != nil {
		t.Errorf("GetServer with clouds.yaml credentials: %v", err)
	}

	t.Run("OS_CLOUD names the entry when Config does not", func(t *testing.T) {
		t.Setenv("OS_CLOUD", "imgsched-sim")
		tc.newClient(t, func(cfg *Config) {
			cfg.Auth = nil
			cfg.CloudsFile = path
		})
	})
	t.Run("an unknown entry is an error", func(t *testing.T) {
		_, err := New(t.Context(), Config{Cloud: "nope", CloudsFile: path, Clock: tc.clock})
		if err == nil || !strings.Contains(err.Error(), `"nope" not found`) {
			t.Errorf("New = %v, want cloud not found", err)
		}
	})
	t.Run("a wrong password is unauthorized", func(t *testing.T) {
		bad := writeCloudsYAML(t, tc, "wrong")
		_, err := New(t.Context(), Config{Cloud: "imgsched-sim", CloudsFile: bad, Clock: tc.clock})
		if !errors.Is(err, cloud.ErrUnauthorized) {
			t.Errorf("New = %v, want ErrUnauthorized", err)
		}
	})
	t.Run("a region the catalog lacks is an error", func(t *testing.T) {
		_, err := New(t.Context(), Config{Cloud: "imgsched-sim", CloudsFile: path, Region: "Atlantis", Clock: tc.clock})
		if err == nil {
			t.Errorf("New in a region without endpoints succeeded")
		}
	})
}

func TestNewReadsOSVariables(t *testing.T) {
	clearOSEnv(t)
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	t.Setenv("OS_AUTH_URL", tc.authURL())
	t.Setenv("OS_USERNAME", sim.ServiceUser)
	t.Setenv("OS_PASSWORD", sim.DefaultConfig().ServicePassword)
	t.Setenv("OS_PROJECT_NAME", sim.ServiceProject)
	t.Setenv("OS_USER_DOMAIN_NAME", sim.DomainName)
	t.Setenv("OS_PROJECT_DOMAIN_NAME", sim.DomainName)
	t.Setenv("OS_REGION_NAME", "RegionOne")

	c, _ := tc.newClient(t, func(cfg *Config) { cfg.Auth = nil })
	if _, err := c.GetServer(t.Context(), ten.server.ID); err != nil {
		t.Errorf("GetServer with OS_* credentials: %v", err)
	}
}

func TestNewWithoutCredentialsFails(t *testing.T) {
	clearOSEnv(t)
	if _, err := New(t.Context(), Config{}); err == nil {
		t.Errorf("New without any credentials succeeded")
	}
}

func TestNewReadsGophercloudStyleOSVariables(t *testing.T) {
	clearOSEnv(t)
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	svc, _ := tc.sim.LookupProject(sim.ServiceProject)
	t.Setenv("OS_AUTH_URL", tc.authURL())
	t.Setenv("OS_USERNAME", sim.ServiceUser)
	t.Setenv("OS_PASSWORD", sim.DefaultConfig().ServicePassword)
	t.Setenv("OS_PROJECT_ID", svc.ID)
	t.Setenv("OS_DOMAIN_NAME", sim.DomainName)

	c, _ := tc.newClient(t, func(cfg *Config) { cfg.Auth = nil })
	if _, err := c.GetServer(t.Context(), ten.server.ID); err != nil {
		t.Errorf("GetServer with OS_DOMAIN_NAME credentials: %v", err)
	}
}

func TestCredentialsFromEnvNeedsAProjectDomainForAProjectName(t *testing.T) {
	clearOSEnv(t)
	t.Setenv("OS_AUTH_URL", "http://keystone/v3")
	t.Setenv("OS_USER_ID", "u1")
	t.Setenv("OS_USER_DOMAIN_ID", "default")
	t.Setenv("OS_PASSWORD", "pw")
	t.Setenv("OS_PROJECT_NAME", "service")
	ao, err := credentialsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if ao.UserID != "u1" || ao.DomainID != "" || ao.Scope == nil || ao.Scope.ProjectName != "service" || ao.Scope.DomainID != "default" {
		t.Errorf("credentialsFromEnv = %+v, scope %+v", ao, ao.Scope)
	}
	t.Setenv("OS_USER_DOMAIN_ID", "")
	t.Setenv("OS_PROJECT_DOMAIN_NAME", "")
	t.Setenv("OS_USER_DOMAIN_NAME", "")
	t.Setenv("OS_PROJECT_DOMAIN_ID", "")
	t.Setenv("OS_USER_DOMAIN_NAME", "Default")
	t.Setenv("OS_USERNAME", "svc")
	t.Setenv("OS_USER_ID", "")
	ao, err = credentialsFromEnv()
	if err != nil || ao.DomainName != "Default" || ao.Scope.DomainName != "Default" {
		t.Errorf("credentialsFromEnv = %+v, %v; want the user's domain for the project too", ao, err)
	}
}
