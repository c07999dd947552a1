package loadtest

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// step is a timetable entry due at a simulated instant: the fault itself,
// or the restart that ends it.
type step struct {
	at      time.Time
	fault   int // index into Report.Faults
	restart bool
}

// runPeriod waits through the checked period on the shared clock, applying
// the fault timetable, and then through the settle time.
func (r *run) runPeriod(ctx context.Context) error {
	cfg := r.cfg
	from := r.clock.now().Add(cfg.Lead).Truncate(24 * time.Hour).Add(24 * time.Hour)
	to := from.Add(time.Duration(cfg.Days) * 24 * time.Hour)
	end := to.Add(cfg.Settle)
	r.report.Period.From, r.report.Period.To = from, to
	var steps []step
	for _, k := range cfg.Kills {
		f := Fault{Node: r.nodes.nodes[k.Node-1].name, Signal: k.Signal, At: from.Add(k.At)}
		steps = append(steps, step{at: f.At, fault: len(r.report.Faults)})
		if k.Restart > 0 {
			f.RestartAt = f.At.Add(k.Restart)
			steps = append(steps, step{at: f.RestartAt, fault: len(r.report.Faults), restart: true})
		}
		r.report.Faults = append(r.report.Faults, f)
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at.Before(steps[j].at) })

	began := r.clock.now()
	r.progress.Phase("running", int64(end.Sub(began)/time.Second))
	r.progress.Event(fmt.Sprintf("checking the windows of %s → %s (simulated); now %s", from.Format(time.RFC3339), to.Format(time.RFC3339), began.Format(time.RFC3339)))
	tick := func(now time.Time) { r.progress.Advance(int64(now.Sub(began) / time.Second)) }
	for _, s := range steps {
		if err := r.clock.until(ctx, s.at, 200*time.Millisecond, tick); err != nil {
			return err
		}
		var err error
		if s.restart {
			err = r.restart(ctx, &r.report.Faults[s.fault])
		} else {
			err = r.fault(ctx, &r.report.Faults[s.fault])
		}
		if err != nil {
			return err
		}
	}
	return r.clock.until(ctx, end, 200*time.Millisecond, tick)
}

// fault applies f and measures how long the others take to own every shard.
func (r *run) fault(ctx context.Context, f *Fault) error {
	n := r.nodes.byName(f.Node)
	if !n.up {
		f.Error = "the node was already down"
		r.progress.Event(fmt.Sprintf("SIG%s of %s skipped: %s", f.Signal, n.name, f.Error))
		return nil
	}
	f.At = r.clock.now()
	if err := n.proc.signal(f.Signal.syscall(), time.Minute); err != nil {
		return err
	}
	n.up = false
	if f.Signal != SignalStop {
		n.spent = append(n.spent, n.proc.usage())
		n.proc = nil
	}
	observer := r.nodes.observer()
	if observer == nil {
		f.Error = "no node left up"
		r.progress.Event(fmt.Sprintf("SIG%s of %s: %s", f.Signal, n.name, f.Error))
		return nil
	}
	took, err := r.nodes.settled(ctx, observer, r.admin.token(), r.shards)
	if err != nil {
		return fmt.Errorf("after SIG%s of %s: %w", f.Signal, n.name, err)
	}
	f.OwnedAgain = took.Seconds()
	r.progress.Event(fmt.Sprintf("SIG%s of %s at %s: its shards owned again in %.2f s", f.Signal, n.name, f.At.Format("Mon 15:04"), took.Seconds()))
	return nil
}

// restart ends f: SIGCONT for a stopped node, a new process otherwise; it
// measures how long until every node shares the shards again.
func (r *run) restart(ctx context.Context, f *Fault) error {
	n := r.nodes.byName(f.Node)
	if n.up {
		return nil
	}
	f.RestartAt = r.clock.now()
	began := time.Now()
	if f.Signal == SignalStop {
		if err := n.proc.signal(SignalCont.syscall(), time.Minute); err != nil {
			return err
		}
		n.up = true
	} else if err := r.nodes.start(ctx, n); err != nil {
		return fmt.Errorf("restart %s: %w", n.name, err)
	}
	if _, err := r.nodes.settled(ctx, n, r.admin.token(), r.shards); err != nil {
		return fmt.Errorf("after restarting %s: %w", n.name, err)
	}
	f.Rejoined = time.Since(began).Seconds()
	r.progress.Event(fmt.Sprintf("%s back at %s: every node owns shards again after %.2f s", n.name, f.RestartAt.Format("Mon 15:04"), f.Rejoined))
	return nil
}
