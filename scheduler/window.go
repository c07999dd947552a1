package scheduler

import (
	"fmt"
	"strings"
	"time"
)

// Kind says how often a schedule takes an image.
type Kind uint8

const (
	// Daily schedules take one image per UTC date.
	Daily Kind = iota + 1
	// Weekly schedules take one image per week, in a 48-hour window
	// centred on the requested day.
	Weekly
)

// String returns "daily" or "weekly", the prefix of image names.
func (k Kind) String() string {
	switch k {
	case Daily:
		return "daily"
	case Weekly:
		return "weekly"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Schedule is what a tenant asked for, as far as timing goes: daily, or
// weekly on a day. Day is meaningful only for Weekly and is Sunday for
// Daily, so that two equal schedules compare equal with ==.
type Schedule struct {
	Kind Kind
	Day  time.Weekday
}

// DailySchedule returns the daily schedule.
func DailySchedule() Schedule { return Schedule{Kind: Daily} }

// WeeklySchedule returns the weekly schedule for day.
func WeeklySchedule(day time.Weekday) Schedule { return Schedule{Kind: Weekly, Day: day} }

// Validate reports whether s is a daily schedule or a weekly one on a
// real weekday.
func (s Schedule) Validate() error {
	switch {
	case s.Kind == Daily && s.Day == time.Sunday:
		return nil
	case s.Kind == Weekly && s.Day >= time.Sunday && s.Day <= time.Saturday:
		return nil
	}
	return fmt.Errorf("%w: kind %v day %d", ErrInvalidSchedule, s.Kind, int(s.Day))
}

// String returns "daily" or "weekly SATURDAY".
func (s Schedule) String() string {
	if s.Kind == Weekly {
		return "weekly " + strings.ToUpper(s.Day.String())
	}
	return s.Kind.String()
}

// weeklyLead is how far before the requested day a weekly window opens,
// and weeklyLength how long it lasts (SPEC §2: 12:00 UTC the day before
// to 12:00 UTC the day after).
const (
	weeklyLead   = 12 * time.Hour
	weeklyLength = 48 * time.Hour
	day          = 24 * time.Hour
	week         = 7 * day
)

// Window is the half-open interval [Start, End) in which one image of a
// schedule is due. Start and End are in UTC.
//
// Invariant: a daily window is one UTC date, [00:00, 24:00); a weekly
// window for day D is [12:00 of D−1, 12:00 of D+1). Consecutive windows of
// one schedule never overlap.
type Window struct {
	Schedule Schedule
	Start    time.Time
	End      time.Time
}

// Contains reports whether t lies in [w.Start, w.End).
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.Start) && t.Before(w.End)
}

// Next returns the window that follows w.
func (w Window) Next() Window {
	return w.shift(1)
}

// Prev returns the window that precedes w.
func (w Window) Prev() Window {
	return w.shift(-1)
}

func (w Window) shift(n int) Window {
	step := day
	if w.Schedule.Kind == Weekly {
		step = week
	}
	d := time.Duration(n) * step
	return Window{Schedule: w.Schedule, Start: w.Start.Add(d), End: w.End.Add(d)}
}

// ID returns a stable identifier of the window, used in run identifiers:
// the UTC date for a daily window ("2026-11-22"), the date of the
// requested day and its abbreviation for a weekly one ("2026-11-21-SAT").
// Two windows of the same schedule have the same ID only if they are the
// same window.
func (w Window) ID() string {
	if w.Schedule.Kind == Weekly {
		d := w.Start.Add(weeklyLead)
		return d.Format("2006-01-02") + "-" + strings.ToUpper(d.Weekday().String()[:3])
	}
	return w.Start.Format("2006-01-02")
}

// String returns the ID and the interval, for logs.
func (w Window) String() string {
	return fmt.Sprintf("%s [%s, %s)", w.ID(), w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
}

// WindowAt returns the window of s that contains t, and false when t lies
// between two weekly windows.
func (s Schedule) WindowAt(t time.Time) (Window, bool) {
	w := s.NextWindow(t)
	return w, w.Contains(t)
}

// NextWindow returns the window of s that contains t or, when t lies
// between two weekly windows, the next one to open.
func (s Schedule) NextWindow(t time.Time) Window {
	t = t.UTC()
	date := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if s.Kind != Weekly {
		return Window{Schedule: s, Start: date, End: date.Add(day)}
	}
	// The requested day on or after the date, then step back while the
	// previous window still contains t.
	ahead := (int(s.Day) - int(date.Weekday()) + 7) % 7
	target := date.AddDate(0, 0, ahead)
	w := Window{Schedule: s, Start: target.Add(-weeklyLead), End: target.Add(weeklyLength - weeklyLead)}
	if p := w.Prev(); t.Before(p.End) {
		return p
	}
	return w
}

// RunID returns the identifier of the run that takes serverID's image in
// window w. It is deterministic, so that any node computes the same one
// and finds an image it already asked for instead of asking twice.
func RunID(serverID string, w Window) string {
	return serverID + "/" + w.Schedule.Kind.String() + "/" + w.ID()
}
