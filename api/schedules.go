package api

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/imgsched/imgsched/cluster"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// Paging and batching limits of the native API.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// MaxImportBatch bounds the schedules of one ImportSchedules message.
	MaxImportBatch = 10000
)

// scheduleService is the native imgsched.v1.ScheduleService.
type scheduleService struct {
	imgschedv1.UnimplementedScheduleServiceServer
	deps *Server
}

func (s *scheduleService) SetSchedule(ctx context.Context, req *imgschedv1.SetScheduleRequest) (*imgschedv1.Schedule, error) {
	who := callerFrom(ctx)
	set, err := validateSetting(req)
	if err != nil {
		return nil, err
	}
	if !who.admin() {
		if set.tenantID == "" {
			set.tenantID = who.ProjectID
		}
		if set.tenantID != who.ProjectID {
			return nil, status.Errorf(codes.PermissionDenied, "tenant_id %s is not the project of the token", set.tenantID)
		}
	}
	if set.tenantID == "" {
		// An admin may leave the tenant to the cloud.
		srv, err := lookupServer(ctx, s.deps.servers, set.serverID)
		if err != nil {
			return nil, err
		}
		set.tenantID = srv.ProjectID
	} else if _, err := serverOf(ctx, s.deps.servers, set.tenantID, set.serverID); err != nil {
		return nil, err
	}
	rec, err := s.deps.set(ctx, set)
	if err != nil {
		return nil, err
	}
	return toAPI(rec), nil
}

// validateSetting checks a request's fields; the tenant may be empty.
func validateSetting(req *imgschedv1.SetScheduleRequest) (setting, error) {
	if err := validateID("server_id", req.GetServerId()); err != nil {
		return setting{}, err
	}
	if req.GetTenantId() != "" {
		if err := validateID("tenant_id", req.GetTenantId()); err != nil {
			return setting{}, err
		}
	}
	retention, err := validateRetention(req.GetRetention())
	if err != nil {
		return setting{}, err
	}
	if err := validateDayOfWeek(req.GetDayOfWeek()); err != nil {
		return setting{}, err
	}
	return setting{tenantID: req.GetTenantId(), serverID: req.GetServerId(), retention: retention, day: req.GetDayOfWeek()}, nil
}

// visible returns the schedule of serverID if the caller may see it: admins
// see every schedule, other tokens only their project's, and another
// project's schedule is "not found" like a missing one.
func (s *Server) visible(ctx context.Context, serverID string) (*storagev1.Schedule, error) {
	if err := validateID("server_id", serverID); err != nil {
		return nil, err
	}
	rec, err := s.store.Get(ctx, serverID)
	switch {
	case errors.Is(err, cluster.ErrNotFound):
		return nil, scheduleNotFound(serverID)
	case err != nil:
		return nil, storeUnavailable(err)
	}
	if !callerFrom(ctx).sees(rec) {
		return nil, scheduleNotFound(serverID)
	}
	return rec, nil
}

// GetSchedule also reads the engine's record of the server's runs, to tell
// when the next image is planned and how many windows were missed.
func (s *scheduleService) GetSchedule(ctx context.Context, req *imgschedv1.GetScheduleRequest) (*imgschedv1.Schedule, error) {
	rec, err := s.deps.visible(ctx, req.GetServerId())
	if err != nil {
		return nil, err
	}
	runs, err := s.deps.runsOf(ctx, rec.GetServerId())
	if err != nil {
		return nil, err
	}
	return s.deps.describe(rec, runs), nil
}

