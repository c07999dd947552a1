package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgsched/imgsched/scheduler"
)

// clockFlags set the accelerated clock shared by the engine and the
// simulated cloud. Every process of one test run must get the same start
// and scale; etcd leases stay in real time.
type clockFlags struct {
	scale float64
	start string
	epoch string
}

func (c *clockFlags) register(cmd *cobra.Command) {
	cmd.Flags().Float64Var(&c.scale, "time-scale", 1, "simulated seconds per real second (e.g. 1440: a simulated day per real minute)")
	cmd.Flags().StringVar(&c.start, "time-start", "", "simulated time at --time-epoch, RFC 3339 (default: now); every process of one run gets the same value")
	cmd.Flags().StringVar(&c.epoch, "time-epoch", "", "real instant at which simulated time is --time-start, RFC 3339 (default: --time-start itself)")
}

// clock returns the real clock at scale 1 with no start, and otherwise the
// scaled clock: simulated time = start + (real now - epoch) × scale, which
// depends only on the flags, so processes started at different real moments
// agree.
func (c *clockFlags) clock() (scheduler.Clock, error) {
	if c.scale <= 0 {
		return nil, fmt.Errorf("--time-scale %v: it must be positive", c.scale)
	}
	if c.scale == 1 && c.start == "" {
		return scheduler.RealClock{}, nil
	}
	start := time.Now()
	if c.start != "" {
		t, err := time.Parse(time.RFC3339, c.start)
		if err != nil {
			return nil, fmt.Errorf("--time-start %q: use RFC 3339, e.g. 2026-11-22T00:00:00Z: %w", c.start, err)
		}
		start = t
	}
	var opts []scheduler.ScaledOption
	if c.epoch != "" {
		t, err := time.Parse(time.RFC3339, c.epoch)
		if err != nil {
			return nil, fmt.Errorf("--time-epoch %q: use RFC 3339: %w", c.epoch, err)
		}
		opts = append(opts, scheduler.WithEpoch(t))
	}
	return scheduler.NewScaledClock(start, c.scale, opts...), nil
}
