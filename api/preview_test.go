package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"google.golang.org/grpc/codes"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cloud/sim"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// snapshot images server in the simulated cloud a minute after the previous
// image, carrying the service's marker when marked, and ends its save with
// status ("active", "error"), or leaves it queued when status is "".
func (h *cloudHarness) snapshot(t *testing.T, server, name string, marked bool, status string) string {
	t.Helper()
	h.clock.Advance(time.Minute)
	var meta map[string]string
	if marked {
		meta = map[string]string{cloud.CreatedByKey: cloud.CreatedByValue}
	}
	id, err := h.sim.CreateImage(server, name, meta)
	if err != nil {
		t.Fatal(err)
	}
	if status != "" {
		if err := h.sim.SetImageStatus(id, status); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func (h *cloudHarness) imageIDs(server string) []string {
	var ids []string
	for _, im := range h.sim.ServerImages(server) {
		ids = append(ids, im.ID)
	}
	slices.Sort(ids)
	return ids
}

// verdicts renders decisions as "name VERDICT reason" lines.
func verdicts(ds []*imgschedv1.RetentionDecision) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s %s %s", d.ImageName, d.Verdict, d.Reason))
	}
	return out
}

func TestPreviewRetentionJudgesTheServersImagesThroughTheRealCloud(t *testing.T) {
	h := newCloudHarness(t)
	alpha, alphaProvider := h.login(t, "alpha-user", "pw", "alpha")
	beta, _ := h.login(t, "beta-user", "pw", "beta")
	server := h.servers["alpha-1"]
	if r := h.do(t, "POST", schedulePath(h.project["alpha"], server), alpha, []byte(`{"image_schedule": {"retention": 2}}`)); r.status != 200 {
		t.Fatalf("enable: %d %s", r.status, r.body)
	}
	if rec, err := h.store.Get(context.Background(), server); err != nil || rec.GetTrustId() == "" {
		t.Fatalf("the tenant's schedule holds no trust: %v %v", rec, err)
	}
	h.snapshot(t, server, "daily-1", true, "active")
	h.snapshot(t, server, "daily-2", true, "active")
	h.snapshot(t, server, "manual-snapshot", false, "active")
	unmarked := h.snapshot(t, server, "daily-3-kept-by-the-user", true, "active")
	h.snapshot(t, h.servers["alpha-2"], "daily-other-server", true, "active")
	h.snapshot(t, server, "daily-4", true, "active")
	h.snapshot(t, server, "daily-5-failed", true, "error")
	h.snapshot(t, server, "daily-6", true, "active")
	h.snapshot(t, server, "daily-7-queued", true, "")
	// The tenant takes one image out of retention by removing the marker.
	glance, err := openstack.NewImageV2(alphaProvider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.Update(context.Background(), glance, unmarked, images.UpdateOpts{
		images.UpdateImageProperty{Op: images.RemoveOp, Name: cloud.CreatedByKey},
	}).Extract(); err != nil {
		t.Fatalf("removing the marker: %v", err)
	}
	before := h.imageIDs(server)
	ignored := []string{
		"daily-7-queued IGNORE_NOT_ACTIVE status is queued",
		"daily-5-failed IGNORE_NOT_ACTIVE status is error",
	}
	for _, tc := range []struct {
		name      string
		retention int64
		keep      uint32
		want      []string
	}{
		{"the schedule's retention keeps the two newest active scheduled images", 0, 2, append([]string{
			"daily-6 KEEP newest 1 of 4, retention 2",
			"daily-4 KEEP newest 2 of 4, retention 2",
			"daily-2 DELETE number 3 of 4 newest first, past retention 2",
			"daily-1 DELETE number 4 of 4 newest first, past retention 2",
		}, ignored...)},
		{"an override of three previews keeping one more", 3, 3, append([]string{
			"daily-6 KEEP newest 1 of 4, retention 3",
			"daily-4 KEEP newest 2 of 4, retention 3",
			"daily-2 KEEP newest 3 of 4, retention 3",
			"daily-1 DELETE number 4 of 4 newest first, past retention 3",
		}, ignored...)},
		{"an override past the image count deletes nothing", 65535, 65535, append([]string{
			"daily-6 KEEP newest 1 of 4, retention 65535",
			"daily-4 KEEP newest 2 of 4, retention 65535",
			"daily-2 KEEP newest 3 of 4, retention 65535",
			"daily-1 KEEP newest 4 of 4, retention 65535",
		}, ignored...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.runs.PreviewRetention(withToken(alpha), &imgschedv1.PreviewRetentionRequest{ServerId: server, Retention: tc.retention})
			if err != nil {
				t.Fatal(err)
			}
			if got.Retention != tc.keep || fmt.Sprint(verdicts(got.Decisions)) != fmt.Sprint(tc.want) {
				t.Fatalf("retention %d, decisions\n%q\nwant %d,\n%q", got.Retention, verdicts(got.Decisions), tc.keep, tc.want)
			}
			for _, d := range got.Decisions {
				im, ok := h.sim.LookupImage(d.ImageId)
				if !ok || d.Status != im.Status || !d.CreateTime.AsTime().Equal(im.CreatedAt.Truncate(time.Second)) {
					t.Fatalf("decision %v does not describe the cloud's image %+v", d, im)
				}
			}
			if after := h.imageIDs(server); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("the preview changed the images: %v, was %v", after, before)
			}
		})
	}

	r := h.do(t, "GET", "/v1/servers/"+server+"/retention:preview?retention=1", alpha, nil)
	var rest struct {
		Retention int `json:"retention"`
		Decisions []struct {
			ImageName string `json:"image_name"`
			Verdict   string `json:"verdict"`
		} `json:"decisions"`
	}
	if err := json.Unmarshal([]byte(r.body), &rest); err != nil || r.status != 200 || rest.Retention != 1 ||
		len(rest.Decisions) != 6 || rest.Decisions[0].ImageName != "daily-6" || rest.Decisions[1].Verdict != "DELETE" {
		t.Fatalf("GET retention:preview: %d %s", r.status, r.body)
	}
	_, err = h.runs.PreviewRetention(withToken(beta), &imgschedv1.PreviewRetentionRequest{ServerId: server})
	wantCode(t, err, codes.NotFound, "", "Image schedule does not exist for server "+server)
	_, err = h.runs.PreviewRetention(withToken(alpha), &imgschedv1.PreviewRetentionRequest{ServerId: h.servers["alpha-2"]})
	wantCode(t, err, codes.NotFound, "", "Image schedule does not exist for server "+h.servers["alpha-2"])
}

