package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cloud/sim"
	"github.com/imgsched/imgsched/scheduler/engine"
	"github.com/imgsched/imgsched/sharding"
)

// fakeFence is a CloudFence whose deadline the test moves.
type fakeFence struct {
	mu       sync.Mutex
	deadline time.Time
}

func (f *fakeFence) WriteDeadline(int) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deadline, nil
}

func (f *fakeFence) set(d time.Time) {
	f.mu.Lock()
	f.deadline = d
	f.mu.Unlock()
}

// heldCloud hands out Computes whose first CreateImage stops before it
// sends anything, until the test lets it go: a node paused between
// recording its run and asking Nova, or a request slow to reach Nova.
type heldCloud struct {
	engine.Cloud
	entered chan struct{} // closed when the first CreateImage is held
	release chan struct{} // closed by the test to let it go on
	result  chan error    // what the held call returned
	once    sync.Once

	mu    sync.Mutex
	getOf string // when set, GetServer of this server is held, not CreateImage
	armed bool
}

// holdGetServer holds the next GetServer of serverID instead of the first
// CreateImage.
func (h *heldCloud) holdGetServer(serverID string) {
	h.mu.Lock()
	h.getOf, h.armed = serverID, true
	h.mu.Unlock()
	h.once.Do(func() {})
}

func newHeldCloud(c engine.Cloud) *heldCloud {
	return &heldCloud{Cloud: c, entered: make(chan struct{}), release: make(chan struct{}), result: make(chan error, 1)}
}

func (h *heldCloud) ForTenant(trustID string) (cloud.Compute, error) {
	c, err := h.Cloud.ForTenant(trustID)
	if err != nil {
		return nil, err
	}
	return heldCompute{Compute: c, h: h}, nil
}

type heldCompute struct {
	cloud.Compute
	h *heldCloud
}

// GetServer is held instead of CreateImage for the server h.getOf, once
// h.arm was called.
func (c heldCompute) GetServer(ctx context.Context, id string) (cloud.Server, error) {
	c.h.mu.Lock()
	hold := c.h.armed && id == c.h.getOf
	c.h.armed = c.h.armed && !hold
	c.h.mu.Unlock()
	if hold {
		close(c.h.entered)
		select {
		case <-c.h.release:
		case <-ctx.Done():
			return cloud.Server{}, ctx.Err()
		}
	}
	return c.Compute.GetServer(ctx, id)
}

func (c heldCompute) CreateImage(ctx context.Context, serverID, name string, md map[string]string) (string, error) {
	held := false
	c.h.once.Do(func() { held = true })
	if !held {
		return c.Compute.CreateImage(ctx, serverID, name, md)
	}
	close(c.h.entered)
	select {
	case <-c.h.release:
	case <-ctx.Done(): // the test failed and is stopping the engine
		return "", ctx.Err()
	}
	id, err := c.Compute.CreateImage(ctx, serverID, name, md)
	c.h.result <- err
	return id, err
}

// takeover sets up node A (the env's engine) holding the run of a server
// due at 10:00 inside CreateImage, takes the shard away from it at 10:01
// and starts node B owning it, with a settle of 10 simulated minutes. It
// returns the server and the held cloud.
func takeover(t *testing.T, en *env, fenceA *fakeFence, leaseLeft time.Duration) (string, *heldCloud) {
	t.Helper()
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	ownA := newSwitchable(all)
	held := newHeldCloud(en.client)
	en.stopEngine()
	en.cloudA = held
	en.opts = []engine.Option{engine.WithOwnership(ownA), engine.WithCloudFence(fenceA)}
	en.startEngine()
	srv := en.addServer("taken-over", "compute-1")
	en.seedSlot(srv.ID, 3, daily, slot10h)
	shard := sharding.Shard(srv.ID, en.store.Shards())

	// A's lease is good for leaseLeft more when it asks.
	fenceA.set(time.Now().Add(leaseLeft))
	en.clock.AdvanceTo(at(0, 10, 0))
	select {
	case <-held.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("node A never asked for the image")
	}
	if got := en.runs(srv.ID).GetCurrent().GetState(); got == 0 {
		t.Fatalf("the run was not recorded before createImage")
	}
	// A loses the shard; B owns it from 10:01.
	ownA.set(slices.DeleteFunc(slices.Clone(all), func(s int) bool { return s == shard }))
	en.clock.AdvanceTo(at(0, 10, 1))

	cfgB := en.cfg
	cfgB.TakeoverSettle = 10 * time.Minute
	b, err := engine.New(cfgB, en.store, en.client, engine.WithClock(en.clock),
		engine.WithOwnership(newSwitchable([]int{shard})),
		engine.WithCloudFence(&fakeFence{deadline: time.Now().Add(time.Hour)}),
		engine.WithObserver(en.observe), engine.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))))
	if err != nil {
		t.Fatal(err)
	}
	n := en.reconciled(srv.ID)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine B: %v", err)
		}
	})
	en.waitReconciled(srv.ID, n)
	if err := b.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if imgs := en.created(srv.ID); len(imgs) != 0 {
		t.Fatalf("node B asked for an image at once, during the settle: %v", imgs)
	}
	// From here B's due times drive the clock.
	en.mu.Lock()
	en.eng = b
	en.mu.Unlock()
	return srv.ID, held
}

