package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/imgsched/imgsched/cloud/sim"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

const (
	daily   = imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED
	slot10h = "daily :00 10,10,10,10,10,10,10"
)

// onlyRun returns the single finished run of the history.
func onlyRun(t *testing.T, runs *storagev1.ScheduleRuns) *storagev1.RunResult {
	t.Helper()
	if len(runs.GetHistory()) != 1 {
		t.Fatalf("history has %d runs, want 1: %v", len(runs.GetHistory()), runs.GetHistory())
	}
	return runs.GetHistory()[0]
}

func TestAFailedAttemptIsRetriedAnHourLater(t *testing.T) {
	for _, tc := range []struct {
		name         string
		fault        sim.Faults
		wantReason   string
		wantLeftover bool
	}{
		{name: "Nova answers 409", fault: sim.Faults{ConflictRate: 1}, wantReason: "409"},
		{name: "the image goes to error", fault: sim.Faults{ImageErrorRate: 1}, wantReason: "error", wantLeftover: true},
		{name: "the image is killed", fault: sim.Faults{ImageKilledRate: 1}, wantReason: "killed", wantLeftover: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			en := newEnv(t, nil)
			srv := en.addServer("db-1", "compute-1")
			en.seedSlot(srv.ID, 2, daily, slot10h)
			if err := en.cloud.SetFaults(tc.fault); err != nil {
				t.Fatal(err)
			}
			en.runUntil(at(0, 10, 30))
			cur := en.runs(srv.ID).GetCurrent()
			if scheduler.State(cur.GetState()) != scheduler.StateRetryWait || len(cur.GetAttempts()) != 1 ||
				!strings.Contains(cur.GetAttempts()[0].GetReason(), tc.wantReason) {
				t.Fatalf("after the first attempt: %v, want retry-wait with reason containing %q", cur, tc.wantReason)
			}
			if got := time.Unix(0, cur.GetNextAt()).UTC(); !got.Equal(at(0, 11, 0)) {
				t.Errorf("next attempt at %v, want an hour after the first", got)
			}
			failed := en.created(srv.ID)
			if tc.wantLeftover != (len(failed) == 1) {
				t.Fatalf("images after the failed attempt: %v", failed)
			}
			if tc.wantLeftover && !en.deleted(failed[0].ID) {
				t.Errorf("leftover image %s of the failed attempt not deleted", failed[0].ID)
			}
			if err := en.cloud.SetFaults(sim.Faults{}); err != nil {
				t.Fatal(err)
			}
			en.runUntil(at(0, 23, 0))
			h := onlyRun(t, en.runs(srv.ID))
			if scheduler.State(h.GetState()) != scheduler.StateDone || h.GetAttempts() != 2 {
				t.Fatalf("run %v, want done at the second attempt", h)
			}
			live := en.live(srv.ID)
			if len(live) != 1 || live[0].Properties[scheduler.PropertyAttempt] != "2" || !live[0].CreatedAt.Equal(at(0, 11, 0)) {
				t.Fatalf("live images %v, want the second attempt's image of 11:00", live)
			}
		})
	}
}

func TestAttemptsStopAtThreeAndNeverPassTheWindow(t *testing.T) {
	for _, tc := range []struct {
		name         string
		slot         string
		wantAttempts []time.Time
	}{
		{name: "three attempts an hour apart", slot: slot10h, wantAttempts: []time.Time{at(0, 10, 0), at(0, 11, 0), at(0, 12, 0)}},
		{name: "a slot late in the day gets only the attempts before midnight",
			slot: "daily :30 22,22,22,22,22,22,22", wantAttempts: []time.Time{at(0, 22, 30), at(0, 23, 30)}},
		{name: "no retry starts in the guard band before midnight",
			slot: "daily :56 22,22,22,22,22,22,22", wantAttempts: []time.Time{at(0, 22, 56)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			en := newEnv(t, nil)
			srv := en.addServer("busy-1", "compute-1")
			en.seedSlot(srv.ID, 2, daily, tc.slot)
			if err := en.cloud.SetServerBusy(srv.ID, "rebuilding"); err != nil {
				t.Fatal(err)
			}
			last := len(tc.wantAttempts) - 1
			for k, want := range tc.wantAttempts[:last] {
				en.runUntil(want.Add(time.Minute))
				cur := en.runs(srv.ID).GetCurrent()
				if len(cur.GetAttempts()) != k+1 || !time.Unix(0, cur.GetAttempts()[k].GetAt()).Equal(want) {
					t.Fatalf("at %v the run is %v, want attempt %d made at %v", want.Add(time.Minute), cur, k+1, want)
				}
			}
			// The last attempt ends the window at once: no attempt is due
			// before its end.
			en.runUntil(tc.wantAttempts[last].Add(time.Minute))
			runs := en.runs(srv.ID)
			h := onlyRun(t, runs)
			if scheduler.State(h.GetState()) != scheduler.StateFailed || int(h.GetAttempts()) != len(tc.wantAttempts) ||
				!strings.Contains(h.GetReason(), "rebuilding") {
				t.Fatalf("run %v, want failed after %d attempts, saying the server is rebuilding", h, len(tc.wantAttempts))
			}
			if next := time.Unix(0, runs.GetCurrent().GetNextAt()).UTC(); next.Before(at(1, 0, 0)) {
				t.Errorf("next run due %v, inside the failed window", next)
			}
			if len(en.created(srv.ID)) != 0 {
				t.Errorf("images were created of a busy server")
			}
			if runs.GetMissedWindows() != 1 {
				t.Errorf("missed windows %d, want 1", runs.GetMissedWindows())
			}
		})
	}
}

func TestNoAttemptStartsInsideTheGuardBandBeforeTheWindowEnds(t *testing.T) {
	// A slot stored at 23:58 (by an older planner, say): with the default
	// five-minute guard the attempt due then is not made, since an image
	// asked for so late could be stamped into the next day's window.
	en := newEnv(t, nil)
	if en.cfg.Retry.Guard != 5*time.Minute {
		t.Fatalf("default guard %v, want 5m", en.cfg.Retry.Guard)
	}
	srv := en.addServer("late-1", "compute-1")
	en.seedSlot(srv.ID, 2, daily, "daily :58 23,23,23,23,23,23,23")
	en.runUntil(at(0, 23, 59))
	h := onlyRun(t, en.runs(srv.ID))
	if scheduler.State(h.GetState()) != scheduler.StateFailed || h.GetAttempts() != 0 || !strings.Contains(h.GetReason(), "guard") {
		t.Fatalf("run %v, want failed without an attempt, naming the guard", h)
	}
	if imgs := en.created(srv.ID); len(imgs) != 0 {
		t.Fatalf("images %v were asked for inside the guard band", imgs)
	}
}
