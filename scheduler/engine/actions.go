package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cluster"
	"github.com/imgsched/imgsched/scheduler"
)

// The cloud side of a pass: each method performs one action a run's state
// calls for and returns the event it observed. A failure that is not the
// run's business (the rate limit, a cloud that does not answer) sets
// pass.due and returns errWait; a cancelled context returns its error, and
// the run is resumed from etcd later.

// call takes a token of the cloud request rate, or makes the pass wait for
// one.
func (p *pass) call(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d := p.e.limits.delay(); d > 0 {
		p.due = p.now.Add(d)
		return errWait
	}
	return nil
}

// cloudFailed makes the pass wait ErrorBackoff after a cloud call failed
// for a reason outside the run, or returns ctx's error when it ended.
func (p *pass) cloudFailed(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	p.e.log.Warn("engine: cloud call failed; trying again later", zap.String("server", p.id),
		zap.String("call", what), zap.Duration("backoff", p.e.cfg.ErrorBackoff), zap.Error(err))
	p.due = p.now.Add(p.e.cfg.ErrorBackoff)
	return errWait
}

// tenant returns the cloud.Compute acting for the schedule's tenant.
func (p *pass) tenant(ctx context.Context) (cloud.Compute, error) {
	if p.compute != nil {
		return p.compute, nil
	}
	c, err := p.e.cloud.ForTenant(p.rec.Schedule.GetTrustId())
	if err != nil {
		return nil, p.cloudFailed(ctx, "for tenant", err)
	}
	p.compute = c
	return c, nil
}

// getServer returns the server, read once per pass. A server Nova does not
// know is cloud.ErrServerGone, returned as is.
func (p *pass) getServer(ctx context.Context) (cloud.Server, error) {
	if p.server != nil {
		return *p.server, nil
	}
	c, err := p.tenant(ctx)
	if err != nil {
		return cloud.Server{}, err
	}
	if err := p.call(ctx); err != nil {
		return cloud.Server{}, err
	}
	srv, err := c.GetServer(ctx, p.id)
	if errors.Is(err, cloud.ErrServerGone) {
		return cloud.Server{}, err
	}
	if err != nil {
		return cloud.Server{}, p.cloudFailed(ctx, "get server", err)
	}
	p.server = &srv
	return srv, nil
}

// create performs ActionCreateImage: it adopts an image already asked for
// by this run, waits behind the server's previous image, and only then asks
// Nova for a new one.
func (p *pass) create(ctx context.Context, act scheduler.Action) (scheduler.Event, error) {
	srv, err := p.getServer(ctx)
	if errors.Is(err, cloud.ErrServerGone) {
		return scheduler.Event{Kind: scheduler.EventServerGone}, nil
	}
	if err != nil {
		return scheduler.Event{}, err
	}
	p.e.limits.hold(p.id, srv.HostID)
	c, imgs, err := p.scheduledImages(ctx)
	if err != nil {
		return scheduler.Event{}, err
	}
	if img, ok := adoptable(imgs, p.run.ID, act.Attempt); ok {
		p.e.log.Info("engine: found the image this run asked for", zap.String("server", p.id),
			zap.String("run", p.run.ID), zap.String("image", img.ID))
		return scheduler.Event{Kind: scheduler.EventImageCreated, ImageID: img.ID, CreatedAt: img.CreatedAt}, nil
	}
	for _, img := range imgs {
		if img.Pending() {
			return previousSaving(fmt.Sprintf("image %s is %s", img.ID, img.Status)), nil
		}
	}
	switch {
	case strings.HasPrefix(srv.TaskState, "image_"):
		return previousSaving("server task_state " + srv.TaskState), nil
	case srv.TaskState != "":
		return createFailed("server busy: task_state " + srv.TaskState), nil
	case strings.EqualFold(srv.Status, cloud.ServerError):
		return createFailed("server in ERROR"), nil
	}
	if !p.e.clock.Now().Before(p.run.Cutoff()) {
		// Resumed too late (a wait for the rate limit, a takeover): an
		// image asked for now could be stamped into the next window.
		return createFailed(fmt.Sprintf("the window ends within its %v guard", p.run.Policy.Guard)), nil
	}
	if until, wait := p.settling(); wait {
		// An earlier owner may have asked just before it lost the shard;
		// its image, if any, is adopted on the next pass.
		p.e.log.Info("engine: run taken over while asking for an image; waiting for it to land",
			zap.String("server", p.id), zap.String("run", p.run.ID), zap.Time("until", until))
		p.due = until
		return scheduler.Event{}, errWait
	}
	wctx, err := p.sendBy(ctx)
	if err != nil {
		return scheduler.Event{}, err
	}
	if err := p.call(ctx); err != nil {
		return scheduler.Event{}, err
	}
	at := p.e.clock.Now()
	id, err := c.CreateImage(wctx, p.id, act.Name, act.Metadata)
	switch {
	case err == nil:
		p.e.log.Debug("engine: image asked for", zap.String("server", p.id), zap.String("run", p.run.ID),
			zap.Int("attempt", act.Attempt), zap.String("image", id), zap.String("name", act.Name))
		return scheduler.Event{Kind: scheduler.EventImageCreated, ImageID: id, CreatedAt: at}, nil
	case errors.Is(err, cloud.ErrServerGone):
		return scheduler.Event{Kind: scheduler.EventServerGone}, nil
	case ctx.Err() != nil:
		return scheduler.Event{}, ctx.Err()
	case errors.Is(err, cloud.ErrSendDeadline):
		return scheduler.Event{}, fmt.Errorf("%w: %w", cluster.ErrFenced, err)
	case errors.Is(err, cloud.ErrServerBusy):
		return createFailed("server busy: Nova answered 409"), nil
	}
	return createFailed(err.Error()), nil
}

