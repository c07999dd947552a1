package api

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// setting is what a client asks to store for one server.
type setting struct {
	tenantID, serverID string
	retention          uint32
	day                imgschedv1.DayOfWeek
	trust              delegation
}

// merge computes the record to store for s given the current one. Fields the
// service owns (creation time, state, and whatever else later versions keep
// per schedule) survive a change; a server that came back from SERVER_GONE
// is enabled again, since the caller has just seen it exist.
func (s setting) merge(now time.Time, current *storagev1.Schedule) *storagev1.Schedule {
	var next *storagev1.Schedule
	if current == nil {
		next = &storagev1.Schedule{CreateTime: now.UnixNano(), State: imgschedv1.ScheduleState_ENABLED}
	} else {
		next = proto.Clone(current).(*storagev1.Schedule)
		if next.State == imgschedv1.ScheduleState_SERVER_GONE {
			next.State = imgschedv1.ScheduleState_ENABLED
		}
	}
	s.trust.apply(next, s.tenantID)
	next.TenantId = s.tenantID
	next.ServerId = s.serverID
	next.Retention = s.retention
	next.DayOfWeek = s.day
	next.UpdateTime = now.UnixNano()
	return next
}

func kindOf(d imgschedv1.DayOfWeek) imgschedv1.ScheduleKind {
	if d == imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED {
		return imgschedv1.ScheduleKind_DAILY
	}
	return imgschedv1.ScheduleKind_WEEKLY
}

// toAPI translates the schedule record. next_run_time and missed_windows
// come from the runs record and are added by describe.
func toAPI(r *storagev1.Schedule) *imgschedv1.Schedule {
	return &imgschedv1.Schedule{
		TenantId:   r.GetTenantId(),
		ServerId:   r.GetServerId(),
		Retention:  r.GetRetention(),
		DayOfWeek:  r.GetDayOfWeek(),
		Kind:       kindOf(r.GetDayOfWeek()),
		State:      r.GetState(),
		CreateTime: timestamppb.New(time.Unix(0, r.GetCreateTime())),
		UpdateTime: timestamppb.New(time.Unix(0, r.GetUpdateTime())),
		// Set by the engine when Nova no longer knows the server.
		ServerGoneTime: timestampOrNil(r.GetServerGoneAt()),
	}
}

// timeOrNil converts t, the zero time meaning "not set".
func timeOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// timestampOrNil converts Unix nanoseconds, 0 meaning "not set".
func timestampOrNil(ns int64) *timestamppb.Timestamp {
	if ns == 0 {
		return nil
	}
	return timestamppb.New(time.Unix(0, ns))
}

func toImageSchedule(r *storagev1.Schedule) *imgschedv1.ImageScheduleResponse {
	is := &imgschedv1.ImageSchedule{Retention: r.GetRetention()}
	if d := r.GetDayOfWeek(); d != imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED {
		name := d.String()
		is.DayOfWeek = &name
	}
	return &imgschedv1.ImageScheduleResponse{ImageSchedule: is}
}
