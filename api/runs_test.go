package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
	"github.com/imgsched/imgsched/scheduler/schedulertest"
	"github.com/imgsched/imgsched/sharding"
)

// runsNow is the API clock of the runs tests: Sunday 2026-11-22 08:00 UTC.
var runsNow = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// runsHarness is the API on a fake clock, with the etcd client to write
// the engine's records the way the engine does.
type runsHarness struct {
	*harness
	etcd  *clientv3.Client
	clock *schedulertest.Clock
}

func newRunsHarness(t *testing.T) *runsHarness {
	t.Helper()
	store, etcd := openStore(t, "api-runs-test", 16)
	fc := newFakeCloud()
	clock := schedulertest.NewClock(runsNow)
	return &runsHarness{harness: serve(t, store, Config{Tokens: fc, Servers: fc, Clock: clock}), etcd: etcd, clock: clock}
}

// putRuns stores the engine's record of serverID at its documented key,
// {prefix}/r/{shard}/{server}.
func (h *runsHarness) putRuns(t *testing.T, serverID string, runs *storagev1.ScheduleRuns) {
	t.Helper()
	b, err := proto.Marshal(runs)
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("%s/r/%04d/%s", h.store.Prefix(), sharding.Shard(serverID, h.store.Shards()), serverID)
	if _, err := h.etcd.Put(context.Background(), key, string(b)); err != nil {
		t.Fatal(err)
	}
}

