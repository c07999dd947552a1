package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgsched/imgsched/cloud/sim"
)

func newCloudsimCommand() *cobra.Command {
	var cf clockFlags
	var addr, faults, advertise string
	var servers, projects int
	var seed int64
	var recordDeletions bool
	var tokenTTL time.Duration
	cmd := &cobra.Command{
		Use:   "cloudsim",
		Short: "Run the simulated OpenStack cloud (Keystone v3, Nova, Glance) on its own",
		Long: `cloudsim serves a simulated OpenStack cloud that standard clients
(gophercloud, the openstack command line) use unchanged. Faults are injected
with --faults (JSON, the same as PUT /admin/faults) or at run time through
the admin endpoint, with an admin token:

  GET/PUT /admin/faults, GET /admin/stats, POST /admin/seed,
  POST /admin/servers/{id}/busy|error|clear|delete, POST /admin/images/{id}/status,
  GET /admin/images (every image as JSON lines; deleted ones with --record-deletions)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clock, err := cf.clock()
			if err != nil {
				return err
			}
			sc := sim.DefaultConfig()
			sc.Clock, sc.Seed, sc.RecordDeletions, sc.TokenTTL = clock, seed, recordDeletions, tokenTTL
			if faults != "" {
				if err := json.Unmarshal([]byte(faults), &sc.Faults); err != nil {
					return fmt.Errorf("--faults: %w", err)
				}
				if err := sc.Faults.Validate(); err != nil {
					return fmt.Errorf("--faults: %w", err)
				}
			}
			c := sim.New(sc)
			if servers > 0 {
				if _, err := c.SeedServers(projects, servers); err != nil {
					return err
				}
			}
			url, stop, err := c.Start(cmd.Context(), addr)
			if err != nil {
				return err
			}
			defer stop()
			if advertise != "" {
				c.SetBaseURL(advertise)
				url = advertise
			}
			fmt.Fprintf(cmd.OutOrStdout(), "simulated cloud at %s\nauth URL %s/identity/v3\nadmin: user %s password %s project %s\nservice: user %s password %s project %s\nseeded users: user-NNNNN password %s\n",
				url, url, sim.AdminUser, sc.AdminPassword, sim.AdminProject, sim.ServiceUser, sc.ServicePassword, sim.ServiceProject, sc.SeedPassword)
			<-cmd.Context().Done()
			return nil
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:5000", "listen address")
	f.StringVar(&advertise, "advertise-url", "", "base URL the catalog names, e.g. http://cloudsim:5000 in a container network (default: the listener's)")
	f.IntVar(&servers, "servers", 0, "servers to seed in bulk")
	f.IntVar(&projects, "projects", 10, "projects the seeded servers are spread over")
	f.Int64Var(&seed, "seed", 1, "seed of ids, faults and save jitter")
	f.DurationVar(&tokenTTL, "token-ttl", time.Hour, "how long Keystone tokens live, in simulated time (raise it with --time-scale)")
	f.BoolVar(&recordDeletions, "record-deletions", false, "keep deleted images for GET /admin/images, so checkers see the whole history (costs memory)")
	f.StringVar(&faults, "faults", "", `fault rates as JSON, e.g. {"conflict_rate": 0.05, "image_error_rate": 0.01}`)
	return cmd
}
