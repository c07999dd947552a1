package scheduler_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
	"github.com/imgsched/imgsched/scheduler/schedulertest"
)

// runner feeds events to a run on a fake clock and checks each step.
type runner struct {
	t   *testing.T
	c   *schedulertest.Clock
	run scheduler.Run
}

func newRunner(t *testing.T, slot string) *runner {
	t.Helper()
	s := at(slot)
	w := scheduler.DailySchedule().NextWindow(s)
	return &runner{t: t, c: schedulertest.NewClock(w.Start), run: scheduler.NewRun(server, "web-1", w, s, scheduler.DefaultRetryPolicy())}
}

// step applies ev (stamped with the clock's time) and expects state.
func (r *runner) step(ev scheduler.Event, state scheduler.State) []scheduler.Action {
	r.t.Helper()
	if ev.At.IsZero() {
		ev.At = r.c.Now()
	}
	next, acts, err := r.run.Step(ev)
	if err != nil {
		r.t.Fatalf("Step(%v) in %v: %v", ev.Kind, r.run.State, err)
	}
	if next.State != state {
		r.t.Fatalf("Step(%v) from %v went to %v, want %v (reason %q)", ev.Kind, r.run.State, next.State, state, next.Reason)
	}
	r.run = next
	return acts
}

// tickAtNext advances the clock to the run's next attempt and ticks.
func (r *runner) tickAtNext(state scheduler.State) []scheduler.Action {
	r.t.Helper()
	r.c.AdvanceTo(r.run.NextAt)
	return r.step(scheduler.Event{Kind: scheduler.EventTick}, state)
}

func kinds(acts []scheduler.Action) []scheduler.ActionKind {
	var ks []scheduler.ActionKind
	for _, a := range acts {
		ks = append(ks, a.Kind)
	}
	return ks
}

func wantActions(t *testing.T, acts []scheduler.Action, want ...scheduler.ActionKind) {
	t.Helper()
	got := kinds(acts)
	if len(got) != len(want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("actions %v, want %v", got, want)
		}
	}
}

func TestARunTakesTheImageAppliesRetentionAndRecordsTheResult(t *testing.T) {
	r := newRunner(t, "2026-11-22T10:17:00Z")
	acts := r.step(scheduler.Event{Kind: scheduler.EventTick}, scheduler.StatePending)
	if wantActions(t, acts, scheduler.ActionWaitUntil); !acts[0].At.Equal(at("2026-11-22T10:17:00Z")) {
		t.Fatalf("waits until %v, want the slot", acts[0].At)
	}
	acts = r.tickAtNext(scheduler.StateCreating)
	wantActions(t, acts, scheduler.ActionCreateImage)
	if a := acts[0]; a.Name != "daily-web-1-1795342620" || a.Attempt != 1 || a.Metadata[scheduler.PropertyRunID] != r.run.ID {
		t.Fatalf("create action %+v", a)
	}
	acts = r.step(scheduler.Event{Kind: scheduler.EventImageCreated, ImageID: "img-new", CreatedAt: r.c.Now()}, scheduler.StateSaving)
	wantActions(t, acts, scheduler.ActionPollImage)
	r.c.Advance(20 * time.Minute)
	r.step(scheduler.Event{Kind: scheduler.EventTick}, scheduler.StateSaving)
	acts = r.step(scheduler.Event{Kind: scheduler.EventImageActive}, scheduler.StateActive)
	wantActions(t, acts, scheduler.ActionListImages)
	newest := scheduled("img-new", server, 30)
	acts = r.step(scheduler.Event{Kind: scheduler.EventImagesListed, Keep: 2, Images: []scheduler.Image{scheduled("old", server, 1), scheduled("mid", server, 2), newest}}, scheduler.StateRetention)
	wantActions(t, acts, scheduler.ActionDeleteImage)
	if acts[0].ImageID != "old" {
		t.Fatalf("deletes %s, want old", acts[0].ImageID)
	}
	acts = r.step(scheduler.Event{Kind: scheduler.EventImageDeleted, ImageID: "old"}, scheduler.StateDone)
	wantActions(t, acts)
	res := r.run.Result()
	if res.Attempts != 1 || res.ImageID != "img-new" || res.Outcome != scheduler.OutcomeSucceeded ||
		!res.CreatedAt.Equal(at("2026-11-22T10:17:00Z")) || !res.ActiveAt.Equal(at("2026-11-22T10:37:00Z")) || res.WindowID != "2026-11-22" {
		t.Fatalf("result %+v", res)
	}
}

