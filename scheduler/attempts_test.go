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
		{"a retry just before the window's end is made", at("2026-11-22T22:59:00Z"), []scheduler.Attempt{failed("2026-11-22T22:59:00Z")}, "2026-11-22T23:59:00Z"},
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
