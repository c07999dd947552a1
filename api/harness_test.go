package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cluster"
	"github.com/imgsched/imgsched/cluster/clustertest"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// sharedEtcd is one real embedded etcd for the package's tests.
var sharedEtcd *clustertest.Etcd

func TestMain(m *testing.M) { clustertest.Main(m, &sharedEtcd) }

// fakeCloud is the test double for token validation and server lookup.
type fakeCloud struct {
	tokens  map[string]cloud.Identity
	servers map[string]cloud.Server
}

func (f *fakeCloud) ValidateToken(_ context.Context, token string) (cloud.Identity, error) {
	id, ok := f.tokens[token]
	if !ok {
		return cloud.Identity{}, fmt.Errorf("token %q: %w", token, cloud.ErrUnauthorized)
	}
	return id, nil
}

func (f *fakeCloud) GetServer(_ context.Context, id string) (cloud.Server, error) {
	s, ok := f.servers[id]
	if !ok {
		return cloud.Server{}, fmt.Errorf("server %q: %w", id, cloud.ErrServerGone)
	}
	return s, nil
}

func newFakeCloud() *fakeCloud {
	f := &fakeCloud{
		tokens: map[string]cloud.Identity{
			"tok-a":     {UserID: "user-a", ProjectID: "tenant-a", Roles: []string{"member"}},
			"tok-b":     {UserID: "user-b", ProjectID: "tenant-b", Roles: []string{"member"}},
			"tok-admin": {UserID: "admin", ProjectID: "admin", Roles: []string{"admin", "member"}},
		},
		servers: map[string]cloud.Server{},
	}
	for i := 1; i <= 30; i++ {
		f.servers[fmt.Sprintf("srv-a%d", i)] = cloud.Server{ID: fmt.Sprintf("srv-a%d", i), Name: fmt.Sprintf("web-%d", i), ProjectID: "tenant-a"}
		f.servers[fmt.Sprintf("srv-b%d", i)] = cloud.Server{ID: fmt.Sprintf("srv-b%d", i), Name: fmt.Sprintf("db-%d", i), ProjectID: "tenant-b"}
	}
	return f
}

type harness struct {
	store   *cluster.Store
	baseURL string
	conn    *grpc.ClientConn
	native  imgschedv1.ScheduleServiceClient
	runs    imgschedv1.RunServiceClient
}

// startNode serves the API on real loopback sockets against store.
func startNode(t *testing.T, store *cluster.Store) *harness {
	t.Helper()
	fc := newFakeCloud()
	return serve(t, store, Config{Tokens: fc, Servers: fc})
}

// serve serves the API built from cfg and store on real loopback sockets.
func serve(t *testing.T, store *cluster.Store, cfg Config) *harness {
	t.Helper()
	cfg.Store = store
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, gl, hl) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &harness{store: store, baseURL: "http://" + hl.Addr().String(), conn: conn,
		native: imgschedv1.NewScheduleServiceClient(conn), runs: imgschedv1.NewRunServiceClient(conn)}
}

// openStore opens a store under a fresh prefix of the shared etcd and
// returns it with its etcd client.
func openStore(t *testing.T, name string, shards int) (*cluster.Store, *clientv3.Client) {
	t.Helper()
	c := sharedEtcd.Client(t)
	store, err := cluster.OpenStore(context.Background(), c, cluster.WithPrefix(sharedEtcd.Prefix(name)), cluster.WithShardCount(shards))
	if err != nil {
		t.Fatal(err)
	}
	return store, c
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	store, _ := openStore(t, "api-test", 16)
	return startNode(t, store)
}

type response struct {
	status int
	body   string
	header http.Header
}

func (h *harness) do(t *testing.T, method, path, token string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, h.baseURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, body: string(b), header: resp.Header}
}

func withToken(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), TokenMetadataKey, token)
}

func schedulePath(tenant, server string) string {
	return "/v2/" + tenant + "/servers/" + server + "/rax-si-image-schedule"
}

func clusterAll() cluster.ListOptions { return cluster.ListOptions{PageSize: 1000} }
