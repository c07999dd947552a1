package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"time"
)

var (
	nodeServing = regexp.MustCompile(`"msg":"serving".*"rest":"([^"]+)".*"grpc":"([^"]+)".*`)
	nodePprof   = regexp.MustCompile(`"pprof":"([^"]+)"`)
)

// node is one `imgsched serve` process, restarted under the same name.
type node struct {
	k    int
	name string
	proc *proc
	rest string // http://host:port
	grpc string
	// pprof is the node's /debug/pprof/ URL, for profiling a run.
	pprof  string
	up     bool
	spent  []usage // processes of this node that have exited
	starts int
}

// nodeSet is the cluster the run drives.
type nodeSet struct {
	cfg     Config
	etcd    string
	clouds  string
	clock   simClock
	workDir string
	nodes   []*node
	http    *http.Client
}

// start runs node n and waits until it serves its APIs.
func (s *nodeSet) start(ctx context.Context, n *node) error {
	base := s.cfg.BasePort
	args := []string{"serve", "--node-name", n.name, "--etcd-endpoints", s.etcd,
		"--data-dir", filepath.Join(s.workDir, n.name),
		"--rest-addr", addr(base, 10*n.k), "--grpc-addr", addr(base, 10*n.k+1), "--gossip-addr", addr(base, 10*n.k+2),
		"--pprof-addr", addr(base, 10*n.k+3),
		"--cluster-timings", "local", "--clouds-file", s.clouds, "--os-cloud", "svc", "--tenancy", "operator",
		"--load-report-interval", s.cfg.loadInterval().String(),
		// The simulated cloud answers createImage in milliseconds; the
		// default settle (5 s for a real cloud) would be two simulated
		// hours at 1440×.
		"--takeover-settle", s.cfg.TakeoverSettle.String()}
	if s.cfg.Shards > 0 {
		args = append(args, "--shards", fmt.Sprint(s.cfg.Shards))
	}
	if s.cfg.MaxInFlight > 0 {
		args = append(args, "--max-in-flight", fmt.Sprint(s.cfg.MaxInFlight))
	}
	if s.cfg.CloudRate > 0 {
		args = append(args, "--cloud-rate", fmt.Sprint(s.cfg.CloudRate))
	}
	n.starts++
	p, err := startProc(n.name, s.cfg.Binary, filepath.Join(s.workDir, n.name+".log"), append(args, s.clock.flags()...)...)
	if err != nil {
		return err
	}
	m, err := p.waitFor(ctx, nodeServing, 5*time.Minute)
	if err != nil {
		p.stop(time.Minute)
		return err
	}
	n.proc, n.rest, n.grpc, n.up = p, "http://"+m[1], m[2], true
	if pm := nodePprof.FindStringSubmatch(m[0]); pm != nil {
		n.pprof = "http://" + pm[1] + "/debug/pprof/"
	}
	return nil
}

// loadInterval is how often the nodes report their load: every twelve
// simulated minutes, enough for the per-node load chart, within 0.5 s and
// the nodes' default of 15 s. A report walks all the node's schedules, so
// at 1M schedules and 30× a fixed 0.5 s cost a core a fifth of its time.
func (c Config) loadInterval() time.Duration {
	d := time.Duration(float64(12*time.Minute) / c.TimeScale)
	return min(max(d, 500*time.Millisecond), 15*time.Second).Round(time.Millisecond)
}

// status is the part of GET /v1/cluster/status the run reads.
type status struct {
	Leader  string `json:"leader"`
	Epoch   string `json:"epoch"`
	Shards  int    `json:"shards"`
	Members []struct {
		Name      string `json:"name"`
		State     string `json:"state"`
		Owned     int    `json:"shards_owned"`
		Schedules int    `json:"schedules"`
	} `json:"members"`
	Failovers []struct {
		Kind   string `json:"kind"`
		From   string `json:"from"`
		To     string `json:"to"`
		Took   string `json:"took"`
		Shards int    `json:"shards"`
	} `json:"failovers"`
}

// getJSON GETs a node's admin endpoint into out.
func (s *nodeSet) getJSON(ctx context.Context, url, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", token)
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s %s", url, resp.Status, b)
	}
	return json.Unmarshal(b, out)
}

func (s *nodeSet) status(ctx context.Context, n *node, token string) (status, error) {
	var st status
	err := s.getJSON(ctx, n.rest+"/v1/cluster/status", token, &st)
	return st, err
}

// settled polls observer until every shard is owned by the nodes that are
// up, each of them owning some, and the leader is one of them; it returns
// how long that took. The poll interval only paces the reads.
func (s *nodeSet) settled(ctx context.Context, observer *node, token string, shards int) (time.Duration, error) {
	began := time.Now()
	want := map[string]bool{}
	for _, n := range s.nodes {
		if n.up {
			want[n.name] = true
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last status
	for {
		st, err := s.status(ctx, observer, token)
		if err == nil {
			last = st
			owned, working := 0, 0
			for _, m := range st.Members {
				if want[m.Name] {
					owned += m.Owned
					if m.State == "alive" && m.Owned > 0 {
						working++
					}
				}
			}
			if owned == shards && working == len(want) && want[st.Leader] {
				return time.Since(began), nil
			}
		}
		if time.Since(began) > s.cfg.FailoverLimit {
			return 0, fmt.Errorf("after %s the shards are not all owned by %v: %+v", s.cfg.FailoverLimit, want, last)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (s *nodeSet) byName(name string) *node {
	for _, n := range s.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// observer is a node that is up, for status reads.
func (s *nodeSet) observer() *node {
	for _, n := range s.nodes {
		if n.up {
			return n
		}
	}
	return nil
}

// load is GET /v1/cluster/load: the planned creations per hour of the week.
type load struct {
	Creations []int64 `json:"creations"`
	Flatness  float64 `json:"flatness"`
	Bound     float64 `json:"bound"`
}
