package openstack

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cloud/sim"
)

func TestGetServerReturnsItsProjectForTheOwnershipCheck(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)

	got, err := c.GetServer(t.Context(), ten.server.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := cloud.Server{
		ID: ten.server.ID, Name: "acme-web", ProjectID: ten.project.ID,
		Status: cloud.ServerActive, HostID: "compute-7", DiskGB: 20,
	}
	if got != want {
		t.Errorf("GetServer = %+v, want %+v", got, want)
	}
}

func TestGetServerOfADeletedServerIsServerGone(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, sl := tc.newClient(t)
	tc.sim.DeleteServer(ten.server.ID)

	_, err := c.GetServer(t.Context(), ten.server.ID)
	if !errors.Is(err, cloud.ErrServerGone) {
		t.Fatalf("GetServer of a deleted server = %v, want ErrServerGone", err)
	}
	if len(sl.recorded()) != 0 {
		t.Errorf("a 404 was retried: slept %v", sl.recorded())
	}
	_, err = c.AsOperator().CreateImage(t.Context(), ten.server.ID, "daily-x", nil)
	if !errors.Is(err, cloud.ErrServerGone) {
		t.Errorf("CreateImage of a deleted server = %v, want ErrServerGone", err)
	}
}

func TestInvalidIDsAreRefusedBeforeAnyRequest(t *testing.T) {
	tc := newTestCloud(t)
	c, _ := tc.newClient(t)
	before := len(tc.front.requests("GET", "")) + len(tc.front.requests("POST", ""))
	for _, id := range []string{"", "a/b", "..", "x?y"} {
		if _, err := c.GetServer(t.Context(), id); err == nil {
			t.Errorf("GetServer(%q) succeeded", id)
		}
		if _, err := c.AsOperator().GetImage(t.Context(), id); err == nil {
			t.Errorf("GetImage(%q) succeeded", id)
		}
	}
	if after := len(tc.front.requests("GET", "")) + len(tc.front.requests("POST", "")); after != before {
		t.Errorf("%d requests were sent for invalid ids", after-before)
	}
}

func TestCreateImageStampsTheMarkerAndReturnsTheImageID(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	comp := c.AsOperator()

	id, err := comp.CreateImage(t.Context(), ten.server.ID, "daily-acme-web-1772366400",
		map[string]string{cloud.RunIDKey: "run-1"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := comp.GetImage(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != id || img.Name != "daily-acme-web-1772366400" || img.ServerID != ten.server.ID ||
		img.Properties[cloud.CreatedByKey] != cloud.CreatedByValue || img.Properties[cloud.RunIDKey] != "run-1" ||
		!img.Pending() || !img.CreatedAt.Equal(epoch) {
		t.Errorf("GetImage after CreateImage = %+v", img)
	}
	srv, err := comp.GetServer(t.Context(), ten.server.ID)
	if err != nil || srv.TaskState == "" {
		t.Errorf("GetServer while imaging = %+v, %v; want a task_state", srv, err)
	}

	tc.finishSaving()
	img, err = comp.GetImage(t.Context(), id)
	if err != nil || !img.Active() || img.Err() != nil || img.SizeBytes <= 0 {
		t.Errorf("GetImage after saving = %+v, %v; want active with a size", img, err)
	}
}

func TestCreateImageReadsTheLocationHeaderBeforeMicroversion245(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t, func(cfg *Config) { cfg.ComputeMicroversion = "2.1" })

	id, err := c.AsOperator().CreateImage(t.Context(), ten.server.ID, "daily-old", nil)
	if err != nil {
		t.Fatal(err)
	}
	if img, ok := tc.sim.LookupImage(id); !ok || img.ServerID != ten.server.ID {
		t.Errorf("CreateImage at 2.1 returned %q, which the cloud does not know as an image of the server", id)
	}
	// Before 2.47 Nova does not embed the flavor, so the disk size is unknown.
	if srv, err := c.GetServer(t.Context(), ten.server.ID); err != nil || srv.DiskGB != 0 {
		t.Errorf("GetServer at 2.1 = %+v, %v; want DiskGB 0", srv, err)
	}
}

func TestGetAndDeleteImageOfAMissingImageAreNotFound(t *testing.T) {
	tc := newTestCloud(t)
	c, _ := tc.newClient(t)
	const missing = "0b0e4a57-7e6c-4a2d-9a41-000000000000"
	if _, err := c.AsOperator().GetImage(t.Context(), missing); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("GetImage = %v, want ErrNotFound", err)
	}
	if err := c.AsOperator().DeleteImage(t.Context(), missing); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("DeleteImage = %v, want ErrNotFound", err)
	}
}

func TestDeleteImageRemovesIt(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	comp := c.AsOperator()
	id, err := comp.CreateImage(t.Context(), ten.server.ID, "daily-x", nil)
	if err != nil {
		t.Fatal(err)
	}
	tc.finishSaving()
	if err := comp.DeleteImage(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, ok := tc.sim.LookupImage(id); ok {
		t.Errorf("image %s still exists", id)
	}
	if _, err := comp.GetImage(t.Context(), id); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("GetImage of the deleted image = %v, want ErrNotFound", err)
	}
}

