package benchmarks

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/imgsched/imgsched/api"
	cloudos "github.com/imgsched/imgsched/cloud/openstack"
	"github.com/imgsched/imgsched/cloud/sim"
	"github.com/imgsched/imgsched/cluster"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// apiEnv is one real node for the API benchmarks: an embedded etcd with
// fsync on (as in production), the simulated cloud over HTTP through the
// gophercloud adapter, and the API on loopback sockets.
type apiEnv struct {
	etcd     *clientv3.Client
	store    *cluster.Store
	grpc     imgschedv1.ScheduleServiceClient
	restURL  string
	token    string
	adminTok string
	project  string
	servers  []string
}

var (
	envOnce sync.Once
	env     *apiEnv
	envErr  error
)

// sharedAPIEnv starts the environment once per `go test -bench` run, so
// that every benchmark of the run measures the same etcd.
func sharedAPIEnv(b *testing.B) *apiEnv {
	b.Helper()
	envOnce.Do(func() { env, envErr = startAPIEnv() })
	if envErr != nil {
		b.Fatal(envErr)
	}
	return env
}

const envServers = 200_000

func startAPIEnv() (*apiEnv, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "imgsched-bench")
	if err != nil {
		return nil, err
	}
	e, err := cluster.StartEmbedded(ctx, cluster.DefaultEmbeddedConfig(filepath.Join(dir, "etcd")))
	if err != nil {
		return nil, err
	}
	etcd, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	store, err := cluster.OpenStore(ctx, etcd, cluster.WithMaxTxnOps(1024))
	if err != nil {
		return nil, err
	}
	sc := sim.DefaultConfig()
	sc.TokenTTL = 24 * time.Hour
	c := sim.New(sc)
	p := c.AddProject("bench")
	c.AddUser(p.ID, "bench", "bench", "member")
	servers := make([]string, envServers)
	for i := range servers {
		servers[i] = c.AddServer(p.ID, sim.ServerSpec{Name: fmt.Sprintf("bench-%d", i), DiskGB: 20}).ID
	}
	cloudURL, _, err := c.Start(ctx, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	authURL := cloudURL + "/identity/v3"
	ocfg := cloudos.DefaultConfig()
	ocfg.Auth = &gophercloud.AuthOptions{IdentityEndpoint: authURL, Username: sim.ServiceUser, Password: sc.ServicePassword,
		DomainName: sim.DomainName, Scope: &gophercloud.AuthScope{ProjectName: sim.ServiceProject, DomainName: sim.DomainName}}
	adapter, err := cloudos.New(ctx, ocfg)
	if err != nil {
		return nil, err
	}
	srv, err := api.New(api.Config{Store: store, Tokens: adapter, Servers: adapter})
	if err != nil {
		return nil, err
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go srv.Serve(ctx, gl, hl)
	conn, err := grpc.NewClient(gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	token, project, err := login(ctx, authURL, "bench", "bench", "bench")
	if err != nil {
		return nil, err
	}
	adminTok, _, err := login(ctx, authURL, sim.AdminUser, sc.AdminPassword, sim.AdminProject)
	if err != nil {
		return nil, err
	}
	return &apiEnv{etcd: etcd, store: store, grpc: imgschedv1.NewScheduleServiceClient(conn), restURL: "http://" + hl.Addr().String(),
		token: token, adminTok: adminTok, project: project, servers: servers}, nil
}

func login(ctx context.Context, authURL, user, password, project string) (token, projectID string, err error) {
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: authURL, Username: user, Password: password,
		DomainName: sim.DomainName, Scope: &gophercloud.AuthScope{ProjectName: project, DomainName: sim.DomainName}})
	if err != nil {
		return "", "", err
	}
	p, err := provider.GetAuthResult().(tokens.CreateResult).ExtractProject()
	if err != nil {
		return "", "", err
	}
	return provider.Token(), p.ID, nil
}
