package openstack

import (
	"errors"
	"testing"
	"time"

	"github.com/imgsched/imgsched/cloud"
)

func TestTrustLetsTheServiceImageAsTheTenant(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	token := tc.userToken(t, ten)
	id, err := c.ValidateToken(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}

	trustID, err := c.CreateTrust(t.Context(), token, id)
	if err != nil {
		t.Fatalf("CreateTrust: %v", err)
	}
	comp, err := c.ForTrust(trustID)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.ForTrust(trustID); again != comp {
		t.Errorf("ForTrust did not reuse the cached client")
	}
	if viaTenancy, _ := c.ForTenant(trustID); viaTenancy != comp {
		t.Errorf("ForTenant in trust mode did not return the trust's client")
	}

	srv, err := comp.GetServer(t.Context(), ten.server.ID)
	if err != nil || srv.ProjectID != ten.project.ID {
		t.Fatalf("GetServer through the trust = %+v, %v", srv, err)
	}
	stranger := tc.addTenant("stranger")
	if _, err := comp.GetServer(t.Context(), stranger.server.ID); !errors.Is(err, cloud.ErrServerGone) {
		t.Errorf("GetServer of another tenant's server through the trust = %v, want ErrServerGone", err)
	}
	if _, err := comp.CreateImage(t.Context(), stranger.server.ID, "daily-x", nil); !errors.Is(err, cloud.ErrServerGone) {
		t.Errorf("CreateImage of another tenant's server through the trust = %v, want ErrServerGone", err)
	}
	imageID, err := comp.CreateImage(t.Context(), ten.server.ID, "daily-acme-web-1", map[string]string{cloud.RunIDKey: "r1"})
	if err != nil {
		t.Fatalf("CreateImage through the trust: %v", err)
	}
	tc.finishSaving()
	img, err := comp.GetImage(t.Context(), imageID)
	if err != nil {
		t.Fatal(err)
	}
	if img.Owner != ten.project.ID || !img.Active() {
		t.Errorf("image through the trust = %+v; want active and owned by %s", img, ten.project.ID)
	}
	list, err := comp.ListScheduledImages(t.Context(), ten.server.ID)
	if err != nil || len(list) != 1 || list[0].ID != imageID {
		t.Errorf("ListScheduledImages through the trust = %+v, %v", list, err)
	}
	if err := comp.DeleteImage(t.Context(), imageID); err != nil {
		t.Errorf("DeleteImage through the trust: %v", err)
	}

	if err := c.DeleteTrust(t.Context(), trustID); err != nil {
		t.Fatalf("DeleteTrust: %v", err)
	}
	if err := c.DeleteTrust(t.Context(), trustID); err != nil {
		t.Errorf("deleting a trust twice: %v, want success", err)
	}
	gone, err := c.ForTrust(trustID)
	if err != nil {
		t.Fatal(err)
	}
	if gone == comp {
		t.Errorf("DeleteTrust left the trust's client cached")
	}
	if _, err := gone.GetServer(t.Context(), ten.server.ID); !errors.Is(err, cloud.ErrUnauthorized) {
		t.Errorf("using a deleted trust = %v, want ErrUnauthorized", err)
	}
	if _, err := comp.GetServer(t.Context(), ten.server.ID); !errors.Is(err, cloud.ErrUnauthorized) {
		t.Errorf("a client still holding a deleted trust's token = %v, want ErrUnauthorized", err)
	}
}

func TestTrustTokenIsRenewedWhenItExpires(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	token := tc.userToken(t, ten)
	id, err := c.ValidateToken(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	trustID, err := c.CreateTrust(t.Context(), token, id)
	if err != nil {
		t.Fatal(err)
	}
	comp, _ := c.ForTrust(trustID)
	if _, err := comp.GetServer(t.Context(), ten.server.ID); err != nil {
		t.Fatal(err)
	}
	tc.clock.Advance(25 * time.Hour) // every token, the user's included, has expired

	if _, err := comp.GetServer(t.Context(), ten.server.ID); err != nil {
		t.Errorf("GetServer after the trust token expired: %v", err)
	}
}

func TestCreateTrustRefusals(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	token := tc.userToken(t, ten)
	id, err := c.ValidateToken(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		id    cloud.Identity
		want  error
	}{
		{"an invalid token is unauthorized", "not-a-token", id, cloud.ErrUnauthorized},
		{"no token is unauthorized", "", id, cloud.ErrUnauthorized},
		{"a token of another user is forbidden", token, cloud.Identity{UserID: c.ServiceUserID(), ProjectID: id.ProjectID, Roles: id.Roles}, cloud.ErrForbidden},
		{"roles the user lacks are forbidden", token, cloud.Identity{UserID: id.UserID, ProjectID: id.ProjectID, Roles: []string{"admin"}}, cloud.ErrForbidden},
		{"an identity without roles is forbidden", token, cloud.Identity{UserID: id.UserID, ProjectID: id.ProjectID}, cloud.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.CreateTrust(t.Context(), tt.token, tt.id); !errors.Is(err, tt.want) {
				t.Errorf("CreateTrust = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOperatorModeActsWithTheServiceCredentials(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t, func(cfg *Config) { cfg.Tenancy = TenancyOperator })
	if c.Tenancy() != TenancyOperator {
		t.Fatalf("Tenancy = %s", c.Tenancy())
	}
	comp, err := c.ForTenant("")
	if err != nil || comp != c.AsOperator() {
		t.Fatalf("ForTenant in operator mode = %v, %v; want AsOperator()", comp, err)
	}
	imageID, err := comp.CreateImage(t.Context(), ten.server.ID, "daily-acme-web-1", nil)
	if err != nil {
		t.Fatalf("CreateImage as operator: %v", err)
	}
	if img, ok := tc.sim.LookupImage(imageID); !ok || img.ServerID != ten.server.ID {
		t.Errorf("the cloud has no image %s of the server", imageID)
	}
}

func TestTrustModeServesASchedulesWithoutATrustAsTheOperator(t *testing.T) {
	tc := newTestCloud(t)
	c, _ := tc.newClient(t)
	if c.Tenancy() != TenancyTrust {
		t.Fatalf("Tenancy = %s, want the default trust mode", c.Tenancy())
	}
	comp, err := c.ForTenant("")
	if err != nil || comp != c.AsOperator() {
		t.Fatalf("ForTenant(\"\") in trust mode = %v, %v; want AsOperator()", comp, err)
	}
}
