package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/imgsched/imgsched/benchmarks/check"
	"github.com/imgsched/imgsched/cluster"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

// clusterNode is one `imgsched serve` in its own network namespace.
type clusterNode struct {
	k       int
	name    string
	dataDir string
	proc    *proc
	rest    string
	grpc    string
}

type clusterEnv struct {
	t        *testing.T
	net      *testNet
	etcd     string
	clouds   string
	clock    simClock
	cloudURL string
	nodes    []*clusterNode
	shards   int
}

var nodeServing = regexp.MustCompile(`"msg":"serving".*"rest":"([^"]+)".*"grpc":"([^"]+)"`)

func (e *clusterEnv) start(n *clusterNode) {
	e.t.Helper()
	ip := e.net.Node(n.k).IP
	n.proc = startWith(e.t, n.name, e.net.Command(n.k), append([]string{"serve", "--node-name", n.name,
		"--etcd-endpoints", e.etcd, "--shards", fmt.Sprint(e.shards), "--data-dir", n.dataDir,
		"--rest-addr", ip + ":0", "--grpc-addr", ip + ":0", "--gossip-addr", ip + ":7946", "--cluster-timings", "local",
		"--clouds-file", e.clouds, "--os-cloud", "svc", "--tenancy", "operator", "--load-report-interval", "500ms",
		// This test is about the cluster: queueing behind one snapshot per
		// hypervisor (40 servers per host in the simulated cloud) is the
		// engine's concern, tested by the fourteen-day test, so it is
		// lifted here to keep late slots from running into the next day.
		"--max-in-flight-per-host", "8",
		// The simulated cloud answers at once; 5 s would be two hours here.
		"--takeover-settle", "250ms"}, e.clock.flags()...)...)
	m := n.proc.waitFor(e.t, nodeServing, time.Minute)
	n.rest, n.grpc = "http://"+m[1], m[2]
}

// status asks a node for the cluster's status; the zero value when it does
// not answer.
func (e *clusterEnv) status(n *clusterNode) (st struct {
	Leader  string `json:"leader"`
	Epoch   string `json:"epoch"`
	Members []struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Owned int    `json:"shards_owned"`
	} `json:"members"`
	Failovers []json.RawMessage `json:"failovers"`
}) {
	body := get(e.t, n.rest+"/v1/cluster/status", loginAdmin(e.t, e.cloudURL).provider.Token())
	json.Unmarshal([]byte(body), &st)
	return st
}

// settled waits until, as seen from observer, every shard is owned by one
// of want and the leader is one of them, and returns how long that took.
func (e *clusterEnv) settled(observer *clusterNode, want []*clusterNode, limit time.Duration) time.Duration {
	e.t.Helper()
	names := map[string]bool{}
	for _, n := range want {
		names[n.name] = true
	}
	began := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		st := e.status(observer)
		owned, working := 0, 0
		for _, m := range st.Members {
			if names[m.Name] {
				owned += m.Owned
				if m.State == "alive" && m.Owned > 0 {
					working++
				}
			}
		}
		// Every wanted node alive and sharing the work, all of it owned.
		if owned == e.shards && working == len(want) && names[st.Leader] {
			return time.Since(began)
		}
		if time.Since(began) > limit {
			e.t.Fatalf("after %s the shards are not all owned by %v: %+v", limit, names, st)
		}
		<-tick.C
	}
}

