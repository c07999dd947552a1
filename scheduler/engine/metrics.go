package engine

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus metrics. Gauges that mirror state
// (images in flight, schedules with missed windows, the slot histogram) are
// read from the engine when scraped, so they cannot drift from it.
type metrics struct {
	runs      *prometheus.CounterVec
	attempts  *prometheus.CounterVec
	lateness  prometheus.Histogram
	deleted   *prometheus.CounterVec
	alerts    prometheus.Counter
	reconcile *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, e *Engine) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "imgsched", Subsystem: "engine", Name: "runs_total",
			Help: "Runs (one per schedule and window) finished, by outcome: succeeded, failed, server-gone.",
		}, []string{"outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "imgsched", Subsystem: "engine", Name: "attempts_total",
			Help: "Attempts finished, by outcome: succeeded, failed, waited (previous image still saving), server-gone.",
		}, []string{"outcome"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "imgsched", Subsystem: "engine", Name: "start_lateness_seconds",
			Help:    "Time from a run's planned slot to its first image request, in seconds of the engine's clock.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 24 * 3600},
		}),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "imgsched", Subsystem: "engine", Name: "images_deleted_total",
			Help: "Images deleted, by reason: retention, or leftover of a failed attempt.",
		}, []string{"reason"}),
		alerts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "imgsched", Subsystem: "engine", Name: "missed_window_alerts_total",
			Help: "Windows that ended without an image while the schedule had already missed the previous ones (SPEC §2 alert).",
		}),
		reconcile: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "imgsched", Subsystem: "engine", Name: "reconciles_total",
			Help: "Reconciles of a schedule, by result: ok, conflict, fenced, error.",
		}, []string{"result"}),
	}
	cs := []prometheus.Collector{m.runs, m.attempts, m.lateness, m.deleted, m.alerts, m.reconcile, newStateCollector(e)}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// stateCollector reports the gauges that mirror the engine's state.
type stateCollector struct {
	e                                  *Engine
	inFlight, schedules, missed, slots *prometheus.Desc
}

func newStateCollector(e *Engine) stateCollector {
	return stateCollector{
		e: e,
		inFlight: prometheus.NewDesc("imgsched_engine_images_in_flight",
			"Images this node has asked for that are not yet ACTIVE or failed.", nil, nil),
		schedules: prometheus.NewDesc("imgsched_engine_schedules",
			"Schedules this node executes.", nil, nil),
		missed: prometheus.NewDesc("imgsched_engine_missed_windows_schedules",
			"Schedules whose last windows (at least the alert threshold, SPEC §2: two) all ended without an image.", nil, nil),
		slots: prometheus.NewDesc("imgsched_engine_slot_creations",
			"Planned image creations per hour of the week (0 = Sunday 00:00 UTC) on this node.", []string{"hour"}, nil),
	}
}

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inFlight
	ch <- c.schedules
	ch <- c.missed
	ch <- c.slots
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(c.e.limits.inFlight()))
	c.e.mu.Lock()
	n, missed, hist := c.e.tab.len(), c.e.missed, c.e.planner.Histogram()
	c.e.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.schedules, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.missed, prometheus.GaugeValue, float64(missed))
	for h, v := range hist.Creations {
		ch <- prometheus.MustNewConstMetric(c.slots, prometheus.GaugeValue, float64(v), strconv.Itoa(h))
	}
}
