package loadtest

import (
	"fmt"
	"math"
	"time"
)

// The charts a report is drawn with, by file name.
const (
	hourlySVG   = "hourly-creations.svg"
	nodesSVG    = "node-load.svg"
	latenessSVG = "lateness.svg"
	failoverSVG = "failover-timeline.svg"
)

// hourlyChart is the checked period's creations per hour, with the mean
// and the planned creations of the same hours of the week.
func hourlyChart(r Report) barChart {
	f := r.Flatness
	c := barChart{Title: "Image creations per hour", XLabel: "hour of the checked period (UTC)", YLabel: "images created",
		Mean: true, LabelEvery: max(1, len(f.Hourly)/24),
		Notes: []string{fmt.Sprintf("executed flatness %.4f (busiest ÷ mean hour); planned %.4f over these hours, %.4f over the week; lower bound %.4f",
			f.Executed, f.PlannedPeriod, f.PlannedWeek, f.Bound)}}
	planned := plannedHours(f)
	for i, n := range f.Hourly {
		at := f.HourlyFrom.Add(time.Duration(i) * time.Hour)
		c.Labels = append(c.Labels, at.Format("15h"))
		if len(f.Hourly) > 24 {
			c.Labels[i] = at.Format("Mon 15h")
		}
		c.Values = append(c.Values, float64(n))
	}
	if len(planned) == len(c.Values) {
		c.Overlay, c.OverlayName = planned, "planned"
	}
	return c
}

// plannedHours picks the planned week's counts for the checked hours.
func plannedHours(f Flatness) []float64 {
	if len(f.Planned) != 168 {
		return nil
	}
	out := make([]float64, len(f.Hourly))
	for i := range out {
		at := f.HourlyFrom.Add(time.Duration(i) * time.Hour)
		out[i] = float64(f.Planned[int(at.Weekday())*24+at.Hour()])
	}
	return out
}

// nodesChart is each node's schedules at the end.
func nodesChart(r Report) barChart {
	c := barChart{Title: "Schedules per node at the end", XLabel: "node", YLabel: "schedules executed"}
	for _, n := range r.Nodes {
		c.Labels = append(c.Labels, fmt.Sprintf("%s (%d shards)", n.Name, n.ShardsOwned))
		c.Values = append(c.Values, float64(n.Schedules))
		c.Notes = append(c.Notes, fmt.Sprintf("%s: %d schedules, %d shards, %.0f runs, %.1f s CPU, %.0f MiB RSS, started %d×",
			n.Name, n.Schedules, n.ShardsOwned, sum(n.Runs), n.CPUSeconds, n.RSSBytes/(1<<20), n.Starts))
	}
	return c
}

// latenessChart is the lateness histogram's buckets, not cumulative.
func latenessChart(r Report) barChart {
	l := r.Lateness
	c := barChart{Title: "Start lateness: planned slot to first image request", XLabel: "simulated seconds late (bucket upper bound)", YLabel: "runs",
		Notes: []string{fmt.Sprintf("%.0f runs; p50 %s, p90 %s, p99 %s, mean %s (simulated)", l.Count, seconds(l.P50), seconds(l.P90), seconds(l.P99), seconds(l.Mean))}}
	prev := 0.0
	for i, b := range l.Buckets {
		name := "≤" + seconds(b.LE)
		if math.IsInf(b.LE, 1) {
			name = ">" + seconds(prev)
			if i > 0 {
				name = ">" + seconds(l.Buckets[i-1].LE)
			}
		}
		c.Labels = append(c.Labels, name)
		c.Values = append(c.Values, b.Count-prev)
		prev = b.Count
	}
	return c
}

// failoverChart is the fault timeline.
func failoverChart(r Report) timeline {
	t := timeline{Title: "Failover timeline", From: r.Period.From, To: r.Period.To}
	rows := map[string]*timelineRow{}
	for _, n := range r.Nodes {
		t.Rows = append(t.Rows, timelineRow{Name: n.Name})
	}
	for i := range t.Rows {
		rows[t.Rows[i].Name] = &t.Rows[i]
	}
	for _, f := range r.Faults {
		row := rows[f.Node]
		if row == nil {
			continue
		}
		lbl := fmt.Sprintf("SIG%s at %s: shards owned again in %.2f s", f.Signal, f.At.Format("15:04"), f.OwnedAgain)
		if f.Rejoined > 0 {
			lbl += fmt.Sprintf("; back, rebalanced in %.2f s", f.Rejoined)
		}
		row.Down = append(row.Down, downSpan{From: f.At, To: f.RestartAt, Label: lbl})
		t.Notes = append(t.Notes, fmt.Sprintf("%s %s", f.Node, lbl))
	}
	if len(r.Faults) == 0 {
		t.Notes = append(t.Notes, "no faults were scheduled")
	}
	return t
}

func sum(m map[string]float64) float64 {
	s := 0.0
	for _, v := range m {
		s += v
	}
	return s
}

// seconds formats simulated seconds for people: 90 → 1m30s.
func seconds(s float64) string {
	if math.IsNaN(s) {
		return "n/a"
	}
	if math.IsInf(s, 1) {
		return "∞"
	}
	d := time.Duration(s * float64(time.Second))
	if d >= time.Minute {
		d = d.Round(time.Second)
	} else {
		d = d.Round(time.Millisecond)
	}
	return d.String()
}
