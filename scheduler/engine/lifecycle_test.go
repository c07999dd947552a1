package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cloud/sim"
	"github.com/imgsched/imgsched/cluster"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
	"github.com/imgsched/imgsched/scheduler/engine"
)

func TestARunWaitsWhileThePreviousImageIsStillSaving(t *testing.T) {
	en := newEnv(t, nil)
	srv := en.addServer("app-1", "compute-1")
	en.seedSlot(srv.ID, 3, daily, slot10h)
	// The previous image of the server, still saving at the slot: a very
	// slow save of an image carrying the service's marker.
	if err := en.cloud.SetFaults(sim.Faults{SlowSaveRate: 1, SlowSaveFactor: 1000}); err != nil {
		t.Fatal(err)
	}
	prev, err := en.cloud.CreateImage(srv.ID, "daily-app-1-previous", map[string]string{cloud.CreatedByKey: cloud.CreatedByValue})
	if err != nil {
		t.Fatal(err)
	}
	if err := en.cloud.SetFaults(sim.Faults{}); err != nil {
		t.Fatal(err)
	}
	en.runUntil(at(0, 10, 1))
	cur := en.runs(srv.ID).GetCurrent()
	if scheduler.State(cur.GetState()) != scheduler.StateWaiting || len(cur.GetAttempts()) != 1 ||
		scheduler.Outcome(cur.GetAttempts()[0].GetOutcome()) != scheduler.OutcomeWaited ||
		!strings.Contains(cur.GetReason(), prev) {
		t.Fatalf("run %v, want waiting after one waited attempt naming image %s", cur, prev)
	}
	if n := len(en.created(srv.ID)); n != 1 {
		t.Fatalf("%d images, want only the previous one", n)
	}
	if err := en.cloud.SetImageStatus(prev, "active"); err != nil {
		t.Fatal(err)
	}
	en.runUntil(at(0, 23, 0))
	h := onlyRun(t, en.runs(srv.ID))
	if scheduler.State(h.GetState()) != scheduler.StateDone || h.GetAttempts() != 2 {
		t.Fatalf("run %v, want done at the second attempt", h)
	}
	if imgs := en.created(srv.ID); len(imgs) != 2 || !imgs[1].CreatedAt.Equal(at(0, 11, 0)) {
		t.Fatalf("images %v, want the previous one and one at 11:00", imgs)
	}
}

func TestAGoneServerMarksTheScheduleAndIsRemovedAfterTheGrace(t *testing.T) {
	en := newEnv(t, func(c *engine.Config) { c.GoneGrace = 48 * time.Hour })
	srv := en.addServer("old-1", "compute-1")
	en.seedSlot(srv.ID, 3, daily, slot10h)
	en.runUntil(at(1, 12, 0))
	before := en.live(srv.ID)
	if len(before) != 2 {
		t.Fatalf("%d images before the server went, want 2", len(before))
	}
	en.cloud.DeleteServer(srv.ID)
	en.runUntil(at(2, 10, 1))
	sc, err := en.store.Get(context.Background(), srv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sc.GetState() != imgschedv1.ScheduleState_SERVER_GONE || !time.Unix(0, sc.GetServerGoneAt()).Equal(at(2, 10, 0)) {
		t.Fatalf("schedule %v, want SERVER_GONE since 10:00 of day 2", sc)
	}
	runs := en.runs(srv.ID)
	if runs.GetCurrent() != nil || scheduler.Outcome(runs.GetHistory()[0].GetOutcome()) != scheduler.OutcomeServerGone {
		t.Fatalf("runs %v, want no current run and a server-gone one in the history", runs)
	}
	en.runUntil(at(4, 9, 0))
	if _, err := en.store.Get(context.Background(), srv.ID); err != nil {
		t.Fatalf("schedule removed before the grace ended: %v", err)
	}
	en.runUntil(at(4, 10, 1))
	if _, err := en.store.Get(context.Background(), srv.ID); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("schedule after the grace: %v, want it removed", err)
	}
	if _, err := en.store.GetRuns(context.Background(), srv.ID); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("runs after the grace: %v, want them removed", err)
	}
	after := en.live(srv.ID)
	if len(after) != len(before) || len(en.cloud.DeletedImages()) != 0 {
		t.Fatalf("images of the gone server changed: %v, deleted %v", after, en.cloud.DeletedImages())
	}
	if en.engine().Len() != 0 {
		t.Errorf("engine still holds %d schedules", en.engine().Len())
	}
}

