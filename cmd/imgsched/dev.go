package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgsched/imgsched/cloud/openstack"
	"github.com/imgsched/imgsched/cloud/sim"
)

// Demo identities `imgsched dev` seeds into its simulated cloud.
const (
	devDemoProject  = "demo"
	devDemoUser     = "demo"
	devDemoPassword = "demo"
	devAdminCloud   = "imgsched-dev-admin"
	devDemoCloud    = "imgsched-dev"
	devServiceCloud = "imgsched-dev-service"
)

type devFlags struct {
	cloudAddr   string
	demoServers int
	seedServers int
	seedProj    int
	seed        int64
	logLevel    string
	// recordDeletions keeps deleted images in the simulated cloud, for
	// checkers that prove retention deleted nothing it should not.
	recordDeletions bool
}

func newDevCommand() *cobra.Command {
	var nc nodeConfig
	var cf clockFlags
	var df devFlags
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything on this machine: embedded etcd, a simulated cloud and one node",
		Long: `dev starts an embedded etcd, a simulated OpenStack cloud (Keystone v3, Nova,
Glance) seeded with a demo project and servers, and one scheduler node. It
prints the REST and gRPC addresses and the cloud's credentials, and writes a
clouds.yaml for the simulated cloud into the data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), cmd.OutOrStdout(), nc, cf, df)
		},
	}
	nc.register(cmd, nodeDefaults{restAddr: "127.0.0.1:8080", grpcAddr: "127.0.0.1:9090", gossipAddr: "127.0.0.1:0",
		dataDir: filepath.Join(os.TempDir(), "imgsched-dev"), timings: "local"})
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&df.cloudAddr, "cloud-addr", "127.0.0.1:5000", "listen address of the simulated cloud")
	f.IntVar(&df.demoServers, "demo-servers", 5, "servers in the demo project")
	f.IntVar(&df.seedServers, "seed-servers", 0, "extra servers to seed in bulk, spread over --seed-projects projects")
	f.IntVar(&df.seedProj, "seed-projects", 10, "projects the bulk-seeded servers belong to")
	f.Int64Var(&df.seed, "seed", 1, "seed of the simulated cloud's ids and faults; the same seed gives the same servers after a restart")
	f.StringVar(&df.logLevel, "log-level", "info", "debug, info, warn or error")
	f.BoolVar(&df.recordDeletions, "record-deletions", false, "keep every deleted image in the simulated cloud's memory, for checkers (costs memory)")
	return cmd
}

func runDev(ctx context.Context, out io.Writer, nc nodeConfig, cf clockFlags, df devFlags) error {
	log, err := newLogger(df.logLevel, true)
	if err != nil {
		return err
	}
	defer log.Sync()
	clock, err := cf.clock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(nc.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	sc := sim.DefaultConfig()
	sc.Clock = clock
	sc.Seed = df.seed
	// Tokens live a simulated day, so an accelerated run does not spend its
	// time re-authenticating.
	sc.TokenTTL = 24 * time.Hour
	sc.RecordDeletions = df.recordDeletions
	cloudSim := sim.New(sc)
	demo, err := seedDemo(cloudSim, df)
	if err != nil {
		return err
	}
	cloudURL, stopSim, err := cloudSim.Start(ctx, df.cloudAddr)
	if err != nil {
		return fmt.Errorf("start the simulated cloud: %w", err)
	}
	defer stopSim()
	authURL := cloudURL + "/identity/v3"
	cloudsFile := filepath.Join(nc.DataDir, "clouds.yaml")
	if err := os.WriteFile(cloudsFile, []byte(devCloudsYAML(authURL, sc)), 0o600); err != nil {
		return fmt.Errorf("write clouds.yaml: %w", err)
	}
	ocfg := openstack.DefaultConfig()
	ocfg.CloudsFile, ocfg.Cloud = cloudsFile, devServiceCloud
	ocfg.Clock = clock
	ocfg.Logger = log.Named("cloud")
	cloud, err := openstack.New(ctx, ocfg)
	if err != nil {
		return fmt.Errorf("connect to the simulated cloud: %w", err)
	}
	return runNode(ctx, nc, log, cloud, clock, func(n *node) {
		printDevBanner(out, n, cloudsFile, authURL, demo, cloudSim.Now())
	})
}

// seedDemo adds the demo project, its user and servers, and the bulk seed.
func seedDemo(c *sim.Cloud, df devFlags) ([]sim.Server, error) {
	p := c.AddProject(devDemoProject)
	c.AddUser(p.ID, devDemoUser, devDemoPassword, "member")
	var servers []sim.Server
	for i := 1; i <= df.demoServers; i++ {
		servers = append(servers, c.AddServer(p.ID, sim.ServerSpec{Name: fmt.Sprintf("demo-web-%d", i), DiskGB: 20 * i}))
	}
	if df.seedServers > 0 {
		if _, err := c.SeedServers(df.seedProj, df.seedServers); err != nil {
			return nil, fmt.Errorf("seed %d servers: %w", df.seedServers, err)
		}
	}
	return servers, nil
}

// devCloudsYAML describes the simulated cloud for standard OpenStack tools:
// the demo tenant, the cloud admin, and imgsched's own service user.
func devCloudsYAML(authURL string, sc sim.Config) string {
	entry := func(name, user, password, project, projectDomain string) string {
		return fmt.Sprintf(`  %s:
    auth:
      auth_url: %s
      username: %s
      password: %s
      project_name: %s
      user_domain_name: %s
      project_domain_name: %s
    region_name: %s
    interface: public
    identity_api_version: 3
`, name, authURL, user, password, project, sim.DomainName, projectDomain, sc.Region)
	}
	return "# Written by `imgsched dev` for its simulated cloud.\nclouds:\n" +
		entry(devDemoCloud, devDemoUser, devDemoPassword, devDemoProject, sim.DomainName) +
		entry(devAdminCloud, sim.AdminUser, sc.AdminPassword, sim.AdminProject, sim.DomainName) +
		entry(devServiceCloud, sim.ServiceUser, sc.ServicePassword, sim.ServiceProject, sim.DomainName)
}

func printDevBanner(w io.Writer, n *node, cloudsFile, authURL string, demo []sim.Server, now time.Time) {
	var ids []string
	for _, s := range demo {
		ids = append(ids, fmt.Sprintf("    %s  %s", s.ID, s.Name))
	}
	rest := "http://" + n.restLis.Addr().String()
	first := "SERVER_ID"
	if len(demo) > 0 {
		first = demo[0].ID
	}
	fmt.Fprintf(w, `imgsched dev is running (simulated time %s).

  REST API      %s   (compatible /v2/{tenant}/servers/{server}/rax-si-image-schedule, native /v1)
  gRPC API      %s
  OpenAPI       %s/openapi.json
  metrics       %s/metrics
  etcd data     %s

Simulated OpenStack cloud (Keystone v3, Nova, Glance):
  auth URL      %s
  demo tenant   user %s, password %s, project %s
  admin         user %s (see clouds.yaml)
  clouds.yaml   %s
  demo servers
%s

Try it:
  export OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=%s
  imgsched schedule enable %s --retention 7
  imgsched schedule list
  openstack server list          # standard OpenStack tools work against the simulated cloud
  TOKEN=$(openstack token issue -f value -c id)
  PROJECT=$(openstack token issue -f value -c project_id)
  curl -s -X POST -H "X-Auth-Token: $TOKEN" -d '{"image_schedule": {"retention": 5, "day_of_week": "SATURDAY"}}' \
    %s/v2/$PROJECT/servers/%s/rax-si-image-schedule

`, now.UTC().Format(time.RFC3339), rest, n.grpcLis.Addr(), rest, rest, filepath.Join(n.cfg.DataDir, "etcd"),
		authURL, devDemoUser, devDemoPassword, devDemoProject, sim.AdminUser, cloudsFile, strings.Join(ids, "\n"),
		cloudsFile, devDemoCloud, first, rest, first)
}
