package api

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/imgsched/imgsched/cloud"
)

// cloudUnavailable reports a cloud failure that is not the client's fault.
func cloudUnavailable(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Errorf(codes.Unavailable, "could not %s: the cloud is not answering (%v)", what, err)
}

// storeUnavailable reports a failure of etcd.
func storeUnavailable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Errorf(codes.Unavailable, "the schedule store is not answering: %v", err)
}

func instanceNotFound(serverID string) error {
	return status.Errorf(codes.NotFound, "Specified instance %s could not be found.", serverID)
}

func scheduleNotFound(serverID string) error {
	return status.Errorf(codes.NotFound, "Image schedule does not exist for server %s", serverID)
}

// serverOf returns the server when it exists and belongs to project; any
// other project's server is "not found", so that ids of other tenants leak
// nothing.
func serverOf(ctx context.Context, servers ServerLookup, project, serverID string) (cloud.Server, error) {
	srv, err := lookupServer(ctx, servers, serverID)
	if err == nil && srv.ProjectID != project {
		return cloud.Server{}, instanceNotFound(serverID)
	}
	return srv, err
}

// lookupServer returns the server whatever its project.
func lookupServer(ctx context.Context, servers ServerLookup, serverID string) (cloud.Server, error) {
	srv, err := servers.GetServer(ctx, serverID)
	switch {
	case errors.Is(err, cloud.ErrServerGone), errors.Is(err, cloud.ErrNotFound):
		return cloud.Server{}, instanceNotFound(serverID)
	case err != nil:
		return cloud.Server{}, cloudUnavailable("look up the server", err)
	}
	return srv, nil
}
