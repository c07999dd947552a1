package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/imgsched/imgsched/api"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// writers is how many concurrent clients each create benchmark runs: etcd
// batches the fsyncs of concurrent writes, so its rate depends on this, and
// every benchmark here uses the same number.
const writers = 64

// next hands out server indexes so that each create names another server.
var next atomic.Int64

func nextServer(e *apiEnv) string {
	return e.servers[int(next.Add(1))%len(e.servers)]
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkEtcdPut is etcd's own write rate on the same embedded member:
// a Put of a value the size of a stored schedule.
func BenchmarkEtcdPut(b *testing.B) {
	e := sharedAPIEnv(b)
	val, _ := proto.Marshal(&storagev1.Schedule{TenantId: e.project, ServerId: e.servers[0], Retention: 7, State: imgschedv1.ScheduleState_ENABLED, CreateTime: 1, UpdateTime: 1})
	b.SetParallelism(writers / max(1, runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.etcd.Put(context.Background(), "/bench/raw/"+nextServer(e), string(val)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b)
}

// BenchmarkCreateGRPC creates schedules through the native gRPC API: token
// check, server ownership check with the cloud, one etcd transaction.
func BenchmarkCreateGRPC(b *testing.B) {
	e := sharedAPIEnv(b)
	ctx := metadata.AppendToOutgoingContext(context.Background(), api.TokenMetadataKey, e.token)
	b.SetParallelism(writers / max(1, runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.grpc.SetSchedule(ctx, &imgschedv1.SetScheduleRequest{ServerId: nextServer(e), Retention: 7}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b)
}

// BenchmarkCreateREST creates schedules through the compatible REST
// resource, over HTTP through the gateway.
func BenchmarkCreateREST(b *testing.B) {
	e := sharedAPIEnv(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: writers}}
	b.SetParallelism(writers / max(1, runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			url := fmt.Sprintf("%s/v2/%s/servers/%s/rax-si-image-schedule", e.restURL, e.project, nextServer(e))
			req, _ := http.NewRequest("POST", url, strings.NewReader(`{"image_schedule": {"retention": 7}}`))
			req.Header.Set("X-Auth-Token", e.token)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("POST: %d", resp.StatusCode)
				return
			}
		}
	})
	reportRate(b)
}

// BenchmarkImport streams schedules through the bulk path in messages of
// 1,000; b.N counts schedules.
func BenchmarkImport(b *testing.B) {
	e := sharedAPIEnv(b)
	ctx := metadata.AppendToOutgoingContext(context.Background(), api.TokenMetadataKey, e.adminTok)
	stream, err := e.grpc.ImportSchedules(ctx)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	done := make(chan error, 1)
	go func() {
		for {
			resp, err := stream.Recv()
			if err == io.EOF {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
			if len(resp.Rejected) > 0 {
				done <- fmt.Errorf("rejected: %v", resp.Rejected[0])
				return
			}
		}
	}()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		req := &imgschedv1.ImportSchedulesRequest{}
		for i := 0; i < batch && sent < b.N; i++ {
			req.Schedules = append(req.Schedules, &imgschedv1.SetScheduleRequest{TenantId: e.project, ServerId: fmt.Sprintf("import-%d-%d", b.N, sent), Retention: 3})
			sent++
		}
		if err := stream.Send(req); err != nil {
			b.Fatal(err)
		}
	}
	stream.CloseSend()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	reportRate(b)
}
