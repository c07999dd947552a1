// Package benchmarks holds imgsched's Go benchmarks that span packages (the
// API against raw etcd writes, the bulk import) and, in cmd, the fleet-scale
// load test. Figures are measured here, never asserted as wall-clock limits
// in tests. Run them with `make bench`.
package benchmarks
