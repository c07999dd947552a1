package sim

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler/schedulertest"
)

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkSeed measures seeding a million servers over a thousand projects,
// with 0, 1 or 7 images each (7 is a week of daily images), and the heap
// they keep. Run with -benchtime=1x: one iteration is the whole fleet.
//
//	go test ./cloud/sim -run '^$' -bench BenchmarkSeed -benchtime=1x
func BenchmarkSeed(b *testing.B) {
	const servers, projects = 1_000_000, 1_000
	for _, perServer := range []int{0, 1, 7} {
		b.Run(fmt.Sprintf("servers=1M/images=%d", perServer), func(b *testing.B) {
			for b.Loop() {
				before := heapInUse()
				clock := schedulertest.NewClock(epoch)
				c := New(Config{Clock: clock, Seed: 1})
				start := time.Now()
				if _, err := c.SeedServers(projects, servers); err != nil {
					b.Fatal(err)
				}
				seeded := time.Since(start)
				var ids []string
				c.RangeServers(func(s Server) bool { ids = append(ids, s.ID); return true })
				start = time.Now()
				meta := map[string]string{createdBy: "scheduled_images_service"}
				for k := range perServer {
					for _, id := range ids {
						if _, err := c.CreateImage(id, fmt.Sprintf("daily-%s-%d", id[:8], k), meta); err != nil {
							b.Fatal(err)
						}
					}
					clock.Advance(24 * time.Hour)
				}
				imaged := time.Since(start)
				ids = nil
				heap := heapInUse() - before
				b.ReportMetric(seeded.Seconds(), "seed-s")
				b.ReportMetric(imaged.Seconds(), "images-s")
				b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
				b.ReportMetric(float64(heap)/servers, "B/server")
				runtime.KeepAlive(c)
			}
		})
	}
}

// BenchmarkHTTPLoad drives a seeded cloud of a million servers over real
// HTTP on loopback with concurrent clients: 60% GET server, 25% list a
// server's images by instance_uuid and created_by, 15% createImage. It
// reports throughput and per-kind latency percentiles. Client and cloud
// share the machine's cores.
//
//	go test ./cloud/sim -run '^$' -bench BenchmarkHTTPLoad -benchtime=20000x
func BenchmarkHTTPLoad(b *testing.B) {
	const servers, projects = 1_000_000, 1_000
	clock := schedulertest.NewClock(epoch)
	c := New(Config{Clock: clock, Seed: 1, TokenTTL: 1000 * time.Hour})
	seeded, err := c.SeedServers(projects, servers)
	if err != nil {
		b.Fatal(err)
	}
	url, stop, err := c.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	byProject := make(map[string][]string, projects)
	c.RangeServers(func(s Server) bool { byProject[s.ProjectID] = append(byProject[s.ProjectID], s.ID); return true })
	tokens := make([]string, projects)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	for k, u := range seeded.Users {
		body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"password":"password","domain":{"id":"default"}}}},"scope":{"project":{"id":%q}}}}`, u.Name, seeded.Projects[k].ID)
		resp, err := client.Post(url+"/identity/v3/auth/tokens", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 201 {
			b.Fatalf("auth %s: %v %v", u.Name, err, resp)
		}
		tokens[k] = resp.Header.Get("X-Subject-Token")
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	var seq sync.Mutex
	n := 0
	b.SetParallelism(8) // 8 × GOMAXPROCS concurrent clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		seq.Lock()
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		n++
		seq.Unlock()
		local := map[string][]time.Duration{}
		for pb.Next() {
			k := rng.IntN(projects)
			ids := byProject[seeded.Projects[k].ID]
			id := ids[rng.IntN(len(ids))]
			var req *http.Request
			kind := "get-server"
			switch x := rng.IntN(100); {
			case x < 60:
				req, _ = http.NewRequest("GET", url+"/compute/v2.1/servers/"+id, nil)
			case x < 85:
				kind = "list-images"
				req, _ = http.NewRequest("GET", url+"/image/v2/images?instance_uuid="+id+"&"+createdBy+"=scheduled_images_service", nil)
			default:
				kind = "create-image"
				req, _ = http.NewRequest("POST", url+"/compute/v2.1/servers/"+id+"/action",
					strings.NewReader(`{"createImage":{"name":"bench","metadata":{"`+createdBy+`":"scheduled_images_service"}}}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("OpenStack-API-Version", "compute 2.45")
			}
			req.Header.Set("X-Auth-Token", tokens[k])
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 300 && resp.StatusCode != http.StatusConflict {
				b.Errorf("%s: status %d", kind, resp.StatusCode)
				return
			}
			local[kind] = append(local[kind], time.Since(start))
		}
		mu.Lock()
		for k, v := range local {
			lat[k] = append(lat[k], v...)
		}
		mu.Unlock()
	})
	b.StopTimer()
	for _, kind := range []string{"get-server", "list-images", "create-image"} {
		d := lat[kind]
		if len(d) == 0 {
			continue
		}
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds()), kind+"-p50-µs")
		b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), kind+"-p99-µs")
	}
}
