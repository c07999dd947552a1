package engine

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cluster"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

// errWait ends a pass early without failure: the run waits until pass.due
// (for time to pass, a token of the rate limit, an in-flight place, or a
// cloud that failed to answer). What the pass did so far is saved.
var errWait = errors.New("engine: wait")

// maxSteps bounds the steps of one pass; a run needs about six from
// pending to done, so more means something loops and the schedule is
// reconciled again rather than holding a worker.
const maxSteps = 64

// pass is one reconcile of one schedule: it reads the records, moves the
// current run as far as its state allows now, and writes the runs record
// when it changed. A pass is used by one goroutine.
type pass struct {
	e     *Engine
	i     int32
	id    string
	shard int
	now   time.Time

	rec   cluster.Record
	sched scheduler.Schedule
	slot  scheduler.Slot
	runs  *storagev1.ScheduleRuns // the record being built; Current is set by flush
	run   *scheduler.Run          // the current run, nil when none
	dirty bool                    // runs differs from what etcd holds
	gone  bool                    // the server is gone: flush marks the schedule

	compute cloud.Compute
	server  *cloud.Server
	deleted []string          // images retention deleted in this pass
	last    *scheduler.Window // the window of the run archived in this pass
	due     time.Time         // when to reconcile again; zero: only on a change
	wake    time.Time         // due no later than this, if not zero (seat)
}

// reconcile runs one pass over entry i (server id, shard) and returns when
// it is next due, the current run's state, and why it stopped early.
func (e *Engine) reconcile(ctx context.Context, i int32, id string, shard int) (time.Time, scheduler.State, error) {
	p := &pass{e: e, i: i, id: id, shard: shard, now: e.clock.Now()}
	err := p.do(ctx)
	var st scheduler.State
	if p.run != nil {
		st = p.run.State
	}
	return p.due, st, err
}

func (p *pass) do(ctx context.Context) error {
	rec, err := p.e.store.ReadRecord(ctx, p.id)
	if err != nil {
		return err
	}
	p.rec = rec
	sc := rec.Schedule
	if sc == nil {
		p.e.drop(p.id)
		return nil
	}
	p.sched = timing(sc)
	p.runs = &storagev1.ScheduleRuns{}
	if rec.Runs != nil {
		p.runs = proto.Clone(rec.Runs).(*storagev1.ScheduleRuns)
	}
	if cur := p.runs.GetCurrent(); cur != nil {
		r := fromRecord(p.id, cur)
		p.run = &r
	}
	if sc.GetState() == imgschedv1.ScheduleState_SERVER_GONE {
		return p.whileGone(ctx)
	}
	if !p.placeSlot(ctx) {
		return nil
	}
	p.runNow()
	err = p.advance(ctx)
	if err != nil && !errors.Is(err, errWait) {
		// Nothing is saved: the next pass redoes what this one did, which
		// Run.Reconcile makes safe.
		return err
	}
	if !p.wake.IsZero() && (p.due.IsZero() || p.wake.Before(p.due)) {
		p.due = p.wake
	}
	return p.flush(ctx)
}

