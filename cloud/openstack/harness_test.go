package openstack

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"go.uber.org/zap/zaptest"

	"github.com/imgsched/imgsched/cloud/sim"
	"github.com/imgsched/imgsched/scheduler/schedulertest"
)

// testCloud is a simulated cloud served over real HTTP on a loopback port,
// behind a front that records every request and lets a test intercept some.
type testCloud struct {
	sim   *sim.Cloud
	clock *schedulertest.Clock
	url   string
	front *front
}

// front records requests and hands them to hook first.
type front struct {
	next http.Handler
	mu   sync.Mutex
	log  []string // "METHOD /path?query"
	hook func(w http.ResponseWriter, r *http.Request) bool
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+r.URL.RequestURI())
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	f.next.ServeHTTP(w, r)
}

// intercept makes hook see every request first; it answers the request
// itself by returning true.
func (f *front) intercept(hook func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.hook = hook
	f.mu.Unlock()
}

// requests returns the recorded requests with that method whose path and
// query start with prefix.
func (f *front) requests(method, prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		m, uri, _ := strings.Cut(l, " ")
		if m == method && strings.HasPrefix(uri, prefix) {
			out = append(out, uri)
		}
	}
	return out
}

func (f *front) count(method, prefix string) int { return len(f.requests(method, prefix)) }

func newTestCloud(t *testing.T) *testCloud {
	t.Helper()
	clock := schedulertest.NewClock(epoch)
	c := sim.New(sim.Config{Clock: clock, Seed: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{next: c.Handler()}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	url := "http://" + ln.Addr().String()
	c.SetBaseURL(url)
	return &testCloud{sim: c, clock: clock, url: url, front: f}
}

func (tc *testCloud) authURL() string { return tc.url + "/identity/v3" }

// serviceAuth are the credentials of the simulated cloud's imgsched user.
func (tc *testCloud) serviceAuth() *gophercloud.AuthOptions {
	return &gophercloud.AuthOptions{
		IdentityEndpoint: tc.authURL(),
		Username:         sim.ServiceUser,
		Password:         sim.DefaultConfig().ServicePassword,
		DomainName:       sim.DomainName,
		TenantName:       sim.ServiceProject,
	}
}

// sleeper stands in for Config.Sleep: it records the delays asked for and
// returns at once, after calling onSleep with the number of sleeps so far.
type sleeper struct {
	mu      sync.Mutex
	delays  []time.Duration
	onSleep func(n int)
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.delays = append(s.delays, d)
	n, on := len(s.delays), s.onSleep
	s.mu.Unlock()
	if on != nil {
		on(n)
	}
	return ctx.Err()
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// newClient connects a Client to the cloud as the imgsched user, with a
// recording sleeper, the cloud's clock and two images per Glance page.
func (tc *testCloud) newClient(t *testing.T, mods ...func(*Config)) (*Client, *sleeper) {
	t.Helper()
	sl := &sleeper{}
	cfg := Config{
		Auth:          tc.serviceAuth(),
		Clock:         tc.clock,
		Sleep:         sl.sleep,
		ImagePageSize: 2,
		Logger:        zaptest.NewLogger(t),
	}
	for _, mod := range mods {
		mod(&cfg)
	}
	c, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, sl
}

// tenant is a project with a member user and one server.
type tenant struct {
	project  sim.Project
	user     sim.User
	password string
	server   sim.Server
}

func (tc *testCloud) addTenant(name string) tenant {
	p := tc.sim.AddProject(name)
	pw := "pw-" + name
	u := tc.sim.AddUser(p.ID, name+"-user", pw, "member", "reader")
	s := tc.sim.AddServer(p.ID, sim.ServerSpec{Name: name + "-web", DiskGB: 20, Host: "compute-7"})
	return tenant{project: p, user: u, password: pw, server: s}
}

// userToken logs the tenant's user in, scoped to its project, with
// gophercloud as a tenant's own client would.
func (tc *testCloud) userToken(t *testing.T, ten tenant) string {
	t.Helper()
	p, err := openstack.AuthenticatedClient(t.Context(), gophercloud.AuthOptions{
		IdentityEndpoint: tc.authURL(),
		Username:         ten.user.Name,
		Password:         ten.password,
		DomainName:       sim.DomainName,
		TenantID:         ten.project.ID,
	})
	if err != nil {
		t.Fatalf("log in as %s: %v", ten.user.Name, err)
	}
	return p.Token()
}

// finishSaving lets simulated time pass so every image being saved ends.
func (tc *testCloud) finishSaving() { tc.clock.Advance(2 * time.Hour) }
