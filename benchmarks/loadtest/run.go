package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/imgsched/imgsched/cluster"
)

// Progress follows a run; Run calls it from its own goroutine only.
type Progress interface {
	// Phase starts a phase ("starting", "importing", "running",
	// "checking") of total steps: schedules while importing, simulated
	// seconds while running, 0 when unknown.
	Phase(name string, total int64)
	// Advance reports the steps of the current phase done so far.
	Advance(done int64)
	// Event reports something that happened, such as a fault and how
	// long the cluster took to recover.
	Event(msg string)
}

type noProgress struct{}

func (noProgress) Phase(string, int64) {}
func (noProgress) Advance(int64)       {}
func (noProgress) Event(string)        {}

// run is the state of one Run.
type run struct {
	cfg      Config
	progress Progress
	report   Report
	workDir  string
	tempWork bool
	etcd     *cluster.Embedded
	cloud    *proc
	cloudURL string
	admin    admin
	clock    simClock
	nodes    nodeSet
	fleet    fleet
	shards   int
}

// Run carries out the load test cfg describes and writes its report into
// cfg.OutDir. It blocks until the run is over: the simulated period, the
// check, and every process it started stopped. Cancelling ctx stops the
// processes and returns ctx's error.
//
// A Report whose OK is false is not an error: the run was carried out and
// found a broken invariant. Errors mean it could not be carried out (a
// process that would not start, a failed import, the cluster not settling
// within FailoverLimit).
func Run(ctx context.Context, cfg Config, progress Progress) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	if progress == nil {
		progress = noProgress{}
	}
	r := &run{cfg: cfg, progress: progress, workDir: cfg.WorkDir}
	r.report.Started = time.Now()
	r.report.Command, r.report.Preset = cfg.Command, cfg.Preset
	if r.workDir == "" {
		dir, err := os.MkdirTemp("", "imgsched-bench-")
		if err != nil {
			return Report{}, err
		}
		r.workDir, r.tempWork = dir, true
	}
	err := r.execute(ctx)
	r.shutdown()
	r.report.Setup = r.setup()
	r.report.WallSeconds = time.Since(r.report.Started).Seconds()
	r.report.OK = err == nil && r.report.Check.OK()
	if r.tempWork && r.report.OK {
		os.RemoveAll(r.workDir)
	} else {
		r.report.WorkDir = r.workDir
	}
	if werr := Write(cfg.OutDir, r.report); werr != nil {
		err = errors.Join(err, fmt.Errorf("write the report: %w", werr))
	}
	return r.report, err
}

func (r *run) execute(ctx context.Context) error {
	r.progress.Phase("starting", int64(r.cfg.Nodes+2))
	if err := r.startAll(ctx); err != nil {
		return err
	}
	if err := r.importFleet(ctx); err != nil {
		return err
	}
	if err := r.runPeriod(ctx); err != nil {
		return err
	}
	return r.collect(ctx)
}

// startAll starts etcd, the simulated cloud and the nodes, and waits until
// the nodes share the shards.
func (r *run) startAll(ctx context.Context) error {
	cfg := r.cfg
	ec := cluster.DefaultEmbeddedConfig(filepath.Join(r.workDir, "etcd"))
	ec.ClientURL = "http://" + addr(cfg.BasePort, 1)
	var err error
	if r.etcd, err = cluster.StartEmbedded(ctx, ec); err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	r.progress.Advance(1)
	r.clock = newSimClock(cfg.Start, cfg.TimeScale, time.Now().Truncate(time.Second))
	r.report.Period.SimulatedStart = cfg.Start
	if r.cloud, r.cloudURL, err = startCloud(ctx, cfg, r.clock, r.workDir); err != nil {
		return fmt.Errorf("start the simulated cloud: %w", err)
	}
	r.progress.Advance(2)
	if r.admin, err = loginAdmin(ctx, r.cloudURL); err != nil {
		return err
	}
	clouds, err := writeServiceClouds(r.workDir, r.cloudURL)
	if err != nil {
		return err
	}
	r.nodes = nodeSet{cfg: cfg, etcd: r.etcd.Endpoints()[0], clouds: clouds, clock: r.clock, workDir: r.workDir,
		http: &http.Client{Timeout: time.Minute}}
	for k := 1; k <= cfg.Nodes; k++ {
		n := &node{k: k, name: fmt.Sprintf("n%d", k)}
		r.nodes.nodes = append(r.nodes.nodes, n)
		if err := r.nodes.start(ctx, n); err != nil {
			return fmt.Errorf("start node %s: %w", n.name, err)
		}
		r.progress.Event(fmt.Sprintf("%s serves profiles at %s (go tool pprof %sprofile?seconds=30)", n.name, n.pprof, n.pprof))
		r.progress.Advance(int64(2 + k))
	}
	st, err := r.nodes.status(ctx, r.nodes.nodes[0], r.admin.token())
	if err != nil {
		return fmt.Errorf("cluster status: %w", err)
	}
	r.shards = st.Shards
	took, err := r.nodes.settled(ctx, r.nodes.nodes[0], r.admin.token(), r.shards)
	if err != nil {
		return fmt.Errorf("the cluster did not settle: %w", err)
	}
	r.progress.Event(fmt.Sprintf("%d nodes up, %d shards shared out in %.2f s", cfg.Nodes, r.shards, took.Seconds()))
	return nil
}

// importFleet lists the cloud's servers, builds the mix and imports it.
func (r *run) importFleet(ctx context.Context) error {
	began := time.Now()
	all, err := r.admin.servers(ctx)
	if err != nil {
		return err
	}
	r.report.Import.ListSeconds = time.Since(began).Seconds()
	r.fleet = buildFleet(r.cfg, all)
	n := len(r.fleet.requests)
	r.progress.Phase("importing", int64(n))
	began = time.Now()
	err = importSchedules(ctx, r.nodes.nodes[0].grpc, r.admin.token(), r.fleet.requests, r.cfg.BatchSize,
		func(done int) { r.progress.Advance(int64(done)) })
	if err != nil {
		return err
	}
	took := time.Since(began)
	r.report.Import.Schedules, r.report.Import.Seconds, r.report.Import.PerSecond = n, took.Seconds(), rate(n, took)
	since := r.clock.now()
	for i := range r.fleet.schedules {
		r.fleet.schedules[i].Since = since
	}
	r.progress.Event(fmt.Sprintf("imported %d schedules in %.2f s (%.0f/s); %d servers listed in %.2f s",
		n, took.Seconds(), rate(n, took), len(all), r.report.Import.ListSeconds))
	return nil
}

// shutdown stops every process the run started, nodes first, and records
// what each cost.
func (r *run) shutdown() {
	for _, n := range r.nodes.nodes {
		if n.proc != nil {
			n.spent = append(n.spent, n.proc.stop(time.Minute))
			n.proc = nil
		}
		var peak int64
		for i, u := range n.spent {
			u.Name = fmt.Sprintf("%s (life %d)", n.name, i+1)
			r.report.Processes = append(r.report.Processes, u)
			peak = max(peak, u.MaxRSSBytes)
		}
		for i := range r.report.Nodes {
			if r.report.Nodes[i].Name == n.name {
				r.report.Nodes[i].MaxRSSBytes = peak
			}
		}
	}
	if r.cloud != nil {
		r.report.Processes = append(r.report.Processes, r.cloud.stop(time.Minute))
		r.cloud = nil
	}
	if r.etcd != nil {
		r.etcd.Close()
		r.etcd = nil
	}
	r.report.Processes = append(r.report.Processes, selfUsage())
}
