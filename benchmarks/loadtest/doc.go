// Package loadtest is imgsched's fleet-scale load test (`imgsched bench`).
//
// Run starts the simulated cloud (`imgsched cloudsim`) and a cluster of
// `imgsched serve` nodes as real processes on 127.0.0.1, all on one
// accelerated clock, with an etcd embedded in the calling process. It seeds
// the cloud with servers, imports a mix of daily and weekly schedules
// through the bulk gRPC path, lets simulated days pass while it kills,
// stops and restarts nodes on a timetable, and at the end checks SPEC §3's
// invariants over every image the cloud ever held (benchmarks/check). The
// figures it measures (import rate, flatness beside its lower bound,
// lateness, CPU and memory, failover times) go into a Report, written as
// report.json, report.md and SVG charts.
//
// It owns the processes it starts and nothing else: it never changes the
// binary's behaviour, injects no cloud faults, and keeps no package-level
// mutable state. It waits on the shared scaled clock's timers and on what
// the processes print or answer, never on sleeps.
package loadtest