func TestFailedAttemptsAreRetriedHourlyThreeTimesWithLeftoversDeleted(t *testing.T) {
	r := newRunner(t, "2026-11-22T10:00:00Z")
	r.tickAtNext(scheduler.StateCreating)
	r.step(scheduler.Event{Kind: scheduler.EventCreateFailed, Reason: "409 server busy"}, scheduler.StateRetryWait)
	if !r.run.NextAt.Equal(at("2026-11-22T11:00:00Z")) {
		t.Fatalf("second attempt at %v, want an hour after the first", r.run.NextAt)
	}
	r.c.Advance(59 * time.Minute)
	r.step(scheduler.Event{Kind: scheduler.EventTick}, scheduler.StateRetryWait)
	r.tickAtNext(scheduler.StateCreating)
	r.step(scheduler.Event{Kind: scheduler.EventImageCreated, ImageID: "img-2", CreatedAt: r.c.Now()}, scheduler.StateSaving)
	acts := r.step(scheduler.Event{Kind: scheduler.EventImageFailed, Reason: "image killed"}, scheduler.StateRetryWait)
	wantActions(t, acts, scheduler.ActionDeleteImage, scheduler.ActionWaitUntil)
	if acts[0].ImageID != "img-2" {
		t.Fatalf("deletes %q, want the failed attempt's own image", acts[0].ImageID)
	}
	r.step(scheduler.Event{Kind: scheduler.EventImageDeleted, ImageID: "img-2"}, scheduler.StateRetryWait)
	acts = r.tickAtNext(scheduler.StateCreating)
	if acts[0].Attempt != 3 || acts[0].Metadata[scheduler.PropertyAttempt] != "3" {
		t.Fatalf("third attempt action %+v", acts[0])
	}
	acts = r.step(scheduler.Event{Kind: scheduler.EventCreateFailed, Reason: "server in ERROR"}, scheduler.StateRetention)
	wantActions(t, acts, scheduler.ActionListImages)
	r.step(scheduler.Event{Kind: scheduler.EventImagesListed, Keep: 3, Images: []scheduler.Image{scheduled("a", server, 1)}}, scheduler.StateFailed)
	res := r.run.Result()
	if res.Attempts != 3 || res.Outcome != scheduler.OutcomeFailed || !strings.Contains(res.Reason, "server in ERROR") {
		t.Fatalf("result %+v", res)
	}
	if _, _, err := r.run.Step(scheduler.Event{Kind: scheduler.EventTick, At: r.c.Now().Add(time.Hour)}); !errors.Is(err, scheduler.ErrUnexpectedEvent) {
		t.Fatalf("a finished run accepted a tick: %v", err)
	}
}

func TestRetriesNeverGoPastTheWindow(t *testing.T) {
	r := newRunner(t, "2026-11-22T22:30:00Z")
	r.tickAtNext(scheduler.StateCreating)
	r.step(scheduler.Event{Kind: scheduler.EventCreateFailed, Reason: "409"}, scheduler.StateRetryWait)
	r.tickAtNext(scheduler.StateCreating)
	r.step(scheduler.Event{Kind: scheduler.EventCreateFailed, Reason: "409"}, scheduler.StateRetention)
	if n := len(r.run.Attempts); n != 2 {
		t.Fatalf("%d attempts, want 2: a third would start after midnight", n)
	}
	for _, a := range r.run.Attempts {
		if !r.run.Window.Contains(a.At) {
			t.Fatalf("attempt at %v outside %v", a.At, r.run.Window)
		}
	}
}

func TestAWindowMissedEntirelyEndsInFailureAndStillAppliesRetention(t *testing.T) {
	r := newRunner(t, "2026-11-22T10:00:00Z")
	r.c.AdvanceTo(r.run.Window.End)
	acts := r.step(scheduler.Event{Kind: scheduler.EventTick}, scheduler.StateRetention)
	wantActions(t, acts, scheduler.ActionListImages)
	if len(r.run.Attempts) != 0 || r.run.Outcome != scheduler.OutcomeFailed {
		t.Fatalf("run %+v", r.run)
	}
}

