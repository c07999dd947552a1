package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imgsched/imgsched/benchmarks/loadtest"
)

func newBenchCommand() *cobra.Command {
	var preset, kills, start, popularDay string
	var cfg loadtest.Config
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the fleet-scale load test and write its report",
		Long: `bench starts the simulated cloud and a cluster of serve nodes from this binary
on 127.0.0.1 (with an etcd inside the bench process), seeds servers, imports
schedules through the bulk path, runs simulated days on an accelerated clock
while it kills and restarts nodes on a timetable, then checks SPEC §3's
invariants over every image the cloud held. It writes report.json, report.md
and SVG charts to --out, and exits non-zero when an invariant broke.

Presets: smoke (10,000 schedules, 3 nodes, one simulated day at a day per
minute, a follower SIGKILLed; about two minutes, run by CI) and full
(1,000,000 schedules on 3 nodes). Any other flag overrides the preset.

--kills is a timetable of at:node:signal[:restart] entries, comma-separated,
with simulated offsets from the checked period's start: "8h:2:KILL:2h" kills
node 2 eight simulated hours into the period and starts it again two hours
later; signals are KILL, TERM and STOP (restart sends SIGCONT); "" for none.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := loadtest.Preset(preset)
			if err != nil {
				return err
			}
			if err := overlay(cmd.Flags(), &base, cfg, kills, start, popularDay); err != nil {
				return err
			}
			if base.Binary == "" {
				if base.Binary, err = os.Executable(); err != nil {
					return err
				}
			}
			bar := newBenchProgress(cmd.ErrOrStderr())
			report, err := loadtest.Run(cmd.Context(), withCommand(base, preset), bar)
			bar.finish()
			if err != nil {
				return err
			}
			printSummary(cmd.OutOrStdout(), report, base.OutDir)
			if !report.OK {
				return errors.New("invariants broke: see " + base.OutDir + "/report.md")
			}
			return nil
		},
	}
	d := loadtest.Smoke()
	f := cmd.Flags()
	f.StringVar(&preset, "preset", "smoke", "smoke (10,000 schedules, ~2 min) or full (1,000,000)")
	f.StringVar(&cfg.OutDir, "out", "benchmarks/results/bench", "directory for report.json, report.md and the charts")
	f.StringVar(&cfg.WorkDir, "work-dir", "", "directory for etcd's data and the processes' logs (default: a temporary one, kept when an invariant breaks)")
	f.StringVar(&cfg.Binary, "binary", "", "imgsched binary to run the cloud and the nodes with (default: this one)")
	f.IntVar(&cfg.Servers, "servers", d.Servers, "servers seeded in the simulated cloud")
	f.IntVar(&cfg.Projects, "projects", d.Projects, "projects the servers are spread over")
	f.IntVar(&cfg.Nodes, "nodes", d.Nodes, "serve nodes")
	f.IntVar(&cfg.Shards, "shards", d.Shards, "shard count (0: the binary's default)")
	f.Float64Var(&cfg.Mix.Daily, "daily", d.Mix.Daily, "fraction of the servers with a daily schedule")
	f.Float64Var(&cfg.Mix.Weekly, "weekly", d.Mix.Weekly, "fraction of the servers with a weekly schedule")
	f.StringVar(&popularDay, "popular-day", strings.ToLower(d.Mix.PopularDay.String()), "the day that takes --popular-fraction of the weekly schedules")
	f.Float64Var(&cfg.Mix.PopularFraction, "popular-fraction", d.Mix.PopularFraction, "fraction of the weekly schedules on --popular-day; the rest spread over the week")
	f.IntVar(&cfg.RetentionMin, "retention-min", d.RetentionMin, "smallest retention, drawn uniformly")
	f.IntVar(&cfg.RetentionMax, "retention-max", d.RetentionMax, "largest retention")
	f.Int64Var(&cfg.Seed, "seed", d.Seed, "seed of the cloud's ids and of the mix")
	f.Float64Var(&cfg.TimeScale, "time-scale", d.TimeScale, "simulated seconds per real second for every process")
	f.StringVar(&start, "start", d.Start.Format(time.RFC3339), "simulated time when the run begins, RFC 3339")
	f.DurationVar(&cfg.Lead, "lead", d.Lead, "simulated time at least between the import and the checked period (which starts at a UTC midnight)")
	f.IntVar(&cfg.Days, "days", d.Days, "simulated days checked")
	f.DurationVar(&cfg.Settle, "settle", d.Settle, "simulated time waited after the period before reading the images")
	f.StringVar(&kills, "kills", loadtest.FormatTimetable(d.Kills), "fault timetable: at:node:KILL|TERM|STOP[:restart], comma-separated, simulated")
	f.IntVar(&cfg.BasePort, "base-port", 0, "fixed ports from this one (cloud, etcd, then 10 per node); 0 picks free ports")
	f.IntVar(&cfg.BatchSize, "batch", d.BatchSize, "schedules per ImportSchedules message")
	f.IntVar(&cfg.MaxInFlight, "max-in-flight", d.MaxInFlight, "each node's --max-in-flight (0: the nodes' default)")
	f.Float64Var(&cfg.CloudRate, "cloud-rate", d.CloudRate, "each node's --cloud-rate, requests per simulated second (0: the nodes' default)")
	f.DurationVar(&cfg.TakeoverSettle, "takeover-settle", d.TakeoverSettle, "the nodes' --takeover-settle (real time)")
	f.DurationVar(&cfg.FailoverLimit, "failover-limit", d.FailoverLimit, "longest real wait for the shards to be owned again after a fault")
	return cmd
}

// overlay copies onto base the flags the command line (or the environment)
// set, so that a preset supplies everything else.
func overlay(fs *pflag.FlagSet, base *loadtest.Config, cfg loadtest.Config, kills, start, popularDay string) error {
	var errs []error
	fs.Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "work-dir":
			base.WorkDir = cfg.WorkDir
		case "binary":
			base.Binary = cfg.Binary
		case "servers":
			base.Servers = cfg.Servers
		case "projects":
			base.Projects = cfg.Projects
		case "nodes":
			base.Nodes = cfg.Nodes
		case "shards":
			base.Shards = cfg.Shards
		case "daily":
			base.Mix.Daily = cfg.Mix.Daily
		case "weekly":
			base.Mix.Weekly = cfg.Mix.Weekly
		case "popular-day":
			day, err := parseDay(popularDay)
			errs = append(errs, err)
			base.Mix.PopularDay = time.Weekday(int(day) - 1)
		case "popular-fraction":
			base.Mix.PopularFraction = cfg.Mix.PopularFraction
		case "retention-min":
			base.RetentionMin = cfg.RetentionMin
		case "retention-max":
			base.RetentionMax = cfg.RetentionMax
		case "seed":
			base.Seed = cfg.Seed
		case "time-scale":
			base.TimeScale = cfg.TimeScale
		case "start":
			t, err := time.Parse(time.RFC3339, start)
			errs = append(errs, err)
			base.Start = t.UTC()
		case "lead":
			base.Lead = cfg.Lead
		case "days":
			base.Days = cfg.Days
		case "settle":
			base.Settle = cfg.Settle
		case "kills":
			ks, err := loadtest.ParseTimetable(kills)
			errs = append(errs, err)
			base.Kills = ks
		case "base-port":
			base.BasePort = cfg.BasePort
		case "batch":
			base.BatchSize = cfg.BatchSize
		case "failover-limit":
			base.FailoverLimit = cfg.FailoverLimit
		case "takeover-settle":
			base.TakeoverSettle = cfg.TakeoverSettle
		case "max-in-flight":
			base.MaxInFlight = cfg.MaxInFlight
		case "cloud-rate":
			base.CloudRate = cfg.CloudRate
		}
	})
	base.OutDir = cfg.OutDir
	return errors.Join(errs...)
}

// withCommand records the command line in the configuration's report.
func withCommand(cfg loadtest.Config, preset string) loadtest.Config {
	cfg.Command = "imgsched " + strings.Join(os.Args[1:], " ")
	cfg.Preset = preset
	return cfg
}

func printSummary(w io.Writer, r loadtest.Report, out string) {
	fmt.Fprintf(w, "%s\n", r.Check.String())
	fmt.Fprintf(w, "import      %.0f schedules/s (%d in %.2f s)\n", r.Import.PerSecond, r.Import.Schedules, r.Import.Seconds)
	fmt.Fprintf(w, "flatness    executed %.4f (planned %.4f over those hours); planned week %.4f, bound %.4f\n",
		r.Flatness.Executed, r.Flatness.PlannedPeriod, r.Flatness.PlannedWeek, r.Flatness.Bound)
	fmt.Fprintf(w, "lateness    p50 %.1f s, p90 %.1f s, p99 %.1f s (simulated, %.0f runs)\n", r.Lateness.P50, r.Lateness.P90, r.Lateness.P99, r.Lateness.Count)
	for _, f := range r.Faults {
		fmt.Fprintf(w, "failover    SIG%s of %s: shards owned again in %.2f s\n", f.Signal, f.Node, f.OwnedAgain)
	}
	fmt.Fprintf(w, "wall time   %.0f s; report in %s/report.md\n", r.WallSeconds, out)
}

// benchProgress shows the run's phases as a progress bar on stderr and
// prints its events above it.
type benchProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	phase string
}

func newBenchProgress(w io.Writer) *benchProgress { return &benchProgress{w: w} }

func (p *benchProgress) Phase(name string, total int64) {
	p.finish()
	p.phase = name
	unit := "steps"
	switch name {
	case "importing":
		unit = "schedules"
	case "running":
		unit = "simulated s"
	}
	if total <= 0 {
		fmt.Fprintf(p.w, "%s…\n", name)
		return
	}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-9s", name)),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
}

func (p *benchProgress) Advance(done int64) {
	if p.bar != nil {
		p.bar.Set64(done)
	}
}

func (p *benchProgress) Event(msg string) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.w, msg)
	if p.bar != nil {
		p.bar.RenderBlank()
	}
}

func (p *benchProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
		p.bar = nil
	}
}