func previousSaving(reason string) scheduler.Event {
	return scheduler.Event{Kind: scheduler.EventPreviousSaving, Reason: reason}
}

func createFailed(reason string) scheduler.Event {
	return scheduler.Event{Kind: scheduler.EventCreateFailed, Reason: reason}
}

// adoptable finds an image this run already asked for: the attempt's own,
// whatever its status (polling settles it), else one of an earlier
// attempt that did not fail, whose request may have been answered with an
// error after Nova acted on it. Taking it keeps one image per window.
func adoptable(imgs []cloud.Image, runID string, attempt int) (cloud.Image, bool) {
	var earlier *cloud.Image
	for k := range imgs {
		img := &imgs[k]
		if img.Properties[cloud.RunIDKey] != runID {
			continue
		}
		if img.Properties[scheduler.PropertyAttempt] == strconv.Itoa(attempt) {
			return *img, true
		}
		if earlier == nil && !img.Failed() {
			earlier = img
		}
	}
	if earlier != nil {
		return *earlier, true
	}
	return cloud.Image{}, false
}

// poll performs ActionPollImage: the first read waits for three quarters
// of the snapshot's expected duration (save times vary, and the host's
// in-flight place is held until a read sees the image done), later ones
// come every PollInterval.
func (p *pass) poll(ctx context.Context) (scheduler.Event, error) {
	// Its image is in creation, whoever asked for it.
	p.e.limits.hold(p.id, "")
	r := p.run
	expected := scheduler.ExpectedDuration(time.Duration(p.runs.GetObservedDuration()), 0)
	first := r.CreatedAt.Add(min(max(expected*3/4, p.e.cfg.PollInterval), p.e.cfg.MaxFirstPoll))
	if p.now.Before(first) {
		p.due = first
		return scheduler.Event{}, errWait
	}
	c, err := p.tenant(ctx)
	if err != nil {
		return scheduler.Event{}, err
	}
	if err := p.call(ctx); err != nil {
		return scheduler.Event{}, err
	}
	img, err := c.GetImage(ctx, r.ImageID)
	switch {
	case errors.Is(err, cloud.ErrNotFound):
		return scheduler.Event{Kind: scheduler.EventImageFailed, Reason: "image " + r.ImageID + " vanished while saving"}, nil
	case err != nil:
		return scheduler.Event{}, p.cloudFailed(ctx, "get image", err)
	case img.Active():
		at := p.now
		if !img.UpdatedAt.IsZero() && img.UpdatedAt.Before(at) && !img.UpdatedAt.Before(r.CreatedAt) {
			at = img.UpdatedAt.UTC()
		}
		p.observed(at.Sub(r.CreatedAt))
		return scheduler.Event{Kind: scheduler.EventImageActive, At: at}, nil
	case img.Failed():
		return scheduler.Event{Kind: scheduler.EventImageFailed, Reason: img.Err().Error()}, nil
	}
	p.due = p.now.Add(p.e.cfg.PollInterval)
	return scheduler.Event{}, errWait
}

