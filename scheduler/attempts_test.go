package scheduler_test

import (
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

func TestRetryPolicyNext(t *testing.T) {
	p := scheduler.DefaultRetryPolicy()
	w := scheduler.DailySchedule().NextWindow(at("2026-11-22T10:00:00Z"))
	slot := at("2026-11-22T10:17:00Z")
	failed := func(s string) scheduler.Attempt {
		return scheduler.Attempt{At: at(s), Outcome: scheduler.OutcomeFailed, Reason: "409"}
	}
	tests := []struct {
		name string
		slot time.Time
		prev []scheduler.Attempt
		want string // "" when the window is done
	}{
		{"the first attempt is due at the slot", slot, nil, "2026-11-22T10:17:00Z"},
		{"a failed attempt is retried an hour after it started", slot, []scheduler.Attempt{failed("2026-11-22T10:17:00Z")}, "2026-11-22T11:17:00Z"},
		{"a late attempt pushes the next one an hour after it", slot, []scheduler.Attempt{failed("2026-11-22T10:17:00Z"), failed("2026-11-22T11:40:00Z")}, "2026-11-22T12:40:00Z"},
		{"a wait for the previous image counts as an attempt", slot, []scheduler.Attempt{{At: slot, Outcome: scheduler.OutcomeWaited}}, "2026-11-22T11:17:00Z"},
		{"there is no fourth attempt", slot, []scheduler.Attempt{failed("2026-11-22T10:17:00Z"), failed("2026-11-22T11:17:00Z"), failed("2026-11-22T12:17:00Z")}, ""},
		{"a success ends the window", slot, []scheduler.Attempt{{At: slot, Outcome: scheduler.OutcomeSucceeded}}, ""},
		{"a retry that would fall at the window's end is not made", at("2026-11-22T23:00:00Z"), []scheduler.Attempt{failed("2026-11-22T23:00:00Z")}, ""},
		{"a retry just before the window's guard band is made", at("2026-11-22T22:54:00Z"), []scheduler.Attempt{failed("2026-11-22T22:54:00Z")}, "2026-11-22T23:54:00Z"},
		{"a retry inside the guard band at the window's end is not made", at("2026-11-22T22:55:00Z"), []scheduler.Attempt{failed("2026-11-22T22:55:00Z")}, ""},
		{"a retry due before the window opens waits past its opening guard", at("2026-11-22T00:00:00Z"), []scheduler.Attempt{{At: at("2026-11-21T23:00:00Z"), Outcome: scheduler.OutcomeFailed}}, "2026-11-22T00:05:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := p.Next(w, tt.slot, tt.prev)
			if tt.want == "" {
				if ok {
					t.Fatalf("Next = %v, want the window done", got)
				}
				return
			}
			if !ok || !got.Equal(at(tt.want)) {
				t.Fatalf("Next = %v, %v; want %s", got, ok, tt.want)
			}
			if !w.Contains(got) {
				t.Fatalf("Next = %v is outside %v", got, w)
			}
		})
	}
}

func TestNoAttemptStartsInsideTheWindowsGuardBands(t *testing.T) {
	w := scheduler.DailySchedule().NextWindow(at("2026-11-22T10:00:00Z"))
	policy := scheduler.DefaultRetryPolicy()
	if policy.Guard != 5*time.Minute {
		t.Fatalf("default guard %v, want 5m", policy.Guard)
	}
	tests := []struct {
		name  string
		slot  string
		tick  string
		state scheduler.State
	}{
		{"an attempt due at 23:58 with a 5-minute guard does not start", "2026-11-22T23:58:00Z", "2026-11-22T23:58:00Z", scheduler.StateRetention},
		{"an attempt due at 23:54 starts", "2026-11-22T23:54:00Z", "2026-11-22T23:54:00Z", scheduler.StateCreating},
		{"a late tick inside the end guard ends the window", "2026-11-22T23:30:00Z", "2026-11-22T23:56:00Z", scheduler.StateRetention},
		{"a slot at 00:02 waits for the opening guard", "2026-11-22T00:02:00Z", "2026-11-22T00:02:00Z", scheduler.StatePending},
		{"a slot at 00:02 starts at 00:05", "2026-11-22T00:02:00Z", "2026-11-22T00:05:00Z", scheduler.StateCreating},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := scheduler.NewRun(server, "web-1", w, at(tt.slot), policy)
			next, _, err := r.Step(scheduler.Event{Kind: scheduler.EventTick, At: at(tt.tick)})
			if err != nil {
				t.Fatal(err)
			}
			if next.State != tt.state {
				t.Fatalf("state %v (reason %q), want %v", next.State, next.Reason, tt.state)
			}
			if tt.state == scheduler.StateRetention && (next.Outcome != scheduler.OutcomeFailed || len(next.Attempts) != 0) {
				t.Fatalf("outcome %v after %d attempts, want failed without any", next.Outcome, len(next.Attempts))
			}
			if tt.state == scheduler.StatePending {
				acts := next.Reconcile()
				if len(acts) != 1 || acts[0].Kind != scheduler.ActionWaitUntil || !acts[0].At.Equal(at("2026-11-22T00:05:00Z")) {
					t.Fatalf("a run inside the opening guard asks for %v, want to wait until 00:05", acts)
				}
			}
		})
	}
}
