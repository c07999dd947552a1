package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imgsched/imgsched/benchmarks/check"
)

// collect reads the cluster's figures and every image, and checks them.
func (r *run) collect(ctx context.Context) error {
	r.progress.Phase("checking", 0)
	observed := r.clock.now()
	r.report.Period.Observed = observed
	obs := r.nodes.observer()
	if obs == nil {
		return fmt.Errorf("no node is up at the end")
	}
	st, err := r.nodes.status(ctx, obs, r.admin.token())
	if err != nil {
		return fmt.Errorf("cluster status: %w", err)
	}
	for _, fo := range st.Failovers {
		r.report.ClusterFailovers = append(r.report.ClusterFailovers, ClusterFailover(fo))
	}
	var ld load
	if err := r.nodes.getJSON(ctx, obs.rest+"/v1/cluster/load", r.admin.token(), &ld); err != nil {
		return fmt.Errorf("cluster load: %w", err)
	}
	if err := r.nodeReports(ctx, st); err != nil {
		return err
	}

	images, err := check.FetchSimImages(ctx, r.cloudURL, r.admin.token())
	if err != nil {
		return fmt.Errorf("read the cloud's images: %w", err)
	}
	images, r.report.RepeatedListings = uniqueImages(images)
	p := check.Period{From: r.report.Period.From, To: r.report.Period.To, Observed: observed, Settle: time.Hour}
	r.report.Check = check.Check(r.fleet.schedules, images, p, true)
	r.progress.Event(r.report.Check.String())
	r.report.Offenders = r.offenders(ctx, obs, images)

	f := &r.report.Flatness
	f.Executed, f.Hourly, f.HourlyFrom = r.report.Check.Flatness, r.report.Check.Hourly, p.From.Truncate(time.Hour)
	if f.HourlyFrom.Before(p.From) {
		f.HourlyFrom = f.HourlyFrom.Add(time.Hour)
	}
	f.PlannedWeek, f.Bound, f.Planned, f.MixBound = ld.Flatness, ld.Bound, ld.Creations, r.fleet.demand.Bound()
	f.PlannedPeriod = peakOverMean(plannedHours(*f))
	return nil
}

// maxOffenders bounds the servers whose history a failed report shows.
const maxOffenders = 4

// offenders gathers, for the first servers that broke an invariant, their
// images and the run history a node keeps, for diagnosis.
func (r *run) offenders(ctx context.Context, obs *node, images []check.Image) []Offender {
	var out []Offender
	for _, id := range offenderIDs(r.report.Check, maxOffenders) {
		o := Offender{ServerID: id}
		for _, im := range images {
			if im.ServerID == id {
				o.Images = append(o.Images, im)
			}
		}
		if err := r.nodes.getJSON(ctx, obs.rest+"/v1/servers/"+id+"/runs", r.admin.token(), &o.Runs); err != nil {
			o.Runs = json.RawMessage(strconv.Quote(err.Error()))
		}
		out = append(out, o)
	}
	return out
}

// offenderIDs picks up to n servers that broke an invariant, taking them
// from each kind of violation in turn (duplicates first), so that a rare
// kind is not crowded out by a common one.
func offenderIDs(c check.Report, n int) []string {
	lists := [][]string{c.DuplicateList, c.WrongDeletionList, c.MissedList, c.RetentionErrorList}
	seen := map[string]bool{}
	var out []string
	for i := 0; len(out) < n; i++ {
		more := false
		for _, l := range lists {
			if i >= len(l) {
				continue
			}
			more = true
			// Entries read "server <id> ..." or "image <id> ... of server "<id>" ...".
			if f := strings.Fields(l[i]); len(f) > 1 && f[0] == "server" && !seen[strings.TrimSuffix(f[1], ":")] && len(out) < n {
				id := strings.TrimSuffix(f[1], ":")
				seen[id] = true
				out = append(out, id)
			}
		}
		if !more {
			break
		}
	}
	for _, id := range c.Offenders {
		if len(out) >= n {
			break
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// uniqueImages keeps one record per image id, the last listed: a listing
// taken while images are created and deleted may show one twice, which is
// not a second image. It returns how many repeats it dropped.
func uniqueImages(images []check.Image) ([]check.Image, int) {
	at := map[string]int{}
	out := images[:0:0]
	for _, im := range images {
		if i, ok := at[im.ID]; ok {
			out[i] = im
			continue
		}
		at[im.ID] = len(out)
		out = append(out, im)
	}
	return out, len(images) - len(out)
}

// nodeReports scrapes every node that is up and sums their lateness.
func (r *run) nodeReports(ctx context.Context, st status) error {
	owned := map[string]int{}
	for _, m := range st.Members {
		owned[m.Name] = m.Owned
	}
	var all []Bucket
	var sumSeconds float64
	for _, n := range r.nodes.nodes {
		nr := NodeReport{Name: n.name, Up: n.up, Starts: n.starts, ShardsOwned: owned[n.name]}
		if n.up {
			m, err := scrape(ctx, r.nodes.http, n.rest)
			if err != nil {
				return fmt.Errorf("metrics of %s: %w", n.name, err)
			}
			nr.Schedules, nr.Runs, nr.CPUSeconds, nr.RSSBytes = int(m.Schedules), m.Runs, m.CPUSeconds, m.RSSBytes
			nr.Lateness = summarise(m.Lateness, m.LatenessSum)
			all = addBuckets(all, m.Lateness)
			sumSeconds += m.LatenessSum
		}
		r.report.Nodes = append(r.report.Nodes, nr)
	}
	r.report.Lateness = summarise(all, sumSeconds)
	return nil
}

// summarise turns a cumulative histogram and its sum into quantiles.
func summarise(bs []Bucket, sum float64) Lateness {
	l := Lateness{Buckets: bs, P50: quantile(0.5, bs), P90: quantile(0.9, bs), P99: quantile(0.99, bs)}
	if len(bs) > 0 {
		l.Count = bs[len(bs)-1].Count
	}
	if l.Count > 0 {
		l.Mean = sum / l.Count
	}
	return l
}

func peakOverMean(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	peak, total := 0.0, 0.0
	for _, v := range vs {
		peak, total = math.Max(peak, v), total+v
	}
	if total == 0 {
		return 0
	}
	return peak / (total / float64(len(vs)))
}

func (r *run) setup() Setup {
	cfg := r.cfg
	return Setup{
		Servers: cfg.Servers, Projects: cfg.Projects, Schedules: len(r.fleet.requests), Daily: r.fleet.daily, Weekly: r.fleet.weekly,
		Nodes: cfg.Nodes, Shards: r.shards, Mix: cfg.Mix, Retention: [2]int{cfg.RetentionMin, cfg.RetentionMax},
		TimeScale: cfg.TimeScale, Days: cfg.Days, Timetable: FormatTimetable(cfg.Kills), Seed: cfg.Seed,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), BinaryPath: cfg.Binary, ImportBatch: cfg.BatchSize,
		ClusterTimes: "local",
	}
}

// selfUsage is the bench process's own cost so far: the embedded etcd,
// the client side of the import, and the check.
func selfUsage() usage {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return usage{Name: "bench (etcd, import, check)", CPUSeconds: cpu.Seconds(), MaxRSSBytes: ru.Maxrss * 1024}
}