func (s *scheduleService) DeleteSchedule(ctx context.Context, req *imgschedv1.DeleteScheduleRequest) (*emptypb.Empty, error) {
	if _, err := s.deps.visible(ctx, req.GetServerId()); err != nil {
		if status.Code(err) == codes.NotFound {
			return &emptypb.Empty{}, nil
		}
		return nil, err
	}
	if err := s.deps.remove(ctx, req.GetServerId()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// ListSchedules leaves next_run_time and missed_windows unset: they live in
// the engine's runs record, and reading it would cost one more etcd read
// per schedule listed. GetSchedule and ListRuns fill them in.
func (s *scheduleService) ListSchedules(ctx context.Context, req *imgschedv1.ListSchedulesRequest) (*imgschedv1.ListSchedulesResponse, error) {
	who := callerFrom(ctx)
	tenant := req.GetTenantId()
	if !who.admin() {
		if tenant == "" {
			tenant = who.ProjectID
		}
		if tenant != who.ProjectID {
			return nil, status.Errorf(codes.PermissionDenied, "tenant_id %s is not the project of the token; listing other tenants needs the %s role", tenant, AdminRole)
		}
	}
	if tenant != "" {
		if err := validateID("tenant_id", tenant); err != nil {
			return nil, err
		}
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, invalid("page_size", "Invalid page_size %d: it must be positive", size)
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	if err := validateDayOfWeek(req.GetDayOfWeek()); err != nil {
		return nil, err
	}
	if _, ok := imgschedv1.ScheduleKind_name[int32(req.GetKind())]; !ok {
		return nil, invalid("kind", "Invalid kind %d: use DAILY or WEEKLY", int32(req.GetKind()))
	}
	if _, ok := imgschedv1.ScheduleState_name[int32(req.GetState())]; !ok {
		return nil, invalid("state", "Invalid state %d: use ENABLED, PAUSED or SERVER_GONE", int32(req.GetState()))
	}
	match := func(r *storagev1.Schedule) bool {
		return (req.GetKind() == imgschedv1.ScheduleKind_KIND_UNSPECIFIED || kindOf(r.GetDayOfWeek()) == req.GetKind()) &&
			(req.GetDayOfWeek() == imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED || r.GetDayOfWeek() == req.GetDayOfWeek()) &&
			(req.GetState() == imgschedv1.ScheduleState_STATE_UNSPECIFIED || r.GetState() == req.GetState())
	}
	recs, next, err := s.deps.store.List(ctx, cluster.ListOptions{TenantID: tenant, Match: match, PageSize: size, PageToken: req.GetPageToken()})
	switch {
	case errors.Is(err, cluster.ErrBadPageToken):
		return nil, invalid("page_token", "Invalid page_token: it must come from a previous listing with the same tenant_id")
	case err != nil:
		return nil, storeUnavailable(err)
	}
	out := &imgschedv1.ListSchedulesResponse{NextPageToken: next, Schedules: make([]*imgschedv1.Schedule, 0, len(recs))}
	for _, r := range recs {
		out.Schedules = append(out.Schedules, toAPI(r))
	}
	return out, nil
}

// ImportSchedules writes batches of schedules for many tenants. Being an
// operator's bulk path, it trusts the operator on ownership and does not ask
// the cloud about each server: a schedule of a server that does not exist is
// marked SERVER_GONE by the engine at its first window.
func (s *scheduleService) ImportSchedules(stream imgschedv1.ScheduleService_ImportSchedulesServer) error {
	ctx := stream.Context()
	if !callerFrom(ctx).admin() {
		return status.Errorf(codes.PermissionDenied, "importing schedules needs the %s role", AdminRole)
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		resp, err := s.importBatch(ctx, req.GetSchedules())
		if err != nil {
			return err
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

func (s *scheduleService) importBatch(ctx context.Context, batch []*imgschedv1.SetScheduleRequest) (*imgschedv1.ImportSchedulesResponse, error) {
	if len(batch) > MaxImportBatch {
		return nil, invalid("schedules", "A batch of %d schedules is too large: it cannot exceed %d", len(batch), MaxImportBatch)
	}
	resp := &imgschedv1.ImportSchedulesResponse{}
	reject := func(i int, serverID string, err error) {
		resp.Rejected = append(resp.Rejected, &imgschedv1.ImportError{Index: int32(i), ServerId: serverID, Message: status.Convert(err).Message()})
	}
	var incoming []*storagev1.Schedule
	var index []int
	for i, req := range batch {
		set, err := validateSetting(req)
		if err == nil && set.tenantID == "" {
			err = invalid("tenant_id", "Key tenant_id is missing: imports must name each schedule's tenant")
		}
		if err != nil {
			reject(i, req.GetServerId(), err)
			continue
		}
		incoming = append(incoming, &storagev1.Schedule{TenantId: set.tenantID, ServerId: set.serverID, Retention: set.retention, DayOfWeek: set.day})
		index = append(index, i)
	}
	now := s.deps.clock.Now()
	errs, err := s.deps.store.UpdateMany(ctx, incoming, func(cur, in *storagev1.Schedule) (*storagev1.Schedule, error) {
		set := setting{tenantID: in.GetTenantId(), serverID: in.GetServerId(), retention: in.GetRetention(), day: in.GetDayOfWeek()}
		return set.merge(now, cur), nil
	})
	if err != nil {
		return nil, storeUnavailable(err)
	}
	for j, e := range errs {
		if e != nil {
			reject(index[j], incoming[j].GetServerId(), e)
			continue
		}
		resp.Imported++
	}
	return resp, nil
}
