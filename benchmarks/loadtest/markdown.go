package loadtest

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// writeMarkdown writes the report for people: the verdict, the figures
// beside SPEC §5's targets, and the charts.
func writeMarkdown(w io.Writer, r Report) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	s := r.Setup
	verdict := "**OK**: no invariant of SPEC §3 broke"
	if !r.OK {
		verdict = "**FAILED**: invariants broke (see Check below)"
	}
	p("# imgsched load test\n\n%s.\n\n", verdict)
	if r.Command != "" {
		p("```sh\n%s\n```\n\n", r.Command)
	}
	p("%d schedules (%d daily, %d weekly) on %d servers in %d projects; %d `serve` nodes, %d shards; ", s.Schedules, s.Daily, s.Schedules-s.Daily, s.Servers, s.Projects, s.Nodes, s.Shards)
	p("time scale %g (a simulated day in %s); checked period %s → %s; faults `%s`; %d CPUs, %s. Wall time %s.\n\n",
		s.TimeScale, time.Duration(float64(24*time.Hour)/s.TimeScale).Round(time.Second), r.Period.From.Format(time.RFC3339), r.Period.To.Format(time.RFC3339),
		orNone(s.Timetable), s.CPUs, s.GoVersion, time.Duration(r.WallSeconds*float64(time.Second)).Round(time.Second))

	p("## Figures\n\n| figure | value | target (SPEC §5) |\n|---|---|---|\n")
	p("| bulk import | %.0f schedules/s (%d in %.2f s, batches of %d) | ≥ half etcd's write rate |\n", r.Import.PerSecond, r.Import.Schedules, r.Import.Seconds, s.ImportBatch)
	f := r.Flatness
	p("| flatness, executed (checked hours) | %.4f (planned %.4f over the same hours) | |\n", f.Executed, f.PlannedPeriod)
	p("| flatness, planned week | %.4f, lower bound %.4f (from the mix: %.4f) | ≤ 1.04 on the reference mix |\n", f.PlannedWeek, f.Bound, f.MixBound)
	l := r.Lateness
	p("| start lateness (simulated) | p50 %s, p90 %s, p99 %s over %.0f runs | |\n", seconds(l.P50), seconds(l.P90), seconds(l.P99), l.Count)
	for _, fl := range r.Faults {
		p("| SIG%s of %s | shards owned again in %.2f s", fl.Signal, fl.Node, fl.OwnedAgain)
		if fl.Rejoined > 0 {
			p("; back and rebalanced in %.2f s", fl.Rejoined)
		}
		p(" | ≤ 5 s (aim 2 s) |\n")
	}
	cpu, rss := 0.0, int64(0)
	for _, u := range r.Processes {
		cpu += u.CPUSeconds
		rss = max(rss, u.MaxRSSBytes)
	}
	p("| CPU, all processes | %.1f s over %.0f s of wall time (%d CPUs) | |\n", cpu, r.WallSeconds, s.CPUs)
	if s.Schedules > 0 && len(r.Nodes) > 0 {
		var peak int64
		for _, n := range r.Nodes {
			peak = max(peak, n.MaxRSSBytes)
		}
		p("| node peak RSS | %s, whole process (%.0f B per schedule held, runtime included) | engine state ≤ 500 B per schedule |\n",
			mib(float64(peak)), float64(peak)/(float64(s.Schedules)/float64(len(r.Nodes))))
	}

	p("\n## Check (SPEC §3)\n\n| | |\n|---|---|\n")
	c := r.Check
	p("| windows checked | %d |\n| images created in the period | %d |\n| duplicate images (inv. 1) | %d |\n| missed windows (inv. 1, 4) | %d |\n| wrong deletions (inv. 3) | %d |\n| retention errors | %d |\n| servers still settling | %d |\n| image records the listing repeated (dropped) | %d |\n",
		c.Windows, c.Images, c.Duplicates, c.Missed, c.WrongDeletions, c.RetentionErrors, c.Unsettled, r.RepeatedListings)
	for _, list := range [][]string{c.DuplicateList, c.MissedList, c.WrongDeletionList, c.RetentionErrorList} {
		for _, e := range list {
			p("\n- %s", e)
		}
	}

	for _, o := range r.Offenders {
		p("\n\nServer `%s`: images", o.ServerID)
		for _, im := range o.Images {
			p(" %s (%s, created %s, active %s);", im.ID, im.Status, im.CreatedAt.Format(time.RFC3339), im.ActiveAt.Format(time.RFC3339))
		}
		p(" runs `%s`", o.Runs)
	}
	p("\n\n## Nodes\n\n| node | up | starts | schedules | shards | runs | CPU s (last life) | RSS now | peak RSS | lateness p50 / p99 |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, n := range r.Nodes {
		p("| %s | %v | %d | %d | %d | %.0f | %.1f | %s | %s | %s / %s |\n", n.Name, n.Up, n.Starts, n.Schedules, n.ShardsOwned, sum(n.Runs),
			n.CPUSeconds, mib(n.RSSBytes), mib(float64(n.MaxRSSBytes)), seconds(n.Lateness.P50), seconds(n.Lateness.P99))
	}
	p("\n| process | CPU s | peak RSS |\n|---|---|---|\n")
	for _, u := range r.Processes {
		p("| %s | %.1f | %s |\n", u.Name, u.CPUSeconds, mib(float64(u.MaxRSSBytes)))
	}
	if len(r.ClusterFailovers) > 0 {
		p("\nFailovers the cluster recorded (newest first):\n\n| kind | from | to | took | shards |\n|---|---|---|---|---|\n")
		for _, fo := range r.ClusterFailovers {
			p("| %s | %s | %s | %s | %d |\n", fo.Kind, fo.From, fo.To, fo.Took, fo.Shards)
		}
	}
	p("\n## Charts\n\n![hourly creations](%s)\n\n![per-node load](%s)\n\n![lateness](%s)\n\n![failover timeline](%s)\n", hourlySVG, nodesSVG, latenessSVG, failoverSVG)
	if r.WorkDir != "" {
		p("\nLogs of every process: `%s`.\n", r.WorkDir)
	}
	return bw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }
