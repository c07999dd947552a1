// Package sim is a simulated OpenStack cloud: Keystone v3, Nova v2.1 and
// Glance v2 served by one http.Handler on devstack-style paths
// (/identity/v3, /compute/v2.1, /image/v2), faithful enough that gophercloud
// and the openstack command line work against it unchanged.
//
// It owns the simulated state (projects, users, tokens, trusts, servers and
// their snapshot images), the injected clock that drives image saving, and
// the seeded fault generator. Every time-dependent value is computed lazily
// from the Clock when it is read, so a million idle servers and their images
// cost memory but no goroutines or CPU.
//
// It never does real I/O beyond serving HTTP, never reads the wall clock
// except through a Clock, and never keeps package-level mutable state: two
// Clouds in one process are independent.
//
// Layout: one listener serves Keystone at /identity (auth URL
// <base>/identity/v3), Nova at /compute/v2.1 and Glance at /image (API at
// /image/v2); the token catalog lists them on the public, internal and
// admin interfaces of region RegionOne. /admin drives the simulation itself
// (faults, targeted server states, token expiry, seeding; see routeAdmin).
// Every cloud starts with project "admin" and user "admin" (role admin,
// password Config.AdminPassword, default "secret") and project "service"
// and user "imgsched" (roles admin and service, Config.ServicePassword,
// default "secret"), all in domain "default" ("Default").
//
// Snapshots follow Nova: createImage sets the server's task_state to
// image_snapshot, then image_pending_upload while the image is queued, then
// image_uploading while it is saving, and clears it when the image turns
// active, error or killed (or is deleted). While a task_state is set, another
// createImage is answered 409 conflictingRequest.
package sim
