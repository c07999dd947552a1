package sim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

const createdBy = "org.openstack__1__created_by"

// propertyQuery adds Glance property filters to gophercloud's ListOpts,
// which has no field for them: the way a client filters on custom
// properties.
type propertyQuery struct {
	images.ListOpts
	props url.Values
}

func withProperties(opts images.ListOpts, kv ...string) propertyQuery {
	q := propertyQuery{ListOpts: opts, props: url.Values{}}
	for i := 0; i+1 < len(kv); i += 2 {
		q.props.Set(kv[i], kv[i+1])
	}
	return q
}

func (q propertyQuery) ToImageListQuery() (string, error) {
	base, err := q.ListOpts.ToImageListQuery()
	if err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	v := u.Query()
	for k, vals := range q.props {
		v[k] = vals
	}
	return "?" + v.Encode(), nil
}

// snapshots makes n images of server through Nova, a minute apart, each
// saved to active before the next.
func snapshots(t *testing.T, tc *testCloud, nova *gophercloud.ServiceClient, server string, n int, meta map[string]string) []string {
	t.Helper()
	var ids []string
	for k := range n {
		id, err := servers.CreateImage(context.Background(), nova, server, servers.CreateImageOpts{
			Name: fmt.Sprintf("snap-%s-%d", server[:4], k), Metadata: meta,
		}).ExtractImageID()
		if err != nil {
			t.Fatalf("createImage: %v", err)
		}
		ids = append(ids, id)
		tc.Clock.Advance(time.Hour)
	}
	return ids
}

func TestListImagesFiltersByPropertiesAndPaginates(t *testing.T) {
	tc := startCloud(t, Config{})
	ctx := context.Background()
	pc := tc.provider(t, "alice", "alice-pw", "tenant")
	nova, glance := compute(t, pc, "2.45"), imageClient(t, pc)
	a := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "a"})
	b := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "b"})
	sched := map[string]string{createdBy: "scheduled_images_service"}
	aSched := snapshots(t, tc, nova, a.ID, 5, sched)
	snapshots(t, tc, nova, a.ID, 2, nil) // manual snapshots of a
	snapshots(t, tc, nova, b.ID, 3, sched)

	list := func(t *testing.T, client *gophercloud.ServiceClient, opts images.ListOptsBuilder) []images.Image {
		t.Helper()
		pages, err := images.List(client, opts).AllPages(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		out, err := images.ExtractImages(pages)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	got := list(t, glance, withProperties(images.ListOpts{Limit: 2, Sort: "created_at:desc"},
		"instance_uuid", a.ID, createdBy, "scheduled_images_service"))
	if len(got) != 5 {
		t.Fatalf("%d images of a by the service, want 5", len(got))
	}
	for k, im := range got {
		if want := aSched[len(aSched)-1-k]; im.ID != want {
			t.Fatalf("image %d = %s, want %s (newest first)", k, im.ID, want)
		}
		if im.Properties["instance_uuid"] != a.ID || im.Status != images.ImageStatusActive || im.Owner != tc.Tenant.ID {
			t.Fatalf("image %+v", im)
		}
	}

	asc := list(t, glance, withProperties(images.ListOpts{Limit: 3, SortKey: "created_at", SortDir: "asc"},
		"instance_uuid", a.ID))
	if len(asc) != 7 || asc[0].ID != aSched[0] {
		t.Fatalf("ascending listing of a: %d images, first %s", len(asc), asc[0].ID)
	}

	if n := len(list(t, glance, withProperties(images.ListOpts{}, createdBy, "scheduled_images_service"))); n != 8 {
		t.Fatalf("created_by filter: %d, want 8", n)
	}
	// Alice sees her 10 snapshots and the public base image.
	if n := len(list(t, glance, images.ListOpts{})); n != 11 {
		t.Fatalf("unfiltered: %d, want 11", n)
	}
	if n := len(list(t, glance, images.ListOpts{Status: images.ImageStatusActive, Visibility: images.ImageVisibilityPrivate})); n != 10 {
		t.Fatalf("active private: %d, want 10", n)
	}

	// Bob sees none of them, even by instance_uuid.
	bob := imageClient(t, tc.provider(t, "bob", "bob-pw", "other"))
	if n := len(list(t, bob, withProperties(images.ListOpts{}, "instance_uuid", a.ID))); n != 0 {
		t.Fatalf("bob sees %d of alice's images", n)
	}
	if _, err := images.Get(ctx, bob, aSched[0]).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("bob gets alice's image: %v, want 404", err)
	}
	// The admin sees them all.
	admin := imageClient(t, tc.provider(t, AdminUser, "secret", AdminProject))
	if n := len(list(t, admin, images.ListOpts{Owner: tc.Tenant.ID})); n != 10 {
		t.Fatalf("admin by owner: %d, want 10", n)
	}
}

func TestListImagesRejectsBadQueries(t *testing.T) {
	tc := startCloud(t, Config{})
	tok := tc.provider(t, "alice", "alice-pw", "tenant").Token()
	for _, q := range []string{"limit=x", "limit=-1", "status=bogus", "sort_key=colour", "sort_dir=up",
		"marker=8f5e1c52-0000-4000-8000-000000000000", "created_at=gt:yesterday", "visibility=secret"} {
		t.Run(q, func(t *testing.T) {
			status, _, body := do(t, "GET", tc.URL+"/image/v2/images?"+q, tok, "")
			if status != http.StatusBadRequest || !strings.HasPrefix(body, "400 Bad Request") {
				t.Fatalf("status %d body %q, want 400", status, body)
			}
		})
	}
}

