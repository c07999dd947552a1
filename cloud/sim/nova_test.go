package sim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func TestListServersPaginatesNewestFirst(t *testing.T) {
	tc := startCloud(t, Config{})
	var want []string
	for k := range 10 {
		tc.Clock.Advance(time.Second)
		s := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: fmt.Sprintf("web-%d", k), DiskGB: 20})
		want = append([]string{s.ID}, want...)
	}
	tc.AddServer(tc.Other.ID, ServerSpec{Name: "bobs"})
	nova := compute(t, tc.provider(t, "alice", "alice-pw", "tenant"), "")

	pagesSeen := 0
	var got []string
	err := servers.List(nova, servers.ListOpts{Limit: 3}).EachPage(context.Background(), func(_ context.Context, p pagination.Page) (bool, error) {
		pagesSeen++
		list, err := servers.ExtractServers(p)
		for _, s := range list {
			got = append(got, s.ID)
		}
		return true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ids = %v\nwant %v", got, want)
	}
	if pagesSeen < 4 {
		t.Fatalf("%d pages for 10 servers at limit 3", pagesSeen)
	}

	all, err := servers.List(nova, servers.ListOpts{Limit: 4}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	list, _ := servers.ExtractServers(all)
	if len(list) != 10 {
		t.Fatalf("AllPages: %d servers, want 10 (another tenant's are hidden)", len(list))
	}

	// Filters: name is a regular expression, as in Nova.
	pages, err := servers.List(nova, servers.ListOpts{Name: "web-[12]$"}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := servers.ExtractServers(pages); len(list) != 2 {
		t.Fatalf("name filter: %d servers, want 2", len(list))
	}

	// all_tenants is for admins only.
	admin := compute(t, tc.provider(t, AdminUser, "secret", AdminProject), "")
	pages, err = servers.List(admin, servers.ListOpts{AllTenants: true}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := servers.ExtractServers(pages); len(list) != 11 {
		t.Fatalf("all_tenants: %d servers, want 11", len(list))
	}
	_, err = servers.List(nova, servers.ListOpts{AllTenants: true}).AllPages(context.Background())
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Fatalf("member all_tenants: %v, want 403", err)
	}
}

func TestGetServerShowsNovaFields(t *testing.T) {
	tc := startCloud(t, Config{})
	s := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "db", DiskGB: 80, Host: "compute-7"})
	ctx := context.Background()
	pc := tc.provider(t, "alice", "alice-pw", "tenant")

	got, err := servers.Get(ctx, compute(t, pc, "2.47"), s.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "db" || got.Status != "ACTIVE" || got.TenantID != tc.Tenant.ID || got.UserID != tc.Alice.ID ||
		got.TaskState != "" || got.HostID == "" || !got.Created.Equal(epoch) {
		t.Fatalf("server = %+v", got)
	}
	if got.Flavor["disk"] != float64(80) || got.Flavor["original_name"] != "sim.d80" {
		t.Fatalf("flavor at 2.47 = %v", got.Flavor)
	}
	if got.Host != "" {
		t.Fatalf("a member sees the host %q", got.Host)
	}
	old, err := servers.Get(ctx, compute(t, pc, ""), s.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if old.Flavor["id"] != "sim-d80" || old.Flavor["disk"] != nil {
		t.Fatalf("flavor at 2.1 = %v", old.Flavor)
	}

	other := compute(t, tc.provider(t, "bob", "bob-pw", "other"), "")
	if _, err := servers.Get(ctx, other, s.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("another tenant's server: %v, want 404", err)
	}
	admin := compute(t, tc.provider(t, AdminUser, "secret", AdminProject), "")
	if got, err := servers.Get(ctx, admin, s.ID).Extract(); err != nil || got.Host != "compute-7" {
		t.Fatalf("admin get: host %q, %v", got.Host, err)
	}
	tc.DeleteServer(s.ID)
	if _, err := servers.Get(ctx, admin, s.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("deleted server: %v, want 404", err)
	}
}

func TestCreateImageRunsTheSnapshotTask(t *testing.T) {
	// 40 GB at 4 GB/min plus 30 s overhead, no jitter: 10m30s of saving
	// after 10 s queued.
	tc := startCloud(t, Config{SaveJitter: -1})
	s := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "app", DiskGB: 40})
	ctx := context.Background()
	pc := tc.provider(t, "alice", "alice-pw", "tenant")

	for _, mv := range []string{"", "2.45"} {
		t.Run("microversion "+mv, func(t *testing.T) {
			nova := compute(t, pc, mv)
			res := servers.CreateImage(ctx, nova, s.ID, servers.CreateImageOpts{
				Name:     "snap-" + mv,
				Metadata: map[string]string{"org.openstack__1__created_by": "scheduled_images_service"},
			})
			id, err := res.ExtractImageID()
			if err != nil {
				t.Fatalf("createImage: %v", err)
			}
			hasLocation := res.Header.Get("Location") != ""
			if hasLocation != (mv == "") {
				t.Fatalf("Location header present = %v at microversion %q", hasLocation, mv)
			}
			im, ok := tc.LookupImage(id)
			if !ok || im.Status != "queued" || im.ServerID != s.ID || im.Owner != tc.Tenant.ID ||
				im.Properties["instance_uuid"] != s.ID || im.Properties["image_type"] != "snapshot" ||
				im.Properties["org.openstack__1__created_by"] != "scheduled_images_service" {
				t.Fatalf("image = %+v", im)
			}

			phases := []struct {
				advance time.Duration
				task    string
				status  string
			}{
				{0, "image_snapshot", "queued"},
				{6 * time.Second, "image_pending_upload", "queued"},
				{5 * time.Second, "image_uploading", "saving"},
				{10*time.Minute + 29*time.Second - time.Second, "image_uploading", "saving"},
				{2 * time.Second, "", "active"},
			}
			for _, p := range phases {
				tc.Clock.Advance(p.advance)
				got, err := servers.Get(ctx, nova, s.ID).Extract()
				if err != nil {
					t.Fatal(err)
				}
				im, _ := tc.LookupImage(id)
				if got.TaskState != p.task || im.Status != p.status {
					t.Fatalf("after +%v: task_state %q image %s, want %q %s", p.advance, got.TaskState, im.Status, p.task, p.status)
				}
				if p.task != "" {
					err := servers.CreateImage(ctx, nova, s.ID, servers.CreateImageOpts{Name: "again"}).Err
					if !gophercloud.ResponseCodeIs(err, http.StatusConflict) || !strings.Contains(err.Error(), "conflictingRequest") {
						t.Fatalf("createImage while %s: %v, want 409 conflictingRequest", p.task, err)
					}
				}
			}
			im, _ = tc.LookupImage(id)
			if want := im.CreatedAt.Add(10*time.Second + 10*time.Minute + 30*time.Second); !im.ActiveAt.Equal(want) {
				t.Fatalf("active at %v, want %v", im.ActiveAt, want)
			}
		})
	}
}

