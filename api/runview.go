package api

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/imgsched/imgsched/cluster"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

// This file reads the engine's record of a server's runs
// (storagev1.ScheduleRuns) for the API: run states and outcomes, window ids,
// and when the next image is planned. The API never writes that record.

// maxListedAttempts bounds the attempts shown for a run of the history,
// whose record keeps only their count.
const maxListedAttempts = 16

// runsOf returns the engine's record of serverID's runs, empty while the
// engine has not written one.
func (s *Server) runsOf(ctx context.Context, serverID string) (*storagev1.ScheduleRuns, error) {
	runs, err := s.store.GetRuns(ctx, serverID)
	switch {
	case errors.Is(err, cluster.ErrNotFound):
		return &storagev1.ScheduleRuns{}, nil
	case err != nil:
		return nil, storeUnavailable(err)
	}
	return runs, nil
}

// describe is the API's schedule with what the runs record adds: the
// missed windows and the next planned image.
func (s *Server) describe(rec *storagev1.Schedule, runs *storagev1.ScheduleRuns) *imgschedv1.Schedule {
	out := toAPI(rec)
	out.MissedWindows = runs.GetMissedWindows()
	if at, ok := s.nextRun(rec, runs, s.clock.Now()); ok {
		out.NextRunTime = timestamppb.New(at)
	}
	return out
}

// nextRun returns when the engine plans the schedule's next image: the due
// time of the current run while it waits for its slot or for a retry, else
// the slot's next instant, skipping a window that already has its image
// (taken early by RunNow). There is none while the schedule is paused or
// its server gone, before the engine placed the slot, or while the slot is
// still that of a schedule the tenant has since changed.
func (s *Server) nextRun(rec *storagev1.Schedule, runs *storagev1.ScheduleRuns, now time.Time) (time.Time, bool) {
	if rec.GetState() != imgschedv1.ScheduleState_ENABLED || runs.GetSlot() == "" {
		return time.Time{}, false
	}
	timing, ok := timingOf(rec.GetDayOfWeek())
	if !ok {
		return time.Time{}, false
	}
	slot, err := scheduler.ParseSlot(runs.GetSlot())
	if err != nil {
		s.log.Warn("the runs record holds a slot that does not parse", zap.String("server_id", rec.GetServerId()), zap.Error(err))
		return time.Time{}, false
	}
	if slot.Schedule() != timing {
		return time.Time{}, false
	}
	if cur := runs.GetCurrent(); cur.GetNextAt() != 0 && waitingState(cur.GetState()) {
		if w, ok := windowOf(cur); ok && w.Schedule == timing {
			return time.Unix(0, cur.GetNextAt()).UTC(), true
		}
	}
	w, at := slot.Next(now)
	if _, taken := imageOf(runs, w.ID()); taken {
		at = slot.At(w.Next())
	}
	return at, true
}

// waitingState reports whether a run in state waits for NextAt.
func waitingState(state uint32) bool {
	switch state {
	case uint32(scheduler.StatePending), uint32(scheduler.StateRetryWait), uint32(scheduler.StateWaiting):
		return true
	}
	return false
}

// imageOf returns the image that window windowID of the runs record
// already has, if any.
func imageOf(runs *storagev1.ScheduleRuns, windowID string) (string, bool) {
	if cur := runs.GetCurrent(); cur != nil && cur.GetOutcome() == uint32(scheduler.OutcomeSucceeded) {
		if w, ok := windowOf(cur); ok && w.ID() == windowID {
			return cur.GetImageId(), true
		}
	}
	for _, h := range runs.GetHistory() {
		if h.GetWindowId() == windowID && h.GetOutcome() == uint32(scheduler.OutcomeSucceeded) {
			return h.GetImageId(), true
		}
	}
	return "", false
}

// inFlight returns the current run when it is asking for, or saving, an
// image of window windowID.
func inFlight(runs *storagev1.ScheduleRuns, windowID string) (*storagev1.Run, bool) {
	cur := runs.GetCurrent()
	if cur == nil {
		return nil, false
	}
	switch cur.GetState() {
	case uint32(scheduler.StateCreating), uint32(scheduler.StateSaving):
		if w, ok := windowOf(cur); ok && w.ID() == windowID {
			return cur, true
		}
	}
	return nil, false
}

// timingOf returns the scheduler's schedule for a day of week (unset is
// daily); the runs record numbers days the same way.
func timingOf(d imgschedv1.DayOfWeek) (scheduler.Schedule, bool) {
	switch {
	case d == imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED:
		return scheduler.DailySchedule(), true
	case d >= imgschedv1.DayOfWeek_SUNDAY && d <= imgschedv1.DayOfWeek_SATURDAY:
		return scheduler.WeeklySchedule(time.Weekday(d - imgschedv1.DayOfWeek_SUNDAY)), true
	}
	return scheduler.Schedule{}, false
}

// windowOf returns the window a stored run is for.
func windowOf(r *storagev1.Run) (scheduler.Window, bool) {
	if r.GetDay() > uint32(imgschedv1.DayOfWeek_SATURDAY) || r.GetWindowStart() == 0 {
		return scheduler.Window{}, false
	}
	timing, ok := timingOf(imgschedv1.DayOfWeek(r.GetDay()))
	if !ok {
		return scheduler.Window{}, false
	}
	return scheduler.Window{Schedule: timing, Start: time.Unix(0, r.GetWindowStart()).UTC(), End: time.Unix(0, r.GetWindowEnd()).UTC()}, true
}

