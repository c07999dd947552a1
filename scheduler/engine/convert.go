package engine

import (
	"time"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

// timing returns the scheduler's view of a stored schedule: daily without
// a day, weekly on it otherwise (DayOfWeek 1..7 is SUNDAY..SATURDAY).
func timing(sc *storagev1.Schedule) scheduler.Schedule {
	d := sc.GetDayOfWeek()
	if d == imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED {
		return scheduler.DailySchedule()
	}
	return scheduler.WeeklySchedule(time.Weekday(d - 1))
}

// nanos stores t as Unix nanoseconds, the zero time as 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is nanos' inverse, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// dayOf stores a schedule as the record's day: 0 daily, 1..7 weekly.
func dayOf(s scheduler.Schedule) uint32 {
	if s.Kind == scheduler.Weekly {
		return uint32(s.Day) + 1
	}
	return 0
}

func scheduleOfDay(d uint32) scheduler.Schedule {
	if d == 0 {
		return scheduler.DailySchedule()
	}
	return scheduler.WeeklySchedule(time.Weekday(d - 1))
}

// toRecord converts a run to its stored form.
func toRecord(r scheduler.Run) *storagev1.Run {
	out := &storagev1.Run{
		Id: r.ID, ServerName: r.ServerName,
		Day: dayOf(r.Window.Schedule), WindowStart: nanos(r.Window.Start), WindowEnd: nanos(r.Window.End),
		Slot: nanos(r.Slot), MaxAttempts: uint32(r.Policy.Attempts), RetryInterval: int64(r.Policy.Interval), RetryGuard: int64(r.Policy.Guard),
		State: uint32(r.State), NextAt: nanos(r.NextAt), ImageId: r.ImageID, ImageName: r.ImageName,
		CreatedAt: nanos(r.CreatedAt), ActiveAt: nanos(r.ActiveAt), Leftover: r.Leftover, Listed: r.Listed,
		Deleting: r.Deleting, Outcome: uint32(r.Outcome), Reason: r.Reason,
	}
	for _, a := range r.Attempts {
		out.Attempts = append(out.Attempts, &storagev1.Attempt{At: nanos(a.At), Outcome: uint32(a.Outcome), Reason: a.Reason})
	}
	return out
}

// fromRecord converts a stored run back; serverID is the record's key.
func fromRecord(serverID string, p *storagev1.Run) scheduler.Run {
	r := scheduler.Run{
		ID: p.GetId(), ServerID: serverID, ServerName: p.GetServerName(),
		Window: scheduler.Window{Schedule: scheduleOfDay(p.GetDay()), Start: fromNanos(p.GetWindowStart()), End: fromNanos(p.GetWindowEnd())},
		Slot:   fromNanos(p.GetSlot()),
		Policy: scheduler.RetryPolicy{Attempts: int(p.GetMaxAttempts()), Interval: time.Duration(p.GetRetryInterval()), Guard: time.Duration(p.GetRetryGuard())},
		State:  scheduler.State(p.GetState()), NextAt: fromNanos(p.GetNextAt()),
		ImageID: p.GetImageId(), ImageName: p.GetImageName(),
		CreatedAt: fromNanos(p.GetCreatedAt()), ActiveAt: fromNanos(p.GetActiveAt()),
		Leftover: p.GetLeftover(), Listed: p.GetListed(), Deleting: p.GetDeleting(),
		Outcome: scheduler.Outcome(p.GetOutcome()), Reason: p.GetReason(),
	}
	for _, a := range p.GetAttempts() {
		r.Attempts = append(r.Attempts, scheduler.Attempt{At: fromNanos(a.GetAt()), Outcome: scheduler.Outcome(a.GetOutcome()), Reason: a.GetReason()})
	}
	return r
}

// toResult converts a finished run to a history entry.
func toResult(res scheduler.Result, deleted []string) *storagev1.RunResult {
	return &storagev1.RunResult{
		RunId: res.RunID, WindowId: res.WindowID, State: uint32(res.State), Attempts: uint32(res.Attempts),
		ImageId: res.ImageID, CreatedAt: nanos(res.CreatedAt), ActiveAt: nanos(res.ActiveAt),
		Outcome: uint32(res.Outcome), Reason: res.Reason, Deleted: deleted,
	}
}
