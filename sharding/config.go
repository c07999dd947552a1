package sharding

import (
	"fmt"
	"math"
)

// Defaults applied by Assign to zero fields of Config.
const (
	// DefaultEpsilon is ε: a member of average capacity holds at most
	// ⌈1.25 × average⌉ shards. The bounded-load paper shows the expected
	// number of shards moved per membership change grows like 1/ε², so
	// much smaller values trade movement for flatness.
	DefaultEpsilon = 0.25
	// DefaultVirtualNodes is the number of ring points of a member of
	// average capacity. With 128 points a member's ring share deviates from
	// fair by about 9% (1/√128) before the load bound applies; the ring has
	// 128 × members points.
	DefaultVirtualNodes = 128
	// DefaultHourDelta is δ: the hourly pass stops once no member's load in
	// any hour exceeds 1.05 × its fair share of that hour.
	DefaultHourDelta = 0.05
)

// Limits on Config and members.
const (
	// MaxShards is the largest shard count Assign accepts.
	MaxShards = 1 << 20
	// MaxMembers is the largest member count: owners are stored as uint16
	// indexes into the member list.
	MaxMembers = math.MaxUint16
	// MaxCapacity is the largest Member.Capacity.
	MaxCapacity = math.MaxUint16
	// MaxVirtualNodes is the largest Config.VirtualNodes.
	MaxVirtualNodes = 4096
)

// Config parameterises Assign. The zero value of every field except Shards
// means its default, so Config{Shards: n} is a complete configuration.
// Every node of a cluster must use the same Config, or two nodes computing
// the assignment from the same inputs could disagree.
type Config struct {
	// Shards is the number of shards servers hash into (see Shard). It is
	// fixed when the cluster is created. Required, 1..MaxShards.
	Shards int

	// Epsilon is ε of consistent hashing with bounded loads: no member
	// holds more than ⌈(1+ε) × Shards × capacity / total capacity⌉ shards.
	// Lower it for flatter counts, raise it for fewer overflow moves on
	// membership changes. 0 means DefaultEpsilon; must be in (0, 4].
	Epsilon float64

	// VirtualNodes is the number of ring points of a member of average
	// capacity; a member gets points in proportion to its capacity (at
	// least one). More points make ring shares closer to fair, so fewer
	// shards overflow the bound, at the cost of a larger ring to build and
	// walk. 0 means DefaultVirtualNodes; at most MaxVirtualNodes.
	VirtualNodes int

	// DisableSticky turns off the sticky pass, leaving the plain bounded-
	// load assignment: a pure function of (Shards, members, ε), whatever
	// the history, but one that also moves shards between surviving
	// members when overflow cascades shift. With the pass (the default), a
	// leave moves only the leaver's shards and a join moves little more
	// than the joiner's share, but the result depends on the previous
	// assignment, not only on the members.
	DisableSticky bool

	// HourDelta is δ of the hourly pass: the pass stops once every
	// member's load in every hour is at most (1+δ) × its fair share of
	// that hour. 0 means DefaultHourDelta; must be in (0, 4].
	HourDelta float64

	// HourMoves caps the shards the hourly pass may take away from their
	// previous owner (moves of shards that change owner anyway, and moves
	// back to the previous owner, are free), and so the movement it adds
	// to a membership change. 0 means max(16, Shards / (8 × members)):
	// an eighth of an average member's share, so a join or leave moves at
	// most about 1.125 × its ideal. A negative value disables the pass.
	HourMoves int
}

// withDefaults returns c with zero fields replaced by their defaults, or an
// error wrapping ErrConfig if a field is out of range.
func (c Config) withDefaults() (Config, error) {
	if c.Shards < 1 || c.Shards > MaxShards {
		return c, fmt.Errorf("%w: Shards %d not in 1..%d", ErrConfig, c.Shards, MaxShards)
	}
	if c.Epsilon == 0 {
		c.Epsilon = DefaultEpsilon
	}
	if !(c.Epsilon > 0 && c.Epsilon <= 4) {
		return c, fmt.Errorf("%w: Epsilon %v not in (0, 4]", ErrConfig, c.Epsilon)
	}
	if c.VirtualNodes == 0 {
		c.VirtualNodes = DefaultVirtualNodes
	}
	if c.VirtualNodes < 1 || c.VirtualNodes > MaxVirtualNodes {
		return c, fmt.Errorf("%w: VirtualNodes %d not in 1..%d", ErrConfig, c.VirtualNodes, MaxVirtualNodes)
	}
	if c.HourDelta == 0 {
		c.HourDelta = DefaultHourDelta
	}
	if !(c.HourDelta > 0 && c.HourDelta <= 4) {
		return c, fmt.Errorf("%w: HourDelta %v not in (0, 4]", ErrConfig, c.HourDelta)
	}
	return c, nil
}

// hourMoves returns the hourly pass's movement budget for members members.
func (c Config) hourMoves(members int) int {
	if c.HourMoves != 0 {
		return c.HourMoves
	}
	return max(16, c.Shards/(8*members))
}