// observed records how long the image took, which the planner books on
// the schedule's host from now on (moving the slot if that makes it
// overlap a host-mate's). Save times vary from one day to the next (the
// simulated cloud's by ±20%), so what is kept is their upper envelope: a
// longer save is taken at once, a shorter one only a quarter of the way.
// Booking the last save alone made every save longer than the one before
// run into the next host-mate's slot.
func (p *pass) observed(d time.Duration) {
	if d <= 0 {
		return
	}
	if old := time.Duration(p.runs.GetObservedDuration()); old > d {
		d = old - (old-d)/4
	}
	p.runs.ObservedDuration, p.dirty = int64(d), true
	p.replan()
}

// list performs ActionListImages, for retention with the schedule's
// current retention count.
func (p *pass) list(ctx context.Context) (scheduler.Event, error) {
	_, imgs, err := p.scheduledImages(ctx)
	if err != nil {
		return scheduler.Event{}, err
	}
	out := make([]scheduler.Image, 0, len(imgs))
	for _, img := range imgs {
		props := img.Properties
		if props[cloud.InstanceUUIDKey] == "" && img.ServerID != "" {
			props = make(map[string]string, len(img.Properties)+1)
			for k, v := range img.Properties {
				props[k] = v
			}
			props[cloud.InstanceUUIDKey] = img.ServerID
		}
		out = append(out, scheduler.Image{ID: img.ID, Status: img.Status, CreatedAt: img.CreatedAt, Properties: props})
	}
	keep := max(int(p.rec.Schedule.GetRetention()), 1)
	return scheduler.Event{Kind: scheduler.EventImagesListed, Images: out, Keep: keep}, nil
}

// remove performs ActionDeleteImage; an image already gone is deleted.
func (p *pass) remove(ctx context.Context, act scheduler.Action) (scheduler.Event, error) {
	c, err := p.tenant(ctx)
	if err != nil {
		return scheduler.Event{}, err
	}
	wctx, err := p.sendBy(ctx)
	if err != nil {
		return scheduler.Event{}, err
	}
	if err := p.call(ctx); err != nil {
		return scheduler.Event{}, err
	}
	err = c.DeleteImage(wctx, act.ImageID)
	switch {
	case errors.Is(err, cloud.ErrSendDeadline):
		return scheduler.Event{}, fmt.Errorf("%w: %w", cluster.ErrFenced, err)
	case err != nil && !errors.Is(err, cloud.ErrNotFound):
		return scheduler.Event{}, p.cloudFailed(ctx, "delete image", err)
	}
	reason := "retention"
	if act.ImageID == p.run.Leftover {
		reason = "leftover"
	} else {
		p.deleted = append(p.deleted, act.ImageID)
	}
	p.e.metrics.deleted.WithLabelValues(reason).Inc()
	p.e.log.Info("engine: image deleted", zap.String("server", p.id), zap.String("image", act.ImageID), zap.String("reason", reason))
	return scheduler.Event{Kind: scheduler.EventImageDeleted, ImageID: act.ImageID}, nil
}

// scheduledImages lists the server's scheduled images as its tenant, within
// the cloud request rate; it returns the tenant's Compute for what follows.
func (p *pass) scheduledImages(ctx context.Context) (cloud.Compute, []cloud.Image, error) {
	c, err := p.tenant(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := p.call(ctx); err != nil {
		return nil, nil, err
	}
	imgs, err := c.ListScheduledImages(ctx, p.id)
	if err != nil {
		return nil, nil, p.cloudFailed(ctx, "list images", err)
	}
	return c, imgs, nil
}