func TestListScheduledImagesFollowsEveryPageAndKeepsOnlyTheRule(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	other := tc.sim.AddServer(ten.project.ID, sim.ServerSpec{Name: "acme-db", DiskGB: 10})
	c, _ := tc.newClient(t)
	comp := c.AsOperator()

	var want []string
	for i := range 7 {
		id, err := comp.CreateImage(t.Context(), ten.server.ID, fmt.Sprintf("daily-acme-web-%d", i), nil)
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		want = append(want, id)
		tc.finishSaving()
	}
	// Images retention must never see: another server's, and a manual
	// snapshot of the same server.
	if _, err := comp.CreateImage(t.Context(), other.ID, "daily-acme-db", nil); err != nil {
		t.Fatal(err)
	}
	manual := manualSnapshot(t, c, ten.server.ID)
	tc.finishSaving()
	slices.Reverse(want) // newest first

	got, err := comp.ListScheduledImages(t.Context(), ten.server.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, img := range got {
		ids = append(ids, img.ID)
		if img.ID == manual {
			t.Errorf("the manual snapshot %s was listed", manual)
		}
	}
	if !slices.Equal(ids, want) {
		t.Errorf("ListScheduledImages = %v, want %v", ids, want)
	}

	// Every page is asked with both filters; 7 images at 2 per page take
	// 3 pages after the first (a request repeated after a 401 is the same).
	lists := tc.front.requests("GET", "/image/v2/images?")
	pages := 0
	for _, l := range lists {
		q, err := url.ParseQuery(strings.TrimPrefix(l, "/image/v2/images?"))
		if err != nil {
			t.Fatal(err)
		}
		if q.Get("instance_uuid") != ten.server.ID || q.Get(cloud.CreatedByKey) != cloud.CreatedByValue || q.Get("limit") != "2" {
			t.Errorf("list request %s does not filter on the server and the marker", l)
		}
		if q.Get("marker") != "" {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("%d requests for later pages, want 3: %q", pages, lists)
	}
}

func TestListScheduledImagesOfAServerWithoutImagesIsEmpty(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	got, err := c.AsOperator().ListScheduledImages(t.Context(), ten.server.ID)
	if err != nil || len(got) != 0 {
		t.Errorf("ListScheduledImages = %v, %v; want none", got, err)
	}
}

func TestServiceTokenExpiryIsRenewed(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	tc.sim.ExpireAllTokens()
	before := tc.front.count("POST", "/identity/v3/auth/tokens")

	if _, err := c.GetServer(t.Context(), ten.server.ID); err != nil {
		t.Fatalf("GetServer after the service token expired: %v", err)
	}
	if n := tc.front.count("POST", "/identity/v3/auth/tokens") - before; n != 1 {
		t.Errorf("%d authentications after expiry, want 1", n)
	}
	tc.clock.Advance(3 * time.Hour)
	if _, err := c.AsOperator().ListScheduledImages(t.Context(), ten.server.ID); err != nil {
		t.Fatalf("listing after the token timed out: %v", err)
	}
}

// manualSnapshot images the server the way a tenant would by hand: no
// created_by marker.
func manualSnapshot(t *testing.T, c *Client, serverID string) string {
	t.Helper()
	id, err := servers.CreateImage(t.Context(), c.operator.compute, serverID, servers.CreateImageOpts{Name: "manual"}).ExtractImageID()
	if err != nil {
		t.Fatalf("manual snapshot: %v", err)
	}
	return id
}

func TestListScheduledImagesSkipsAnImageWhoseMarkerTheUserRemoved(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	comp := c.AsOperator()
	kept, err := comp.CreateImage(t.Context(), ten.server.ID, "daily-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	tc.finishSaving()
	unmarked, err := comp.CreateImage(t.Context(), ten.server.ID, "daily-2", nil)
	if err != nil {
		t.Fatal(err)
	}
	tc.finishSaving()
	if _, err := images.Update(t.Context(), c.operator.image, unmarked, images.UpdateOpts{
		images.UpdateImageProperty{Op: images.RemoveOp, Name: cloud.CreatedByKey},
	}).Extract(); err != nil {
		t.Fatalf("removing the marker: %v", err)
	}

	got, err := comp.ListScheduledImages(t.Context(), ten.server.ID)
	if err != nil || len(got) != 1 || got[0].ID != kept {
		t.Errorf("ListScheduledImages = %+v, %v; want only %s", got, err, kept)
	}
}

func TestListScheduledImagesFiltersAgainWhenTheCloudIgnoresTheFilters(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	other := tc.sim.AddServer(ten.project.ID, sim.ServerSpec{Name: "acme-db", DiskGB: 10})
	c, _ := tc.newClient(t)
	comp := c.AsOperator()
	want, err := comp.CreateImage(t.Context(), ten.server.ID, "daily-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := comp.CreateImage(t.Context(), other.ID, "daily-db", nil); err != nil {
		t.Fatal(err)
	}
	tc.finishSaving()
	manualSnapshot(t, c, ten.server.ID)
	tc.finishSaving()
	// A Glance that does not know property filters lists everything.
	tc.front.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/image/v2/images" {
			q := r.URL.Query()
			q.Del("instance_uuid")
			q.Del(cloud.CreatedByKey)
			r.URL.RawQuery = q.Encode()
		}
		return false
	})

	got, err := comp.ListScheduledImages(t.Context(), ten.server.ID)
	if err != nil || len(got) != 1 || got[0].ID != want {
		t.Errorf("ListScheduledImages = %+v, %v; want only %s", got, err, want)
	}
}