func TestANodePausedBetweenRecordingAndAskingSendsNothingAfterItsLease(t *testing.T) {
	en := newEnv(t, nil)
	fenceA := &fakeFence{deadline: time.Now().Add(time.Hour)}
	id, held := takeover(t, en, fenceA, 300*time.Millisecond)

	// A wakes up after its lease ended (the deadline it was given has
	// passed) and goes on with its call.
	d, _ := fenceA.WriteDeadline(0)
	<-time.After(time.Until(d))
	close(held.release)
	if err := <-held.result; !errors.Is(err, cloud.ErrSendDeadline) {
		t.Fatalf("node A's late createImage returned %v, want it refused unsent (cloud.ErrSendDeadline)", err)
	}
	en.runUntil(at(0, 12, 0))
	imgs := en.created(id)
	if len(imgs) != 1 || !imgs[0].CreatedAt.Equal(at(0, 10, 11)) {
		t.Fatalf("images %v, want exactly one, node B's after its settle at 10:11", imgs)
	}
	if got := todaysImage(t, en, id); got != imgs[0].ID {
		t.Fatalf("the run holds image %q, want %q", got, imgs[0].ID)
	}
}

func TestARequestSentBeforeTheLeaseEndedIsAdoptedByTheNewOwner(t *testing.T) {
	en := newEnv(t, nil)
	// A's request left in time and reaches Nova only now, while B settles
	// (A's lease lasts long enough here for the gate to let it through:
	// what is held is the request on its way).
	id, held := takeover(t, en, &fakeFence{}, time.Hour)
	close(held.release)
	if err := <-held.result; err != nil {
		t.Fatalf("node A's createImage: %v", err)
	}
	en.runUntil(at(0, 12, 0))
	imgs := en.created(id)
	if len(imgs) != 1 || !imgs[0].CreatedAt.Equal(at(0, 10, 1)) {
		t.Fatalf("images %v, want exactly one, node A's", imgs)
	}
	if got := todaysImage(t, en, id); got != imgs[0].ID {
		t.Fatalf("node B's run holds image %q, want node A's %q", got, imgs[0].ID)
	}
}

// todaysImage returns the image the run of day 0's window recorded,
// current or archived.
func todaysImage(t *testing.T, en *env, id string) string {
	t.Helper()
	rec := en.runs(id)
	if cur := rec.GetCurrent(); strings.HasSuffix(cur.GetId(), "2026-11-02") {
		return cur.GetImageId()
	}
	for _, h := range rec.GetHistory() {
		if h.GetWindowId() == "2026-11-02" {
			return h.GetImageId()
		}
	}
	t.Fatalf("no run of 2026-11-02 in %v", rec)
	return ""
}

func TestAShardLeftWhileAskingForAnImageDoesNotKeepItsHostClosed(t *testing.T) {
	en := newEnv(t, nil)
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	own := newSwitchable(all)
	held := newHeldCloud(en.client)
	en.stopEngine()
	en.cloudA = held
	en.opts = []engine.Option{engine.WithOwnership(own)}
	en.startEngine()
	// Two servers of one host, in different shards.
	moved := en.addServer("moved", "compute-9")
	var stays sim.Server
	for k := 0; stays.ID == "" || sharding.Shard(stays.ID, 8) == sharding.Shard(moved.ID, 8); k++ {
		stays = en.addServer(fmt.Sprintf("stays-%d", k), "compute-9")
	}
	en.seedSlot(moved.ID, 3, daily, slot10h)
	en.seedSlot(stays.ID, 3, daily, "daily :30 10,10,10,10,10,10,10")
	shard := sharding.Shard(moved.ID, 8)

	held.holdGetServer(moved.ID)
	en.clock.AdvanceTo(at(0, 10, 0))
	select {
	case <-held.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the engine never reconciled the run due")
	}
	// The shard leaves while its run is being reconciled; the reconcile
	// then goes on to ask for the image (the claim is still held during a
	// hand-over).
	own.setAndWait(t, slices.DeleteFunc(slices.Clone(all), func(s int) bool { return s == shard }))
	close(held.release)
	en.runUntil(at(0, 11, 0))
	imgs := en.created(stays.ID)
	if len(imgs) != 1 || !imgs[0].CreatedAt.Equal(at(0, 10, 30)) {
		t.Fatalf("images of the server that stayed: %v, want one at its 10:30 slot (the host's place is free)", imgs)
	}
}
