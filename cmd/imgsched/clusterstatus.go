package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

func newClusterCommand() *cobra.Command {
	var flags clientFlags
	cmd := &cobra.Command{Use: "cluster", Short: "Show the scheduler cluster (admin)"}
	flags.register(cmd)
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Members, leader, epoch, shards and runs per node, recent failovers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return flags.call(cmd.Context(), func(c *client) error {
				st, err := imgschedv1.NewClusterServiceClient(c.conn).GetClusterStatus(c.ctx, &imgschedv1.GetClusterStatusRequest{})
				if err != nil {
					return err
				}
				if flags.output == "json" {
					return printJSON(cmd.OutOrStdout(), st)
				}
				printClusterStatus(cmd.OutOrStdout(), st)
				return nil
			})
		},
	}, &cobra.Command{
		Use:   "load",
		Short: "Planned image creations per hour of the week, summed over the nodes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return flags.call(cmd.Context(), func(c *client) error {
				h, err := imgschedv1.NewClusterServiceClient(c.conn).GetLoadHistogram(c.ctx, &imgschedv1.GetLoadHistogramRequest{})
				if err != nil {
					return err
				}
				if flags.output == "json" {
					return printJSON(cmd.OutOrStdout(), h)
				}
				printLoad(cmd.OutOrStdout(), h)
				return nil
			})
		},
	})
	return cmd
}

func printClusterStatus(w io.Writer, st *imgschedv1.ClusterStatus) {
	fmt.Fprintf(w, "leader %s, assignment epoch %d, %d shards\n\n", st.Leader, st.Epoch, st.Shards)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tSHARDS\tOWNED\tSCHEDULES\tIN FLIGHT\tGRPC\tREST")
	for _, m := range st.Members {
		name := m.Name
		if m.Leader {
			name += " (leader)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", name, m.State, m.ShardsAssigned, m.ShardsOwned, m.Schedules, m.RunsInFlight, m.GrpcAddress, m.RestAddress)
	}
	tw.Flush()
	if len(st.Failovers) == 0 {
		return
	}
	fmt.Fprintln(w, "\nrecent failovers:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tFROM\tTO\tSHARDS\tDETECTED\tTOOK")
	for _, f := range st.Failovers {
		took := "in progress"
		if f.Took != nil {
			took = f.Took.AsDuration().Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", f.Kind, f.From, f.To, f.Shards, f.DetectTime.AsTime().UTC().Format(time.RFC3339), took)
	}
	tw.Flush()
}

// printLoad draws the week as one row per day of 24 hourly counts.
func printLoad(w io.Writer, h *imgschedv1.LoadHistogram) {
	fmt.Fprintf(w, "busiest hour %.3f× the mean (lowest possible for these schedules: %.3f×)\n\n", h.Flatness, h.Bound)
	days := []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	var b strings.Builder
	b.WriteString("     ")
	for hr := 0; hr < 24; hr++ {
		fmt.Fprintf(&b, "%6d", hr)
	}
	fmt.Fprintln(w, b.String())
	for d, name := range days {
		b.Reset()
		b.WriteString(name + "  ")
		for hr := 0; hr < 24; hr++ {
			if i := d*24 + hr; i < len(h.Creations) {
				fmt.Fprintf(&b, "%6d", h.Creations[i])
			}
		}
		fmt.Fprintln(w, b.String())
	}
}
