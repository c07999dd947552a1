package api

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/imgsched/imgsched/cloud"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

// runService is imgsched.v1.RunService: what the engine did and will do
// with a schedule, and the few ways to steer it. Tenancy is that of
// ScheduleService: admins reach every schedule, other tokens only their
// project's, and another project's schedule is "not found".
//
// It reads the engine's runs record and writes only the schedule record
// (state, run_now_at), in one transaction per call; the engine acts on
// those at its next look.
type runService struct {
	imgschedv1.UnimplementedRunServiceServer
	deps *Server
}

// ListRuns returns the current run and the history, newest first. A
// schedule the engine has not planned yet answers with no current run and
// no history; only a missing (or invisible) schedule is NOT_FOUND.
func (r *runService) ListRuns(ctx context.Context, req *imgschedv1.ListRunsRequest) (*imgschedv1.ListRunsResponse, error) {
	if _, err := r.deps.visible(ctx, req.GetServerId()); err != nil {
		return nil, err
	}
	runs, err := r.deps.runsOf(ctx, req.GetServerId())
	if err != nil {
		return nil, err
	}
	out := &imgschedv1.ListRunsResponse{Slot: runs.GetSlot(), MissedWindows: runs.GetMissedWindows()}
	if cur := runs.GetCurrent(); cur != nil {
		out.Current = currentRun(cur)
	}
	for _, h := range runs.GetHistory() {
		out.History = append(out.History, finishedRun(h))
	}
	return out, nil
}

