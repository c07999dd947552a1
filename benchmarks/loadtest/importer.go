package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/imgsched/imgsched/api"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// importSchedules streams reqs to a node's ImportSchedules in batches,
// sending and receiving at once as `imgsched schedule import` does;
// progress sees the schedules written so far. It fails when any schedule
// is rejected, naming the first few.
func importSchedules(ctx context.Context, grpcAddr, token string, reqs []*imgschedv1.SetScheduleRequest, batch int, progress func(done int)) error {
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(ctx, api.TokenMetadataKey, token))
	defer cancel()
	stream, err := imgschedv1.NewScheduleServiceClient(conn).ImportSchedules(ctx)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	sendErr := make(chan error, 1)
	go func() {
		for lo := 0; lo < len(reqs); lo += batch {
			if err := stream.Send(&imgschedv1.ImportSchedulesRequest{Schedules: reqs[lo:min(lo+batch, len(reqs))]}); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	imported, answered := 0, 0
	var rejected []string
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("import after %d schedules: %w", answered, err)
		}
		for _, r := range resp.Rejected {
			if len(rejected) < 5 {
				rejected = append(rejected, fmt.Sprintf("%s: %s", r.ServerId, r.Message))
			}
		}
		imported += int(resp.Imported)
		answered += int(resp.Imported) + len(resp.Rejected)
		progress(answered)
	}
	if err := <-sendErr; err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("import: %w", err)
	}
	if imported != len(reqs) {
		return fmt.Errorf("imported %d of %d schedules; rejected: %s", imported, len(reqs), strings.Join(rejected, "; "))
	}
	return nil
}

// rate is n per second of d.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