// placeSlot gives the schedule its slot: the planner's if it has one for
// this schedule, else the stored one (restored after a restart or a
// takeover), else a new placement. Before a new placement of a schedule
// whose host is not known yet it asks the cloud for the server, if the
// request rate allows it at once, so that the slot starts clear of the
// host's other images (learnServer). It reports false when the entry was
// dropped meanwhile (the pass then does nothing).
func (p *pass) placeSlot(ctx context.Context) bool {
	e, key := p.e, scheduler.Key(p.i)
	stored, err := scheduler.ParseSlot(p.runs.GetSlot())
	hasStored := err == nil && stored.Schedule() == p.sched
	e.mu.Lock()
	slot, ok := e.planner.Slot(key)
	fresh := !ok || slot.Schedule() != p.sched
	e.mu.Unlock()
	tried := false
	if fresh && !hasStored && p.runs.GetHost() == "" && p.rec.Schedule.GetState() == imgschedv1.ScheduleState_ENABLED {
		p.learnServer(ctx)
		tried = true
	}
	booked, host := p.booking(), hostKey(p.runs.GetHost())
	e.mu.Lock()
	if e.tab.entries[p.i].flags&flagDrop != 0 {
		e.mu.Unlock()
		return false
	}
	slot, ok = e.planner.Slot(key)
	if !ok || slot.Schedule() != p.sched {
		ok = false
		if hasStored {
			ok = e.planner.Restore(key, stored, booked, host) == nil
			slot = stored
		}
		if !ok {
			// Validated by timing: Place fails only on an invalid schedule.
			slot, _ = e.planner.Place(key, p.sched, booked, host)
		}
	}
	e.mu.Unlock()
	p.setSlot(slot)
	p.seat(ctx, tried)
	return true
}

// setSlot makes slot the schedule's, to be stored with the runs record.
func (p *pass) setSlot(slot scheduler.Slot) {
	p.slot = slot
	if text := slot.String(); p.runs.GetSlot() != text {
		p.runs.Slot, p.dirty = text, true
	}
}

// booking is how long the planner books the schedule's image on its host
// (Engine.booked), from the duration last observed or, before the first
// image, the server's disk when this pass has read the server.
func (p *pass) booking() time.Duration {
	disk := 0
	if p.server != nil {
		disk = p.server.DiskGB
	}
	return p.e.booked(time.Duration(p.runs.GetObservedDuration()), disk)
}

// learnServer reads the server ahead of its first attempt, to learn its
// host and disk, when the cloud request rate has a token to spare now; it
// gives up silently otherwise (the first attempt reads the server anyway).
func (p *pass) learnServer(ctx context.Context) {
	due := p.due
	defer func() { p.due = due }() // a failure here delays nothing
	c, err := p.tenant(ctx)
	if err != nil || p.e.limits.delay() > 0 {
		return
	}
	srv, err := c.GetServer(ctx, p.id)
	if err != nil {
		return
	}
	p.server = &srv
	p.noteHost(srv)
}

// noteHost records the host the server is on in the runs record.
func (p *pass) noteHost(srv cloud.Server) {
	if srv.HostID != p.runs.GetHost() {
		p.runs.Host, p.dirty = srv.HostID, true
	}
}

// replan tells the planner the schedule's host and booking as this pass
// knows them (the slot stays) and, if they now overlap the host's other
// images, moves the slot off them: afresh while the schedule's first image
// is still ahead (Planner.Reseat; the pending run, not started, is then
// planned again), else as a rebalance may move it (Planner.Repair, which
// may move another schedule too, queued here as Rebalance does).
func (p *pass) replan() {
	e, key := p.e, scheduler.Key(p.i)
	booked, host := p.booking(), hostKey(p.runs.GetHost())
	first := p.firstAhead()
	e.mu.Lock()
	if e.tab.entries[p.i].flags&flagDrop != 0 {
		e.mu.Unlock()
		return
	}
	slot, err := e.planner.Place(key, p.sched, booked, host)
	now := e.clock.Now()
	reseated := false
	if first {
		if e.planner.Tangled(key) {
			slot, reseated = e.planner.Reseat(key, now)
		}
	} else {
		for _, m := range e.planner.Repair(key, now) {
			if m.Key == key {
				slot = m.To
				continue
			}
			// Another schedule traded hours with this one: its reconcile
			// stores its new slot and moves its pending run.
			if j := int32(m.Key); int(j) < len(e.tab.entries) && e.tab.entries[j].id != "" {
				e.tab.schedule(j, now.UnixNano())
				e.signalLocked()
			}
		}
	}
	crowded := first && e.planner.Tangled(key)
	e.mu.Unlock()
	e.wake()
	if err == nil {
		p.setSlot(slot)
	}
	if reseated && p.run != nil {
		p.run, p.dirty = nil, true
	}
	if crowded {
		// Host-mates placed after it may leave it room.
		p.wakeBy(now.Add(seatRetry))
	}
}

