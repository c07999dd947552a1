package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// guardFunc is a Guard made of a function.
type guardFunc func(shard int) ([]clientv3.Cmp, error)

func (g guardFunc) Cmps(shard int) ([]clientv3.Cmp, error) { return g(shard) }

func putSchedule(t *testing.T, s *Store, serverID string) *storagev1.Schedule {
	t.Helper()
	sc, err := s.Update(context.Background(), serverID, func(*storagev1.Schedule) (*storagev1.Schedule, error) {
		return &storagev1.Schedule{TenantId: "t1", ServerId: serverID, Retention: 3, State: imgschedv1.ScheduleState_ENABLED}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestSaveRunsIsConditionedOnRevisionScheduleAndFence(t *testing.T) {
	s, c := newTestStore(t, WithShardCount(4))
	ctx := context.Background()
	putSchedule(t, s, "srv-1")
	runs := &storagev1.ScheduleRuns{Slot: "daily :00 10,10,10,10,10,10,10"}
	rev, err := s.SaveRuns(ctx, "srv-1", runs, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveRuns(ctx, "srv-1", runs, 0, nil); !errors.Is(err, ErrConflict) {
		t.Errorf("a write expecting no record over one: %v, want ErrConflict", err)
	}
	fenceKey := s.Prefix() + "/test-fence"
	if _, err := c.Put(ctx, fenceKey, "node-a"); err != nil {
		t.Fatal(err)
	}
	holds := guardFunc(func(int) ([]clientv3.Cmp, error) {
		return []clientv3.Cmp{clientv3.Compare(clientv3.Value(fenceKey), "=", "node-a")}, nil
	})
	lost := guardFunc(func(int) ([]clientv3.Cmp, error) {
		return []clientv3.Cmp{clientv3.Compare(clientv3.Value(fenceKey), "=", "node-b")}, nil
	})
	refuses := guardFunc(func(shard int) ([]clientv3.Cmp, error) { return nil, fmt.Errorf("no claim on %d", shard) })
	if _, err := s.SaveRuns(ctx, "srv-1", runs, rev, lost); !errors.Is(err, ErrFenced) {
		t.Errorf("write under a failed fence: %v, want ErrFenced", err)
	}
	if _, err := s.SaveRuns(ctx, "srv-1", runs, rev, refuses); !errors.Is(err, ErrFenced) {
		t.Errorf("write under a refusing guard: %v, want ErrFenced", err)
	}
	if rev, err = s.SaveRuns(ctx, "srv-1", runs, rev, holds); err != nil {
		t.Errorf("write under a holding fence: %v", err)
	}
	got, err := s.GetRuns(ctx, "srv-1")
	if err != nil || got.GetSlot() != runs.GetSlot() {
		t.Fatalf("runs read back %v, %v", got, err)
	}
	if _, err := s.Delete(ctx, "srv-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveRuns(ctx, "srv-1", runs, 0, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("runs of a deleted schedule: %v, want ErrNotFound", err)
	}
}

func TestAGoneServerIsMarkedThenRemovedWithItsRuns(t *testing.T) {
	s, c := newTestStore(t, WithShardCount(4))
	ctx := context.Background()
	putSchedule(t, s, "srv-1")
	rec, err := s.ReadRecord(ctx, "srv-1")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	runs := &storagev1.ScheduleRuns{MissedWindows: 1}
	if _, err := s.MarkServerGone(ctx, rec.Schedule, rec.ScheduleRev+1, at, runs, rec.RunsRev, nil); !errors.Is(err, ErrConflict) {
		t.Errorf("mark on a stale schedule revision: %v, want ErrConflict", err)
	}
	if _, err := s.MarkServerGone(ctx, rec.Schedule, rec.ScheduleRev, at, runs, rec.RunsRev, nil); err != nil {
		t.Fatal(err)
	}
	rec2, err := s.ReadRecord(ctx, "srv-1")
	if err != nil {
		t.Fatal(err)
	}
	if rec2.Schedule.GetState() != imgschedv1.ScheduleState_SERVER_GONE || rec2.Schedule.GetServerGoneAt() != at.UnixNano() ||
		rec2.Runs.GetMissedWindows() != 1 {
		t.Fatalf("after marking: %v %v", rec2.Schedule, rec2.Runs)
	}
	if err := s.RemoveGone(ctx, rec2.Schedule, rec.ScheduleRev, nil); !errors.Is(err, ErrConflict) {
		t.Errorf("removal on a stale schedule revision: %v, want ErrConflict", err)
	}
	if err := s.RemoveGone(ctx, rec2.Schedule, rec2.ScheduleRev, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(ctx, s.Prefix()+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if k := string(kv.Key); k != s.keys.shardCount() {
			t.Errorf("key %s left after the removal", k)
		}
	}
}

func TestLoadShardPairsEverySchedulePageWithItsRuns(t *testing.T) {
	s, _ := newTestStore(t, WithShardCount(1))
	ctx := context.Background()
	const n = 2*loadPage + 7
	for k := range n {
		id := fmt.Sprintf("srv-%04d", k)
		putSchedule(t, s, id)
		if k%3 == 0 {
			if _, err := s.SaveRuns(ctx, id, &storagev1.ScheduleRuns{Slot: id}, 0, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	seen := 0
	rev, err := s.LoadShard(ctx, 0, func(l Loaded) error {
		k := seen
		seen++
		if want := fmt.Sprintf("srv-%04d", k); l.ServerID != want || l.Schedule.GetServerId() != want || l.Shard != 0 {
			return fmt.Errorf("loaded %s (%v) at %d, want %s", l.ServerID, l.Schedule, k, want)
		}
		if (k%3 == 0) != (l.Runs != nil) || (l.Runs != nil && l.Runs.GetSlot() != l.ServerID) {
			return fmt.Errorf("%s loaded with runs %v", l.ServerID, l.Runs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != n || rev == 0 {
		t.Fatalf("loaded %d schedules at revision %d, want %d", seen, rev, n)
	}
}

func TestWatchSchedulesReportsChangesAndCompaction(t *testing.T) {
	s, c := newTestStore(t, WithShardCount(4))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rev, err := s.LoadShard(ctx, 0, func(Loaded) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ch := s.WatchSchedules(ctx, rev+1)
	putSchedule(t, s, "srv-1")
	if _, err := s.Delete(ctx, "srv-1"); err != nil {
		t.Fatal(err)
	}
	var got []ScheduleChange
	for len(got) < 2 {
		b := <-ch
		if b.Err != nil {
			t.Fatal(b.Err)
		}
		got = append(got, b.Changes...)
	}
	if got[0].ServerID != "srv-1" || got[0].Deleted || !got[1].Deleted || got[0].Shard != got[1].Shard {
		t.Fatalf("changes %+v, want srv-1 written then deleted in one shard", got)
	}
	resp, err := c.Get(ctx, "compact-me")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	for b := range s.WatchSchedules(ctx, rev+1) {
		if b.Err != nil {
			if !errors.Is(b.Err, ErrCompacted) {
				t.Fatalf("watch from a compacted revision: %v, want ErrCompacted", b.Err)
			}
			return
		}
	}
	t.Fatal("watch from a compacted revision ended without an error")
}
