package engine_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/imgsched/imgsched/cloud/openstack"
	"github.com/imgsched/imgsched/cloud/sim"
	"github.com/imgsched/imgsched/cluster"
	"github.com/imgsched/imgsched/cluster/clustertest"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
	"github.com/imgsched/imgsched/scheduler/engine"
	"github.com/imgsched/imgsched/scheduler/schedulertest"
)

// testEtcd is one real embedded etcd shared by the package's tests; each
// test works under its own key prefix.
var testEtcd *clustertest.Etcd

func TestMain(m *testing.M) { clustertest.Main(m, &testEtcd) }

// start is a Monday, midnight UTC: the tests' simulated time begins here.
var start = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// env is one test's world: a real etcd store, the simulated cloud over real
// HTTP through the real OpenStack adapter, and one fake clock shared by the
// engine, the cloud and the adapter.
type env struct {
	t      *testing.T
	clock  *schedulertest.Clock
	cloud  *sim.Cloud
	client *openstack.Client
	store  *cluster.Store
	etcd   *clientv3.Client
	cfg    engine.Config
	proj   sim.Project
	opts   []engine.Option // more options of the engines startEngine starts
	cloudA engine.Cloud    // when set, the cloud startEngine's engines use instead of client

	mu       sync.Mutex
	eng      *engine.Engine
	stop     context.CancelFunc
	done     chan error
	reports  map[string]int
	reported chan struct{} // closed and replaced on every report
}

// newEnv builds the world and starts an engine with cfg (after mod).
func newEnv(t *testing.T, mod func(*engine.Config)) *env {
	t.Helper()
	return newEnvWith(t, mod, nil)
}

