// Package e2e runs the built imgsched binary as real processes — dev,
// serve, cloudsim — on an accelerated clock, kills and restarts them, and
// checks SPEC §3's invariants over everything the simulated cloud recorded.
// It has tests only.
package e2e
