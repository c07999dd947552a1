package api

import (
	"context"
	"time"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cluster"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
)

// TokenValidator checks a Keystone token. Implementations cache; a token
// that is invalid or expired yields an error wrapping cloud.ErrUnauthorized.
type TokenValidator interface {
	ValidateToken(ctx context.Context, token string) (cloud.Identity, error)
}

// ServerLookup finds a server whatever its project, so that the API can tell
// "not yours" from "yours" itself. A server Nova does not know yields an
// error wrapping cloud.ErrServerGone.
type ServerLookup interface {
	GetServer(ctx context.Context, serverID string) (cloud.Server, error)
}

// Trusts delegates a tenant user's authority to the service when a schedule
// is enabled (Keystone trust tenancy), so that images are the tenant's.
// Without it the service acts with its operator credentials.
type Trusts interface {
	CreateTrust(ctx context.Context, userToken string, id cloud.Identity) (string, error)
	DeleteTrust(ctx context.Context, trustID string) error
}

// Store keeps the schedules; *cluster.Store implements it.
type Store interface {
	Get(ctx context.Context, serverID string) (*storagev1.Schedule, error)
	Update(ctx context.Context, serverID string, fn cluster.UpdateFunc) (*storagev1.Schedule, error)
	UpdateMany(ctx context.Context, incoming []*storagev1.Schedule, merge cluster.MergeFunc) ([]error, error)
	Delete(ctx context.Context, serverID string) (*storagev1.Schedule, error)
	List(ctx context.Context, opt cluster.ListOptions) ([]*storagev1.Schedule, string, error)
	// GetRuns reads the engine's record of a server's runs; it returns
	// cluster.ErrNotFound while the engine has not written one.
	GetRuns(ctx context.Context, serverID string) (*storagev1.ScheduleRuns, error)
}

// Tenants gives the cloud access a schedule's own credentials allow, for
// the retention preview; *openstack.Client implements it. ForTenant acts
// through the schedule's Keystone trust (or as the operator, in operator
// tenancy); AsOperator serves schedules that hold no trust, those an admin
// set for another tenant or imported, as the engine does.
type Tenants interface {
	ForTenant(trustID string) (cloud.Compute, error)
	AsOperator() cloud.Compute
}

// Clock tells the time stamped on schedules; the service's clock may run
// accelerated.
type Clock interface {
	Now() time.Time
}
