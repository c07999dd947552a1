package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/cluster"
	"github.com/imgsched/imgsched/scheduler"
)

// Engine executes the schedules of the shards a node owns. Build it with
// New and run it with Run; it is safe for concurrent use.
type Engine struct {
	cfg     Config
	store   Store
	cloud   Cloud
	owner   Ownership
	guard   cluster.Guard
	fence   CloudFence
	clock   scheduler.Clock
	log     *zap.Logger
	observe func(Report)
	// registerer is where the metrics go; nil: a private registry.
	registerer prometheus.Registerer
	metrics    *metrics
	limits     *limits
	// seating paces the reads of servers placed before their host was
	// known (seat.go).
	seating *pacer

	// mu guards everything below.
	mu      sync.Mutex
	tab     table
	planner *scheduler.Planner
	owned   map[int]bool
	// gained is when (Clock) each owned shard was last taken; a run some
	// earlier owner left asking for an image waits Config.TakeoverSettle
	// from then (see pass.settling).
	gained map[int]time.Time
	busy   int // entries popped and not yet finished
	missed int // entries with flagMissed
	// dropping counts, per shard no longer owned, the entries dropped while
	// a reconcile of theirs was under way; the shard is released when its
	// count reaches zero.
	dropping map[int]int
	// changed is closed and replaced whenever the queue or busy changes,
	// for WaitIdle.
	changed chan struct{}
	// kick wakes the dispatcher when an entry may have become due earlier
	// than it planned to wake.
	kick chan struct{}
}

// Report is what the engine observed after one reconcile of a schedule:
// for tests and tools that follow the engine (WithObserver).
type Report struct {
	ServerID string
	// State is the current run's state after the reconcile, 0 when the
	// schedule has no current run (paused, gone, or removed).
	State scheduler.State
	// Err is why the reconcile stopped early, nil when it did what the run
	// called for.
	Err error
}

// Option configures New.
type Option func(*Engine)

// WithOwnership sets the shards the engine executes (default
// AllShards(store.Shards()): a single node).
func WithOwnership(o Ownership) Option { return func(e *Engine) { e.owner = o } }

// WithGuard fences every write of the engine (default none: a single node).
func WithGuard(g cluster.Guard) Option { return func(e *Engine) { e.guard = g } }

// WithCloudFence bounds every cloud write of the engine by f's deadline
// (default none: a single node, which never loses its shards).
func WithCloudFence(f CloudFence) Option { return func(e *Engine) { e.fence = f } }

// WithClock sets the clock (default scheduler.RealClock); the simulated
// cloud must share it under --time-scale.
func WithClock(c scheduler.Clock) Option { return func(e *Engine) { e.clock = c } }

// WithLogger sets the logger (default none).
func WithLogger(l *zap.Logger) Option { return func(e *Engine) { e.log = l } }

// WithObserver calls f after every reconcile, from the worker that did it;
// f must not block.
func WithObserver(f func(Report)) Option { return func(e *Engine) { e.observe = f } }

// WithRegisterer registers the engine's metrics on r (default a private
// registry nobody scrapes).
func WithRegisterer(r prometheus.Registerer) Option {
	return func(e *Engine) { e.registerer = r }
}

// New returns an engine over store and cloud; it does nothing until Run.
func New(cfg Config, store Store, cl Cloud, opts ...Option) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, store: store, cloud: cl, clock: scheduler.RealClock{}, log: zap.NewNop(),
		tab: newTable(), planner: scheduler.NewPlanner(scheduler.WithMaxShift(cfg.MaxShift),
			scheduler.WithRetry(cfg.Retry), scheduler.WithHourMargin(cfg.HourMargin)),
		owned: make(map[int]bool), gained: make(map[int]time.Time), dropping: make(map[int]int), changed: make(chan struct{}), kick: make(chan struct{}, 1),
	}
	var reg prometheus.Registerer = prometheus.NewRegistry()
	for _, o := range opts {
		o(e)
	}
	if e.registerer != nil {
		reg = e.registerer
	}
	if e.owner == nil {
		e.owner = AllShards(store.Shards())
	}
	e.limits = newLimits(cfg, e.clock)
	e.seating = newPacer(cfg.CloudRate)
	m, err := newMetrics(reg, e)
	if err != nil {
		return nil, fmt.Errorf("engine: register metrics: %w", err)
	}
	e.metrics = m
	return e, nil
}

// Run loads the owned shards' schedules, then reconciles them as they come
// due and as they change, until ctx ends; it then waits for the reconciles
// under way to stop (their I/O is cancelled: a run is resumed where etcd
// says it stands) and returns nil. It returns an error only when the
// initial load fails.
func (e *Engine) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	shards, changed := e.owner.Owned()
	rev, err := e.setOwned(ctx, shards)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	e.log.Info("engine started", zap.Int("shards", len(shards)), zap.Int("schedules", e.Len()), zap.Int64("revision", rev))
	work := make(chan int32)
	var wg sync.WaitGroup
	for range e.cfg.Workers {
		wg.Go(func() { e.worker(ctx, work) })
	}
	wg.Go(func() { e.dispatch(ctx, work) })
	if rev != 0 {
		// From just after the load; 0 (nothing loaded) watches from now.
		rev++
	}
	wg.Go(func() { e.watch(ctx, rev) })
	if e.cfg.RebalanceInterval > 0 {
		wg.Go(func() { e.rebalanceLoop(ctx) })
	}
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			e.log.Info("engine stopped")
			return nil
		case _, ok := <-changed:
			if !ok {
				// A closed channel: the set changed; Owned gives the next one.
				changed = nil
			}
			shards, changed = e.owner.Owned()
			if _, err := e.setOwned(ctx, shards); err != nil && ctx.Err() == nil {
				e.log.Error("engine: take over shards", zap.Error(err))
			}
		}
	}
}

