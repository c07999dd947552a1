package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sentinel errors of the Go API, checked with errors.Is.
var (
	// ErrNotFound: no live server, image, project, user or token by that id.
	ErrNotFound = errors.New("sim: not found")
	// ErrConflict: the server cannot be imaged now (busy, in ERROR, or the
	// conflict fault), Nova's 409.
	ErrConflict = errors.New("sim: conflict")
	// ErrInvalid: an argument is out of range or malformed.
	ErrInvalid = errors.New("sim: invalid argument")
)

// Well-known identities that every Cloud has from New on.
const (
	// AdminProject is the name of the project the admin user is scoped to.
	AdminProject = "admin"
	// AdminUser is the cloud administrator (role admin on AdminProject).
	AdminUser = "admin"
	// ServiceProject is the project of service users, as in devstack.
	ServiceProject = "service"
	// ServiceUser is the imgsched service user (roles admin and service on
	// ServiceProject); it validates tokens and acts through trusts.
	ServiceUser = "imgsched"
	// DomainID and DomainName name the only domain.
	DomainID   = "default"
	DomainName = "Default"
)

// Config is everything a Cloud is built from. The zero value of a field
// means its default from DefaultConfig.
type Config struct {
	// Clock drives token expiry and image saving. Default the wall clock;
	// tests pass schedulertest's fake, accelerated runs a scaled clock.
	Clock Clock
	// Seed makes ids, fault draws and save jitter reproducible.
	Seed int64
	// Faults are the initial fault rates (zero: a healthy cloud).
	Faults Faults
	// AdminPassword is the password of AdminUser. Default "secret".
	AdminPassword string
	// ServicePassword is the password of ServiceUser. Default "secret".
	ServicePassword string
	// SeedPassword is the password of the users SeedServers creates.
	// Default "password".
	SeedPassword string
	// TokenTTL is how long a token lives, measured on Clock. Default 1h;
	// raise it with an accelerated Clock unless frequent re-authentication
	// is what you want to exercise.
	TokenTTL time.Duration
	// SaveRateGBPerMinute is how many GB of disk a snapshot uploads per
	// simulated minute. Default 4 (a 40 GB server saves in about 10 min).
	SaveRateGBPerMinute float64
	// SaveOverhead is added to every save, whatever the disk size.
	// Default 30s.
	SaveOverhead time.Duration
	// QueueTime is how long a new snapshot stays queued (task_state
	// image_snapshot, then image_pending_upload) before saving. Default 10s.
	QueueTime time.Duration
	// SaveJitter spreads save times uniformly by ± this fraction. Default
	// 0.2; negative means none.
	SaveJitter float64
	// Region names the catalog region. Default "RegionOne".
	Region string
	// RecordDeletions keeps every deleted image for DeletedImages, for
	// checkers that prove nothing else was deleted. It costs memory.
	RecordDeletions bool
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Clock:               wallClock{},
		AdminPassword:       "secret",
		ServicePassword:     "secret",
		SeedPassword:        "password",
		TokenTTL:            time.Hour,
		SaveRateGBPerMinute: 4,
		SaveOverhead:        30 * time.Second,
		QueueTime:           10 * time.Second,
		SaveJitter:          0.2,
		Region:              "RegionOne",
	}
}

func (cfg Config) withDefaults() Config {
	d := DefaultConfig()
	if cfg.Clock == nil {
		cfg.Clock = d.Clock
	}
	if cfg.AdminPassword == "" {
		cfg.AdminPassword = d.AdminPassword
	}
	if cfg.ServicePassword == "" {
		cfg.ServicePassword = d.ServicePassword
	}
	if cfg.SeedPassword == "" {
		cfg.SeedPassword = d.SeedPassword
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = d.TokenTTL
	}
	if cfg.SaveRateGBPerMinute <= 0 {
		cfg.SaveRateGBPerMinute = d.SaveRateGBPerMinute
	}
	if cfg.SaveOverhead <= 0 {
		cfg.SaveOverhead = d.SaveOverhead
	}
	if cfg.QueueTime <= 0 {
		cfg.QueueTime = d.QueueTime
	}
	if cfg.SaveJitter == 0 {
		cfg.SaveJitter = d.SaveJitter
	} else if cfg.SaveJitter < 0 {
		cfg.SaveJitter = 0
	}
	if cfg.Region == "" {
		cfg.Region = d.Region
	}
	return cfg
}

// Cloud is one simulated OpenStack cloud. All methods are safe for
// concurrent use.
type Cloud struct {
	cfg     Config
	clock   Clock
	rand    *random
	baseURL atomic.Value // string; empty means "from the request Host"

	// mu guards everything below. One lock keeps the invariants between
	// servers, images and identities simple; reads take it shared.
	mu     sync.RWMutex
	faults Faults
	ident  identity
	store  store
}

// New builds a cloud with the admin and service identities in place.
func New(cfg Config) *Cloud {
	cfg = cfg.withDefaults()
	c := &Cloud{cfg: cfg, clock: cfg.Clock, rand: newRandom(cfg.Seed), faults: cfg.Faults}
	c.baseURL.Store("")
	c.ident.init()
	c.store.init()
	for _, r := range []string{"admin", "member", "reader", "service"} { // the roleAdmin.. bits
		c.roleBitLocked(r)
	}
	admin := c.AddProject(AdminProject)
	c.mu.Lock()
	c.addBaseImageLocked(c.ident.projectByID[admin.ID])
	c.mu.Unlock()
	c.AddUser(admin.ID, AdminUser, cfg.AdminPassword, "admin", "member", "reader")
	svc := c.AddProject(ServiceProject)
	c.AddUser(svc.ID, ServiceUser, cfg.ServicePassword, "admin", "service", "member", "reader")
	return c
}

// Now is the cloud's current time.
func (c *Cloud) Now() time.Time { return c.clock.Now() }

// SetBaseURL fixes the URL the catalog and links advertise, e.g.
// "http://127.0.0.1:5000". Without it they are built from each request's
// Host header.
func (c *Cloud) SetBaseURL(u string) { c.baseURL.Store(strings.TrimRight(u, "/")) }

func (c *Cloud) base(r *http.Request) string {
	if u := c.baseURL.Load().(string); u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// Handler serves Keystone, Nova, Glance and the admin endpoint; mount it
// at "/".
func (c *Cloud) Handler() http.Handler {
	mux := http.NewServeMux()
	c.routeKeystone(mux)
	c.routeNova(mux)
	c.routeGlance(mux)
	c.routeAdmin(mux)
	return mux
}

// Start serves the cloud on addr (e.g. "127.0.0.1:0") until stop is called
// or ctx ends, sets the base URL to the listener's, and returns that URL
// (without a trailing slash; the auth URL is url+"/identity/v3"). stop
// waits for the server to close.
func (c *Cloud) Start(ctx context.Context, addr string) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("sim: listen %s: %w", addr, err)
	}
	url = "http://" + ln.Addr().String()
	c.SetBaseURL(url)
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return url, func() { cancel(); <-done }, nil
}
