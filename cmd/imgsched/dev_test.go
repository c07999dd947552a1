package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// buildBinary builds imgsched once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imgsched")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// devProcess is a running `imgsched dev` and what its banner said.
type devProcess struct {
	cmd        *exec.Cmd
	rest       string
	grpc       string
	authURL    string
	cloudsFile string
	servers    []string
	exited     chan error
}

var bannerLine = regexp.MustCompile(`^\s+(REST API|gRPC API|auth URL|clouds.yaml)\s+(\S+)`)
var serverLine = regexp.MustCompile(`^\s{4}([0-9a-f-]{36})\s+demo-web-\d+$`)

// startDev runs `imgsched dev` on free ports and waits for its banner.
func startDev(t *testing.T, bin, dataDir string) *devProcess {
	t.Helper()
	cmd := exec.Command(bin, "dev", "--data-dir", dataDir, "--rest-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--cloud-addr", "127.0.0.1:0", "--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProcess{cmd: cmd, exited: make(chan error, 1)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if m := bannerLine.FindStringSubmatch(line); m != nil {
			switch m[1] {
			case "REST API":
				p.rest = m[2]
			case "gRPC API":
				p.grpc = m[2]
			case "auth URL":
				p.authURL = m[2]
			case "clouds.yaml":
				p.cloudsFile = m[2]
			}
		}
		if m := serverLine.FindStringSubmatch(line); m != nil {
			p.servers = append(p.servers, m[1])
		}
		if strings.HasPrefix(line, "Try it:") {
			break
		}
	}
	go func() {
		io.Copy(io.Discard, stdout)
		p.exited <- cmd.Wait()
	}()
	if p.rest == "" || p.grpc == "" || p.authURL == "" || len(p.servers) == 0 {
		t.Fatalf("banner incomplete: %+v", p)
	}
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		t.Fatalf("dev exited with %v after SIGTERM", err)
	}
	p.exited <- nil
}

func (p *devProcess) cli(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	return p.cliAs(t, bin, devDemoCloud, args...)
}

// cliAs runs a client command with the credentials of a clouds.yaml entry.
func (p *devProcess) cliAs(t *testing.T, bin, cloud string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, append(args, "--addr", p.grpc)...)
	cmd.Env = append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+p.cloudsFile, "OS_CLOUD="+cloud)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func demoToken(t *testing.T, authURL string) (token, project string) {
	t.Helper()
	provider, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: authURL, Username: devDemoUser, Password: devDemoPassword,
		DomainName: "Default", Scope: &gophercloud.AuthScope{ProjectName: devDemoProject, DomainName: "Default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, ok := provider.GetAuthResult().(tokens.CreateResult)
	if !ok {
		t.Fatalf("auth result is %T", provider.GetAuthResult())
	}
	p, err := res.ExtractProject()
	if err != nil {
		t.Fatal(err)
	}
	return provider.Token(), p.ID
}

func rest(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDevServesTheAPIAndKeepsSchedulesAcrossARestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	p := startDev(t, bin, dataDir)
	token, project := demoToken(t, p.authURL)
	url := fmt.Sprintf("%s/v2/%s/servers/%s/rax-si-image-schedule", p.rest, project, p.servers[0])
	const weekly = `{"image_schedule":{"retention":5,"day_of_week":"SATURDAY"}}`
	if code, body := rest(t, "POST", url, token, `{"image_schedule": {"retention": 5, "day_of_week": "saturday"}}`); code != 200 || body != weekly {
		t.Fatalf("POST: %d %s", code, body)
	}
	if code, body := rest(t, "POST", url, token, `{"image_schedule": {"retention": "5"}}`); code != 400 || !strings.Contains(body, "It must be an integer") {
		t.Fatalf("POST a string retention: %d %s", code, body)
	}
	out, err := p.cli(t, bin, "schedule", "enable", p.servers[1], "--retention", "3")
	if err != nil || !strings.Contains(out, "DAILY") {
		t.Fatalf("schedule enable: %v\n%s", err, out)
	}
	out, err = p.cli(t, bin, "schedule", "list", "-o", "json")
	if err != nil {
		t.Fatalf("schedule list: %v\n%s", err, out)
	}
	var listed []struct {
		ServerID  string `json:"server_id"`
		Retention int    `json:"retention"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("schedule list -o json: %v\n%s", err, out)
	}
	out, err = p.cli(t, bin, "schedule", "show", p.servers[2])
	if err == nil || !strings.Contains(out, "Image schedule does not exist for server "+p.servers[2]) {
		t.Fatalf("schedule show of an unscheduled server: %v\n%s", err, out)
	}
	p.stop(t)

	// The same data directory and seed: the schedules are still there.
	p = startDev(t, bin, dataDir)
	token, project = demoToken(t, p.authURL)
	url = fmt.Sprintf("%s/v2/%s/servers/%s/rax-si-image-schedule", p.rest, project, p.servers[0])
	if code, body := rest(t, "GET", url, token, ""); code != 200 || body != weekly {
		t.Fatalf("GET after restart: %d %s", code, body)
	}
	out, err = p.cli(t, bin, "schedule", "show", p.servers[1])
	if err != nil || !strings.Contains(out, p.servers[1]) || !strings.Contains(out, "DAILY") {
		t.Fatalf("schedule show after restart: %v\n%s", err, out)
	}
	out, err = p.cli(t, bin, "schedule", "disable", p.servers[1])
	if err != nil {
		t.Fatalf("schedule disable: %v\n%s", err, out)
	}
	if code, _ := rest(t, "DELETE", url, token, ""); code != 202 {
		t.Fatalf("DELETE: %d", code)
	}
	out, err = p.cli(t, bin, "schedule", "list")
	if err != nil || strings.Contains(out, p.servers[0]) || strings.Contains(out, p.servers[1]) {
		t.Fatalf("schedules remain after disable and DELETE: %v\n%s", err, out)
	}
	p.stop(t)
}

func TestImportReadsACSVAndReportsRejectedLines(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	p := startDev(t, bin, t.TempDir())
	var csv strings.Builder
	csv.WriteString("tenant_id,server_id,retention,day_of_week\n")
	for i := 0; i < 2500; i++ {
		day := ""
		if i%5 == 0 {
			day = ",saturday"
		}
		fmt.Fprintf(&csv, "fleet-%d,fleet-server-%04d,%d%s\n", i%4, i, 1+i%9, day)
	}
	csv.WriteString("fleet-1,fleet-server-bad,0\n")
	file := filepath.Join(t.TempDir(), "fleet.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := p.cliAs(t, bin, devAdminCloud, "schedule", "import", file, "--batch", "700")
	if err == nil || !strings.Contains(out, "imported 2500 schedules, rejected 1") ||
		!strings.Contains(out, "line 2502 (fleet-server-bad): The retention value 0 is not allowed") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err = p.cliAs(t, bin, devAdminCloud, "schedule", "list", "--tenant", "fleet-2", "--all", "-o", "json")
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	var listed []json.RawMessage
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 625 {
		t.Fatalf("fleet-2 lists %d schedules (%v), want 625", len(listed), err)
	}
	out, err = p.cli(t, bin, "schedule", "import", file)
	if err == nil || !strings.Contains(out, "importing schedules needs the admin role") {
		t.Fatalf("a member importing: %v\n%s", err, out)
	}
	p.stop(t)
}
