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
	"google.golang.org/protobuf/types/known/timestamppb"

	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// runs returns the RunService client on the connection.
func (c *client) runs() imgschedv1.RunServiceClient { return imgschedv1.NewRunServiceClient(c.conn) }

// newRunsCommand is `imgsched runs SERVER`: the current run and history.
func newRunsCommand() *cobra.Command {
	var flags clientFlags
	cmd := &cobra.Command{
		Use:   "runs SERVER",
		Short: "Show the current run and the recent history of a server's schedule",
		Long: `runs shows what the engine does with a server's schedule: the service-chosen
slot, the run of the current (or next) window, the finished runs newest first,
and how many windows in a row ended without an image.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return flags.call(cmd.Context(), func(c *client) error {
				resp, err := c.runs().ListRuns(c.ctx, &imgschedv1.ListRunsRequest{ServerId: args[0]})
				if err != nil {
					return err
				}
				return printRuns(cmd.OutOrStdout(), flags.output, resp)
			})
		},
	}
	flags.register(cmd)
	return cmd
}

// newScheduleRunCommands are the `schedule` subcommands that steer runs.
func newScheduleRunCommands(flags *clientFlags) []*cobra.Command {
	return []*cobra.Command{
		newStateCommand(flags, "pause", "Pause a schedule: no new images until it is resumed; a run under way finishes",
			func(c *client, server string) (*imgschedv1.Schedule, error) {
				return c.runs().PauseSchedule(c.ctx, &imgschedv1.PauseScheduleRequest{ServerId: server})
			}),
		newStateCommand(flags, "resume", "Resume a paused schedule",
			func(c *client, server string) (*imgschedv1.Schedule, error) {
				return c.runs().ResumeSchedule(c.ctx, &imgschedv1.ResumeScheduleRequest{ServerId: server})
			}),
		newStateCommand(flags, "run-now", "Ask for the current window's image now, unless the window already has it",
			func(c *client, server string) (*imgschedv1.Schedule, error) {
				return c.runs().RunNow(c.ctx, &imgschedv1.RunNowRequest{ServerId: server})
			}),
		newPreviewCommand(flags),
	}
}

// newStateCommand is a `schedule` subcommand that calls one RunService
// method on SERVER and prints the schedule it returns.
func newStateCommand(flags *clientFlags, name, short string, call func(c *client, server string) (*imgschedv1.Schedule, error)) *cobra.Command {
	return &cobra.Command{
		Use:   name + " SERVER",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return flags.call(cmd.Context(), func(c *client) error {
				s, err := call(c, args[0])
				if err != nil {
					return err
				}
				if err := printSchedules(cmd.OutOrStdout(), flags.output, s); err != nil {
					return err
				}
				if flags.output == "table" {
					printPlan(cmd.OutOrStdout(), name, s)
				}
				return nil
			})
		},
	}
}

// printPlan adds, below the schedule's table, what the call means for the
// next image.
func printPlan(w io.Writer, name string, s *imgschedv1.Schedule) {
	switch {
	case name == "run-now":
		fmt.Fprintln(w, "The image of the current window is requested; the engine takes it at its next look.")
	case s.State == imgschedv1.ScheduleState_PAUSED:
		fmt.Fprintln(w, "Paused: no new images until the schedule is resumed.")
	case s.NextRunTime != nil:
		fmt.Fprintf(w, "Next image planned at %s.\n", formatTime(s.NextRunTime))
	}
	if s.MissedWindows >= 2 {
		fmt.Fprintf(w, "Warning: the last %d windows ended without an image.\n", s.MissedWindows)
	}
}

func newPreviewCommand(flags *clientFlags) *cobra.Command {
	var retention int64
	cmd := &cobra.Command{
		Use:   "preview SERVER [--retention N]",
		Short: "Show what retention would keep and delete of a server's images now, deleting nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return flags.call(cmd.Context(), func(c *client) error {
				resp, err := c.runs().PreviewRetention(c.ctx, &imgschedv1.PreviewRetentionRequest{ServerId: args[0], Retention: retention})
				if err != nil {
					return err
				}
				return printPreview(cmd.OutOrStdout(), flags.output, args[0], resp)
			})
		},
	}
	cmd.Flags().Int64Var(&retention, "retention", 0, "preview this retention (1..65535) instead of the schedule's")
	return cmd
}

func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{UseProtoNames: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printRuns writes the slot, the missed windows and a table of the current
// run (marked) and the history, or the response as JSON.
func printRuns(w io.Writer, format string, resp *imgschedv1.ListRunsResponse) error {
	if format == "json" {
		return printJSON(w, resp)
	}
	slot := resp.Slot
	if slot == "" {
		slot = "not placed yet"
	}
	fmt.Fprintf(w, "Slot:            %s\nMissed windows:  %d\n\n", slot, resp.MissedWindows)
	if resp.Current == nil && len(resp.History) == 0 {
		_, err := fmt.Fprintln(w, "No runs yet: the engine has not planned this schedule.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WINDOW\tSTATE\tATTEMPTS\tIMAGE\tCREATED\tACTIVE\tREASON")
	row := func(r *imgschedv1.Run, window string) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", window, r.State, len(r.Attempts), orDash(r.ImageId),
			formatTime(r.ImageCreateTime), formatTime(r.ImageActiveTime), orDash(strings.ReplaceAll(r.Reason, "\t", " ")))
	}
	if r := resp.Current; r != nil {
		row(r, orDash(r.WindowId)+" (current)")
	}
	for _, r := range resp.History {
		row(r, orDash(r.WindowId))
	}
	return tw.Flush()
}

// printPreview writes the verdict on each image, or the response as JSON.
func printPreview(w io.Writer, format, server string, resp *imgschedv1.PreviewRetentionResponse) error {
	if format == "json" {
		return printJSON(w, resp)
	}
	var keep, del int
	for _, d := range resp.Decisions {
		switch d.Verdict {
		case imgschedv1.RetentionVerdict_KEEP:
			keep++
		case imgschedv1.RetentionVerdict_DELETE:
			del++
		}
	}
	fmt.Fprintf(w, "Retention %d for server %s: keeps %d, would delete %d (this preview deletes nothing).\n\n", resp.Retention, server, keep, del)
	if len(resp.Decisions) == 0 {
		_, err := fmt.Fprintln(w, "The server has no scheduled images.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tNAME\tSTATUS\tCREATED\tVERDICT\tREASON")
	for _, d := range resp.Decisions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ImageId, orDash(d.ImageName), d.Status, formatTime(d.CreateTime), d.Verdict, d.Reason)
	}
	return tw.Flush()
}
