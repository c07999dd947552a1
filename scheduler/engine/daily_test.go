package engine_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/imgsched/imgsched/cloud"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

func TestDailyScheduleTakesOneImagePerDateAndKeepsTheNewest(t *testing.T) {
	en := newEnv(t, nil)
	srv := en.addServer("web-1", "compute-1")
	en.setSchedule(srv.ID, 3, imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED)
	runs := en.runs(srv.ID)
	slot, err := scheduler.ParseSlot(runs.GetSlot())
	if err != nil || slot.Schedule() != scheduler.DailySchedule() {
		t.Fatalf("stored slot %q: %v", runs.GetSlot(), err)
	}
	if runs.GetCurrent().GetState() != uint32(scheduler.StatePending) {
		t.Fatalf("current run %v, want pending", runs.GetCurrent())
	}

	// A schedule enabled at midnight gets its first image the same day:
	// its slot is past the window's opening guard, so still ahead. Stop
	// just before day 6's slot, after six images (days 0 to 5).
	const days = 6
	if at := slot.At(windowOf(t, scheduler.DailySchedule(), start)); !at.After(start) {
		t.Fatalf("today's slot %v is not ahead of midnight", at)
	}
	en.runUntil(slot.At(windowOf(t, scheduler.DailySchedule(), start.AddDate(0, 0, days))).Add(-time.Minute))

	imgs := en.created(srv.ID)
	perDate := map[string]int{}
	for _, img := range imgs {
		date := img.CreatedAt.UTC().Format("2006-01-02")
		perDate[date]++
		w := windowOf(t, scheduler.DailySchedule(), img.CreatedAt)
		wantName := fmt.Sprintf("daily-web-1-%010d", img.CreatedAt.Unix())
		if img.Name != wantName {
			t.Errorf("image %s named %q, want %q", img.ID, img.Name, wantName)
		}
		for k, v := range map[string]string{
			cloud.CreatedByKey:        cloud.CreatedByValue,
			cloud.RunIDKey:            scheduler.RunID(srv.ID, w),
			scheduler.PropertyAttempt: "1",
			cloud.InstanceUUIDKey:     srv.ID,
		} {
			if img.Properties[k] != v {
				t.Errorf("image %s property %s = %q, want %q", img.ID, k, img.Properties[k], v)
			}
		}
	}
	for d := range days {
		date := start.AddDate(0, 0, d).Format("2006-01-02")
		if perDate[date] != 1 {
			t.Errorf("%s has %d images, want exactly 1 (all: %v)", date, perDate[date], perDate)
		}
	}
	if len(perDate) != days {
		t.Errorf("images on %d dates, want %d: %v", len(perDate), days, perDate)
	}

	live := en.live(srv.ID)
	if len(live) != 3 {
		t.Fatalf("%d live images, want the retention's 3", len(live))
	}
	for k, img := range live {
		if want := imgs[len(imgs)-1-k]; img.ID != want.ID || img.Status != cloud.ImageActive {
			t.Errorf("live image %d is %s (%s), want the newest %s active", k, img.ID, img.Status, want.ID)
		}
	}
	for _, img := range imgs[:len(imgs)-3] {
		if !en.deleted(img.ID) {
			t.Errorf("old image %s not deleted", img.ID)
		}
	}

	runs = en.runs(srv.ID)
	if len(runs.GetHistory()) != days {
		t.Fatalf("history has %d runs, want %d", len(runs.GetHistory()), days)
	}
	for _, h := range runs.GetHistory() {
		if scheduler.State(h.GetState()) != scheduler.StateDone || h.GetActiveAt() <= h.GetCreatedAt() || h.GetAttempts() != 1 {
			t.Errorf("history entry %v: want done after one attempt, active after created", h)
		}
	}
	if got := runs.GetHistory()[0].GetDeleted(); len(got) != 1 || got[0] != imgs[len(imgs)-4].ID {
		t.Errorf("newest run deleted %v, want the fourth newest image %s", got, imgs[len(imgs)-4].ID)
	}
	if runs.GetObservedDuration() <= 0 {
		t.Errorf("observed duration %d not recorded", runs.GetObservedDuration())
	}
	if s := strconv.Itoa(int(runs.GetMissedWindows())); s != "0" {
		t.Errorf("missed windows %s, want 0", s)
	}
}
