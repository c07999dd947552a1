package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// testEtcd is one real embedded etcd shared by the package's tests; each
// test works under its own key prefix.
var testEtcd struct {
	endpoints []string
	prefixes  atomic.Int64
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imgsched-cluster-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg := DefaultEmbeddedConfig(filepath.Join(dir, "etcd"))
	cfg.UnsafeNoFsync = true
	e, err := StartEmbedded(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEtcd.endpoints = e.Endpoints()
	code := m.Run()
	e.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newTestClient(t *testing.T) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: testEtcd.endpoints, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func uniquePrefix() string {
	return fmt.Sprintf("/test-%d", testEtcd.prefixes.Add(1))
}

func newTestStore(t *testing.T, opts ...StoreOption) (*Store, *clientv3.Client) {
	t.Helper()
	c := newTestClient(t)
	s, err := OpenStore(context.Background(), c, append([]StoreOption{WithPrefix(uniquePrefix())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}