// RunNow asks the engine for the current window's image now, by storing
// run_now_at (the API's clock) in the schedule. It is FAILED_PRECONDITION
// when the schedule is paused or its server gone, when no window is open
// (a weekly schedule between windows), when the window already has its
// image, or while an image of the window is being taken. The check of the
// window reads the engine's record outside the transaction; the engine
// checks again before it acts, so a race costs at most an ignored request,
// never a second image.
func (r *runService) RunNow(ctx context.Context, req *imgschedv1.RunNowRequest) (*imgschedv1.Schedule, error) {
	serverID := req.GetServerId()
	rec, err := r.deps.visible(ctx, serverID)
	if err != nil {
		return nil, err
	}
	if err := runnable(rec); err != nil {
		return nil, err
	}
	runs, err := r.deps.runsOf(ctx, serverID)
	if err != nil {
		return nil, err
	}
	now := r.deps.clock.Now()
	if err := windowNeedsImage(rec, runs, now); err != nil {
		return nil, err
	}
	next, err := r.deps.change(ctx, serverID, func(next *storagev1.Schedule) error {
		if err := runnable(next); err != nil {
			return err
		}
		next.RunNowAt = now.UnixNano()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r.deps.describe(next, runs), nil
}

// runnable refuses a schedule that takes no images.
func runnable(rec *storagev1.Schedule) error {
	switch rec.GetState() {
	case imgschedv1.ScheduleState_PAUSED:
		return status.Errorf(codes.FailedPrecondition, "The schedule of server %s is paused: resume it before asking for an image", rec.GetServerId())
	case imgschedv1.ScheduleState_SERVER_GONE:
		return serverGone(rec)
	}
	return nil
}

func serverGone(rec *storagev1.Schedule) error {
	when := ""
	if at := rec.GetServerGoneAt(); at != 0 {
		when = " at " + time.Unix(0, at).UTC().Format(time.RFC3339)
	}
	return status.Errorf(codes.FailedPrecondition,
		"The server %s of this schedule was found deleted%s: the schedule takes no images and is removed after a grace period; if the server exists, enable the schedule again",
		rec.GetServerId(), when)
}

// windowNeedsImage refuses RunNow when the window containing now is not
// open or already has, or is getting, its one image.
func windowNeedsImage(rec *storagev1.Schedule, runs *storagev1.ScheduleRuns, now time.Time) error {
	timing, ok := timingOf(rec.GetDayOfWeek())
	if !ok {
		return status.Errorf(codes.FailedPrecondition, "The schedule of server %s has an invalid day_of_week %d", rec.GetServerId(), int32(rec.GetDayOfWeek()))
	}
	w, open := timing.WindowAt(now)
	if !open {
		return status.Errorf(codes.FailedPrecondition, "No window of the %s schedule of server %s is open now: the next opens at %s",
			timing, rec.GetServerId(), w.Start.Format(time.RFC3339))
	}
	if image, taken := imageOf(runs, w.ID()); taken {
		return status.Errorf(codes.FailedPrecondition, "Window %s of server %s already has its image %s: a schedule takes one image per window",
			w.ID(), rec.GetServerId(), image)
	}
	if run, busy := inFlight(runs, w.ID()); busy {
		return status.Errorf(codes.FailedPrecondition, "An image of server %s for window %s is being taken now (%s)",
			rec.GetServerId(), w.ID(), runState(run.GetState()))
	}
	return nil
}

// PauseSchedule stops new runs; a run under way finishes, and a RunNow not
// yet acted on is dropped. Pausing a paused schedule changes nothing. A
// schedule whose server is gone cannot be paused: it takes no images
// already, and pausing would hide that its server is gone.
func (r *runService) PauseSchedule(ctx context.Context, req *imgschedv1.PauseScheduleRequest) (*imgschedv1.Schedule, error) {
	return r.setState(ctx, req.GetServerId(), imgschedv1.ScheduleState_PAUSED, func(next *storagev1.Schedule) {
		next.RunNowAt = 0
	})
}

// ResumeSchedule enables a paused schedule; resuming an enabled one changes
// nothing. A schedule whose server is gone is FAILED_PRECONDITION: enabling
// it again (SetSchedule) checks that the server exists.
func (r *runService) ResumeSchedule(ctx context.Context, req *imgschedv1.ResumeScheduleRequest) (*imgschedv1.Schedule, error) {
	return r.setState(ctx, req.GetServerId(), imgschedv1.ScheduleState_ENABLED, nil)
}

// setState moves a schedule to state (ENABLED or PAUSED), applying also
// when it changes; a schedule already there is returned unwritten.
func (r *runService) setState(ctx context.Context, serverID string, state imgschedv1.ScheduleState, also func(*storagev1.Schedule)) (*imgschedv1.Schedule, error) {
	rec, err := r.deps.visible(ctx, serverID)
	if err != nil {
		return nil, err
	}
	if rec.GetState() != state {
		rec, err = r.deps.change(ctx, serverID, func(next *storagev1.Schedule) error {
			if next.GetState() == imgschedv1.ScheduleState_SERVER_GONE {
				return serverGone(next)
			}
			if next.GetState() != state {
				next.State = state
				next.UpdateTime = r.deps.clock.Now().UnixNano()
				if also != nil {
					also(next)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	runs, err := r.deps.runsOf(ctx, serverID)
	if err != nil {
		return nil, err
	}
	return r.deps.describe(rec, runs), nil
}

// change edits the stored schedule of serverID in one transaction, after
// checking again that it exists and the caller may steer it. An error edit
// returns is the call's answer and leaves the schedule unchanged.
func (s *Server) change(ctx context.Context, serverID string, edit func(next *storagev1.Schedule) error) (*storagev1.Schedule, error) {
	who := callerFrom(ctx)
	var refused error
	rec, err := s.store.Update(ctx, serverID, func(cur *storagev1.Schedule) (*storagev1.Schedule, error) {
		refused = nil
		if cur == nil || !who.sees(cur) {
			refused = scheduleNotFound(serverID)
			return nil, refused
		}
		next := proto.Clone(cur).(*storagev1.Schedule)
		if err := edit(next); err != nil {
			refused = err
			return nil, err
		}
		return next, nil
	})
	switch {
	case err != nil && refused != nil:
		return nil, refused
	case err != nil:
		return nil, storeUnavailable(err)
	}
	return rec, nil
}

// PreviewRetention lists the server's scheduled images with the schedule's
// own credentials and shows what retention would do with each now, with the
// schedule's retention or the request's (1..65535; 0 keeps the schedule's).
// Nothing is deleted.
func (r *runService) PreviewRetention(ctx context.Context, req *imgschedv1.PreviewRetentionRequest) (*imgschedv1.PreviewRetentionResponse, error) {
	serverID := req.GetServerId()
	if err := validateID("server_id", serverID); err != nil {
		return nil, err
	}
	var keep uint32
	if req.GetRetention() != 0 {
		var err error
		if keep, err = validateRetention(req.GetRetention()); err != nil {
			return nil, err
		}
	}
	rec, err := r.deps.visible(ctx, serverID)
	if err != nil {
		return nil, err
	}
	if keep == 0 {
		keep = rec.GetRetention()
	}
	if r.deps.tenants == nil {
		return nil, status.Error(codes.FailedPrecondition, "The retention preview needs the cloud, and no cloud is configured on this node")
	}
	images, err := r.deps.scheduledImages(ctx, rec)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]cloud.Image, len(images))
	listed := make([]scheduler.Image, 0, len(images))
	for _, im := range images {
		byID[im.ID] = im
		listed = append(listed, scheduler.Image{ID: im.ID, Status: im.Status, CreatedAt: im.CreatedAt, Properties: im.Properties})
	}
	decisions, err := scheduler.Retention(serverID, int(keep), listed)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "The schedule of server %s has retention %d: %v", serverID, keep, err)
	}
	out := &imgschedv1.PreviewRetentionResponse{Retention: keep, Decisions: make([]*imgschedv1.RetentionDecision, 0, len(decisions))}
	for _, d := range decisions {
		im := byID[d.Image.ID]
		out.Decisions = append(out.Decisions, &imgschedv1.RetentionDecision{
			ImageId:    im.ID,
			ImageName:  im.Name,
			Status:     im.Status,
			CreateTime: timeOrNil(im.CreatedAt),
			Verdict:    retentionVerdict(d.Verdict),
			Reason:     d.Reason,
		})
	}
	return out, nil
}

// scheduledImages lists the server's scheduled images as the engine sees
// them: through the schedule's trust, or with the operator's credentials
// for a schedule that holds none.
func (s *Server) scheduledImages(ctx context.Context, rec *storagev1.Schedule) ([]cloud.Image, error) {
	compute := s.tenants.AsOperator()
	if trust := rec.GetTrustId(); trust != "" {
		var err error
		if compute, err = s.tenants.ForTenant(trust); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "The schedule of server %s holds a trust the cloud client refuses (%v): enable the schedule again to delegate a new one", rec.GetServerId(), err)
		}
	}
	images, err := compute.ListScheduledImages(ctx, rec.GetServerId())
	switch {
	case errors.Is(err, cloud.ErrUnauthorized), errors.Is(err, cloud.ErrForbidden):
		return nil, status.Errorf(codes.FailedPrecondition, "The cloud refused the credentials of the schedule of server %s (%v): enable the schedule again to delegate a new trust", rec.GetServerId(), err)
	case err != nil:
		return nil, cloudUnavailable("list the server's images", err)
	}
	return images, nil
}
