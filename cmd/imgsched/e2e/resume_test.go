package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/imgsched/imgsched/benchmarks/check"
	"github.com/imgsched/imgsched/cloud/sim"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

var (
	cloudsimURL = regexp.MustCompile(`simulated cloud at (http://\S+)`)
	serveAddrs  = regexp.MustCompile(`"msg":"serving".*"rest":"([^"]+)".*"grpc":"([^"]+)"`)
)

// serviceClouds writes a clouds.yaml with imgsched's service user.
func serviceClouds(t *testing.T, cloudURL string) string {
	t.Helper()
	cfg := sim.DefaultConfig()
	f := filepath.Join(t.TempDir(), "clouds.yaml")
	yaml := fmt.Sprintf(`clouds:
  svc:
    auth:
      auth_url: %s/identity/v3
      username: %s
      password: %s
      project_name: %s
      user_domain_name: %s
      project_domain_name: %s
    region_name: %s
    identity_api_version: 3
`, cloudURL, sim.ServiceUser, cfg.ServicePassword, sim.ServiceProject, sim.DomainName, sim.DomainName, cfg.Region)
	if err := os.WriteFile(f, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// addServer adds a server through the simulated cloud's admin endpoint.
func (a admin) addServer(t *testing.T, project, name string, diskGB int) (id, projectID string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"project": project, "name": name, "disk_gb": diskGB})
	var out struct {
		Server struct {
			ID        string `json:"id"`
			ProjectID string `json:"project_id"`
		} `json:"server"`
	}
	a.post(t, "/admin/servers", body, &out)
	return out.Server.ID, out.Server.ProjectID
}

func (a admin) post(t *testing.T, path string, body []byte, out any) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.cloudURL+path, bytes.NewReader(body))
	req.Header.Set("X-Auth-Token", a.provider.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s %s", path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("POST %s: %v in %s", path, err, b)
		}
	}
}

// serverImages returns the scheduled images of one server, live or not.
func (a admin) serverImages(t *testing.T, serverID string) []check.Image {
	t.Helper()
	var out []check.Image
	for _, im := range a.images(t) {
		if im.ServerID == serverID && im.Scheduled() {
			out = append(out, im)
		}
	}
	return out
}

// waitImages polls the cloud until cond holds for the server's scheduled
// images (the condition is the event; the poll interval only paces reads).
func (a admin) waitImages(t *testing.T, serverID string, limit time.Duration, what string, cond func([]check.Image) bool) []check.Image {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		imgs := a.serverImages(t, serverID)
		if cond(imgs) {
			return imgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s: %s did not happen within %s; images %+v", serverID, what, limit, imgs)
		}
		<-tick.C
	}
}

func startServe(t *testing.T, name, dataDir, clouds string, clock simClock) (*proc, string, string) {
	t.Helper()
	p := start(t, name, append([]string{"serve", "--data-dir", dataDir, "--rest-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--clouds-file", clouds, "--os-cloud", "svc", "--tenancy", "operator"}, clock.flags()...)...)
	m := p.waitFor(t, serveAddrs, time.Minute)
	return p, m[1], m[2]
}

// TestSIGKILLWhileSavingResumesTheRunWithoutASecondImage kills the node
// while its image is saving; the restarted node finds the image by its run
// id and polls it instead of asking for another.
func TestSIGKILLWhileSavingResumesTheRunWithoutASecondImage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes on an accelerated clock")
	}
	// A simulated hour per real second; a 2 TB disk saves for about 8
	// simulated hours, so the image is still saving across the restart.
	first := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	clock := newSimClock(first.Add(time.Hour), 3600)
	cs := start(t, "cloudsim", append([]string{"cloudsim", "--addr", "127.0.0.1:0", "--record-deletions", "--token-ttl", "8760h", "--servers", "3", "--projects", "1"}, clock.flags()...)...)
	cloudURL := cs.waitFor(t, cloudsimURL, time.Minute)[1]
	adm := loginAdmin(t, cloudURL)
	serverID, projectID := adm.addServer(t, "project-00000", "big", 2000)
	clouds := serviceClouds(t, cloudURL)
	dataDir := t.TempDir()

	node, _, grpcAddr := startServe(t, "serve-1", dataDir, clouds, clock)
	importSchedules(t, grpcAddr, adm.provider.Token(), []*imgschedv1.SetScheduleRequest{{TenantId: projectID, ServerId: serverID, Retention: 2}})
	runNow(t, grpcAddr, adm.provider.Token(), serverID)
	saving := adm.waitImages(t, serverID, 2*time.Minute, "an image saving", func(imgs []check.Image) bool {
		return len(imgs) == 1 && !imgs[0].BecameActive()
	})
	node.signal(t, syscall.SIGKILL)

	startServe(t, "serve-2", dataDir, clouds, clock)
	// Past the save and well into the window: the resumed run must have
	// seen the image ACTIVE and finished, with no second image asked for.
	w, _ := scheduler.DailySchedule().WindowAt(saving[0].CreatedAt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := clock.until(ctx, w.End.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	imgs := adm.serverImages(t, serverID)
	r := check.Check([]check.Schedule{{ServerID: serverID, Schedule: scheduler.DailySchedule(), Retention: 2}}, imgs,
		check.Period{From: w.Start, To: w.End}, true)
	if len(imgs) != 1 || imgs[0].ID != saving[0].ID || !imgs[0].BecameActive() || r.Duplicates != 0 {
		t.Fatalf("after the restart the server's window %s has images %+v, want only %s, ACTIVE (%s)", w.ID(), imgs, saving[0].ID, r)
	}
}
