package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/imgsched/imgsched/api"
	"github.com/imgsched/imgsched/benchmarks/check"
	"github.com/imgsched/imgsched/cloud/sim"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// admin is the simulated cloud's administrator, through gophercloud.
type admin struct {
	cloudURL string
	provider *gophercloud.ProviderClient
}

func loginAdmin(t *testing.T, cloudURL string) admin {
	t.Helper()
	p, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: cloudURL + "/identity/v3", Username: sim.AdminUser, Password: sim.DefaultConfig().AdminPassword,
		DomainName: sim.DomainName, Scope: &gophercloud.AuthScope{ProjectName: sim.AdminProject, DomainName: sim.DomainName},
		AllowReauth: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return admin{cloudURL: cloudURL, provider: p}
}

func (a admin) compute(t *testing.T) *gophercloud.ServiceClient {
	t.Helper()
	c, err := openstack.NewComputeV2(a.provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	c.Microversion = "2.47"
	return c
}

// servers lists every server of every project.
func (a admin) servers(t *testing.T) []servers.Server {
	t.Helper()
	pages, err := servers.List(a.compute(t), servers.ListOpts{AllTenants: true}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all, err := servers.ExtractServers(pages)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// images reads the cloud's whole image history.
func (a admin) images(t *testing.T) []check.Image {
	t.Helper()
	imgs, err := check.FetchSimImages(context.Background(), a.cloudURL, a.provider.Token())
	if err != nil {
		t.Fatal(err)
	}
	return imgs
}

// importSchedules writes schedules through the bulk gRPC path as the admin.
func importSchedules(t *testing.T, grpcAddr, token string, reqs []*imgschedv1.SetScheduleRequest) {
	t.Helper()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), api.TokenMetadataKey, token)
	stream, err := imgschedv1.NewScheduleServiceClient(conn).ImportSchedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&imgschedv1.ImportSchedulesRequest{Schedules: reqs}); err != nil {
		t.Fatal(err)
	}
	stream.CloseSend()
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if int(resp.Imported) != len(reqs) {
		t.Fatalf("imported %d of %d: %v", resp.Imported, len(reqs), resp.Rejected)
	}
}

func dayName(d int) imgschedv1.DayOfWeek { return imgschedv1.DayOfWeek(d + 1) }

// runNow asks for the current window's image now.
func runNow(t *testing.T, grpcAddr, token, serverID string) {
	t.Helper()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), api.TokenMetadataKey, token)
	if _, err := imgschedv1.NewRunServiceClient(conn).RunNow(ctx, &imgschedv1.RunNowRequest{ServerId: serverID}); err != nil {
		t.Fatal(err)
	}
}

// logMetrics logs the node's Prometheus samples whose names start with one
// of prefixes: the figures a run is reported with.
func logMetrics(t *testing.T, restURL string, prefixes ...string) {
	t.Helper()
	resp, err := http.Get(restURL + "/metrics")
	if err != nil {
		t.Logf("metrics: %v", err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for sc.Scan() {
		for _, p := range prefixes {
			if strings.HasPrefix(sc.Text(), p) {
				lines = append(lines, sc.Text())
			}
		}
	}
	t.Logf("metrics:\n%s", strings.Join(lines, "\n"))
}

// get returns the body of an authenticated GET.
func get(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
