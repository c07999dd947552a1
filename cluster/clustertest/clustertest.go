// Package clustertest gives other packages' tests one real embedded etcd
// per test binary, with a fresh key prefix for each test, so tests share
// the member's start-up cost but never each other's keys.
package clustertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/imgsched/imgsched/cluster"
)

// Etcd is a running embedded member for tests. Its data is throwaway
// (fsync off).
type Etcd struct {
	Endpoints []string
	prefixes  atomic.Int64
}

// Main starts an etcd, runs the package's tests with it in *etcd, stops it
// and exits with the tests' code: call it from TestMain.
func Main(m *testing.M, etcd **Etcd) {
	dir, err := os.MkdirTemp("", "imgsched-test-etcd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg := cluster.DefaultEmbeddedConfig(filepath.Join(dir, "etcd"))
	cfg.UnsafeNoFsync = true
	e, err := cluster.StartEmbedded(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*etcd = &Etcd{Endpoints: e.Endpoints()}
	code := m.Run()
	e.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Prefix returns a key prefix no other test of the binary uses.
func (e *Etcd) Prefix(name string) string {
	return fmt.Sprintf("/%s-%d", name, e.prefixes.Add(1))
}

// Client returns a client closed when the test ends.
func (e *Etcd) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