func runState(v uint32) imgschedv1.RunState {
	switch v {
	case uint32(scheduler.StatePending):
		return imgschedv1.RunState_PENDING
	case uint32(scheduler.StateCreating):
		return imgschedv1.RunState_CREATING
	case uint32(scheduler.StateSaving):
		return imgschedv1.RunState_SAVING
	case uint32(scheduler.StateActive):
		return imgschedv1.RunState_IMAGE_ACTIVE
	case uint32(scheduler.StateRetention):
		return imgschedv1.RunState_RETENTION
	case uint32(scheduler.StateDone):
		return imgschedv1.RunState_DONE
	case uint32(scheduler.StateFailed):
		return imgschedv1.RunState_FAILED
	case uint32(scheduler.StateRetryWait):
		return imgschedv1.RunState_RETRY_WAIT
	case uint32(scheduler.StateWaiting):
		return imgschedv1.RunState_WAITING
	case uint32(scheduler.StateSkipped):
		return imgschedv1.RunState_SKIPPED
	}
	return imgschedv1.RunState_RUN_STATE_UNSPECIFIED
}

func runOutcome(v uint32) imgschedv1.RunOutcome {
	switch v {
	case uint32(scheduler.OutcomeSucceeded):
		return imgschedv1.RunOutcome_SUCCEEDED
	case uint32(scheduler.OutcomeFailed):
		return imgschedv1.RunOutcome_ATTEMPT_FAILED
	case uint32(scheduler.OutcomeWaited):
		return imgschedv1.RunOutcome_WAITED
	case uint32(scheduler.OutcomeServerGone):
		return imgschedv1.RunOutcome_SERVER_DELETED
	}
	return imgschedv1.RunOutcome_RUN_OUTCOME_UNSPECIFIED
}

func retentionVerdict(v scheduler.Verdict) imgschedv1.RetentionVerdict {
	switch v {
	case scheduler.VerdictKeep:
		return imgschedv1.RetentionVerdict_KEEP
	case scheduler.VerdictDelete:
		return imgschedv1.RetentionVerdict_DELETE
	case scheduler.VerdictIgnoreNotOurs:
		return imgschedv1.RetentionVerdict_IGNORE_NOT_SCHEDULED
	case scheduler.VerdictIgnoreOtherServer:
		return imgschedv1.RetentionVerdict_IGNORE_OTHER_SERVER
	case scheduler.VerdictIgnoreNotActive:
		return imgschedv1.RetentionVerdict_IGNORE_NOT_ACTIVE
	}
	return imgschedv1.RetentionVerdict_RETENTION_VERDICT_UNSPECIFIED
}

// currentRun translates the run under way (or due next). Images retention
// deleted are known only once the run is finished, in the history.
func currentRun(r *storagev1.Run) *imgschedv1.Run {
	out := &imgschedv1.Run{
		RunId:           r.GetId(),
		WindowStart:     timestampOrNil(r.GetWindowStart()),
		WindowEnd:       timestampOrNil(r.GetWindowEnd()),
		SlotTime:        timestampOrNil(r.GetSlot()),
		State:           runState(r.GetState()),
		NextAttemptTime: timestampOrNil(r.GetNextAt()),
		ImageId:         r.GetImageId(),
		ImageName:       r.GetImageName(),
		ImageCreateTime: timestampOrNil(r.GetCreatedAt()),
		ImageActiveTime: timestampOrNil(r.GetActiveAt()),
		Outcome:         runOutcome(r.GetOutcome()),
		Reason:          r.GetReason(),
	}
	if w, ok := windowOf(r); ok {
		out.WindowId = w.ID()
	}
	for _, a := range r.GetAttempts() {
		out.Attempts = append(out.Attempts, &imgschedv1.RunAttempt{Time: timestampOrNil(a.GetAt()), Outcome: runOutcome(a.GetOutcome()), Reason: a.GetReason()})
	}
	return out
}

// finishedRun translates a run of the history. Its record keeps the
// number of attempts but not each one, so each is listed without time or
// reason; the last attempt of a run that got its image is the one that
// succeeded, which is all that is certain about them.
func finishedRun(r *storagev1.RunResult) *imgschedv1.Run {
	out := &imgschedv1.Run{
		RunId:           r.GetRunId(),
		WindowId:        r.GetWindowId(),
		State:           runState(r.GetState()),
		ImageId:         r.GetImageId(),
		ImageCreateTime: timestampOrNil(r.GetCreatedAt()),
		ImageActiveTime: timestampOrNil(r.GetActiveAt()),
		Outcome:         runOutcome(r.GetOutcome()),
		Reason:          r.GetReason(),
		DeletedImages:   r.GetDeleted(),
	}
	n := min(int(r.GetAttempts()), maxListedAttempts)
	for range n {
		out.Attempts = append(out.Attempts, &imgschedv1.RunAttempt{})
	}
	if n > 0 && out.Outcome == imgschedv1.RunOutcome_SUCCEEDED {
		out.Attempts[n-1].Outcome = imgschedv1.RunOutcome_SUCCEEDED
	}
	return out
}
