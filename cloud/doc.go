// Package cloud is the small vocabulary imgsched uses to talk about an
// OpenStack cloud: the identity behind a request, a server, an image, the
// metadata keys the service stamps on the images it creates, the typed errors
// a cloud call can end in, and the Compute interface the scheduler engine
// drives for one tenant.
//
// It owns those types and nothing else. It never does I/O, never logs and
// holds no state; the gophercloud implementation lives in cloud/openstack and
// the simulated cloud in cloud/sim.
package cloud