func TestANewEngineResumesARunWithoutAskingForASecondImage(t *testing.T) {
	for _, tc := range []struct {
		name string
		// crash rewrites the stored run as a crash at that point leaves it.
		crash func(*storagev1.Run)
	}{
		{name: "stopped while the image saves", crash: func(*storagev1.Run) {}},
		{name: "stopped after asking for the image, before recording it", crash: func(r *storagev1.Run) {
			r.State, r.ImageId, r.CreatedAt = uint32(scheduler.StateCreating), "", 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			en := newEnv(t, nil)
			srv := en.addServer("resume-1", "compute-1")
			en.seedSlot(srv.ID, 3, daily, slot10h)
			en.runUntil(at(0, 10, 0))
			if st := scheduler.State(en.runs(srv.ID).GetCurrent().GetState()); st != scheduler.StateSaving {
				t.Fatalf("run %v at the slot, want saving", st)
			}
			en.stopEngine()
			ctx := context.Background()
			rec, err := en.store.ReadRecord(ctx, srv.ID)
			if err != nil {
				t.Fatal(err)
			}
			tc.crash(rec.Runs.Current)
			if _, err := en.store.SaveRuns(ctx, srv.ID, rec.Runs, rec.RunsRev, nil); err != nil {
				t.Fatal(err)
			}
			n := en.reconciled(srv.ID)
			en.startEngine()
			en.waitReconciled(srv.ID, n)
			en.runUntil(at(0, 23, 0))
			imgs := en.created(srv.ID)
			if len(imgs) != 1 || imgs[0].Status != cloud.ImageActive {
				t.Fatalf("images %v, want exactly one, active", imgs)
			}
			h := onlyRun(t, en.runs(srv.ID))
			if scheduler.State(h.GetState()) != scheduler.StateDone || h.GetImageId() != imgs[0].ID || h.GetAttempts() != 1 {
				t.Fatalf("run %v, want done with image %s after one attempt", h, imgs[0].ID)
			}
		})
	}
}

func TestRetentionDeletesOnlyTheServersScheduledActiveImages(t *testing.T) {
	en := newEnv(t, nil)
	srv := en.addServer("keep-1", "compute-1")
	other := en.addServer("other-1", "compute-2")
	ours := map[string]string{cloud.CreatedByKey: cloud.CreatedByValue}
	mk := func(server, name string, md map[string]string, status string) string {
		t.Helper()
		id, err := en.cloud.CreateImage(server, name, md)
		if err != nil {
			t.Fatal(err)
		}
		if err := en.cloud.SetImageStatus(id, status); err != nil {
			t.Fatal(err)
		}
		return id
	}
	untouchable := map[string]string{
		"a manual snapshot":              mk(srv.ID, "manual", nil, "active"),
		"another server's image":         mk(other.ID, "daily-other-1-0000000001", ours, "active"),
		"an image whose marker was gone": mk(srv.ID, "daily-keep-1-0000000002", map[string]string{cloud.RunIDKey: "x"}, "active"),
		"an image in error":              mk(srv.ID, "daily-keep-1-0000000003", ours, "error"),
		"a killed image":                 mk(srv.ID, "daily-keep-1-0000000004", ours, "killed"),
	}
	old := mk(srv.ID, "daily-keep-1-0000000005", ours, "active")
	en.seedSlot(srv.ID, 1, daily, slot10h)
	en.runUntil(at(2, 12, 0))
	for what, id := range untouchable {
		if en.deleted(id) {
			t.Errorf("retention deleted %s (%s)", what, id)
		}
	}
	if !en.deleted(old) {
		t.Errorf("the old scheduled image %s was kept past retention 1", old)
	}
	var scheduled []string
	for _, img := range en.live(srv.ID) {
		if img.Properties[cloud.RunIDKey] != "" && img.Properties[cloud.CreatedByKey] == cloud.CreatedByValue && img.Status == cloud.ImageActive {
			scheduled = append(scheduled, img.ID)
		}
	}
	if len(scheduled) != 1 {
		t.Fatalf("scheduled active images %v, want retention's 1", scheduled)
	}
}

func TestAChangedRetentionAppliesAtTheNextCompletedImage(t *testing.T) {
	en := newEnv(t, nil)
	srv := en.addServer("ret-1", "compute-1")
	en.seedSlot(srv.ID, 3, daily, slot10h)
	en.runUntil(at(3, 12, 0))
	if n := len(en.live(srv.ID)); n != 3 {
		t.Fatalf("%d live images, want 3", n)
	}
	en.update(srv.ID, func(sc *storagev1.Schedule) { sc.Retention = 1 })
	en.runUntil(at(4, 9, 0))
	if n := len(en.live(srv.ID)); n != 3 {
		t.Fatalf("%d live images before the next image, want still 3", n)
	}
	en.runUntil(at(4, 12, 0))
	live := en.live(srv.ID)
	if len(live) != 1 || !live[0].CreatedAt.Equal(at(4, 10, 0)) {
		t.Fatalf("live images %v, want only the newest of day 4", live)
	}
	if en.runs(srv.ID).GetSlot() != slot10h {
		t.Errorf("slot changed with the retention: %q", en.runs(srv.ID).GetSlot())
	}
}

