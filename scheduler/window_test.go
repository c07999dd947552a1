package scheduler_test

import (
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWindows(t *testing.T) {
	sat := scheduler.WeeklySchedule(time.Saturday) // 2026-11-21 is a Saturday
	sun := scheduler.WeeklySchedule(time.Sunday)
	tests := []struct {
		name      string
		schedule  scheduler.Schedule
		at        string
		in        bool
		start, id string
	}{
		{"a daily window starts at midnight UTC", scheduler.DailySchedule(), "2026-11-22T00:00:00Z", true, "2026-11-22T00:00:00Z", "2026-11-22"},
		{"a daily window ends just before the next midnight", scheduler.DailySchedule(), "2026-11-22T23:59:59Z", true, "2026-11-22T00:00:00Z", "2026-11-22"},
		{"a daily window is a UTC date whatever the zone of the instant", scheduler.DailySchedule(), "2026-11-22T01:00:00+05:00", true, "2026-11-21T00:00:00Z", "2026-11-21"},
		{"a weekly window is not open at 11:59:59 the day before", sat, "2026-11-20T11:59:59Z", false, "2026-11-20T12:00:00Z", "2026-11-21-SAT"},
		{"a weekly window opens at 12:00:00 the day before", sat, "2026-11-20T12:00:00Z", true, "2026-11-20T12:00:00Z", "2026-11-21-SAT"},
		{"a weekly window is open on the requested day", sat, "2026-11-21T18:00:00Z", true, "2026-11-20T12:00:00Z", "2026-11-21-SAT"},
		{"a weekly window is still open at 11:59:59 the day after", sat, "2026-11-22T11:59:59Z", true, "2026-11-20T12:00:00Z", "2026-11-21-SAT"},
		{"a weekly window is closed at 12:00:00 the day after and the next one is a week later", sat, "2026-11-22T12:00:00Z", false, "2026-11-27T12:00:00Z", "2026-11-28-SAT"},
		{"a Sunday window opens on Saturday noon of the previous week", sun, "2026-11-21T12:00:00Z", true, "2026-11-21T12:00:00Z", "2026-11-22-SUN"},
		{"a Sunday window still holds Monday morning", sun, "2026-11-23T11:59:59Z", true, "2026-11-21T12:00:00Z", "2026-11-22-SUN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, in := tt.schedule.WindowAt(at(tt.at))
			if in != tt.in {
				t.Errorf("WindowAt(%s) in = %v, want %v", tt.at, in, tt.in)
			}
			if !w.Start.Equal(at(tt.start)) || w.End.Sub(w.Start) != map[scheduler.Kind]time.Duration{scheduler.Daily: 24 * time.Hour, scheduler.Weekly: 48 * time.Hour}[tt.schedule.Kind] {
				t.Errorf("window %v, want start %s", w, tt.start)
			}
			if w.ID() != tt.id {
				t.Errorf("ID() = %q, want %q", w.ID(), tt.id)
			}
		})
	}
}

func TestConsecutiveWindowsAreAdjacentForDailyAndAWeekApartForWeekly(t *testing.T) {
	d := scheduler.DailySchedule().NextWindow(at("2026-11-22T10:00:00Z"))
	if n := d.Next(); !n.Start.Equal(d.End) || n.Prev() != d {
		t.Fatalf("daily Next %v does not follow %v", n, d)
	}
	w := scheduler.WeeklySchedule(time.Monday).NextWindow(at("2026-11-22T10:00:00Z"))
	if n := w.Next(); n.Start.Sub(w.Start) != 7*24*time.Hour || n.ID() == w.ID() {
		t.Fatalf("weekly Next %v of %v", n, w)
	}
}

func TestRunIDIsTheSameOnEveryNodeAndDiffersPerWindow(t *testing.T) {
	w := scheduler.DailySchedule().NextWindow(at("2026-11-22T10:00:00Z"))
	a, b := scheduler.RunID("srv-1", w), scheduler.RunID("srv-1", w)
	if a != b || a != "srv-1/daily/2026-11-22" {
		t.Fatalf("RunID = %q, %q", a, b)
	}
	if scheduler.RunID("srv-1", w.Next()) == a || scheduler.RunID("srv-2", w) == a {
		t.Fatal("RunID collides across windows or servers")
	}
}

func TestScheduleValidation(t *testing.T) {
	tests := []struct {
		name string
		s    scheduler.Schedule
		ok   bool
	}{
		{"a daily schedule is valid", scheduler.DailySchedule(), true},
		{"a weekly schedule on Saturday is valid", scheduler.WeeklySchedule(time.Saturday), true},
		{"a weekly schedule on day 7 is invalid", scheduler.WeeklySchedule(7), false},
		{"a daily schedule with a day is invalid", scheduler.Schedule{Kind: scheduler.Daily, Day: time.Monday}, false},
		{"a schedule without a kind is invalid", scheduler.Schedule{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