func TestARunWaitsWhileThePreviousImageIsSavingAndCountsItAsAnAttempt(t *testing.T) {
	r := newRunner(t, "2026-11-22T10:00:00Z")
	r.tickAtNext(scheduler.StateCreating)
	acts := r.step(scheduler.Event{Kind: scheduler.EventPreviousSaving, Reason: "image img-yesterday is saving"}, scheduler.StateWaiting)
	wantActions(t, acts, scheduler.ActionWaitUntil)
	a := r.run.Attempts[0]
	if a.Outcome != scheduler.OutcomeWaited || !strings.Contains(a.Reason, "img-yesterday") {
		t.Fatalf("attempt %+v", a)
	}
	r.tickAtNext(scheduler.StateCreating)
	r.step(scheduler.Event{Kind: scheduler.EventImageCreated, ImageID: "img-today", CreatedAt: r.c.Now()}, scheduler.StateSaving)
	if len(r.run.Attempts) != 2 {
		t.Fatalf("%d attempts, want 2", len(r.run.Attempts))
	}
}

func TestAGoneServerStopsTheRunAndTouchesNoImage(t *testing.T) {
	for _, from := range []string{"pending", "creating", "saving"} {
		t.Run("from "+from, func(t *testing.T) {
			r := newRunner(t, "2026-11-22T10:00:00Z")
			if from != "pending" {
				r.tickAtNext(scheduler.StateCreating)
			}
			if from == "saving" {
				r.step(scheduler.Event{Kind: scheduler.EventImageCreated, ImageID: "img", CreatedAt: r.c.Now()}, scheduler.StateSaving)
			}
			acts := r.step(scheduler.Event{Kind: scheduler.EventServerGone}, scheduler.StateSkipped)
			wantActions(t, acts)
			if r.run.Outcome != scheduler.OutcomeServerGone {
				t.Fatalf("outcome %v", r.run.Outcome)
			}
		})
	}
}

func TestANodeTakingOverResumesFromTheStoredState(t *testing.T) {
	r := newRunner(t, "2026-11-22T10:00:00Z")
	r.tickAtNext(scheduler.StateCreating)
	created := r.run.Reconcile()
	wantActions(t, created, scheduler.ActionCreateImage)
	r.step(scheduler.Event{Kind: scheduler.EventImageCreated, ImageID: "img", CreatedAt: r.c.Now()}, scheduler.StateSaving)
	stored := r.run // what etcd holds when the node dies

	again := stored.Reconcile()
	wantActions(t, again, scheduler.ActionPollImage)
	if again[0].ImageID != "img" {
		t.Fatalf("the new owner polls %q, want the image already asked for", again[0].ImageID)
	}
	if created[0].Metadata[scheduler.PropertyRunID] != r.run.ID {
		t.Fatal("the create action does not carry the run id the new owner looks for")
	}
	// Replaying the same observations gives the same run.
	a, _, _ := stored.Step(scheduler.Event{Kind: scheduler.EventImageActive, At: r.c.Now()})
	b, _, _ := stored.Step(scheduler.Event{Kind: scheduler.EventImageActive, At: r.c.Now()})
	if a.State != b.State || a.ActiveAt != b.ActiveAt || len(a.Attempts) != len(b.Attempts) || stored.State != scheduler.StateSaving {
		t.Fatal("Step is not a pure function of the run and the event")
	}
}

func TestAStaleEventLeavesTheRunUnchanged(t *testing.T) {
	r := newRunner(t, "2026-11-22T10:00:00Z")
	before := r.run
	got, acts, err := r.run.Step(scheduler.Event{Kind: scheduler.EventImageActive, At: r.c.Now()})
	if !errors.Is(err, scheduler.ErrUnexpectedEvent) || acts != nil || got.State != before.State {
		t.Fatalf("Step = %v, %v, %v", got.State, acts, err)
	}
}

func TestAChangedRetentionAppliesAtTheNextCompletedImage(t *testing.T) {
	images := []scheduler.Image{scheduled("a", server, 1), scheduled("b", server, 2), scheduled("c", server, 3), scheduled("d", server, 4)}
	for _, tt := range []struct {
		name    string
		keep    int
		deletes int
	}{
		{"the retention read at listing time is used when raised", 4, 0},
		{"the retention read at listing time is used when lowered", 1, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(t, "2026-11-22T10:00:00Z")
			r.tickAtNext(scheduler.StateCreating)
			r.step(scheduler.Event{Kind: scheduler.EventImageCreated, ImageID: "d", CreatedAt: r.c.Now()}, scheduler.StateSaving)
			r.step(scheduler.Event{Kind: scheduler.EventImageActive}, scheduler.StateActive)
			want := scheduler.StateRetention
			if tt.deletes == 0 {
				want = scheduler.StateDone
			}
			acts := r.step(scheduler.Event{Kind: scheduler.EventImagesListed, Keep: tt.keep, Images: images}, want)
			if len(acts) != tt.deletes {
				t.Fatalf("%d deletions, want %d", len(acts), tt.deletes)
			}
		})
	}
}
