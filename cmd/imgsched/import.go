package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

func newImportCommand(flags *clientFlags) *cobra.Command {
	var batch int
	cmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import many schedules through the bulk path (admin)",
		Long: `Import reads a CSV of tenant_id,server_id,retention[,day_of_week] rows (a
header row naming those columns is optional; "-" reads standard input) and
streams them to the node in batches, showing progress. Rejected rows are
listed with their line number and reason; the others are written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch < 1 || batch > 10000 {
				return fmt.Errorf("--batch %d: use 1..10000", batch)
			}
			rows, err := readScheduleCSV(args[0])
			if err != nil {
				return err
			}
			return flags.call(cmd.Context(), func(c *client) error {
				return importRows(cmd, c, rows, batch)
			})
		},
	}
	cmd.Flags().IntVar(&batch, "batch", 1000, "schedules per message")
	return cmd
}

// importRows streams rows in batches and follows the node's answers.
func importRows(cmd *cobra.Command, c *client, rows []csvRow, batch int) error {
	stream, err := c.native.ImportSchedules(c.ctx)
	if err != nil {
		return err
	}
	bar := progressbar.NewOptions(len(rows),
		progressbar.OptionSetWriter(cmd.ErrOrStderr()),
		progressbar.OptionSetDescription("importing"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("schedules"),
		progressbar.OptionThrottle(100_000_000),
	)
	// Send and receive concurrently: the node answers each batch as
	// it is written, and the bar follows the answers.
	sendErr := make(chan error, 1)
	go func() {
		for lo := 0; lo < len(rows); lo += batch {
			hi := min(lo+batch, len(rows))
			req := &imgschedv1.ImportSchedulesRequest{}
			for _, r := range rows[lo:hi] {
				req.Schedules = append(req.Schedules, r.req)
			}
			if err := stream.Send(req); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	var imported int
	var rejected []string
	for offset := 0; ; {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		for _, r := range resp.Rejected {
			rejected = append(rejected, fmt.Sprintf("line %d (%s): %s", rows[offset+int(r.Index)].line, r.ServerId, r.Message))
		}
		imported += int(resp.Imported)
		n := int(resp.Imported) + len(resp.Rejected)
		offset += n
		bar.Add(n)
	}
	if err := <-sendErr; err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	bar.Finish()
	fmt.Fprintln(cmd.ErrOrStderr())
	for _, r := range rejected {
		fmt.Fprintln(cmd.ErrOrStderr(), "rejected", r)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "imported %d schedules, rejected %d\n", imported, len(rejected))
	if len(rejected) > 0 {
		return fmt.Errorf("%d rows rejected", len(rejected))
	}
	return nil
}

type csvRow struct {
	line int
	req  *imgschedv1.SetScheduleRequest
}

// readScheduleCSV parses tenant_id,server_id,retention[,day_of_week] rows.
// Rows the node would reject are still sent, so that every problem is
// reported by one rule in one place; only rows that are not even CSV of the
// right width stop the import here.
func readScheduleCSV(path string) ([]csvRow, error) {
	var in io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var rows []csvRow
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if line == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "tenant_id") {
			continue
		}
		if len(rec) < 3 || len(rec) > 4 {
			return nil, fmt.Errorf("%s line %d: want tenant_id,server_id,retention[,day_of_week], got %d fields", path, line, len(rec))
		}
		retention, err := strconv.ParseInt(strings.TrimSpace(rec[2]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: retention %q is not an integer", path, line, rec[2])
		}
		req := &imgschedv1.SetScheduleRequest{TenantId: strings.TrimSpace(rec[0]), ServerId: strings.TrimSpace(rec[1]), Retention: retention}
		if len(rec) == 4 {
			if req.DayOfWeek, err = parseDay(strings.TrimSpace(rec[3])); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", path, line, err)
			}
		}
		rows = append(rows, csvRow{line: line, req: req})
	}
}

// describe turns a gRPC status into a message for a person.
func describe(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("node unavailable: %s", st.Message())
	case codes.Unauthenticated, codes.PermissionDenied, codes.NotFound, codes.InvalidArgument, codes.FailedPrecondition:
		return errors.New(st.Message())
	}
	return fmt.Errorf("%s: %s", st.Code(), st.Message())
}
