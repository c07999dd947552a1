package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

func newScheduleCommand() *cobra.Command {
	var flags clientFlags
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Enable, show, disable, list and import image schedules",
	}
	flags.register(cmd)
	cmd.AddCommand(
		newEnableCommand(&flags),
		newShowCommand(&flags),
		newDisableCommand(&flags),
		newListCommand(&flags),
		newImportCommand(&flags),
	)
	cmd.AddCommand(newScheduleRunCommands(&flags)...)
	return cmd
}

func parseDay(s string) (imgschedv1.DayOfWeek, error) {
	if s == "" {
		return imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED, nil
	}
	v, ok := imgschedv1.DayOfWeek_value[strings.ToUpper(s)]
	if !ok || v == 0 {
		return 0, fmt.Errorf("invalid day of week %q: use SUNDAY..SATURDAY", s)
	}
	return imgschedv1.DayOfWeek(v), nil
}

func newEnableCommand(flags *clientFlags) *cobra.Command {
	var retention int64
	var day, tenant string
	cmd := &cobra.Command{
		Use:   "enable SERVER --retention N [--day-of-week DAY]",
		Short: "Enable or change the image schedule of a server (daily, or weekly with --day-of-week)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDay(day)
			if err != nil {
				return err
			}
			return flags.call(cmd.Context(), func(c *client) error {
				s, err := c.native.SetSchedule(c.ctx, &imgschedv1.SetScheduleRequest{TenantId: tenant, ServerId: args[0], Retention: retention, DayOfWeek: d})
				if err != nil {
					return err
				}
				return printSchedules(cmd.OutOrStdout(), flags.output, s)
			})
		},
	}
	cmd.Flags().Int64Var(&retention, "retention", 0, "how many scheduled images to keep (1..65535)")
	cmd.Flags().StringVar(&day, "day-of-week", "", "take the image weekly on this UTC day (SUNDAY..SATURDAY); daily without it")
	cmd.Flags().StringVar(&tenant, "tenant", "", "the server's project (admins only; default: the token's project, or the server's for admins)")
	cmd.MarkFlagRequired("retention")
	return cmd
}

func newShowCommand(flags *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show SERVER",
		Short: "Show the image schedule of a server",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return flags.call(cmd.Context(), func(c *client) error {
				s, err := c.native.GetSchedule(c.ctx, &imgschedv1.GetScheduleRequest{ServerId: args[0]})
				if err != nil {
					return err
				}
				return printSchedules(cmd.OutOrStdout(), flags.output, s)
			})
		},
	}
}

func newDisableCommand(flags *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "disable SERVER",
		Short: "Disable the image schedule of a server; its images are kept",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return flags.call(cmd.Context(), func(c *client) error {
				if _, err := c.native.DeleteSchedule(c.ctx, &imgschedv1.DeleteScheduleRequest{ServerId: args[0]}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Schedule of %s disabled; existing images are kept.\n", args[0])
				return nil
			})
		},
	}
}

func newListCommand(flags *clientFlags) *cobra.Command {
	var req imgschedv1.ListSchedulesRequest
	var kind, day, state string
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List schedules (admins: across tenants), with filters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if req.DayOfWeek, err = parseDay(day); err != nil {
				return err
			}
			if kind != "" {
				v, ok := imgschedv1.ScheduleKind_value[strings.ToUpper(kind)]
				if !ok || v == 0 {
					return fmt.Errorf("invalid kind %q: use daily or weekly", kind)
				}
				req.Kind = imgschedv1.ScheduleKind(v)
			}
			if state != "" {
				v, ok := imgschedv1.ScheduleState_value[strings.ToUpper(strings.ReplaceAll(state, "-", "_"))]
				if !ok || v == 0 {
					return fmt.Errorf("invalid state %q: use enabled, paused or server-gone", state)
				}
				req.State = imgschedv1.ScheduleState(v)
			}
			return flags.call(cmd.Context(), func(c *client) error {
				return listPages(cmd, c, flags.output, &req, all)
			})
		},
	}
	cmd.Flags().StringVar(&req.TenantId, "tenant", "", "only this tenant's schedules")
	cmd.Flags().StringVar(&kind, "kind", "", "only daily or weekly schedules")
	cmd.Flags().StringVar(&day, "day-of-week", "", "only weekly schedules on this day")
	cmd.Flags().StringVar(&state, "state", "", "only enabled, paused or server-gone schedules")
	cmd.Flags().Int32Var(&req.PageSize, "page-size", 100, "schedules per page (at most 1000)")
	cmd.Flags().StringVar(&req.PageToken, "page-token", "", "continue a previous listing")
	cmd.Flags().BoolVar(&all, "all", false, "list every page")
	return cmd
}

// listPages prints one page, or every page with all.
func listPages(cmd *cobra.Command, c *client, output string, req *imgschedv1.ListSchedulesRequest, all bool) error {
	var out []*imgschedv1.Schedule
	for {
		resp, err := c.native.ListSchedules(c.ctx, req)
		if err != nil {
			return err
		}
		out = append(out, resp.Schedules...)
		if resp.NextPageToken == "" || (!all && len(out) >= int(req.PageSize)) {
			if !all && resp.NextPageToken != "" && output == "table" {
				defer fmt.Fprintf(cmd.ErrOrStderr(), "more schedules follow: --all lists every page, --page-token %s continues\n", resp.NextPageToken)
			}
			break
		}
		req.PageToken = resp.NextPageToken
	}
	return printSchedules(cmd.OutOrStdout(), output, out...)
}

// printSchedules writes schedules as an aligned table or as JSON (one
// object for one schedule, an array otherwise).
func printSchedules(w io.Writer, format string, scheds ...*imgschedv1.Schedule) error {
	if format == "json" {
		m := protojson.MarshalOptions{UseProtoNames: true, Indent: "  "}
		if len(scheds) == 1 {
			b, err := m.Marshal(scheds[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "%s\n", b)
			return err
		}
		parts := make([]string, len(scheds))
		for i, s := range scheds {
			b, err := m.Marshal(proto.Message(s))
			if err != nil {
				return err
			}
			parts[i] = "  " + strings.ReplaceAll(string(b), "\n", "\n  ")
		}
		if len(parts) == 0 {
			_, err := fmt.Fprintln(w, "[]")
			return err
		}
		_, err := fmt.Fprintf(w, "[\n%s\n]\n", strings.Join(parts, ",\n"))
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tTENANT\tKIND\tDAY\tRETENTION\tSTATE\tUPDATED")
	for _, s := range scheds {
		day := "-"
		if s.DayOfWeek != imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED {
			day = s.DayOfWeek.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.ServerId, s.TenantId, s.Kind, day, s.Retention, s.State,
			s.UpdateTime.AsTime().UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