func TestRunNowTakesThisWindowsImageOnce(t *testing.T) {
	en := newEnv(t, nil)
	srv := en.addServer("now-1", "compute-1")
	en.seedSlot(srv.ID, 5, daily, slot10h)
	en.runUntil(at(0, 6, 0))
	en.update(srv.ID, func(sc *storagev1.Schedule) { sc.RunNowAt = en.clock.Now().UnixNano() })
	en.runUntil(at(0, 23, 0))
	imgs := en.created(srv.ID)
	if len(imgs) != 1 || !imgs[0].CreatedAt.Equal(at(0, 6, 0)) {
		t.Fatalf("images %v, want one, taken at 06:00 when asked", imgs)
	}
	// Asked again once the window has its image: nothing more.
	en.update(srv.ID, func(sc *storagev1.Schedule) { sc.RunNowAt = en.clock.Now().UnixNano() })
	en.runUntil(at(0, 23, 59))
	if n := len(en.created(srv.ID)); n != 1 {
		t.Fatalf("%d images after a second run-now in the same window, want 1", n)
	}
	en.runUntil(at(1, 12, 0))
	if imgs := en.created(srv.ID); len(imgs) != 2 || !imgs[1].CreatedAt.Equal(at(1, 10, 0)) {
		t.Fatalf("images %v, want the next day's at its slot", imgs)
	}
}

func TestAPausedScheduleStartsNoRunUntilResumed(t *testing.T) {
	en := newEnv(t, nil)
	srv := en.addServer("pause-1", "compute-1")
	en.seedSlot(srv.ID, 5, daily, slot10h)
	en.update(srv.ID, func(sc *storagev1.Schedule) { sc.State = imgschedv1.ScheduleState_PAUSED })
	if cur := en.runs(srv.ID).GetCurrent(); cur != nil {
		t.Fatalf("paused schedule keeps a pending run %v", cur)
	}
	en.runUntil(at(2, 12, 0))
	if n := len(en.created(srv.ID)); n != 0 {
		t.Fatalf("%d images while paused", n)
	}
	en.update(srv.ID, func(sc *storagev1.Schedule) { sc.State = imgschedv1.ScheduleState_ENABLED })
	en.runUntil(at(3, 12, 0))
	imgs := en.created(srv.ID)
	if len(imgs) != 1 || !imgs[0].CreatedAt.Equal(at(3, 10, 0)) {
		t.Fatalf("images %v, want one at day 3's slot", imgs)
	}
	if m := en.runs(srv.ID).GetMissedWindows(); m != 0 {
		t.Errorf("paused windows counted as missed: %d", m)
	}
}

func TestWeeklyImagesFallInsideTheirWindows(t *testing.T) {
	en := newEnv(t, nil)
	srv := en.addServer("weekly-1", "compute-1")
	// Enabled at the very end of a Saturday window (Sunday 11:59): its
	// slot there has passed, so the first image is the next week's.
	en.clock.AdvanceTo(at(6, 11, 59))
	en.setSchedule(srv.ID, 10, imgschedv1.DayOfWeek_SATURDAY)
	sched := scheduler.WeeklySchedule(time.Saturday)
	en.runUntil(at(6+21, 12, 0))
	imgs := en.created(srv.ID)
	if len(imgs) != 3 {
		t.Fatalf("%d images over three weeks, want 3: %v", len(imgs), imgs)
	}
	seen := map[string]bool{}
	for _, img := range imgs {
		w := windowOf(t, sched, img.CreatedAt)
		if seen[w.ID()] || !strings.HasPrefix(img.Name, "weekly-weekly-1-") || img.Properties[cloud.RunIDKey] != scheduler.RunID(srv.ID, w) {
			t.Errorf("image %s (%s) at %v in window %s: want one weekly image per window", img.ID, img.Name, img.CreatedAt, w.ID())
		}
		if img.CreatedAt.Before(at(6, 12, 0)) {
			t.Errorf("image %s at %v, in the window the schedule was enabled at the end of", img.ID, img.CreatedAt)
		}
		seen[w.ID()] = true
	}
}
