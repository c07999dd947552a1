package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/cluster"
)

func newEtcdCommand() *cobra.Command {
	cfg := cluster.DefaultEmbeddedConfig("")
	var logLevel string
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "Run one member of an etcd cluster for imgsched nodes (etcd v3, embedded in this binary)",
		Long: `etcd runs an etcd member from this binary, so that a cluster of imgsched
nodes can keep its state in a highly available etcd without another image
or package. For three members:

  imgsched etcd --name e1 --data-dir /var/lib/etcd-e1 \
    --listen-client-url http://0.0.0.0:2379 --advertise-client-url http://e1:2379 \
    --listen-peer-url http://0.0.0.0:2380 --advertise-peer-url http://e1:2380 \
    --initial-cluster e1=http://e1:2380,e2=http://e2:2380,e3=http://e3:2380

and point the nodes at it: imgsched serve --etcd-endpoints http://e1:2379,...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel, false)
			if err != nil {
				return err
			}
			defer log.Sync()
			if cfg.Dir == "" {
				return fmt.Errorf("--data-dir is required")
			}
			cfg.Logger = log
			e, err := cluster.StartEmbedded(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer e.Close()
			log.Info("etcd member serving", zap.String("name", cfg.Name), zap.Strings("client_urls", e.Endpoints()))
			fmt.Fprintf(cmd.OutOrStdout(), "etcd member %s serving clients at %v\n", cfg.Name, e.Endpoints())
			select {
			case <-cmd.Context().Done():
				return nil
			case err := <-e.Err():
				return fmt.Errorf("etcd member failed: %w", err)
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Name, "name", "imgsched", "member name, as in --initial-cluster")
	f.StringVar(&cfg.Dir, "data-dir", "", "the member's data directory (required)")
	f.StringVar(&cfg.ClientURL, "listen-client-url", "http://127.0.0.1:2379", "URL to serve clients on")
	f.StringVar(&cfg.AdvertiseClientURL, "advertise-client-url", "", "client URL told to clients (default: the listen URL)")
	f.StringVar(&cfg.PeerURL, "listen-peer-url", "http://127.0.0.1:2380", "URL to talk to other members on")
	f.StringVar(&cfg.AdvertisePeerURL, "advertise-peer-url", "", "peer URL told to other members (default: the listen URL)")
	f.StringVar(&cfg.InitialCluster, "initial-cluster", "", "every member as name=peer-URL, comma-separated (default: this member alone)")
	f.BoolVar(&cfg.NewCluster, "new-cluster", true, "bootstrap a new cluster (false: join an existing one); only the first start reads it")
	f.UintVar(&cfg.MaxTxnOps, "max-txn-ops", cfg.MaxTxnOps, "most operations in one transaction; imgsched's bulk import uses up to this many")
	f.BoolVar(&cfg.UnsafeNoFsync, "unsafe-no-fsync", false, "skip fsync (tests and load tests only: a crash can lose acknowledged writes)")
	f.DurationVar(&cfg.StartTimeout, "start-timeout", 5*time.Minute, "how long to wait for the cluster to form")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