func TestImageGetUpdateDelete(t *testing.T) {
	tc := startCloud(t, Config{})
	ctx := context.Background()
	pc := tc.provider(t, "alice", "alice-pw", "tenant")
	nova, glance := compute(t, pc, "2.45"), imageClient(t, pc)
	s := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "a", DiskGB: 10})
	id := snapshots(t, tc, nova, s.ID, 1, map[string]string{createdBy: "scheduled_images_service", "run": "r1"})[0]

	im, err := images.Get(ctx, glance, id).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if im.Status != images.ImageStatusActive || im.MinDiskGigabytes != 10 || im.SizeBytes == 0 ||
		im.Properties["base_image_ref"] == nil || im.Properties["run"] != "r1" || im.Visibility != images.ImageVisibilityPrivate {
		t.Fatalf("image = %+v", im)
	}

	tc.Clock.Advance(time.Minute)
	up, err := images.Update(ctx, glance, id, images.UpdateOpts{
		images.UpdateImageProperty{Op: images.AddOp, Name: "note", Value: "keep"},
		images.UpdateImageProperty{Op: images.ReplaceOp, Name: "run", Value: "r2"},
		images.UpdateImageProperty{Op: images.RemoveOp, Name: createdBy},
		images.ReplaceImageName{NewName: "renamed"},
	}).Extract()
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if up.Name != "renamed" || up.Properties["note"] != "keep" || up.Properties["run"] != "r2" || up.Properties[createdBy] != nil ||
		!up.UpdatedAt.Equal(epoch.Add(time.Hour+time.Minute)) {
		t.Fatalf("updated = %+v", up)
	}
	// The removed property no longer matches a filter.
	pages, _ := images.List(glance, withProperties(images.ListOpts{}, createdBy, "scheduled_images_service")).AllPages(ctx)
	if list, _ := images.ExtractImages(pages); len(list) != 0 {
		t.Fatalf("filter still matches %d images", len(list))
	}

	refusals := []struct {
		name   string
		opts   images.UpdateOpts
		status int
	}{
		{"replacing a missing property conflicts", images.UpdateOpts{images.UpdateImageProperty{Op: images.ReplaceOp, Name: "nope", Value: "x"}}, 409},
		{"removing a missing property conflicts", images.UpdateOpts{images.UpdateImageProperty{Op: images.RemoveOp, Name: "nope"}}, 409},
		{"the status is read-only", images.UpdateOpts{images.UpdateImageProperty{Op: images.ReplaceOp, Name: "status", Value: "active"}}, 403},
		{"a failed batch changes nothing", images.UpdateOpts{
			images.UpdateImageProperty{Op: images.AddOp, Name: "half", Value: "x"},
			images.UpdateImageProperty{Op: images.RemoveOp, Name: "nope"},
		}, 409},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			_, err := images.Update(ctx, glance, id, r.opts).Extract()
			if !gophercloud.ResponseCodeIs(err, r.status) {
				t.Fatalf("err = %v, want %d", err, r.status)
			}
		})
	}
	if got, _ := images.Get(ctx, glance, id).Extract(); got.Properties["half"] != nil {
		t.Fatal("a refused patch was half applied")
	}

	bob := imageClient(t, tc.provider(t, "bob", "bob-pw", "other"))
	if err := images.Delete(ctx, bob, id).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("bob deletes alice's image: %v, want 404", err)
	}
	if err := images.Delete(ctx, glance, id).ExtractErr(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := images.Get(ctx, glance, id).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("get deleted: %v, want 404", err)
	}
	if err := images.Delete(ctx, glance, id).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("delete twice: %v, want 404", err)
	}
}

func TestDeletingASavingImageEndsTheTask(t *testing.T) {
	tc := startCloud(t, Config{RecordDeletions: true})
	ctx := context.Background()
	pc := tc.provider(t, "alice", "alice-pw", "tenant")
	nova, glance := compute(t, pc, "2.45"), imageClient(t, pc)
	s := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "a", DiskGB: 320})
	id, err := servers.CreateImage(ctx, nova, s.ID, servers.CreateImageOpts{Name: "big"}).ExtractImageID()
	if err != nil {
		t.Fatal(err)
	}
	tc.Clock.Advance(time.Minute)
	if got, _ := tc.Server(s.ID); got.TaskState != "image_uploading" {
		t.Fatalf("task_state %q", got.TaskState)
	}
	if err := images.Delete(ctx, glance, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got, _ := tc.Server(s.ID); got.TaskState != "" {
		t.Fatalf("task_state %q after the image was deleted", got.TaskState)
	}
	if del := tc.DeletedImages(); len(del) != 1 || del[0].ID != id || del[0].Status != "saving" {
		t.Fatalf("deleted images = %+v", del)
	}
	// The slot is recycled without mixing up chains.
	id2, err := servers.CreateImage(ctx, nova, s.ID, servers.CreateImageOpts{Name: "again"}).ExtractImageID()
	if err != nil {
		t.Fatal(err)
	}
	if imgs := tc.ServerImages(s.ID); len(imgs) != 1 || imgs[0].ID != id2 {
		t.Fatalf("server images = %+v", imgs)
	}
}