// runNow acts on a run-now request newer than the last handled: this
// window's run becomes due now, unless the window has its image (or an
// earlier window's run is still under way, which goes first).
func (p *pass) runNow() {
	sc := p.rec.Schedule
	if sc.GetRunNowAt() <= p.runs.GetRunNowHandled() {
		return
	}
	p.runs.RunNowHandled, p.dirty = sc.GetRunNowAt(), true
	if sc.GetState() == imgschedv1.ScheduleState_PAUSED {
		return
	}
	w, ok := p.sched.WindowAt(p.now)
	if !ok {
		return
	}
	if r := p.run; r != nil {
		if r.Window.Schedule == p.sched && r.Window.Start.Equal(w.Start) {
			switch r.State {
			case scheduler.StatePending, scheduler.StateRetryWait, scheduler.StateWaiting:
				r.NextAt = p.now
			}
			return
		}
		if r.State.Terminal() {
			p.archive()
		} else if r.State != scheduler.StatePending || len(r.Attempts) > 0 || r.Window.Start.Before(w.Start) {
			return
		}
	}
	if p.succeeded(w) {
		return
	}
	r := scheduler.NewRun(p.id, p.serverName(), w, p.slot.At(w), p.e.cfg.Retry)
	r.NextAt = p.now
	p.run = &r
}

// advance moves the current run as far as it can go now.
func (p *pass) advance(ctx context.Context) error {
	paused := p.rec.Schedule.GetState() == imgschedv1.ScheduleState_PAUSED
	for range maxSteps {
		if p.run != nil && p.run.State.Terminal() {
			p.archive()
		}
		if p.gone {
			return nil
		}
		if p.run == nil {
			if paused {
				return nil
			}
			p.newRun()
		}
		r := p.run
		if r.State == scheduler.StatePending && len(r.Attempts) == 0 {
			// Not started: a paused schedule starts nothing, a changed
			// schedule starts afresh, a moved slot moves the run.
			if paused || r.Window.Schedule != p.sched {
				p.run, p.dirty = nil, true
				continue
			}
			if at := p.slot.At(r.Window); !at.Equal(r.Slot) {
				if r.NextAt.Equal(r.Slot) {
					r.NextAt = at
				}
				r.Slot, p.dirty = at, true
			}
		}
		acts := r.Reconcile()
		if len(acts) == 0 {
			return nil
		}
		act := acts[0]
		var ev scheduler.Event
		var err error
		switch act.Kind {
		case scheduler.ActionWaitUntil:
			if !p.now.Before(r.Cutoff()) {
				// Too close to the window's end for an attempt (or past
				// it): the tick ends the window.
				ev = scheduler.Event{Kind: scheduler.EventTick, At: p.now}
				break
			}
			if p.now.Before(act.At) {
				p.due = act.At
				return errWait
			}
			if err := p.startAttempt(ctx); err != nil {
				return err
			}
			continue
		case scheduler.ActionCreateImage:
			ev, err = p.create(ctx, act)
		case scheduler.ActionPollImage:
			ev, err = p.poll(ctx)
		case scheduler.ActionListImages:
			ev, err = p.list(ctx)
		case scheduler.ActionDeleteImage:
			ev, err = p.remove(ctx, act)
		}
		if err != nil {
			return err
		}
		p.step(ev)
	}
	p.due = p.now
	return errWait
}

