package api

import (
	"context"
	"errors"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/imgsched/imgsched/cloud"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
)

// delegation is the trust a set request brings, if any.
type delegation struct {
	trustID string
	trustor string
}

// holds reports whether rec already carries a trust of this user for
// tenant, in which case enabling again needs no new one.
func holds(rec *storagev1.Schedule, tenant, user string) bool {
	return rec != nil && rec.GetTrustId() != "" && rec.GetTenantId() == tenant && rec.GetTrustorUserId() == user
}

// delegate creates a trust from the caller to the service for a schedule of
// serverID in tenant, unless trusts are off, the caller acts for another
// tenant (an admin), or the stored schedule already has the caller's trust.
// The store read may be stale: the worst case is one trust too many, which
// settle deletes.
func (s *Server) delegate(ctx context.Context, tenant, serverID string) (delegation, error) {
	who := callerFrom(ctx)
	if s.trusts == nil || who.ProjectID != tenant {
		return delegation{}, nil
	}
	if cur, err := s.store.Get(ctx, serverID); err == nil && holds(cur, tenant, who.UserID) {
		return delegation{}, nil
	}
	id, err := s.trusts.CreateTrust(ctx, who.token, who.Identity)
	switch {
	case errors.Is(err, cloud.ErrUnauthorized):
		return delegation{}, status.Error(codes.Unauthenticated, "The request you have made requires authentication: Keystone refused the token when delegating a trust")
	case errors.Is(err, cloud.ErrForbidden):
		return delegation{}, status.Error(codes.PermissionDenied, "Keystone does not let the token's user delegate a trust to the scheduled images service")
	case err != nil:
		return delegation{}, cloudUnavailable("delegate a trust to the service", err)
	}
	return delegation{trustID: id, trustor: who.UserID}, nil
}

// apply records d on next unless next (cloned from the stored schedule)
// already holds the trustor's trust for the tenant. A schedule moving to
// another tenant loses a trust that was for the old one.
func (d delegation) apply(next *storagev1.Schedule, tenant string) {
	if next.GetTenantId() != tenant {
		next.TrustId, next.TrustorUserId = "", ""
	}
	if d.trustID != "" && !holds(next, tenant, d.trustor) {
		next.TrustId, next.TrustorUserId = d.trustID, d.trustor
	}
}

// settle deletes the trusts a write left unused: ours when a concurrent
// writer's trust was kept, and the one ours replaced. Failures are logged:
// the schedule is already stored, and an unused trust grants nothing the
// trustor has not already granted.
func (s *Server) settle(ctx context.Context, d delegation, before, after *storagev1.Schedule) {
	if s.trusts == nil {
		return
	}
	var unused []string
	if d.trustID != "" && after.GetTrustId() != d.trustID {
		unused = append(unused, d.trustID)
	}
	if old := before.GetTrustId(); old != "" && old != after.GetTrustId() {
		unused = append(unused, old)
	}
	for _, id := range unused {
		s.dropTrust(ctx, id)
	}
}

func (s *Server) dropTrust(ctx context.Context, trustID string) {
	if s.trusts == nil || trustID == "" {
		return
	}
	if err := s.trusts.DeleteTrust(ctx, trustID); err != nil {
		s.log.Warn("could not delete an unused trust", zap.String("trust_id", trustID), zap.Error(err))
	}
}

// set stores a schedule: the trust first (a cloud call, so outside the
// transaction, which may run its merge more than once), then one etcd
// transaction, then the cleanup of trusts the write left unused.
func (s *Server) set(ctx context.Context, set setting) (*storagev1.Schedule, error) {
	d, err := s.delegate(ctx, set.tenantID, set.serverID)
	if err != nil {
		return nil, err
	}
	set.trust = d
	var before *storagev1.Schedule
	rec, err := s.store.Update(ctx, set.serverID, func(cur *storagev1.Schedule) (*storagev1.Schedule, error) {
		before = cur
		return set.merge(s.clock.Now(), cur), nil
	})
	if err != nil {
		s.dropTrust(ctx, d.trustID)
		return nil, storeUnavailable(err)
	}
	s.settle(ctx, d, before, rec)
	return rec, nil
}

// remove deletes a schedule and the trust it held.
func (s *Server) remove(ctx context.Context, serverID string) error {
	rec, err := s.store.Delete(ctx, serverID)
	if err != nil {
		return storeUnavailable(err)
	}
	s.dropTrust(ctx, rec.GetTrustId())
	return nil
}
