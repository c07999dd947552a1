package scheduler

import "time"

// Estimates of a snapshot's duration when none has been observed yet: a
// fixed overhead plus a transfer time per GiB of disk. They only weigh the
// planner's secondary objective, so rough figures are enough.
const (
	SnapshotOverhead = 2 * time.Minute
	SnapshotPerGiB   = 20 * time.Second
)

// ExpectedDuration returns how long a server's snapshot is expected to
// take: the last observed duration when there is one, else an estimate
// from its disk size.
func ExpectedDuration(observed time.Duration, diskGiB int) time.Duration {
	if observed > 0 {
		return observed
	}
	return SnapshotOverhead + time.Duration(max(diskGiB, 0))*SnapshotPerGiB
}
