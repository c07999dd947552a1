package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

func TestTransportFaultsAnswerWithTheirStatus(t *testing.T) {
	cases := []struct {
		name       string
		faults     Faults
		path       string
		status     int
		retryAfter string
		body       string
	}{
		{"503 on compute with Retry-After", Faults{ServerErrorRate: 1, ServerErrorRetryAfter: 7},
			"/compute/v2.1/servers/detail", 503, "7", `"serviceUnavailable"`},
		{"503 on compute without Retry-After", Faults{ServerErrorRate: 1},
			"/compute/v2.1/servers", 503, "", `"serviceUnavailable"`},
		{"503 on image", Faults{ServerErrorRate: 1, ServerErrorRetryAfter: 2},
			"/image/v2/images", 503, "2", "503 Service Unavailable"},
		{"429 on compute", Faults{RateLimitRate: 1, RateLimitRetryAfter: 30},
			"/compute/v2.1/servers", 429, "30", `"overLimit"`},
		{"429 on image always says when to retry", Faults{RateLimitRate: 1},
			"/image/v2/images", 429, "1", "429 Too Many Requests"},
		{"keystone is never faulted", Faults{ServerErrorRate: 1, RateLimitRate: 1},
			"/identity/v3", 200, "", `"v3.14"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := startCloud(t, Config{Faults: c.faults})
			tok := tc.provider(t, "alice", "alice-pw", "tenant").Token()
			status, hdr, body := do(t, "GET", tc.URL+c.path, tok, "")
			if status != c.status || hdr.Get("Retry-After") != c.retryAfter || !strings.Contains(body, c.body) {
				t.Fatalf("got %d Retry-After %q body %q; want %d %q %q", status, hdr.Get("Retry-After"), body, c.status, c.retryAfter, c.body)
			}
		})
	}
}

func TestSnapshotFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, tc *testCloud, server Server, imageID string, err error)
	}{
		{"conflict refuses an idle server", Faults{ConflictRate: 1}, func(t *testing.T, tc *testCloud, s Server, id string, err error) {
			if err == nil || !strings.Contains(err.Error(), "conflictingRequest") || !strings.Contains(err.Error(), "409") {
				t.Fatalf("err = %v, want 409 conflictingRequest", err)
			}
		}},
		{"the image ends in error", Faults{ImageErrorRate: 1}, func(t *testing.T, tc *testCloud, s Server, id string, err error) {
			tc.Clock.Advance(time.Hour)
			if im, _ := tc.LookupImage(id); err != nil || im.Status != "error" || !im.ActiveAt.IsZero() {
				t.Fatalf("image %+v, %v; want error", im, err)
			}
			if got, _ := tc.Server(s.ID); got.TaskState != "" {
				t.Fatalf("task_state %q after the image failed", got.TaskState)
			}
		}},
		{"the image ends killed", Faults{ImageKilledRate: 1}, func(t *testing.T, tc *testCloud, s Server, id string, err error) {
			tc.Clock.Advance(time.Hour)
			if im, _ := tc.LookupImage(id); err != nil || im.Status != "killed" {
				t.Fatalf("image %+v, %v; want killed", im, err)
			}
		}},
		{"a slow save takes the factor longer", Faults{SlowSaveRate: 1, SlowSaveFactor: 3}, func(t *testing.T, tc *testCloud, s Server, id string, err error) {
			if err != nil {
				t.Fatal(err)
			}
			tc.Clock.Advance(24 * time.Hour)
			im, _ := tc.LookupImage(id)
			// 20 GB: (30 s + 5 min) * 3 after 10 s queued.
			if want := im.CreatedAt.Add(10*time.Second + 3*(30*time.Second+5*time.Minute)); !im.ActiveAt.Equal(want) {
				t.Fatalf("active at %v, want %v", im.ActiveAt, want)
			}
		}},
		{"the server vanishes", Faults{ServerVanishRate: 1}, func(t *testing.T, tc *testCloud, s Server, id string, err error) {
			if err == nil || !strings.Contains(err.Error(), "itemNotFound") {
				t.Fatalf("err = %v, want 404 itemNotFound", err)
			}
			if got, _ := tc.Server(s.ID); got.Status != "DELETED" {
				t.Fatalf("server status %s, want DELETED", got.Status)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := startCloud(t, Config{Faults: c.faults, SaveJitter: -1})
			s := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "a", DiskGB: 20})
			nova := compute(t, tc.provider(t, "alice", "alice-pw", "tenant"), "2.45")
			id, err := servers.CreateImage(context.Background(), nova, s.ID, servers.CreateImageOpts{Name: "x"}).ExtractImageID()
			c.check(t, tc, s, id, err)
		})
	}
}

// outcomes runs the same request sequence against a cloud and records what
// each request got.
func outcomes(t *testing.T, seed int64) string {
	tc := startCloud(t, Config{Seed: seed, SaveJitter: 0.5, Faults: Faults{
		ServerErrorRate: 0.2, ConflictRate: 0.2, ImageErrorRate: 0.3, ImageKilledRate: 0.1,
	}})
	nova := compute(t, tc.provider(t, "alice", "alice-pw", "tenant"), "2.45")
	var b strings.Builder
	for k := range 40 {
		s := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "s", DiskGB: 10 * (k + 1)})
		id, err := servers.CreateImage(context.Background(), nova, s.ID, servers.CreateImageOpts{Name: "x"}).ExtractImageID()
		if err != nil {
			b.WriteString(err.Error()[:20])
			continue
		}
		tc.Clock.Advance(48 * time.Hour)
		im, _ := tc.LookupImage(id)
		b.WriteString(id + im.Status + im.ActiveAt.String() + ";")
	}
	return b.String()
}

func TestFaultsAreReproducibleFromTheSeed(t *testing.T) {
	a, b, other := outcomes(t, 42), outcomes(t, 42), outcomes(t, 43)
	if a != b {
		t.Fatal("the same seed and requests gave different outcomes")
	}
	if a == other {
		t.Fatal("different seeds gave identical outcomes")
	}
	for _, want := range []string{"active", "error", "killed", "Expected HTTP"} {
		if !strings.Contains(a, want) {
			t.Fatalf("40 requests at these rates never produced %q", want)
		}
	}
}

func TestAdminEndpoint(t *testing.T) {
	tc := startCloud(t, Config{})
	admin := tc.provider(t, AdminUser, "secret", AdminProject).Token()
	alice := tc.provider(t, "alice", "alice-pw", "tenant")
	nova := compute(t, alice, "2.45")
	s := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "a"})
	ctx := context.Background()

	if status, _, _ := do(t, "GET", tc.URL+"/admin/faults", alice.Token(), ""); status != http.StatusForbidden {
		t.Fatalf("member on admin endpoint: %d, want 403", status)
	}
	if status, _, _ := do(t, "GET", tc.URL+"/admin/faults", "", ""); status != http.StatusUnauthorized {
		t.Fatalf("no token on admin endpoint: %d, want 401", status)
	}
	if status, _, body := do(t, "PUT", tc.URL+"/admin/faults", admin, `{"conflict_rate": 1.5}`); status != http.StatusBadRequest {
		t.Fatalf("invalid rate: %d %s, want 400", status, body)
	}
	if status, _, body := do(t, "PUT", tc.URL+"/admin/faults", admin, `{"rate_limit_rate": 0.25, "rate_limit_retry_after": 9}`); status != http.StatusOK {
		t.Fatalf("put faults: %d %s", status, body)
	}
	_, _, body := do(t, "GET", tc.URL+"/admin/faults", admin, "")
	var f Faults
	if err := json.Unmarshal([]byte(body), &f); err != nil || f.RateLimitRate != 0.25 || f.RateLimitRetryAfter != 9 || tc.Faults() != f {
		t.Fatalf("faults = %+v (%v), cloud has %+v", f, err, tc.Faults())
	}
	if err := tc.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		op    string
		body  string
		check func() string
	}{
		{"busy", `{"task_state": "migrating"}`, func() string {
			err := servers.CreateImage(ctx, nova, s.ID, servers.CreateImageOpts{Name: "x"}).Err
			if err == nil || !strings.Contains(err.Error(), "task_state migrating") {
				return "createImage on a busy server: " + errString(err)
			}
			return ""
		}},
		{"clear", "", func() string {
			id, err := servers.CreateImage(ctx, nova, s.ID, servers.CreateImageOpts{Name: "x"}).ExtractImageID()
			if err != nil {
				return "createImage after clear: " + err.Error()
			}
			status, _, body := do(t, "POST", tc.URL+"/admin/images/"+id+"/status", admin, `{"status": "killed"}`)
			if im, _ := tc.LookupImage(id); status != 200 || im.Status != "killed" {
				return "forcing the image killed: " + body
			}
			return ""
		}},
		{"error", "", func() string {
			if got, err := servers.Get(ctx, nova, s.ID).Extract(); err != nil || got.Status != "ERROR" {
				return "server not in ERROR: " + errString(err)
			}
			return ""
		}},
		{"delete", "", func() string {
			if _, err := servers.Get(ctx, nova, s.ID).Extract(); err == nil || !strings.Contains(err.Error(), "404") {
				return "deleted server: " + errString(err)
			}
			return ""
		}},
	}
	for _, st := range steps {
		status, _, body := do(t, "POST", tc.URL+"/admin/servers/"+s.ID+"/"+st.op, admin, st.body)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", st.op, status, body)
		}
		if msg := st.check(); msg != "" {
			t.Fatalf("after %s: %s", st.op, msg)
		}
	}
	if status, _, _ := do(t, "POST", tc.URL+"/admin/servers/"+s.ID+"/busy", admin, ""); status != http.StatusNotFound {
		t.Fatalf("busy on a deleted server: %d, want 404", status)
	}

	status, _, _ := do(t, "POST", tc.URL+"/admin/tokens/expire", admin, `{"token": "`+alice.Token()+`"}`)
	if status != http.StatusNoContent {
		t.Fatalf("expire: %d", status)
	}
	if status, _, _ := do(t, "GET", tc.URL+"/compute/v2.1/servers", alice.Token(), ""); status != http.StatusUnauthorized {
		t.Fatalf("expired token on compute: %d, want 401", status)
	}

	status, _, body = do(t, "POST", tc.URL+"/admin/seed", admin, `{"projects": 3, "servers": 30}`)
	if status != http.StatusCreated || tc.ServerCount() != 30 {
		t.Fatalf("seed: %d %s, %d servers", status, body, tc.ServerCount())
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

func TestAdminImagesStreamsLiveAndDeletedImages(t *testing.T) {
	tc := startCloud(t, Config{RecordDeletions: true})
	srv := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "history", DiskGB: 10})
	keep, err := tc.CreateImage(srv.ID, "keep", map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	tc.Clock.Advance(2 * time.Hour)
	gone, err := tc.CreateImage(srv.ID, "gone", nil)
	if err != nil {
		t.Fatal(err)
	}
	tc.Clock.Advance(2 * time.Hour)
	admin := tc.provider(t, AdminUser, "secret", AdminProject).Token()
	if code, _, body := do(t, "DELETE", tc.URL+"/image/v2/images/"+gone, admin, ""); code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	code, _, body := do(t, "GET", tc.URL+"/admin/images", admin, "")
	if code != 200 {
		t.Fatalf("GET /admin/images: %d %s", code, body)
	}
	dec := json.NewDecoder(strings.NewReader(body))
	seen := map[string]Image{}
	for dec.More() {
		var im Image
		if err := dec.Decode(&im); err != nil {
			t.Fatal(err)
		}
		seen[im.ID] = im
	}
	if im := seen[keep]; im.Status != "active" || im.Properties["k"] != "v" || !im.DeletedAt.IsZero() || im.ServerID != srv.ID {
		t.Fatalf("live image streamed as %+v", im)
	}
	if im := seen[gone]; im.DeletedAt.IsZero() || im.ServerID != srv.ID {
		t.Fatalf("deleted image streamed as %+v, want deleted_at set", im)
	}
	if code, _, _ := do(t, "GET", tc.URL+"/admin/images", tc.provider(t, "alice", "alice-pw", "tenant").Token(), ""); code != 403 {
		t.Fatalf("a member reading /admin/images: %d, want 403", code)
	}
}