// startAttempt begins the next attempt of a run that is due: it checks the
// server, takes an in-flight place, and stores the attempt before any image
// is asked for, so a node resuming the run looks for its image first.
func (p *pass) startAttempt(ctx context.Context) error {
	srv, err := p.getServer(ctx)
	if errors.Is(err, cloud.ErrServerGone) {
		p.step(scheduler.Event{Kind: scheduler.EventServerGone})
		return nil
	}
	if err != nil {
		return err
	}
	p.noteHost(srv)
	p.replan()
	// The last wait for a place that leaves time for an attempt ends
	// LimitWait before the cutoff; from then on the run goes first.
	last := p.run.Cutoff().Add(-p.e.cfg.LimitWait)
	if !p.e.limits.acquire(p.id, srv.HostID, p.run.Due(), !p.now.Before(last)) {
		p.due = p.now.Add(p.e.cfg.LimitWait)
		if p.now.Before(last) && last.Before(p.due) {
			p.due = last
		}
		return errWait
	}
	p.run.ServerName = srv.Name
	p.step(scheduler.Event{Kind: scheduler.EventTick, At: p.now})
	if p.run.State == scheduler.StateCreating && len(p.run.Attempts) == 1 {
		p.e.metrics.lateness.Observe(p.now.Sub(p.run.Slot).Seconds())
	}
	return p.flush(ctx)
}

// step feeds ev to the run and accounts for what it changed.
func (p *pass) step(ev scheduler.Event) {
	before := make([]scheduler.Outcome, len(p.run.Attempts))
	for k, a := range p.run.Attempts {
		before[k] = a.Outcome
	}
	next, _, err := p.run.Step(ev)
	if err != nil {
		p.e.log.Debug("engine: event ignored", zap.String("server", p.id), zap.Error(err))
		return
	}
	for k, a := range next.Attempts {
		if a.Outcome != 0 && (k >= len(before) || before[k] == 0) {
			p.e.metrics.attempts.WithLabelValues(a.Outcome.String()).Inc()
			if a.Outcome != scheduler.OutcomeSucceeded {
				p.e.log.Info("engine: attempt did not succeed", zap.String("server", p.id), zap.String("run", next.ID),
					zap.Int("attempt", k+1), zap.Stringer("outcome", a.Outcome), zap.String("reason", a.Reason))
			}
		}
	}
	*p.run, p.dirty = next, true
	if next.State != scheduler.StateCreating && next.State != scheduler.StateSaving {
		p.e.wakeAll(p.e.limits.release(p.id))
	}
}

// archive moves the finished current run into the history and keeps the
// missed-windows count.
func (p *pass) archive() {
	r := p.run
	var deleted []string
	if r.State != scheduler.StateSkipped {
		deleted = p.deleted
	}
	h := append([]*storagev1.RunResult{toResult(r.Result(), deleted)}, p.runs.GetHistory()...)
	p.runs.History = h[:min(len(h), p.e.cfg.HistoryLimit)]
	p.e.metrics.runs.WithLabelValues(r.Outcome.String()).Inc()
	switch r.Outcome {
	case scheduler.OutcomeSucceeded:
		p.runs.MissedWindows = 0
	case scheduler.OutcomeFailed:
		p.missed(1, r.Window.ID(), r.Reason)
	case scheduler.OutcomeServerGone:
		p.gone = true
		p.due = p.now.Add(p.e.cfg.GoneGrace)
		p.e.log.Info("engine: server gone; schedule marked and kept for the grace period",
			zap.String("server", p.id), zap.Duration("grace", p.e.cfg.GoneGrace))
	}
	p.setMissedFlag()
	w := r.Window
	p.last, p.run, p.deleted, p.dirty = &w, nil, nil, true
}

// missed counts n more windows without an image and raises the alert when
// the count reaches the threshold (and for every further one).
func (p *pass) missed(n int, window, reason string) {
	p.runs.MissedWindows += uint32(n)
	if p.runs.MissedWindows < uint32(p.e.cfg.MissedAlert) {
		return
	}
	p.e.metrics.alerts.Inc()
	p.e.log.Warn("engine: consecutive windows without an image",
		zap.String("event", "missed_windows"), zap.String("server", p.id),
		zap.String("tenant", p.rec.Schedule.GetTenantId()), zap.Uint32("missed_windows", p.runs.MissedWindows),
		zap.String("window", window), zap.String("reason", reason))
}

