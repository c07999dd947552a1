// Package openstack implements the cloud layer with gophercloud v2: it
// authenticates the service (operator) credentials from clouds.yaml or OS_*
// variables, validates tenants' Keystone tokens for the API (with a bounded
// cache), creates and consumes Keystone trusts so images are owned by the
// tenant, and gives the scheduler a cloud.Compute per tenant backed by Nova
// and Glance.
//
// It owns the wire format, the mapping of HTTP failures to the typed errors
// of package cloud, and the bounded retries (exponential backoff with jitter,
// honouring Retry-After) that make a call either succeed or end in a
// cloud.TransientError. It never decides anything: which server to image,
// when, and which images retention deletes are the scheduler's business; and
// it never stores anything beyond in-memory caches of tokens and clients.
package openstack