// TestClusterKeepsTheInvariantsThroughKillsPausesPartitionsAndRestarts runs
// three nodes, each in its own network namespace, against an etcd and the
// simulated cloud on the host, through simulated days of a busy fleet while
// it kills, pauses, partitions and restarts them, then checks SPEC §3.
func TestClusterKeepsTheInvariantsThroughKillsPausesPartitionsAndRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a three-node cluster in network namespaces")
	}
	tn := newTestNet(t, 3)
	ecfg := cluster.DefaultEmbeddedConfig(filepath.Join(t.TempDir(), "etcd"))
	ecfg.ClientURL = "http://" + tn.HostIP() + ":0"
	etcd, err := cluster.StartEmbedded(context.Background(), ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(etcd.Close)
	// A simulated day per real minute.
	clock := newSimClock(time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC), 1440)
	cs := start(t, "cloudsim", append([]string{"cloudsim", "--addr", tn.HostIP() + ":0", "--record-deletions", "--token-ttl", "8760h",
		"--servers", "300", "--projects", "10"}, clock.flags()...)...)
	cloudURL := cs.waitFor(t, cloudsimURL, time.Minute)[1]
	e := &clusterEnv{t: t, net: tn, etcd: etcd.Endpoints()[0], clouds: serviceClouds(t, cloudURL), clock: clock, cloudURL: cloudURL, shards: 64}
	for k := 1; k <= 3; k++ {
		n := &clusterNode{k: k, name: fmt.Sprintf("n%d", k), dataDir: t.TempDir()}
		e.nodes = append(e.nodes, n)
		e.start(n)
	}
	all := e.nodes
	t.Logf("three nodes up; settled in %s", e.settled(all[0], all, time.Minute))

	adm := loginAdmin(t, cloudURL)
	var reqs []*imgschedv1.SetScheduleRequest
	var scheds []check.Schedule
	for i, s := range adm.servers(t) {
		req := &imgschedv1.SetScheduleRequest{TenantId: s.TenantID, ServerId: s.ID, Retention: int64(1 + i%4)}
		sc := scheduler.DailySchedule()
		if i%5 == 0 {
			day := time.Weekday(i % 7)
			req.DayOfWeek, sc = dayName(int(day)), scheduler.WeeklySchedule(day)
		}
		reqs = append(reqs, req)
		scheds = append(scheds, check.Schedule{ServerID: s.ID, Schedule: sc, Retention: int(req.Retention)})
	}
	importSchedules(t, all[0].grpc, adm.provider.Token(), reqs)
	first := clock.clock.Now().Truncate(24 * time.Hour).Add(24 * time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := clock.until(ctx, first.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// After each fault: no window got a second image and nothing was
	// deleted that retention may not delete (windows still under way are
	// judged at the end).
	checkNow := func(after string) {
		t.Helper()
		r := check.Check(scheds, loginAdmin(t, cloudURL).images(t), check.Period{From: first, To: first}, false)
		if r.Duplicates != 0 || r.WrongDeletions != 0 {
			t.Fatalf("after %s: %s", after, r)
		}
	}
	leaderOf := func(observer *clusterNode) *clusterNode {
		st := e.status(observer)
		for _, n := range all {
			if n.name == st.Leader {
				return n
			}
		}
		t.Fatalf("no leader in %+v", st)
		return nil
	}
	others := func(n *clusterNode) []*clusterNode {
		var out []*clusterNode
		for _, o := range all {
			if o != n {
				out = append(out, o)
			}
		}
		return out
	}

	// 1. SIGKILL a follower, then bring it back.
	leader := leaderOf(all[0])
	follower := others(leader)[0]
	follower.proc.signal(t, syscall.SIGKILL)
	t.Logf("follower %s killed: its shards owned again in %s", follower.name, e.settled(leader, others(follower), time.Minute))
	e.start(follower)
	e.settled(leader, all, time.Minute)
	checkNow("a follower's SIGKILL")

	// 2. SIGKILL the leader.
	leader.proc.signal(t, syscall.SIGKILL)
	rest := others(leader)
	t.Logf("leader %s killed: new leader and all shards owned in %s", leader.name, e.settled(rest[0], rest, time.Minute))
	e.start(leader)
	e.settled(rest[0], all, time.Minute)
	checkNow("the leader's SIGKILL")

	// 3. SIGSTOP a node past its lease, then SIGCONT: it is fenced out and
	// must not write; it rejoins with a new session.
	paused := all[2]
	paused.proc.signal(t, syscall.SIGSTOP)
	t.Logf("%s paused: its shards owned by the others in %s", paused.name, e.settled(all[0], others(paused), time.Minute))
	paused.proc.signal(t, syscall.SIGCONT)
	e.settled(all[0], all, time.Minute)
	checkNow("a pause past the lease")

	// 4. Cut a node off from etcd, the cloud and the others.
	cut := leaderOf(all[0])
	tn.Cut(cut.k)
	observer := others(cut)[0]
	t.Logf("%s cut off: its shards owned by the others in %s", cut.name, e.settled(observer, others(cut), time.Minute))
	tn.Heal(cut.k)
	e.settled(observer, all, time.Minute)
	checkNow("a partition")

	// 5. A rolling restart: each node leaves gracefully and comes back.
	for _, n := range all {
		began := time.Now()
		n.proc.signal(t, syscall.SIGTERM)
		t.Logf("%s stopped gracefully in %s", n.name, time.Since(began))
		e.start(n)
		e.settled(others(n)[0], all, time.Minute)
	}
	checkNow("a rolling restart")
	for _, n := range all {
		st := e.status(n)
		t.Logf("%s sees leader %s, epoch %s, %d failovers", n.name, st.Leader, st.Epoch, len(st.Failovers))
	}

	// Let the current day finish and its last images save (the largest
	// disks take about 100 simulated minutes), then check every complete
	// window.
	end := clock.clock.Now().Truncate(24 * time.Hour).Add(24 * time.Hour)
	if err := clock.until(ctx, end.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	images := loginAdmin(t, cloudURL).images(t)
	report := check.Check(scheds, images, check.Period{From: first, To: end, Observed: clock.clock.Now(), Settle: time.Hour}, true)
	t.Logf("%s", report)
	if !report.OK() {
		for _, id := range report.Offenders[:min(4, len(report.Offenders))] {
			t.Logf("runs of %s:\n%s", id, get(t, all[0].rest+"/v1/servers/"+id+"/runs", loginAdmin(t, cloudURL).provider.Token()))
		}
		t.Fatal("invariants broken")
	}
	// No acknowledged schedule lost.
	stored := 0
	for page := ""; ; {
		var resp struct {
			Schedules []json.RawMessage `json:"schedules"`
			Next      string            `json:"next_page_token"`
		}
		json.Unmarshal([]byte(get(t, all[0].rest+"/v1/schedules?page_size=1000&page_token="+page, loginAdmin(t, cloudURL).provider.Token())), &resp)
		stored += len(resp.Schedules)
		if page = resp.Next; page == "" {
			break
		}
	}
	if stored != len(reqs) {
		t.Fatalf("%d schedules stored, %d acknowledged", stored, len(reqs))
	}
}