func (p *pass) setMissedFlag() {
	p.e.mu.Lock()
	if p.e.tab.entries[p.i].flags&flagDrop == 0 {
		p.e.setMissedLocked(p.i, p.runs.GetMissedWindows() >= uint32(p.e.cfg.MissedAlert))
	}
	p.e.mu.Unlock()
}

// newRun makes the run of the next window that has none: the one after the
// run just archived (counting windows nobody attempted, after a long
// outage, as missed), or else the first whose slot is still ahead. A
// window already in the history is never run twice.
func (p *pass) newRun() {
	var w scheduler.Window
	if p.last != nil && p.last.Schedule == p.sched {
		w = p.sched.NextWindow(p.last.End)
		skipped := 0
		for !p.now.Before(w.End) {
			skipped++
			w = w.Next()
		}
		if skipped > 0 {
			p.missed(skipped, w.Prev().ID(), "no node ran the window")
			p.setMissedFlag()
		}
	} else {
		w, _ = p.slot.Next(p.now)
	}
	for p.ran(w) {
		w = w.Next()
	}
	at := p.slot.At(w)
	r := scheduler.NewRun(p.id, p.serverName(), w, at, p.e.cfg.Retry)
	if at.Before(p.now) {
		r.NextAt = p.now
	}
	p.run, p.dirty = &r, true
}

// ran reports whether the history has a run of window w.
func (p *pass) ran(w scheduler.Window) bool {
	id := scheduler.RunID(p.id, w)
	for _, h := range p.runs.GetHistory() {
		if h.GetRunId() == id {
			return true
		}
	}
	return false
}

// succeeded reports whether the history has an image for window w.
func (p *pass) succeeded(w scheduler.Window) bool {
	id := scheduler.RunID(p.id, w)
	for _, h := range p.runs.GetHistory() {
		if h.GetRunId() == id && scheduler.Outcome(h.GetOutcome()) == scheduler.OutcomeSucceeded {
			return true
		}
	}
	return false
}

// serverName is the name last seen, for a new run; the attempt refreshes it.
func (p *pass) serverName() string {
	if p.run != nil {
		return p.run.ServerName
	}
	return p.runs.GetCurrent().GetServerName()
}

// whileGone keeps a SERVER_GONE schedule until the grace period ends, then
// removes it; nothing is asked of the cloud.
func (p *pass) whileGone(ctx context.Context) error {
	p.e.wakeAll(p.e.limits.release(p.id))
	sc := p.rec.Schedule
	at := fromNanos(sc.GetServerGoneAt()).Add(p.e.cfg.GoneGrace)
	if p.now.Before(at) {
		p.due = at
		return nil
	}
	if err := p.e.store.RemoveGone(ctx, sc, p.rec.ScheduleRev, p.e.guard); err != nil {
		return err
	}
	p.e.log.Info("engine: schedule of a gone server removed", zap.String("server", p.id),
		zap.String("tenant", sc.GetTenantId()), zap.Time("gone_at", fromNanos(sc.GetServerGoneAt())))
	p.e.drop(p.id)
	return nil
}

// flush writes the runs record if it changed, in one transaction
// conditioned on the revision read and the node's fence; a run that found
// its server gone marks the schedule in the same transaction.
func (p *pass) flush(ctx context.Context) error {
	if !p.dirty {
		return nil
	}
	p.runs.Current = nil
	if p.run != nil {
		p.runs.Current = toRecord(*p.run)
	}
	var rev int64
	var err error
	if p.gone {
		rev, err = p.e.store.MarkServerGone(ctx, p.rec.Schedule, p.rec.ScheduleRev, p.now, p.runs, p.rec.RunsRev, p.e.guard)
	} else {
		rev, err = p.e.store.SaveRuns(ctx, p.id, p.runs, p.rec.RunsRev, p.e.guard)
	}
	if err != nil {
		return err
	}
	p.rec.RunsRev, p.dirty = rev, false
	return nil
}
