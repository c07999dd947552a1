// Package scheduler decides when and what the Scheduled Images service does;
// other packages carry it out.
//
// It owns the rules of SPEC §2 as pure functions on an injected Clock:
// windows (Schedule.NextWindow, Window.ID, RunID), image names (ImageName),
// retention (Retention), attempts (RetryPolicy), the per-window run state
// machine (Run.Step, Run.Reconcile), and slot placement (Planner), which
// spreads image creations evenly over the hours of the week (SPEC §5),
// keeps the images of servers on one hypervisor host (Host) from
// overlapping given their expected durations, keeps slots out of a guard
// band at each edge of their windows (RetryPolicy.Guard), and exposes the
// per-hour histogram and the lower bound (Demand.Bound) that flatness is
// reported against.
//
// It must never do I/O: no etcd, HTTP, gRPC, cloud calls or files, no
// goroutines beyond the time package's timers, and no package-level
// mutable state. Time comes only
// from a Clock (RealClock, ScaledClock for --time-scale, or the fake in
// schedulertest). Run.Step takes what an executor observed and returns the
// next state and the actions to take; the executor performs them, persists
// the run, and feeds back what it saw. Because a run's actions follow from
// its state alone (Run.Reconcile), a node that takes a shard over resumes
// every run by reconciling it, like a Kubernetes controller.
package scheduler