// Len returns the number of schedules the engine holds.
func (e *Engine) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tab.len()
}

// NextDue returns when the earliest queued reconcile is due, and false
// when none is queued.
func (e *Engine) NextDue() (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, ok := e.tab.next()
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, n).UTC(), true
}

// WaitIdle blocks until no reconcile is under way and none is due at the
// clock's current time: with a fake clock, the engine has done everything
// the present asks for. It returns ctx.Err() if ctx ends first.
func (e *Engine) WaitIdle(ctx context.Context) error {
	for {
		e.mu.Lock()
		n, queued := e.tab.next()
		idle := e.busy == 0 && (!queued || n > e.clock.Now().UnixNano())
		ch := e.changed
		e.mu.Unlock()
		if idle {
			return nil
		}
		e.wake()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// enqueue asks for serverID to be reconciled at t (or earlier if already
// asked); unknown servers are ignored.
func (e *Engine) enqueue(serverID string, t time.Time) {
	e.mu.Lock()
	if i, ok := e.tab.lookup(serverID); ok {
		e.tab.schedule(i, t.UnixNano())
		e.signalLocked()
	}
	e.mu.Unlock()
	e.wake()
}

// signalLocked tells WaitIdle the queue changed. e.mu must be held.
func (e *Engine) signalLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// wake makes the dispatcher look at the queue again.
func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// dispatch hands due entries to the workers, waiting on the clock for the
// next one. Invariant: an entry handed out is busy until its worker
// finishes it, so no two workers reconcile one schedule at once.
func (e *Engine) dispatch(ctx context.Context, work chan<- int32) {
	var timer scheduler.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		e.mu.Lock()
		now := e.clock.Now().UnixNano()
		i, ok := e.tab.pop(now)
		if ok {
			e.busy++
			e.signalLocked()
		}
		next, queued := e.tab.next()
		e.mu.Unlock()
		if ok {
			select {
			case work <- i:
				continue
			case <-ctx.Done():
				return
			}
		}
		if timer != nil {
			timer.Stop()
			timer = nil
		}
		var fire <-chan time.Time
		if queued {
			timer = e.clock.NewTimer(time.Duration(next - now))
			fire = timer.C()
			// The clock may have passed next while the timer was armed; a
			// fake clock would then fire it a whole interval late.
			if !e.clock.Now().Before(time.Unix(0, next)) {
				continue
			}
		}
		select {
		case <-fire:
		case <-e.kick:
		case <-ctx.Done():
			return
		}
	}
}

func (e *Engine) worker(ctx context.Context, work <-chan int32) {
	for {
		select {
		case i := <-work:
			e.runOne(ctx, i)
		case <-ctx.Done():
			return
		}
	}
}

// runOne reconciles entry i and queues it again when its run says.
func (e *Engine) runOne(ctx context.Context, i int32) {
	e.mu.Lock()
	id, shard := e.tab.entries[i].id, int(e.tab.entries[i].shard)
	e.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, e.cfg.ReconcileTimeout)
	due, state, err := e.reconcile(rctx, i, id, shard)
	cancel()
	result := "ok"
	switch {
	case err == nil:
	case ctx.Err() != nil:
		// Shutting down: the run resumes from etcd on the next start.
		due, result = time.Time{}, "cancelled"
	case errors.Is(err, cluster.ErrConflict), errors.Is(err, cluster.ErrNotFound):
		// Someone wrote first (or the schedule went): read again at once.
		due, result = e.clock.Now(), "conflict"
	case errors.Is(err, cluster.ErrFenced):
		due, result = e.clock.Now().Add(e.cfg.ErrorBackoff), "fenced"
		e.log.Warn("engine: fenced off the shard", zap.String("server", id), zap.Int("shard", shard), zap.Error(err))
	default:
		due, result = e.clock.Now().Add(e.cfg.ErrorBackoff), "error"
		e.log.Warn("engine: reconcile failed", zap.String("server", id), zap.Error(err))
	}
	if err != nil {
		// The run's image is not known to be in creation here any more; a
		// resumed run holds its place again.
		e.wakeAll(e.limits.release(id))
	}
	e.metrics.reconcile.WithLabelValues(result).Inc()
	e.mu.Lock()
	var n int64
	if !due.IsZero() {
		n = due.UnixNano()
	}
	released := -1
	dropped := !e.tab.finish(i, n)
	if dropped {
		if e.dropping[shard]--; e.dropping[shard] <= 0 {
			delete(e.dropping, shard)
			if !e.owned[shard] {
				released = shard
			}
		}
	}
	e.busy--
	e.signalLocked()
	e.mu.Unlock()
	if dropped {
		// drop gave the place back when it was called, but this reconcile
		// was under way and may have taken it again (asking for or polling
		// an image): nobody would ever give it back, and the host would be
		// closed to every other run of this node.
		e.wakeAll(e.limits.release(id))
	}
	e.wake()
	if released >= 0 {
		e.release([]int{released})
	}
	if e.observe != nil {
		e.observe(Report{ServerID: id, State: state, Err: err})
	}
}

// release tells the ownership source, if it listens, that the engine no
// longer works on shards.
func (e *Engine) release(shards []int) {
	if r, ok := e.owner.(Releaser); ok {
		for _, s := range shards {
			r.Release(s)
		}
	}
}

// wakeAll queues the servers now, those that waited for an in-flight place.
func (e *Engine) wakeAll(ids []string) {
	now := e.clock.Now()
	for _, id := range ids {
		e.enqueue(id, now)
	}
}