func TestCreateImageRefusals(t *testing.T) {
	tc := startCloud(t, Config{})
	ctx := context.Background()
	s := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "app"})
	bobs := tc.AddServer(tc.Other.ID, ServerSpec{Name: "bobs"})
	reader := tc.AddUser(tc.Tenant.ID, "carol", "carol-pw", "reader")
	nova := compute(t, tc.provider(t, "alice", "alice-pw", "tenant"), "2.45")
	cases := []struct {
		name   string
		setup  func()
		client *gophercloud.ServiceClient
		server string
		opts   servers.CreateImageOpts
		status int
		fault  string
	}{
		{"another tenant's server is not found", nil, nova, bobs.ID, servers.CreateImageOpts{Name: "x"}, 404, "itemNotFound"},
		{"an unknown server is not found", nil, nova, "9d0d7bd0-0000-4000-8000-000000000000", servers.CreateImageOpts{Name: "x"}, 404, "itemNotFound"},
		{"a server in ERROR conflicts", func() { _ = tc.SetServerError(s.ID) }, nova, s.ID, servers.CreateImageOpts{Name: "x"}, 409, "vm_state error"},
		{"a busy server conflicts", func() { _ = tc.ClearServer(s.ID); _ = tc.SetServerBusy(s.ID, "rebooting") }, nova, s.ID, servers.CreateImageOpts{Name: "x"}, 409, "task_state rebooting"},
		{"a reader may not snapshot", func() { _ = tc.ClearServer(s.ID) }, compute(t, tc.provider(t, reader.Name, "carol-pw", "tenant"), ""), s.ID, servers.CreateImageOpts{Name: "x"}, 403, "forbidden"},
		{"a blank name is a bad request", nil, nova, s.ID, servers.CreateImageOpts{Name: "  "}, 400, "badRequest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			err := servers.CreateImage(ctx, c.client, c.server, c.opts).Err
			if !gophercloud.ResponseCodeIs(err, c.status) || !strings.Contains(err.Error(), c.fault) {
				t.Fatalf("err = %v, want %d with %q", err, c.status, c.fault)
			}
		})
	}
	if n := len(tc.ServerImages(s.ID)); n != 0 {
		t.Fatalf("refused requests left %d images", n)
	}
}

func TestMicroversionNegotiation(t *testing.T) {
	tc := startCloud(t, Config{})
	tok := tc.provider(t, "alice", "alice-pw", "tenant").Token()
	url := tc.URL + "/compute/v2.1/servers"
	cases := []struct {
		name, header, value string
		status              int
		echoed              string
	}{
		{"no header is 2.1", "", "", 200, "2.1"},
		{"OpenStack-API-Version", "OpenStack-API-Version", "compute 2.47", 200, "2.47"},
		{"the legacy header", "X-OpenStack-Nova-API-Version", "2.45", 200, "2.45"},
		{"latest is the maximum", "OpenStack-API-Version", "compute latest", 200, fmt.Sprintf("2.%d", maxMinor)},
		{"too new is not acceptable", "OpenStack-API-Version", "compute 2.999", 406, "2.1"},
		{"garbage is a bad request", "OpenStack-API-Version", "compute two", 400, "2.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, _ := do(t, "GET", url, tok, "", c.header, c.value)
			if status != c.status || hdr.Get("X-OpenStack-Nova-API-Version") != c.echoed {
				t.Fatalf("status %d version %q, want %d %q", status, hdr.Get("X-OpenStack-Nova-API-Version"), c.status, c.echoed)
			}
		})
	}
}
