// Package engine is the snapshot engine: the executor on a node that takes
// the images SPEC §2 asks for, for the schedules of the shards the node owns.
//
// It owns the node's in-memory view of those schedules (a compact entry per
// schedule and the slot Planner), the due-queue and worker pool that
// reconcile them, the limits on what it asks of the cloud, and the engine
// metrics. A reconcile is level-triggered, like a Kubernetes controller's:
// it reads the schedule and its runs record from etcd, lets scheduler.Run
// decide, performs at most what the run's state calls for, and writes the
// new runs record in one etcd transaction conditioned on the record's
// revision and the node's fence. Because the run id is stored before an
// image is asked for, and the image carries it, a reconcile repeated after a
// crash or on a node that took the shard over finds the image instead of
// asking twice.
//
// It never decides what a run does (package scheduler does), never writes a
// schedule except to mark its server gone or remove it after the grace
// period, never touches an image retention does not name or a failed
// attempt did not leave, and never acts on a shard its ownership source
// does not give it or after its fence refused a write.
package engine
