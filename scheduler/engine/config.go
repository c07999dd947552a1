package engine

import (
	"fmt"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

// Config tunes the engine. Durations are on the engine's Clock (simulated
// time under --time-scale) except ReconcileTimeout, which bounds real I/O.
// DefaultConfig gives the documented defaults; a zero field is not a
// default, so start from DefaultConfig.
type Config struct {
	// Workers is how many reconciles run at once. Each spends most of its
	// time waiting for etcd or the cloud, so this bounds concurrent I/O, not
	// CPU. Default 32; raise it when a node owns many schedules whose slots
	// crowd into the same minutes and the lateness histogram grows.
	Workers int
	// MaxInFlight is the most images this node has being created (asked for
	// and not yet ACTIVE or failed) at once. Default 200; lower it to spare
	// a small cloud's Glance backend, raise it for a node owning a very
	// large share of a big fleet.
	MaxInFlight int
	// MaxInFlightPerHost is the most images in creation per hypervisor host
	// (cloud.Server.HostID), so one host's disks and network are not
	// saturated by its tenants' snapshots at once. Default 1.
	MaxInFlightPerHost int
	// CloudRate is the most cloud requests per second (of Clock time) this
	// node makes, averaged by a token bucket of CloudBurst tokens; 0 means
	// unlimited. Default 50/s with a burst of 100: about four times what a
	// node owning a third of a million daily schedules needs. Lower it when
	// the cloud's API rate limits answer 429 often.
	CloudRate  float64
	CloudBurst int
	// Retry bounds the attempts per window (SPEC §2: 3, an hour apart) and
	// keeps them, and the planner's slots, out of a guard band at each
	// edge of a window (Retry.Guard, default 5m): created_at is stamped by
	// the cloud on its own clock, so an image asked for at the very edge
	// could land in the neighbouring window. Raise the guard if the
	// service's clocks and the cloud's can drift further apart than a few
	// minutes; change the rest only to test.
	Retry scheduler.RetryPolicy
	// HourMargin keeps slots out of the last minutes of every hour, so that
	// an image asked for a little late (mostly behind a same-host image
	// that ran long) still counts in its planned hour: the flatness of
	// SPEC §5 is measured per hour. Default scheduler.DefaultHourMargin
	// (10m); raise it if the lateness histogram has a tail past it.
	HourMargin time.Duration
	// PollInterval is the time between two reads of a saving image's status
	// after the first, which waits the snapshot's expected duration. Default
	// 1m; raise it to cut Glance reads when images take hours.
	PollInterval time.Duration
	// MaxFirstPoll caps the wait before the first status read of a new
	// image. Default 30m.
	MaxFirstPoll time.Duration
	// GoneGrace is how long a schedule whose server Nova no longer knows is
	// kept (state SERVER_GONE, visible in the API) before it is removed.
	// Default 7 days (168h); shorten it if gone schedules clutter listings.
	GoneGrace time.Duration
	// HistoryLimit is how many finished runs a runs record keeps. Default
	// 10; every run costs about 150 bytes of etcd per schedule.
	HistoryLimit int
	// MissedAlert is how many consecutive windows without an image raise the
	// missed-windows alert (SPEC §2: two). Default 2.
	MissedAlert int
	// RebalanceInterval is how often the planner moves slots towards
	// emptier hours; 0 never. Default 15m.
	RebalanceInterval time.Duration
	// RebalanceMoves bounds the slots one rebalance moves, each costing an
	// etcd write. Default 1000.
	RebalanceMoves int
	// MaxShift is the planner's bound, in hours, on the day-to-day change of
	// a daily slot. Default scheduler.DefaultMaxShift (2).
	MaxShift int
	// ErrorBackoff is how long a schedule waits after a reconcile failed for
	// a reason outside the run (etcd or the cloud unavailable, a revoked
	// trust) before it is reconciled again. Default 1m.
	ErrorBackoff time.Duration
	// LimitWait is how long a run due while the in-flight limits are full
	// waits before trying again; it is also woken as soon as a place it
	// may take frees (runs wait in the order of their due times). A waiter
	// not heard of for three LimitWaits loses its place in line. Default
	// 5m.
	LimitWait time.Duration
	// TakeoverSettle is how long a run found asking for an image when this
	// node took its shard (an earlier owner's, or this node's before a
	// restart) waits, from the takeover, before it asks again if the image
	// has not appeared: the earlier owner may have sent a createImage just
	// before its lease ended that Nova has not answered yet. It should
	// exceed the cloud's longest createImage response time. Default 5s.
	TakeoverSettle time.Duration
	// ReconcileTimeout bounds one reconcile's I/O in real time, so a hung
	// etcd or cloud cannot hold a worker for ever. Default 2m.
	ReconcileTimeout time.Duration
}

// DefaultConfig returns the defaults documented on Config's fields.
func DefaultConfig() Config {
	return Config{
		Workers:            32,
		MaxInFlight:        200,
		MaxInFlightPerHost: 1,
		CloudRate:          50,
		CloudBurst:         100,
		Retry:              scheduler.DefaultRetryPolicy(),
		HourMargin:         scheduler.DefaultHourMargin,
		PollInterval:       time.Minute,
		MaxFirstPoll:       30 * time.Minute,
		GoneGrace:          7 * 24 * time.Hour,
		HistoryLimit:       10,
		MissedAlert:        2,
		RebalanceInterval:  15 * time.Minute,
		RebalanceMoves:     1000,
		MaxShift:           scheduler.DefaultMaxShift,
		ErrorBackoff:       time.Minute,
		LimitWait:          5 * time.Minute,
		ReconcileTimeout:   2 * time.Minute,
		TakeoverSettle:     5 * time.Second,
	}
}

// validate reports the first field outside its range.
func (c Config) validate() error {
	switch {
	case c.Workers < 1:
		return fmt.Errorf("engine: Workers %d must be at least 1", c.Workers)
	case c.MaxInFlight < 1 || c.MaxInFlightPerHost < 1:
		return fmt.Errorf("engine: MaxInFlight %d and MaxInFlightPerHost %d must be at least 1", c.MaxInFlight, c.MaxInFlightPerHost)
	case c.CloudRate < 0 || (c.CloudRate > 0 && c.CloudBurst < 1):
		return fmt.Errorf("engine: CloudRate %v must be ≥ 0 and CloudBurst %d ≥ 1", c.CloudRate, c.CloudBurst)
	case c.Retry.Attempts < 1 || c.Retry.Interval <= 0:
		return fmt.Errorf("engine: Retry %+v needs at least one attempt and a positive interval", c.Retry)
	case c.Retry.Guard < 0 || c.Retry.Guard > 6*time.Hour:
		return fmt.Errorf("engine: Retry.Guard %v must be within 0..6h", c.Retry.Guard)
	case c.HourMargin < 0 || c.HourMargin >= time.Hour:
		return fmt.Errorf("engine: HourMargin %v must be within [0, 1h)", c.HourMargin)
	case c.PollInterval <= 0 || c.MaxFirstPoll <= 0 || c.ErrorBackoff <= 0 || c.LimitWait <= 0 || c.ReconcileTimeout <= 0:
		return fmt.Errorf("engine: PollInterval, MaxFirstPoll, ErrorBackoff, LimitWait and ReconcileTimeout must be positive")
	case c.GoneGrace < 0 || c.RebalanceInterval < 0 || c.RebalanceMoves < 0 || c.TakeoverSettle < 0:
		return fmt.Errorf("engine: GoneGrace, RebalanceInterval, RebalanceMoves and TakeoverSettle must not be negative")
	case c.HistoryLimit < 1 || c.MissedAlert < 1:
		return fmt.Errorf("engine: HistoryLimit %d and MissedAlert %d must be at least 1", c.HistoryLimit, c.MissedAlert)
	case c.MaxShift < 0 || c.MaxShift > 12:
		return fmt.Errorf("engine: MaxShift %d must be within 0..12", c.MaxShift)
	}
	return nil
}