// newEnvWith is newEnv with the simulated cloud's config changed by simMod.
func newEnvWith(t *testing.T, mod func(*engine.Config), simMod func(*sim.Config)) *env {
	t.Helper()
	clock := schedulertest.NewClock(start)
	sc := sim.Config{Clock: clock, Seed: 1, TokenTTL: 10000 * time.Hour, RecordDeletions: true}
	if simMod != nil {
		simMod(&sc)
	}
	c := sim.New(sc)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	url, stopSim, err := c.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSim)
	oc, err := openstack.New(ctx, openstack.Config{
		Auth: &gophercloud.AuthOptions{
			IdentityEndpoint: url + "/identity/v3", Username: sim.ServiceUser, Password: sim.DefaultConfig().ServicePassword,
			DomainName: sim.DomainName, TenantName: sim.ServiceProject,
		},
		Tenancy: openstack.TenancyOperator,
		Clock:   clock,
		// Retries wait on nothing: the fake clock only moves when the test
		// says so.
		Sleep:  func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ec := testEtcd.Client(t)
	store, err := cluster.OpenStore(ctx, ec, cluster.WithPrefix(testEtcd.Prefix("engine-test")), cluster.WithShardCount(8))
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.DefaultConfig()
	cfg.RebalanceInterval = 0
	cfg.CloudRate = 0
	cfg.Workers = 8
	if mod != nil {
		mod(&cfg)
	}
	en := &env{t: t, clock: clock, cloud: c, client: oc, store: store, etcd: ec, cfg: cfg,
		proj: c.AddProject("tenant"), reports: map[string]int{}, reported: make(chan struct{})}
	c.AddUser(en.proj.ID, "user", "password", "member")
	en.startEngine()
	t.Cleanup(en.stopEngine)
	return en
}

// startEngine starts a new engine on the same etcd and cloud.
func (en *env) startEngine() {
	en.t.Helper()
	opts := append([]engine.Option{engine.WithClock(en.clock), engine.WithObserver(en.observe),
		engine.WithLogger(zaptest.NewLogger(en.t, zaptest.Level(zap.WarnLevel)))}, en.opts...)
	var cl engine.Cloud = en.client
	if en.cloudA != nil {
		cl = en.cloudA
	}
	e, err := engine.New(en.cfg, en.store, cl, opts...)
	if err != nil {
		en.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	en.mu.Lock()
	en.eng, en.stop, en.done = e, cancel, done
	en.mu.Unlock()
}

// stopEngine cancels the engine and waits for Run to return.
func (en *env) stopEngine() {
	en.mu.Lock()
	stop, done := en.stop, en.done
	en.stop = nil
	en.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	if err := <-done; err != nil {
		en.t.Errorf("engine: %v", err)
	}
}

func (en *env) engine() *engine.Engine {
	en.mu.Lock()
	defer en.mu.Unlock()
	return en.eng
}

func (en *env) observe(r engine.Report) {
	en.mu.Lock()
	en.reports[r.ServerID]++
	close(en.reported)
	en.reported = make(chan struct{})
	en.mu.Unlock()
}

// reconciled returns how many reconciles of serverID were reported.
func (en *env) reconciled(serverID string) int {
	en.mu.Lock()
	defer en.mu.Unlock()
	return en.reports[serverID]
}

// waitReconciled blocks until serverID was reconciled more than n times.
func (en *env) waitReconciled(serverID string, n int) {
	en.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		en.mu.Lock()
		got, ch := en.reports[serverID], en.reported
		en.mu.Unlock()
		if got > n {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			en.t.Fatalf("server %s was not reconciled after %d reconciles", serverID, n)
		}
	}
}

func (en *env) waitIdle() {
	en.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := en.engine().WaitIdle(ctx); err != nil {
		en.t.Fatalf("engine not idle: %v", err)
	}
}

// runUntil advances the clock from one due reconcile to the next until t,
// letting the engine finish each instant's work before moving on.
func (en *env) runUntil(t time.Time) {
	en.t.Helper()
	for {
		en.waitIdle()
		next, ok := en.engine().NextDue()
		if !ok || next.After(t) {
			break
		}
		if next.After(en.clock.Now()) {
			en.clock.AdvanceTo(next)
		}
	}
	en.clock.AdvanceTo(t)
	en.waitIdle()
}

// addServer adds a server of the tenant on host.
func (en *env) addServer(name, host string) sim.Server {
	return en.cloud.AddServer(en.proj.ID, sim.ServerSpec{Name: name, DiskGB: 20, Host: host})
}

// setSchedule writes a schedule as the API would (day 0: daily) and waits
// until the engine reconciled it.
func (en *env) setSchedule(serverID string, retention uint32, day imgschedv1.DayOfWeek) {
	en.t.Helper()
	en.update(serverID, func(sc *storagev1.Schedule) {
		sc.Retention, sc.DayOfWeek = retention, day
	})
}

// update changes serverID's schedule (creating it enabled) and waits until
// the engine reconciled it.
func (en *env) update(serverID string, fn func(*storagev1.Schedule)) {
	en.t.Helper()
	n := en.reconciled(serverID)
	_, err := en.store.Update(context.Background(), serverID, func(cur *storagev1.Schedule) (*storagev1.Schedule, error) {
		next := &storagev1.Schedule{TenantId: en.proj.ID, ServerId: serverID, State: imgschedv1.ScheduleState_ENABLED,
			CreateTime: en.clock.Now().UnixNano()}
		if cur != nil {
			next = cur
		}
		next.UpdateTime = en.clock.Now().UnixNano()
		fn(next)
		return next, nil
	})
	if err != nil {
		en.t.Fatal(err)
	}
	en.waitReconciled(serverID, n)
	en.waitIdle()
}

func (en *env) runs(serverID string) *storagev1.ScheduleRuns {
	en.t.Helper()
	r, err := en.store.GetRuns(context.Background(), serverID)
	if err != nil {
		en.t.Fatalf("runs of %s: %v", serverID, err)
	}
	return r
}

// created returns every image ever made of serverID (live or deleted),
// oldest first.
func (en *env) created(serverID string) []sim.Image {
	var out []sim.Image
	for _, img := range append(en.cloud.Images(), en.cloud.DeletedImages()...) {
		if img.ServerID == serverID {
			out = append(out, img)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// live returns serverID's live images, newest first.
func (en *env) live(serverID string) []sim.Image { return en.cloud.ServerImages(serverID) }

// deleted reports whether image id was deleted.
func (en *env) deleted(id string) bool {
	for _, img := range en.cloud.DeletedImages() {
		if img.ID == id {
			return true
		}
	}
	return false
}

// windowOf returns the window of sched containing t.
func windowOf(t *testing.T, sched scheduler.Schedule, at time.Time) scheduler.Window {
	t.Helper()
	w, ok := sched.WindowAt(at)
	if !ok {
		t.Fatalf("%v is in no window of %v", at, sched)
	}
	return w
}

// seedSlot stores serverID's schedule with a chosen slot while the engine
// is stopped, then starts an engine that restores it, so that a test knows
// when the images are due.
func (en *env) seedSlot(serverID string, retention uint32, day imgschedv1.DayOfWeek, slot string) {
	en.t.Helper()
	en.stopEngine()
	ctx := context.Background()
	_, err := en.store.Update(ctx, serverID, func(*storagev1.Schedule) (*storagev1.Schedule, error) {
		return &storagev1.Schedule{TenantId: en.proj.ID, ServerId: serverID, State: imgschedv1.ScheduleState_ENABLED,
			Retention: retention, DayOfWeek: day, CreateTime: en.clock.Now().UnixNano()}, nil
	})
	if err != nil {
		en.t.Fatal(err)
	}
	var rev int64
	if rec, err := en.store.ReadRecord(ctx, serverID); err != nil {
		en.t.Fatal(err)
	} else {
		rev = rec.RunsRev
	}
	if _, err := en.store.SaveRuns(ctx, serverID, &storagev1.ScheduleRuns{Slot: slot}, rev, nil); err != nil {
		en.t.Fatal(err)
	}
	n := en.reconciled(serverID)
	en.startEngine()
	en.waitReconciled(serverID, n)
	en.waitIdle()
	if got := en.runs(serverID).GetSlot(); got != slot {
		en.t.Fatalf("slot %q not restored: %q", slot, got)
	}
}

// at returns the start date plus days, at hh:mm UTC.
func at(days, hh, mm int) time.Time {
	return start.AddDate(0, 0, days).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}
