package sim

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// openstackCLI finds the openstack command line, installing it when absent.
// The simulator's promise is that standard clients work, so a machine
// without it fails the test instead of skipping.
func openstackCLI(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("openstack"); err == nil {
		return p
	}
	// A fresh machine may have no package lists yet.
	update, _ := exec.Command("apt-get", "update", "-qq").CombinedOutput()
	out, err := exec.Command("apt-get", "install", "-y", "-qq", "python3-openstackclient").CombinedOutput()
	out = append(update, out...)
	if p, lookErr := exec.LookPath("openstack"); lookErr == nil {
		return p
	}
	t.Fatalf("the openstack CLI is not installed and `apt-get install -y python3-openstackclient` failed (%v):\n%s\n"+
		"install python3-openstackclient to run this test", err, out)
	return ""
}

// cli runs one openstack command as user against the cloud, in a clean
// environment (no clouds.yaml, no inherited OS_* variables).
func (tc *testCloud) cli(t *testing.T, bin, user, password, project string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{
		"HOME=" + t.TempDir(),
		"PATH=" + os.Getenv("PATH"),
		"OS_AUTH_URL=" + tc.URL + "/identity",
		"OS_IDENTITY_API_VERSION=3",
		"OS_USERNAME=" + user,
		"OS_PASSWORD=" + password,
		"OS_PROJECT_NAME=" + project,
		"OS_USER_DOMAIN_NAME=" + DomainName,
		"OS_PROJECT_DOMAIN_NAME=" + DomainName,
		"OS_REGION_NAME=RegionOne",
		"OS_INTERFACE=public",
	}
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("openstack %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

func decodeCLI(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decode CLI output: %v\n%s", err, out)
	}
}

func TestOpenStackCLIWorksUnchanged(t *testing.T) {
	bin := openstackCLI(t)
	tc := startCloud(t, Config{})
	web := tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "web-1", DiskGB: 20})
	tc.AddServer(tc.Tenant.ID, ServerSpec{Name: "db-1", DiskGB: 80})
	tc.AddServer(tc.Other.ID, ServerSpec{Name: "bobs-server"})
	run := func(args ...string) string { return tc.cli(t, bin, "alice", "alice-pw", "tenant", args...) }

	var list []map[string]any
	decodeCLI(t, run("server", "list", "-f", "json"), &list)
	var names []string
	for _, s := range list {
		names = append(names, s["Name"].(string))
	}
	if strings.Join(names, ",") != "db-1,web-1" {
		t.Fatalf("server list names = %v", names)
	}

	var show map[string]any
	decodeCLI(t, run("server", "show", "web-1", "-f", "json"), &show)
	if show["id"] != web.ID || show["status"] != "ACTIVE" || show["project_id"] != tc.Tenant.ID {
		t.Fatalf("server show = %v", show)
	}

	var created map[string]any
	decodeCLI(t, run("server", "image", "create", "--name", "cli-snap", "--property", "purpose=cli-test", "web-1", "-f", "json"), &created)
	imageID, _ := created["id"].(string)
	im, ok := tc.LookupImage(imageID)
	if !ok || im.Name != "cli-snap" || im.ServerID != web.ID || im.Properties["purpose"] != "cli-test" {
		t.Fatalf("server image create printed %v; the cloud has %+v", created, im)
	}
	tc.Clock.Advance(time.Hour)

	var images []map[string]any
	decodeCLI(t, run("image", "list", "--property", "instance_uuid="+web.ID, "-f", "json"), &images)
	if len(images) != 1 || images[0]["ID"] != imageID || images[0]["Status"] != "active" {
		t.Fatalf("image list --property = %v", images)
	}

	var shown map[string]any
	decodeCLI(t, run("image", "show", "cli-snap", "-f", "json"), &shown)
	props, _ := shown["properties"].(map[string]any)
	if shown["id"] != imageID || shown["status"] != "active" || props["instance_uuid"] != web.ID || props["purpose"] != "cli-test" {
		t.Fatalf("image show = %v", shown)
	}

	run("image", "delete", "cli-snap")
	if _, ok := tc.LookupImage(imageID); ok {
		t.Fatal("image delete left the image")
	}
}
