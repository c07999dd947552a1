//go:build flatness

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/imgsched/imgsched/benchmarks/check"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

var (
	bannerREST  = regexp.MustCompile(`REST API\s+(http://\S+)`)
	bannerGRPC  = regexp.MustCompile(`gRPC API\s+(\S+)`)
	bannerCloud = regexp.MustCompile(`auth URL\s+(http://\S+)/identity/v3`)
)

// TestFourteenDaysOfFiveHundredServers runs `imgsched dev` on an
// accelerated clock through two simulated weeks of a mixed fleet and checks
// that every window produced exactly one image, retention kept exactly the
// newest images, no manual snapshot was touched, and creations were flat.
func TestFourteenDaysOfFiveHundredServers(t *testing.T) {
	// 14 simulated days in about five real minutes: a simulated hour is
	// 0.9 s, and the planner keeps slots 10 simulated minutes (150 ms)
	// clear of the next hour, so a pause of the machine shorter than that
	// cannot move an image into another hour. Start-up takes simulated
	// hours at this scale, so the checked days begin at the first
	// midnight after the schedules are in. etcd runs without fsync: a
	// disk stall of 400 ms would be 27 simulated minutes.
	clock := newSimClock(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC), 4000)
	dev := start(t, "dev", append([]string{"dev", "--data-dir", t.TempDir(), "--rest-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--cloud-addr", "127.0.0.1:0", "--demo-servers", "0", "--seed-servers", "500", "--seed-projects", "20",
		"--record-deletions", "--etcd-unsafe-no-fsync", "--log-level", "warn"}, clock.flags()...)...)
	restURL := dev.waitFor(t, bannerREST, time.Minute)[1]
	grpcAddr := dev.waitFor(t, bannerGRPC, time.Minute)[1]
	cloudURL := dev.waitFor(t, bannerCloud, time.Minute)[1]
	adm := loginAdmin(t, cloudURL)

	all := adm.servers(t)
	if len(all) != 500 {
		t.Fatalf("the cloud has %d servers, want 500", len(all))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var reqs []*imgschedv1.SetScheduleRequest
	var scheds []check.Schedule
	for i, s := range all {
		req := &imgschedv1.SetScheduleRequest{TenantId: s.TenantID, ServerId: s.ID, Retention: int64(1 + i%5)}
		sc := scheduler.DailySchedule()
		if i%5 == 0 { // 20% weekly, half of them on Saturday
			day := time.Saturday
			if i%10 != 0 {
				day = time.Weekday(rng.IntN(7))
			}
			req.DayOfWeek = dayName(int(day))
			req.Retention = int64(1 + i%3)
			sc = scheduler.WeeklySchedule(day)
		}
		reqs = append(reqs, req)
		scheds = append(scheds, check.Schedule{ServerID: s.ID, Schedule: sc, Retention: int(req.Retention)})
	}
	importSchedules(t, grpcAddr, adm.provider.Token(), reqs)
	first := clock.clock.Now().Truncate(24 * time.Hour).Add(24 * time.Hour)
	// Manual snapshots that retention must never touch.
	var manual []string
	for _, s := range all[:10] {
		id, err := servers.CreateImage(context.Background(), adm.compute(t), s.ID, servers.CreateImageOpts{Name: "manual-" + s.Name}).ExtractImageID()
		if err != nil {
			t.Fatal(err)
		}
		manual = append(manual, id)
	}

	end := first.AddDate(0, 0, 14)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := clock.until(ctx, end.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// The admin's token is a simulated day old by now: log in again.
	images := loginAdmin(t, cloudURL).images(t)
	report := check.Check(scheds, images, check.Period{From: first, To: end, Observed: clock.clock.Now(), Settle: time.Hour}, true)
	t.Logf("%s (%d servers' retention still settling)", report, report.Unsettled)
	t.Logf("creations per hour, first day: %v", report.Hourly[:24])
	t.Logf("busiest hours: %v", busiest(report.Hourly, first, 5))
	logMetrics(t, restURL, "imgsched_engine_runs_total", "imgsched_engine_attempts_total", "imgsched_engine_start_lateness_seconds", "process_cpu_seconds_total", "imgsched_engine_slot_creations")
	if !report.OK() {
		for _, id := range report.Offenders[:min(4, len(report.Offenders))] {
			t.Logf("runs of %s:\n%s", id, get(t, restURL+"/v1/servers/"+id+"/runs", loginAdmin(t, cloudURL).provider.Token()))
		}
		t.Fatal("invariants broken")
	}
	if report.Flatness > 1.05 {
		t.Fatalf("the busiest hour had %.3f× the mean hour's creations, want at most 1.05", report.Flatness)
	}
	alive := map[string]bool{}
	for _, im := range images {
		if !im.Deleted() {
			alive[im.ID] = true
		}
	}
	for _, id := range manual {
		if !alive[id] {
			t.Fatalf("manual snapshot %s is gone", id)
		}
	}
}

// busiest names the n busiest hours of hourly, which starts at from.
func busiest(hourly []int, from time.Time, n int) []string {
	idx := make([]int, len(hourly))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return hourly[idx[a]] > hourly[idx[b]] })
	var out []string
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, fmt.Sprintf("%s=%d", from.Add(time.Duration(i)*time.Hour).Format("Mon 02 15h"), hourly[i]))
	}
	return out
}
