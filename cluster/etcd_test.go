package cluster

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestThreeEmbeddedMembersFormOneCluster(t *testing.T) {
	dir := t.TempDir()
	var cfgs []EmbeddedConfig
	var initial []string
	for i := 1; i <= 3; i++ {
		c := DefaultEmbeddedConfig(filepath.Join(dir, fmt.Sprint(i)))
		c.Name = fmt.Sprintf("e%d", i)
		c.ClientURL = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		c.PeerURL = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		c.UnsafeNoFsync = true
		cfgs = append(cfgs, c)
		initial = append(initial, c.Name+"="+c.PeerURL)
	}
	members := make([]*Embedded, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range cfgs {
		cfgs[i].InitialCluster = strings.Join(initial, ",")
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			members[i], errs[i] = StartEmbedded(context.Background(), cfgs[i])
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %v", i+1, err)
		}
		defer members[i].Close()
	}
	write, err := clientv3.New(clientv3.Config{Endpoints: members[0].Endpoints(), DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer write.Close()
	if _, err := write.Put(context.Background(), "/k", "v"); err != nil {
		t.Fatal(err)
	}
	read, err := clientv3.New(clientv3.Config{Endpoints: members[2].Endpoints(), DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer read.Close()
	resp, err := read.Get(context.Background(), "/k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("a write through member 1 reads back from member 3 as %v, %v", resp, err)
	}
	ml, err := read.MemberList(context.Background())
	if err != nil || len(ml.Members) != 3 {
		t.Fatalf("member list %v, %v; want 3 members", ml, err)
	}
}
