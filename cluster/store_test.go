package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
)

func put(t *testing.T, s *Store, tenant, server string, retention uint32) {
	t.Helper()
	_, err := s.Update(context.Background(), server, func(*storagev1.Schedule) (*storagev1.Schedule, error) {
		return &storagev1.Schedule{TenantId: tenant, ServerId: server, Retention: retention}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func countKeys(t *testing.T, s *Store, prefix string) int {
	t.Helper()
	resp, err := s.client.Get(context.Background(), prefix, withPrefix()...)
	if err != nil {
		t.Fatal(err)
	}
	return int(resp.Count)
}

func TestOpenStoreFixesTheShardCountAtCreation(t *testing.T) {
	c := newTestClient(t)
	ctx := context.Background()
	p := uniquePrefix()
	s, err := OpenStore(ctx, c, WithPrefix(p), WithShardCount(16))
	if err != nil {
		t.Fatal(err)
	}
	if s.Shards() != 16 {
		t.Fatalf("shards = %d, want 16", s.Shards())
	}
	again, err := OpenStore(ctx, c, WithPrefix(p))
	if err != nil {
		t.Fatal(err)
	}
	if again.Shards() != 16 {
		t.Fatalf("reopened without a count: shards = %d, want the cluster's 16", again.Shards())
	}
	if _, err := OpenStore(ctx, c, WithPrefix(p), WithShardCount(32)); !errors.Is(err, ErrShardCountMismatch) {
		t.Fatalf("reopened with another count: err = %v, want ErrShardCountMismatch", err)
	}
}

func TestUpdateGetDelete(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	if _, err := s.Get(ctx, "srv-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get before put: %v, want ErrNotFound", err)
	}
	put(t, s, "tenant-a", "srv-1", 3)
	got, err := s.Get(ctx, "srv-1")
	if err != nil || got.GetRetention() != 3 || got.GetTenantId() != "tenant-a" {
		t.Fatalf("get = %v, %v", got, err)
	}
	deleted, err := s.Delete(ctx, "srv-1")
	if err != nil || deleted.GetRetention() != 3 {
		t.Fatalf("delete = %v, %v; want the deleted schedule", deleted, err)
	}
	deleted, err = s.Delete(ctx, "srv-1")
	if err != nil || deleted != nil {
		t.Fatalf("second delete = %v, %v; want nil, nil", deleted, err)
	}
	if n := countKeys(t, s, s.Prefix()+"/t/"); n != 0 {
		t.Fatalf("tenant index keeps %d keys after delete", n)
	}
}

func TestUpdateThatFailsChangesNothing(t *testing.T) {
	s, _ := newTestStore(t)
	put(t, s, "tenant-a", "srv-1", 3)
	boom := errors.New("rejected")
	_, err := s.Update(context.Background(), "srv-1", func(*storagev1.Schedule) (*storagev1.Schedule, error) {
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the update func's", err)
	}
	got, _ := s.Get(context.Background(), "srv-1")
	if got.GetRetention() != 3 {
		t.Fatalf("retention = %d after a rejected update, want 3", got.GetRetention())
	}
}

func TestConcurrentUpdatesOfOneServerLeaveOneScheduleAndLoseNoIncrement(t *testing.T) {
	s, _ := newTestStore(t)
	const writers = 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(context.Background(), "srv-race", func(cur *storagev1.Schedule) (*storagev1.Schedule, error) {
				return &storagev1.Schedule{TenantId: "tenant-a", ServerId: "srv-race", Retention: cur.GetRetention() + 1}, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(context.Background(), "srv-race")
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRetention() != writers {
		t.Fatalf("retention = %d, want %d: an update was lost", got.GetRetention(), writers)
	}
	if n := countKeys(t, s, s.Prefix()+"/s/"); n != 1 {
		t.Fatalf("%d schedule keys, want 1", n)
	}
}

func TestMovingAScheduleToAnotherTenantMovesItsIndexEntry(t *testing.T) {
	s, _ := newTestStore(t)
	put(t, s, "tenant-a", "srv-1", 1)
	put(t, s, "tenant-b", "srv-1", 1)
	ctx := context.Background()
	a, _, err := s.List(ctx, ListOptions{TenantID: "tenant-a", PageSize: 10})
	if err != nil || len(a) != 0 {
		t.Fatalf("tenant-a lists %v, %v; want nothing", a, err)
	}
	b, _, err := s.List(ctx, ListOptions{TenantID: "tenant-b", PageSize: 10})
	if err != nil || len(b) != 1 {
		t.Fatalf("tenant-b lists %v, %v; want srv-1", b, err)
	}
}

func collect(t *testing.T, s *Store, opt ListOptions) []string {
	t.Helper()
	var ids []string
	pages := 0
	for {
		items, next, err := s.List(context.Background(), opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > opt.PageSize {
			t.Fatalf("page of %d items, page size %d", len(items), opt.PageSize)
		}
		for _, it := range items {
			ids = append(ids, it.GetServerId())
		}
		pages++
		if next == "" {
			return ids
		}
		if pages > 1000 {
			t.Fatal("listing does not end")
		}
		opt.PageToken = next
	}
}

func TestListPagesThroughEveryScheduleExactlyOnce(t *testing.T) {
	s, _ := newTestStore(t, WithShardCount(8))
	want := map[string][]string{}
	for i := 0; i < 53; i++ {
		tenant := fmt.Sprintf("tenant-%d", i%3)
		id := fmt.Sprintf("srv-%02d", i)
		put(t, s, tenant, id, uint32(1+i%5))
		want[tenant] = append(want[tenant], id)
		want[""] = append(want[""], id)
	}
	for _, tc := range []struct {
		name string
		opt  ListOptions
		want []string
	}{
		{"all tenants in pages of 7", ListOptions{PageSize: 7}, want[""]},
		{"all tenants in one page", ListOptions{PageSize: 1000}, want[""]},
		{"one tenant in pages of 4", ListOptions{TenantID: "tenant-1", PageSize: 4}, want["tenant-1"]},
		{"a tenant with no schedules", ListOptions{TenantID: "tenant-9", PageSize: 4}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(t, s, tc.opt)
			sort.Strings(got)
			w := append([]string(nil), tc.want...)
			sort.Strings(w)
			if fmt.Sprint(got) != fmt.Sprint(w) {
				t.Fatalf("listed %v\nwant %v", got, w)
			}
		})
	}
}

func TestListWithAFilterAndASmallScanBoundStillFindsEverything(t *testing.T) {
	s, _ := newTestStore(t, WithShardCount(4))
	var want []string
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("srv-%02d", i)
		put(t, s, "tenant-a", id, uint32(1+i%4))
		if i%4 == 0 {
			want = append(want, id)
		}
	}
	got := collect(t, s, ListOptions{PageSize: 3, MaxScan: 5, Match: func(sc *storagev1.Schedule) bool { return sc.GetRetention() == 1 }})
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed %v\nwant %v", got, want)
	}
}

func TestListRejectsAForeignPageToken(t *testing.T) {
	s, _ := newTestStore(t)
	for i := 0; i < 5; i++ {
		put(t, s, "tenant-a", fmt.Sprintf("srv-%d", i), 1)
	}
	_, next, err := s.List(context.Background(), ListOptions{PageSize: 2})
	if err != nil || next == "" {
		t.Fatalf("first page: next=%q err=%v", next, err)
	}
	for _, tc := range []struct{ name, token, tenant string }{
		{"garbage", "%%%", ""},
		{"a token of the unfiltered listing used for a tenant", next, "tenant-a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.List(context.Background(), ListOptions{PageSize: 2, PageToken: tc.token, TenantID: tc.tenant})
			if !errors.Is(err, ErrBadPageToken) {
				t.Fatalf("err = %v, want ErrBadPageToken", err)
			}
		})
	}
}
