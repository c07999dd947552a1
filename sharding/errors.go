package sharding

import "errors"

// Sentinel errors. Functions wrap them with detail; check with errors.Is.
var (
	// ErrConfig means a Config field is out of range.
	ErrConfig = errors.New("sharding: invalid config")
	// ErrNoMembers means Assign was given no live member to assign to.
	ErrNoMembers = errors.New("sharding: no members")
	// ErrMember means a member list is unusable: an empty or over-long ID,
	// a duplicate ID, a capacity above MaxCapacity, or more than MaxMembers.
	ErrMember = errors.New("sharding: invalid member")
	// ErrShardCount means the previous assignment or the hourly loads were
	// made for a different number of shards than Config.Shards.
	ErrShardCount = errors.New("sharding: shard count mismatch")
	// ErrHourly means an hourly load table is malformed: rows of different
	// or unsupported lengths, or values that are negative, NaN or too large.
	ErrHourly = errors.New("sharding: invalid hourly load")
	// ErrFormat means encoded bytes are not an assignment: bad magic,
	// truncation, checksum mismatch, or an owner table that does not fit.
	ErrFormat = errors.New("sharding: malformed encoded assignment")
	// ErrVersion means encoded bytes carry an encoding version this build
	// does not read.
	ErrVersion = errors.New("sharding: unsupported encoding version")
)
