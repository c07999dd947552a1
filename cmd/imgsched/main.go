// Command imgsched is the one binary of the imgsched service: `dev` runs
// everything on one machine, `serve` runs a production node, `cloudsim` the
// simulated OpenStack cloud, and the client commands talk to a node.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "imgsched:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "imgsched",
		Short: "Scheduled Images for OpenStack clouds",
		Long: `imgsched takes daily or weekly images of OpenStack servers, spreads them over
the day, and deletes the oldest past each schedule's retention.

Every flag can also be set through the environment: --rest-addr is
IMGSCHED_REST_ADDR, --time-scale is IMGSCHED_TIME_SCALE, and so on.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return bindEnv(cmd)
		},
	}
	root.AddCommand(newDevCommand(), newServeCommand(), newCloudsimCommand(), newScheduleCommand(), newRunsCommand(), newEtcdCommand(), newClusterCommand())
	root.AddCommand(newBenchCommand())
	return root
}