// enable sets a schedule of a tenant-a server (day unset: daily) and lets
// edit change its record the way the engine would (state, server_gone_at).
func (h *runsHarness) enable(t *testing.T, serverID string, day imgschedv1.DayOfWeek, edit func(*storagev1.Schedule)) {
	t.Helper()
	if _, err := h.native.SetSchedule(withToken("tok-a"), &imgschedv1.SetScheduleRequest{ServerId: serverID, Retention: 3, DayOfWeek: day}); err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return
	}
	if _, err := h.store.Update(context.Background(), serverID, func(cur *storagev1.Schedule) (*storagev1.Schedule, error) {
		next := proto.Clone(cur).(*storagev1.Schedule)
		edit(next)
		return next, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (h *runsHarness) stored(t *testing.T, serverID string) *storagev1.Schedule {
	t.Helper()
	rec, err := h.store.Get(context.Background(), serverID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func at(hour, minute int) time.Time {
	return time.Date(2026, 11, 22, hour, minute, 0, 0, time.UTC)
}

func ns(t time.Time) int64 { return t.UnixNano() }

// goneAt marks a schedule the way the engine does when Nova no longer
// knows its server.
func goneAt(t time.Time) func(*storagev1.Schedule) {
	return func(s *storagev1.Schedule) { s.State, s.ServerGoneAt = imgschedv1.ScheduleState_SERVER_GONE, ns(t) }
}

// today is Sunday 2026-11-22's daily window, as the engine stores it.
func today(state scheduler.State) *storagev1.Run {
	return &storagev1.Run{
		Id: "run-today", ServerName: "web-1", Day: 0,
		WindowStart: ns(at(0, 0)), WindowEnd: ns(at(24, 0)), Slot: ns(at(7, 17)),
		MaxAttempts: 3, RetryInterval: int64(time.Hour), State: uint32(state),
	}
}

func succeeded(r *storagev1.Run, image string) *storagev1.Run {
	r.ImageId, r.Outcome = image, uint32(scheduler.OutcomeSucceeded)
	r.Attempts = []*storagev1.Attempt{{At: r.Slot, Outcome: uint32(scheduler.OutcomeSucceeded)}}
	return r
}

func wantProto(t *testing.T, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		m := protojson.MarshalOptions{Multiline: true}
		t.Fatalf("got\n%s\nwant\n%s", m.Format(got), m.Format(want))
	}
}

func TestListRunsMapsTheEnginesRecord(t *testing.T) {
	h := newRunsHarness(t)
	for _, tc := range []struct {
		name   string
		server string
		day    imgschedv1.DayOfWeek
		runs   *storagev1.ScheduleRuns
		want   *imgschedv1.ListRunsResponse
	}{
		{
			name: "a schedule the engine has not planned yet has no runs", server: "srv-a1",
			want: &imgschedv1.ListRunsResponse{},
		},
		{
			name: "a daily run waiting for its retry shows its attempts, and the history its results", server: "srv-a2",
			runs: &storagev1.ScheduleRuns{
				Slot: "daily :17 7,7,7,7,7,7,7",
				Current: func() *storagev1.Run {
					r := today(scheduler.StateRetryWait)
					r.Attempts = []*storagev1.Attempt{{At: ns(at(7, 17)), Outcome: uint32(scheduler.OutcomeFailed), Reason: "Nova answered 409: server busy"}}
					r.NextAt, r.Reason = ns(at(8, 17)), "Nova answered 409: server busy"
					return r
				}(),
				History: []*storagev1.RunResult{
					{RunId: "run-sat", WindowId: "2026-11-21", State: uint32(scheduler.StateDone), Attempts: 2, ImageId: "img-sat",
						CreatedAt: ns(at(7, 17).AddDate(0, 0, -1)), ActiveAt: ns(at(7, 30).AddDate(0, 0, -1)),
						Outcome: uint32(scheduler.OutcomeSucceeded), Deleted: []string{"img-old-1", "img-old-2"}},
					{RunId: "run-fri", WindowId: "2026-11-20", State: uint32(scheduler.StateFailed), Attempts: 3,
						Outcome: uint32(scheduler.OutcomeFailed), Reason: "server in ERROR"},
				},
				MissedWindows: 0,
			},
			want: &imgschedv1.ListRunsResponse{
				Slot: "daily :17 7,7,7,7,7,7,7",
				Current: &imgschedv1.Run{
					RunId: "run-today", WindowId: "2026-11-22",
					WindowStart: timestamppb.New(at(0, 0)), WindowEnd: timestamppb.New(at(24, 0)), SlotTime: timestamppb.New(at(7, 17)),
					State:           imgschedv1.RunState_RETRY_WAIT,
					Attempts:        []*imgschedv1.RunAttempt{{Time: timestamppb.New(at(7, 17)), Outcome: imgschedv1.RunOutcome_ATTEMPT_FAILED, Reason: "Nova answered 409: server busy"}},
					NextAttemptTime: timestamppb.New(at(8, 17)),
					Reason:          "Nova answered 409: server busy",
				},
				History: []*imgschedv1.Run{
					{RunId: "run-sat", WindowId: "2026-11-21", State: imgschedv1.RunState_DONE,
						Attempts: []*imgschedv1.RunAttempt{{}, {Outcome: imgschedv1.RunOutcome_SUCCEEDED}}, ImageId: "img-sat",
						ImageCreateTime: timestamppb.New(at(7, 17).AddDate(0, 0, -1)), ImageActiveTime: timestamppb.New(at(7, 30).AddDate(0, 0, -1)),
						Outcome: imgschedv1.RunOutcome_SUCCEEDED, DeletedImages: []string{"img-old-1", "img-old-2"}},
					{RunId: "run-fri", WindowId: "2026-11-20", State: imgschedv1.RunState_FAILED,
						Attempts: []*imgschedv1.RunAttempt{{}, {}, {}}, Outcome: imgschedv1.RunOutcome_ATTEMPT_FAILED, Reason: "server in ERROR"},
				},
			},
		},
		{
			name: "a weekly run names its window after the requested day and reports missed windows", server: "srv-a3",
			day: imgschedv1.DayOfWeek_SUNDAY,
			runs: &storagev1.ScheduleRuns{
				Slot: "weekly SUNDAY +20:05",
				Current: &storagev1.Run{Id: "run-sun", Day: uint32(imgschedv1.DayOfWeek_SUNDAY),
					WindowStart: ns(at(12, 0).AddDate(0, 0, -1)), WindowEnd: ns(at(12, 0).AddDate(0, 0, 1)), Slot: ns(at(8, 5)),
					State: uint32(scheduler.StateSaving), ImageId: "img-sun", ImageName: "weekly-web-3-1795335900", CreatedAt: ns(at(8, 5)),
					Attempts: []*storagev1.Attempt{{At: ns(at(8, 5))}}},
				MissedWindows: 2,
			},
			want: &imgschedv1.ListRunsResponse{
				Slot: "weekly SUNDAY +20:05",
				Current: &imgschedv1.Run{RunId: "run-sun", WindowId: "2026-11-22-SUN",
					WindowStart: timestamppb.New(at(12, 0).AddDate(0, 0, -1)), WindowEnd: timestamppb.New(at(12, 0).AddDate(0, 0, 1)),
					SlotTime: timestamppb.New(at(8, 5)), State: imgschedv1.RunState_SAVING,
					Attempts: []*imgschedv1.RunAttempt{{Time: timestamppb.New(at(8, 5))}},
					ImageId:  "img-sun", ImageName: "weekly-web-3-1795335900", ImageCreateTime: timestamppb.New(at(8, 5))},
				MissedWindows: 2,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.enable(t, tc.server, tc.day, nil)
			if tc.runs != nil {
				h.putRuns(t, tc.server, tc.runs)
			}
			got, err := h.runs.ListRuns(withToken("tok-a"), &imgschedv1.ListRunsRequest{ServerId: tc.server})
			if err != nil {
				t.Fatal(err)
			}
			wantProto(t, got, tc.want)
			admin, err := h.runs.ListRuns(withToken("tok-admin"), &imgschedv1.ListRunsRequest{ServerId: tc.server})
			if err != nil {
				t.Fatal(err)
			}
			wantProto(t, admin, tc.want)
		})
	}
	r := h.do(t, "GET", "/v1/servers/srv-a2/runs", "tok-a", nil)
	if r.status != 200 || !strings.Contains(r.body, `"state":"RETRY_WAIT"`) || !strings.Contains(r.body, `"window_id":"2026-11-21"`) {
		t.Fatalf("GET runs over REST: %d %s", r.status, r.body)
	}
	_, err := h.runs.ListRuns(withToken("tok-b"), &imgschedv1.ListRunsRequest{ServerId: "srv-a2"})
	wantCode(t, err, codes.NotFound, "", "Image schedule does not exist for server srv-a2")
	_, err = h.runs.ListRuns(withToken("tok-a"), &imgschedv1.ListRunsRequest{ServerId: "srv-a9"})
	wantCode(t, err, codes.NotFound, "", "Image schedule does not exist for server srv-a9")
}

func TestGetScheduleTellsTheNextImageMissedWindowsAndAGoneServer(t *testing.T) {
	h := newRunsHarness(t)
	gone := at(3, 0)
	for _, tc := range []struct {
		name     string
		server   string
		day      imgschedv1.DayOfWeek
		edit     func(*storagev1.Schedule)
		runs     *storagev1.ScheduleRuns
		next     time.Time // zero: none
		missed   uint32
		goneTime time.Time // zero: none
	}{
		{name: "a schedule the engine has not placed plans nothing yet", server: "srv-a1"},
		{name: "a slot still ahead today is the next image", server: "srv-a2",
			runs: &storagev1.ScheduleRuns{Slot: "daily :17 13,13,13,13,13,13,13"}, next: at(13, 17)},
		{name: "a run waiting for its retry is due at the retry", server: "srv-a3",
			runs: &storagev1.ScheduleRuns{Slot: "daily :17 7,7,7,7,7,7,7", Current: func() *storagev1.Run {
				r := today(scheduler.StateRetryWait)
				r.NextAt = ns(at(8, 17))
				return r
			}()}, next: at(8, 17)},
		{name: "a window that got its image early skips to the next window", server: "srv-a4",
			runs: &storagev1.ScheduleRuns{Slot: "daily :17 13,13,13,13,13,13,13", Current: func() *storagev1.Run {
				r := succeeded(today(scheduler.StateDone), "img-early")
				r.Slot = ns(at(13, 17))
				return r
			}()}, next: at(13, 17).AddDate(0, 0, 1)},
		{name: "a weekly slot is next in its coming window", server: "srv-a5", day: imgschedv1.DayOfWeek_WEDNESDAY,
			runs: &storagev1.ScheduleRuns{Slot: "weekly WEDNESDAY +21:30"}, next: time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)},
		{name: "a slot of the schedule's former kind plans nothing until the engine places it again", server: "srv-a6",
			day: imgschedv1.DayOfWeek_FRIDAY, runs: &storagev1.ScheduleRuns{Slot: "daily :17 13,13,13,13,13,13,13"}},
		{name: "a paused schedule plans nothing but still counts its missed windows", server: "srv-a7",
			edit: func(s *storagev1.Schedule) { s.State = imgschedv1.ScheduleState_PAUSED },
			runs: &storagev1.ScheduleRuns{Slot: "daily :17 13,13,13,13,13,13,13", MissedWindows: 3}, missed: 3},
		{name: "a schedule whose server is gone says since when and plans nothing", server: "srv-a8",
			edit: goneAt(gone),
			runs: &storagev1.ScheduleRuns{Slot: "daily :17 13,13,13,13,13,13,13", MissedWindows: 1}, missed: 1, goneTime: gone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.enable(t, tc.server, tc.day, tc.edit)
			if tc.runs != nil {
				h.putRuns(t, tc.server, tc.runs)
			}
			got, err := h.native.GetSchedule(withToken("tok-a"), &imgschedv1.GetScheduleRequest{ServerId: tc.server})
			if err != nil {
				t.Fatal(err)
			}
			var want *timestamppb.Timestamp
			if !tc.next.IsZero() {
				want = timestamppb.New(tc.next)
			}
			if !proto.Equal(got.NextRunTime, want) {
				t.Errorf("next_run_time %v, want %v", got.NextRunTime.AsTime(), tc.next)
			}
			if got.MissedWindows != tc.missed {
				t.Errorf("missed_windows %d, want %d", got.MissedWindows, tc.missed)
			}
			var wantGone *timestamppb.Timestamp
			if !tc.goneTime.IsZero() {
				wantGone = timestamppb.New(tc.goneTime)
			}
			if !proto.Equal(got.ServerGoneTime, wantGone) {
				t.Errorf("server_gone_time %v, want %v", got.ServerGoneTime, wantGone)
			}
		})
	}
}

func TestRunNowAsksForTheWindowsImageOnlyWhenItHasNone(t *testing.T) {
	h := newRunsHarness(t)
	for _, tc := range []struct {
		name    string
		server  string
		token   string
		day     imgschedv1.DayOfWeek
		edit    func(*storagev1.Schedule)
		runs    *storagev1.ScheduleRuns
		code    codes.Code
		message string
	}{
		{name: "a schedule the engine has not planned yet accepts it", server: "srv-a1"},
		{name: "a window whose run used up its attempts may be tried again", server: "srv-a2",
			runs: &storagev1.ScheduleRuns{Current: func() *storagev1.Run {
				r := today(scheduler.StateFailed)
				r.Outcome = uint32(scheduler.OutcomeFailed)
				return r
			}()}},
		{name: "yesterday's image does not count for today's window", server: "srv-a3",
			runs: &storagev1.ScheduleRuns{History: []*storagev1.RunResult{{WindowId: "2026-11-21", State: uint32(scheduler.StateDone), ImageId: "img-sat", Outcome: uint32(scheduler.OutcomeSucceeded)}}}},
		{name: "an admin may ask for another tenant's image", server: "srv-a4", token: "tok-admin"},
		{name: "a paused schedule is refused", server: "srv-a5",
			edit: func(s *storagev1.Schedule) { s.State = imgschedv1.ScheduleState_PAUSED },
			code: codes.FailedPrecondition, message: "The schedule of server srv-a5 is paused: resume it before asking for an image"},
		{name: "a schedule whose server is gone is refused", server: "srv-a6",
			edit: goneAt(at(3, 0)),
			code: codes.FailedPrecondition, message: "The server srv-a6 of this schedule was found deleted at 2026-11-22T03:00:00Z"},
		{name: "a window whose current run has its image is refused", server: "srv-a7",
			runs: &storagev1.ScheduleRuns{Current: succeeded(today(scheduler.StateDone), "img-1")},
			code: codes.FailedPrecondition, message: "Window 2026-11-22 of server srv-a7 already has its image img-1: a schedule takes one image per window"},
		{name: "a window whose image is already in the history is refused", server: "srv-a8",
			runs: &storagev1.ScheduleRuns{
				Current: &storagev1.Run{Id: "run-mon", WindowStart: ns(at(24, 0)), WindowEnd: ns(at(48, 0)), State: uint32(scheduler.StatePending)},
				History: []*storagev1.RunResult{{WindowId: "2026-11-22", State: uint32(scheduler.StateDone), ImageId: "img-2", Outcome: uint32(scheduler.OutcomeSucceeded)}},
			},
			code: codes.FailedPrecondition, message: "Window 2026-11-22 of server srv-a8 already has its image img-2"},
		{name: "a window whose image is being saved is refused", server: "srv-a9",
			runs: &storagev1.ScheduleRuns{Current: func() *storagev1.Run {
				r := today(scheduler.StateSaving)
				r.ImageId = "img-3"
				return r
			}()},
			code: codes.FailedPrecondition, message: "An image of server srv-a9 for window 2026-11-22 is being taken now (SAVING)"},
		{name: "a weekly schedule between its windows is refused", server: "srv-a10", day: imgschedv1.DayOfWeek_WEDNESDAY,
			code: codes.FailedPrecondition, message: "No window of the weekly WEDNESDAY schedule of server srv-a10 is open now: the next opens at 2026-11-24T12:00:00Z"},
		{name: "another tenant's schedule is not found", server: "srv-a11", token: "tok-b",
			code: codes.NotFound, message: "Image schedule does not exist for server srv-a11"},
		{name: "a server id with a slash is invalid", server: "a/b",
			code: codes.InvalidArgument, message: `Invalid server_id "a/b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.code != codes.InvalidArgument {
				h.enable(t, tc.server, tc.day, tc.edit)
			}
			if tc.runs != nil {
				h.putRuns(t, tc.server, tc.runs)
			}
			token := tc.token
			if token == "" {
				token = "tok-a"
			}
			h.clock.Advance(time.Second)
			got, err := h.runs.RunNow(withToken(token), &imgschedv1.RunNowRequest{ServerId: tc.server})
			if tc.code != codes.OK {
				field := ""
				if tc.code == codes.InvalidArgument {
					field = "server_id"
				}
				wantCode(t, err, tc.code, field, tc.message)
				if tc.code != codes.InvalidArgument {
					if rec := h.stored(t, tc.server); rec.GetRunNowAt() != 0 {
						t.Fatalf("a refused RunNow stored run_now_at %d", rec.GetRunNowAt())
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.GetServerId() != tc.server || got.GetState() != imgschedv1.ScheduleState_ENABLED {
				t.Fatalf("RunNow returned %v", got)
			}
			if rec := h.stored(t, tc.server); rec.GetRunNowAt() != h.clock.Now().UnixNano() {
				t.Fatalf("run_now_at %d, want the API's clock %d", rec.GetRunNowAt(), h.clock.Now().UnixNano())
			}
		})
	}
	h.enable(t, "srv-a12", 0, nil)
	if r := h.do(t, "POST", "/v1/servers/srv-a12/schedule:runNow", "tok-a", nil); r.status != 200 || !strings.Contains(r.body, `"server_id":"srv-a12"`) {
		t.Fatalf("POST :runNow: %d %s", r.status, r.body)
	}
	if h.stored(t, "srv-a12").GetRunNowAt() == 0 {
		t.Fatal("POST :runNow stored no run_now_at")
	}
}

func TestPauseAndResumeAreIdempotentAndKeepToTheTenant(t *testing.T) {
	h := newRunsHarness(t)
	a, b, admin := withToken("tok-a"), withToken("tok-b"), withToken("tok-admin")
	h.enable(t, "srv-a1", 0, nil)
	h.putRuns(t, "srv-a1", &storagev1.ScheduleRuns{Slot: "daily :17 13,13,13,13,13,13,13"})
	if _, err := h.runs.RunNow(a, &imgschedv1.RunNowRequest{ServerId: "srv-a1"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		ctx     context.Context
		call    func(context.Context, *imgschedv1.PauseScheduleRequest) (*imgschedv1.Schedule, error)
		state   imgschedv1.ScheduleState
		written bool // the record changed, stamped with the API's clock
		next    bool // next_run_time is set
	}{
		{"the tenant pauses its schedule", a, h.pause, imgschedv1.ScheduleState_PAUSED, true, false},
		{"pausing again changes nothing", a, h.pause, imgschedv1.ScheduleState_PAUSED, false, false},
		{"an admin resumes it", admin, h.resume, imgschedv1.ScheduleState_ENABLED, true, true},
		{"resuming again changes nothing", a, h.resume, imgschedv1.ScheduleState_ENABLED, false, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := h.stored(t, "srv-a1")
			h.clock.Advance(time.Minute)
			got, err := st.call(st.ctx, &imgschedv1.PauseScheduleRequest{ServerId: "srv-a1"})
			if err != nil {
				t.Fatal(err)
			}
			after := h.stored(t, "srv-a1")
			if got.GetState() != st.state || after.GetState() != st.state {
				t.Fatalf("returned %v, stored %v; want %v", got.GetState(), after.GetState(), st.state)
			}
			wantUpdate := before.GetUpdateTime()
			if st.written {
				wantUpdate = h.clock.Now().UnixNano()
			}
			if after.GetUpdateTime() != wantUpdate {
				t.Fatalf("update_time %d, want %d", after.GetUpdateTime(), wantUpdate)
			}
			if (got.GetNextRunTime() != nil) != st.next {
				t.Fatalf("next_run_time %v, want set: %v", got.GetNextRunTime(), st.next)
			}
		})
	}
	if rec := h.stored(t, "srv-a1"); rec.GetRunNowAt() != 0 {
		t.Fatalf("pausing kept the pending run-now %d", rec.GetRunNowAt())
	}
	_, err := h.runs.PauseSchedule(b, &imgschedv1.PauseScheduleRequest{ServerId: "srv-a1"})
	wantCode(t, err, codes.NotFound, "", "Image schedule does not exist for server srv-a1")
	if rec := h.stored(t, "srv-a1"); rec.GetState() != imgschedv1.ScheduleState_ENABLED {
		t.Fatalf("another tenant paused the schedule: %v", rec.GetState())
	}
	_, err = h.runs.ResumeSchedule(a, &imgschedv1.ResumeScheduleRequest{ServerId: "srv-a2"})
	wantCode(t, err, codes.NotFound, "", "Image schedule does not exist for server srv-a2")

	h.enable(t, "srv-a3", 0, goneAt(at(3, 0)))
	_, err = h.runs.ResumeSchedule(a, &imgschedv1.ResumeScheduleRequest{ServerId: "srv-a3"})
	wantCode(t, err, codes.FailedPrecondition, "", "The server srv-a3 of this schedule was found deleted at 2026-11-22T03:00:00Z: the schedule takes no images and is removed after a grace period; if the server exists, enable the schedule again")
	_, err = h.runs.PauseSchedule(a, &imgschedv1.PauseScheduleRequest{ServerId: "srv-a3"})
	wantCode(t, err, codes.FailedPrecondition, "", "The server srv-a3 of this schedule was found deleted")
	if rec := h.stored(t, "srv-a3"); rec.GetState() != imgschedv1.ScheduleState_SERVER_GONE {
		t.Fatalf("a refused call changed the state to %v", rec.GetState())
	}

	for _, path := range []string{"/v1/servers/srv-a1/schedule:pause", "/v1/servers/srv-a1/schedule:resume"} {
		r := h.do(t, "POST", path, "tok-a", nil)
		var s struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal([]byte(r.body), &s); err != nil || r.status != 200 || s.State == "" {
			t.Fatalf("POST %s: %d %s", path, r.status, r.body)
		}
	}
}

func (h *runsHarness) pause(ctx context.Context, req *imgschedv1.PauseScheduleRequest) (*imgschedv1.Schedule, error) {
	return h.runs.PauseSchedule(ctx, req)
}

func (h *runsHarness) resume(ctx context.Context, req *imgschedv1.PauseScheduleRequest) (*imgschedv1.Schedule, error) {
	return h.runs.ResumeSchedule(ctx, &imgschedv1.ResumeScheduleRequest{ServerId: req.GetServerId()})
}

func TestRunCallsRejectBadInputNamingTheField(t *testing.T) {
	h := newRunsHarness(t)
	h.enable(t, "srv-a1", 0, nil)
	a := withToken("tok-a")
	for _, tc := range []struct {
		name           string
		call           func() error
		code           codes.Code
		field, message string
	}{
		{"listing runs without a server", func() error {
			_, err := h.runs.ListRuns(a, &imgschedv1.ListRunsRequest{})
			return err
		}, codes.InvalidArgument, "server_id", "Key server_id is missing"},
		{"pausing a server id too long", func() error {
			_, err := h.runs.PauseSchedule(a, &imgschedv1.PauseScheduleRequest{ServerId: strings.Repeat("x", 256)})
			return err
		}, codes.InvalidArgument, "server_id", "Invalid server_id: it cannot be longer than 255 characters"},
		{"resuming a server id with a space", func() error {
			_, err := h.runs.ResumeSchedule(a, &imgschedv1.ResumeScheduleRequest{ServerId: "srv a1"})
			return err
		}, codes.InvalidArgument, "server_id", `Invalid server_id "srv a1"`},
		{"previewing a negative retention", func() error {
			_, err := h.runs.PreviewRetention(a, &imgschedv1.PreviewRetentionRequest{ServerId: "srv-a1", Retention: -5})
			return err
		}, codes.InvalidArgument, "retention", "The retention value -5 is not allowed. It must be greater than 0"},
		{"previewing a retention past the maximum", func() error {
			_, err := h.runs.PreviewRetention(a, &imgschedv1.PreviewRetentionRequest{ServerId: "srv-a1", Retention: 65536})
			return err
		}, codes.InvalidArgument, "retention", "The retention value 65536 is not allowed. It cannot exceed 65535"},
		{"previewing without a cloud configured", func() error {
			_, err := h.runs.PreviewRetention(a, &imgschedv1.PreviewRetentionRequest{ServerId: "srv-a1"})
			return err
		}, codes.FailedPrecondition, "", "The retention preview needs the cloud, and no cloud is configured on this node"},
		{"running now without a token", func() error {
			_, err := h.runs.RunNow(context.Background(), &imgschedv1.RunNowRequest{ServerId: "srv-a1"})
			return err
		}, codes.Unauthenticated, "", "Authentication required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.call(), tc.code, tc.field, tc.message)
		})
	}
	r := h.do(t, "GET", "/v1/servers/srv-a1/retention:preview?retention=0x10", "tok-a", nil)
	if r.status != 400 {
		t.Fatalf("GET a preview with a malformed retention: %d %s, want 400", r.status, r.body)
	}
}