func TestPreviewRetentionOfAScheduleWithoutTrustUsesTheOperator(t *testing.T) {
	h := newCloudHarness(t)
	admin, _ := h.login(t, sim.AdminUser, sim.DefaultConfig().AdminPassword, sim.AdminProject)
	beta, _ := h.login(t, "beta-user", "pw", "beta")
	server := h.servers["beta-1"]
	if _, err := h.native.SetSchedule(withToken(admin), &imgschedv1.SetScheduleRequest{TenantId: h.project["beta"], ServerId: server, Retention: 1}); err != nil {
		t.Fatal(err)
	}
	if rec, err := h.store.Get(context.Background(), server); err != nil || rec.GetTrustId() != "" {
		t.Fatalf("an admin's schedule for another tenant holds a trust: %v %v", rec, err)
	}
	h.snapshot(t, server, "daily-old", true, "active")
	h.snapshot(t, server, "daily-new", true, "active")
	want := []string{"daily-new KEEP newest 1 of 2, retention 1", "daily-old DELETE number 2 of 2 newest first, past retention 1"}
	for _, token := range []string{admin, beta} {
		got, err := h.runs.PreviewRetention(withToken(token), &imgschedv1.PreviewRetentionRequest{ServerId: server})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(verdicts(got.Decisions)) != fmt.Sprint(want) {
			t.Fatalf("decisions %q, want %q", verdicts(got.Decisions), want)
		}
	}
}
