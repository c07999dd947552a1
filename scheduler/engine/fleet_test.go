package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/imgsched/imgsched/cloud"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
	"github.com/imgsched/imgsched/scheduler/engine"
)

func TestAFleetGetsExactlyOneImagePerWindowForAWeek(t *testing.T) {
	if testing.Short() {
		t.Skip("a simulated week of 200 servers")
	}
	en := newEnv(t, func(c *engine.Config) { c.RebalanceInterval = time.Hour })
	const servers, retention = 200, 3
	scheds := map[string]scheduler.Schedule{}
	var incoming []*storagev1.Schedule
	for k := range servers {
		srv := en.addServer(fmt.Sprintf("fleet-%03d", k), fmt.Sprintf("compute-%02d", k%20))
		day := daily
		switch {
		case k%5 == 0 && k%10 == 0:
			day = imgschedv1.DayOfWeek_SATURDAY
		case k%5 == 0:
			day = imgschedv1.DayOfWeek(1 + k/10%7)
		}
		incoming = append(incoming, &storagev1.Schedule{TenantId: en.proj.ID, ServerId: srv.ID, Retention: retention,
			DayOfWeek: day, State: imgschedv1.ScheduleState_ENABLED, CreateTime: start.UnixNano()})
		scheds[srv.ID] = scheduler.DailySchedule()
		if day != daily {
			scheds[srv.ID] = scheduler.WeeklySchedule(time.Weekday(day - 1))
		}
	}
	errs, err := en.store.UpdateMany(context.Background(), incoming, func(_, in *storagev1.Schedule) (*storagev1.Schedule, error) { return in, nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		if e != nil {
			t.Fatal(e)
		}
	}
	for id := range scheds {
		en.waitReconciled(id, 0)
	}
	end := start.AddDate(0, 0, 7).Add(12 * time.Hour)
	began := time.Now()
	en.runUntil(end)
	elapsed := time.Since(began)

	perRun := map[string]int{}
	perServer := map[string][]string{}
	for _, img := range append(en.cloud.Images(), en.cloud.DeletedImages()...) {
		if img.ServerID == "" {
			continue
		}
		sched := scheds[img.ServerID]
		w, ok := sched.WindowAt(img.CreatedAt)
		if !ok || img.Properties[cloud.RunIDKey] != scheduler.RunID(img.ServerID, w) {
			t.Errorf("image %s of %s at %v is outside its window or names run %q", img.ID, img.ServerID, img.CreatedAt, img.Properties[cloud.RunIDKey])
			continue
		}
		perRun[scheduler.RunID(img.ServerID, w)]++
		perServer[img.ServerID] = append(perServer[img.ServerID], img.ID)
	}
	windows := 0
	for id, sched := range scheds {
		// Every window opening after the schedules were enabled and closing
		// before the end gets its image; the others at most one (a slot
		// at the very instant of enabling is not ahead of it).
		for w := sched.NextWindow(start.Add(-7 * 24 * time.Hour)); w.Start.Before(end); w = w.Next() {
			n := perRun[scheduler.RunID(id, w)]
			inside := w.Start.After(start) && !w.End.After(end)
			if inside {
				windows++
			}
			if n > 1 || (inside && n != 1) {
				t.Errorf("server %s window %s has %d images", id, w.ID(), n)
			}
		}
		active := 0
		for _, img := range en.live(id) {
			if img.Status == cloud.ImageActive {
				active++
			}
		}
		if want := min(retention, len(perServer[id])); active != want && active != want-1 {
			// want-1: the newest image may still be saving at the end.
			t.Errorf("server %s has %d active images, want %d", id, active, want)
		}
		for _, h := range en.runs(id).GetHistory() {
			if scheduler.State(h.GetState()) != scheduler.StateDone || h.GetAttempts() != 1 {
				t.Errorf("server %s run %s: %v, want done at the first attempt on a healthy cloud", id, h.GetRunId(), h)
			}
		}
	}
	reconciles := 0
	for id := range scheds {
		reconciles += en.reconciled(id)
	}
	// Reported, not asserted: the cost of a reconcile on this machine, etcd
	// writes and the simulated cloud's HTTP included.
	t.Logf("%d servers, %d whole windows, %d images, %d reconciles in %v (%v each)",
		servers, windows, len(perRun), reconciles, elapsed.Round(time.Millisecond), (elapsed / time.Duration(max(reconciles, 1))).Round(time.Microsecond))
}
