package api

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/imgsched/imgsched/cluster"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// compatService serves the Cloud Servers-compatible rax-si-image-schedule
// resource (SPEC §1).
type compatService struct {
	imgschedv1.UnimplementedImageScheduleServiceServer
	deps *Server
}

// tenantServer checks the URL's tenant against the token and the server
// against the tenant, in that order, so that nothing about other tenants'
// servers is revealed.
func (c *compatService) tenantServer(ctx context.Context, tenantID, serverID string) error {
	who := callerFrom(ctx)
	if err := validateID("tenant_id", tenantID); err != nil {
		return err
	}
	if tenantID != who.ProjectID && !who.admin() {
		return status.Errorf(codes.PermissionDenied, "Tenant %s in the URL is not the project of the token", tenantID)
	}
	if err := validateID("server_id", serverID); err != nil {
		return instanceNotFound(serverID)
	}
	_, err := serverOf(ctx, c.deps.servers, tenantID, serverID)
	return err
}

func (c *compatService) SetImageSchedule(ctx context.Context, req *imgschedv1.SetImageScheduleRequest) (*imgschedv1.ImageScheduleResponse, error) {
	// The body is checked before the cloud is asked anything.
	body, err := parseImageScheduleBody(req.GetBody())
	if err != nil {
		return nil, err
	}
	if err := c.tenantServer(ctx, req.GetTenantId(), req.GetServerId()); err != nil {
		return nil, err
	}
	rec, err := c.deps.set(ctx, setting{tenantID: req.GetTenantId(), serverID: req.GetServerId(), retention: body.retention, day: body.day})
	if err != nil {
		return nil, err
	}
	return toImageSchedule(rec), nil
}

func (c *compatService) GetImageSchedule(ctx context.Context, req *imgschedv1.GetImageScheduleRequest) (*imgschedv1.ImageScheduleResponse, error) {
	if err := c.tenantServer(ctx, req.GetTenantId(), req.GetServerId()); err != nil {
		return nil, err
	}
	rec, err := c.deps.store.Get(ctx, req.GetServerId())
	switch {
	case errors.Is(err, cluster.ErrNotFound):
		return nil, scheduleNotFound(req.GetServerId())
	case err != nil:
		return nil, storeUnavailable(err)
	case rec.GetTenantId() != req.GetTenantId():
		return nil, scheduleNotFound(req.GetServerId())
	}
	return toImageSchedule(rec), nil
}

// DeleteImageSchedule is idempotent: deleting a schedule that does not exist
// succeeds. Images are never touched.
func (c *compatService) DeleteImageSchedule(ctx context.Context, req *imgschedv1.DeleteImageScheduleRequest) (*emptypb.Empty, error) {
	if err := c.tenantServer(ctx, req.GetTenantId(), req.GetServerId()); err != nil {
		return nil, err
	}
	if err := c.deps.remove(ctx, req.GetServerId()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
