package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/cloud/openstack"
)

// cloudFlags choose the cloud a node works on.
type cloudFlags struct {
	cloud      string
	cloudsFile string
	region     string
	tenancy    string
}

func (c *cloudFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.cloud, "os-cloud", "", "clouds.yaml entry with the service's credentials (default OS_CLOUD; without either, the OS_* variables)")
	f.StringVar(&c.cloudsFile, "clouds-file", "", "clouds.yaml path (default: OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack, /etc/openstack)")
	f.StringVar(&c.region, "os-region", "", "region of the compute and image endpoints")
	f.StringVar(&c.tenancy, "tenancy", string(openstack.TenancyTrust), "act for tenants through Keystone trusts (trust) or with the service's own credentials (operator)")
}

func (c *cloudFlags) config(log *zap.Logger) (openstack.Config, error) {
	cfg := openstack.DefaultConfig()
	cfg.Cloud, cfg.CloudsFile, cfg.Region = c.cloud, c.cloudsFile, c.region
	switch openstack.Tenancy(c.tenancy) {
	case openstack.TenancyTrust, openstack.TenancyOperator:
		cfg.Tenancy = openstack.Tenancy(c.tenancy)
	default:
		return cfg, fmt.Errorf("--tenancy %q: use trust or operator", c.tenancy)
	}
	cfg.Logger = log.Named("cloud")
	return cfg, nil
}

func newServeCommand() *cobra.Command {
	var nc nodeConfig
	var cf cloudFlags
	var clk clockFlags
	var logLevel string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a production scheduler node",
		Long: `serve runs one scheduler node. Durable state lives in etcd: --etcd-endpoints
names an external cluster; without it the node starts an embedded
single-member etcd in --data-dir. The cloud comes from clouds.yaml
(--os-cloud) or the OS_* variables. --time-scale and --time-start run the
node on the same accelerated clock as a simulated cloud (imgsched cloudsim)
given the same flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel, false)
			if err != nil {
				return err
			}
			defer log.Sync()
			clock, err := clk.clock()
			if err != nil {
				return err
			}
			ocfg, err := cf.config(log)
			if err != nil {
				return err
			}
			ocfg.Clock = clock
			ctx := cmd.Context()
			cloud, err := openstack.New(ctx, ocfg)
			if err != nil {
				return fmt.Errorf("connect to the cloud: %w", err)
			}
			return runNode(ctx, nc, log, cloud, clock, nil)
		},
	}
	nc.register(cmd, nodeDefaults{restAddr: "0.0.0.0:8080", grpcAddr: "0.0.0.0:9090", gossipAddr: "0.0.0.0:7946", dataDir: "/var/lib/imgsched", timings: "lan"})
	cf.register(cmd)
	clk.register(cmd)
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
