package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
)

func withPrefix() []clientv3.OpOption {
	return []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithCountOnly()}
}

func replace(_, in *storagev1.Schedule) (*storagev1.Schedule, error) { return in, nil }

func TestUpdateManyWritesEveryScheduleAndItsIndexEntry(t *testing.T) {
	s, _ := newTestStore(t, WithMaxTxnOps(16))
	var in []*storagev1.Schedule
	for i := 0; i < 300; i++ {
		in = append(in, &storagev1.Schedule{TenantId: fmt.Sprintf("t%d", i%7), ServerId: fmt.Sprintf("srv-%03d", i), Retention: 2})
	}
	errs, err := s.UpdateMany(context.Background(), in, replace)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("entry %d: %v", i, e)
		}
	}
	if n := countKeys(t, s, s.Prefix()+"/s/"); n != 300 {
		t.Fatalf("%d schedules stored, want 300", n)
	}
	if n := countKeys(t, s, s.Prefix()+"/t/"); n != 300 {
		t.Fatalf("%d index entries, want 300", n)
	}
}

func TestUpdateManyReportsRejectedEntriesAndWritesTheRest(t *testing.T) {
	s, _ := newTestStore(t)
	put(t, s, "t1", "srv-0", 9)
	bad := errors.New("retention must be positive")
	merge := func(cur, in *storagev1.Schedule) (*storagev1.Schedule, error) {
		if in.GetRetention() == 0 {
			return nil, bad
		}
		out := &storagev1.Schedule{TenantId: in.GetTenantId(), ServerId: in.GetServerId(), Retention: in.GetRetention() + cur.GetRetention()}
		return out, nil
	}
	in := []*storagev1.Schedule{
		{TenantId: "t1", ServerId: "srv-0", Retention: 1},
		{TenantId: "t1", ServerId: "srv-1", Retention: 0},
		{TenantId: "t1", ServerId: "srv-2", Retention: 4},
		{TenantId: "t1", ServerId: "srv-2", Retention: 5},
	}
	errs, err := s.UpdateMany(context.Background(), in, merge)
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], bad) || errs[2] != nil || errs[3] != nil {
		t.Fatalf("errs = %v", errs)
	}
	for server, want := range map[string]uint32{"srv-0": 10, "srv-2": 9} {
		got, err := s.Get(context.Background(), server)
		if err != nil || got.GetRetention() != want {
			t.Fatalf("%s: %v, %v; want retention %d", server, got, err, want)
		}
	}
	if _, err := s.Get(context.Background(), "srv-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rejected entry was stored: %v", err)
	}
}

func TestUpdateManyLosingARaceFallsBackWithoutLosingEitherWrite(t *testing.T) {
	s, _ := newTestStore(t)
	put(t, s, "t1", "srv-0", 1)
	raced := false
	merge := func(cur, in *storagev1.Schedule) (*storagev1.Schedule, error) {
		if !raced {
			raced = true
			// Another writer slips in between the chunk's read and write.
			put(t, s, "t1", "srv-0", 100)
		}
		return &storagev1.Schedule{TenantId: "t1", ServerId: in.GetServerId(), Retention: cur.GetRetention() + in.GetRetention()}, nil
	}
	errs, err := s.UpdateMany(context.Background(), []*storagev1.Schedule{{TenantId: "t1", ServerId: "srv-0", Retention: 5}}, merge)
	if err != nil || errs[0] != nil {
		t.Fatalf("%v %v", errs, err)
	}
	got, _ := s.Get(context.Background(), "srv-0")
	if got.GetRetention() != 105 {
		t.Fatalf("retention = %d, want 105 (the racing write plus ours)", got.GetRetention())
	}
}
