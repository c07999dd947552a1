//go:build flatness

package engine_test

import (
	"context"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/imgsched/imgsched/cloud/sim"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
	"github.com/imgsched/imgsched/scheduler/engine"
)

// TestTwoWeeksOfASeededFleetStartOnTimeAndStayFlat runs the fleet of the
// 14-day end-to-end test (500 seeded servers, 40 to a host with disks of
// 10 to 320 GB, one image in flight per host, a fifth weekly with half of
// those on Saturday) on the fake clock, where nothing is late for the
// machine's sake: every minute of lateness here is the planner's or the
// limiter's, and the hourly creations must be as flat as planned.
func TestTwoWeeksOfASeededFleetStartOnTimeAndStayFlat(t *testing.T) {
	en := newEnv(t, func(c *engine.Config) { c.RebalanceInterval = 15 * time.Minute })
	reg := prometheus.NewRegistry()
	en.stopEngine()
	en.opts = []engine.Option{engine.WithRegisterer(reg)}
	en.startEngine()
	if _, err := en.cloud.SeedServers(20, 500); err != nil {
		t.Fatal(err)
	}
	var all []sim.Server
	en.cloud.RangeServers(func(s sim.Server) bool {
		if s.Host != "compute-1" { // the env's own tenant's servers
			all = append(all, s)
		}
		return true
	})
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	rng := rand.New(rand.NewPCG(1, 2))
	var incoming []*storagev1.Schedule
	for i, s := range all {
		sc := &storagev1.Schedule{TenantId: s.ProjectID, ServerId: s.ID, Retention: uint32(1 + i%5),
			State: imgschedv1.ScheduleState_ENABLED, CreateTime: start.UnixNano()}
		if i%5 == 0 {
			day := time.Saturday
			if i%10 != 0 {
				day = time.Weekday(rng.IntN(7))
			}
			sc.DayOfWeek = imgschedv1.DayOfWeek(day + 1)
			sc.Retention = uint32(1 + i%3)
		}
		incoming = append(incoming, sc)
	}
	if _, err := en.store.UpdateMany(context.Background(), incoming, func(_, in *storagev1.Schedule) (*storagev1.Schedule, error) { return in, nil }); err != nil {
		t.Fatal(err)
	}
	for _, s := range incoming {
		en.waitReconciled(s.ServerId, 0)
	}
	first := start.AddDate(0, 0, 1)
	end := first.AddDate(0, 0, 14)
	en.runUntil(end.Add(time.Hour))

	hourly := make([]int, 14*24)
	total := 0
	for _, s := range incoming {
		for _, img := range en.created(s.ServerId) {
			if img.CreatedAt.Before(first) || !img.CreatedAt.Before(end) {
				continue
			}
			hourly[int(img.CreatedAt.Sub(first)/time.Hour)]++
			total++
		}
	}
	mean := float64(total) / float64(len(hourly))
	busiest := slices.Max(hourly)
	var late []string
	var lateness []time.Duration
	for _, s := range incoming {
		rec := en.runs(s.ServerId)
		slot, err := scheduler.ParseSlot(rec.GetSlot())
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range rec.GetHistory() {
			if h.GetCreatedAt() == 0 {
				continue
			}
			created := time.Unix(0, h.GetCreatedAt()).UTC()
			w, _ := slot.Schedule().WindowAt(created)
			d := created.Sub(slot.At(w))
			lateness = append(lateness, d)
			if d > 10*time.Minute {
				late = append(late, fmt.Sprintf("%s %s late %v (slot %s) attempts %d reason %q", s.ServerId, h.GetRunId(), d.Round(time.Second), rec.GetSlot(), h.GetAttempts(), h.GetReason()))
			}
		}
	}
	slices.Sort(lateness)
	pct := func(p float64) time.Duration { return lateness[int(p*float64(len(lateness)-1))] }
	t.Logf("%d creations, mean %.2f/h, busiest %d (%.3f×); lateness p50 %v p90 %v p99 %v max %v; %d runs over 10 min late",
		total, mean, busiest, float64(busiest)/mean, pct(.5), pct(.9), pct(.99), lateness[len(lateness)-1], len(late))
	for _, l := range late[:min(len(late), 20)] {
		t.Log(l)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "imgsched_engine_start_lateness_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			var b []string
			for _, bk := range h.GetBucket() {
				b = append(b, fmt.Sprintf("≤%gs:%d", bk.GetUpperBound(), bk.GetCumulativeCount()))
			}
			t.Logf("lateness slot→start: %d runs, mean %.1fs, %v", h.GetSampleCount(), h.GetSampleSum()/float64(h.GetSampleCount()), b)
		}
	}
	for i, n := range hourly {
		if float64(n) > 1.05*mean {
			t.Logf("hour %s: %d creations", first.Add(time.Duration(i)*time.Hour).Format("Mon 02 15h"), n)
		}
	}
	if len(late) > 0 {
		// The host-mates' planned and actual images on the day of the first
		// late run, to see what held it.
		id := late[0][:36]
		var day time.Time
		for _, h := range en.runs(id).GetHistory() {
			if c := time.Unix(0, h.GetCreatedAt()).UTC(); h.GetCreatedAt() != 0 {
				slot, _ := scheduler.ParseSlot(en.runs(id).GetSlot())
				w, _ := slot.Schedule().WindowAt(c)
				if c.Sub(slot.At(w)) > 10*time.Minute {
					day = c.Truncate(24 * time.Hour)
					break
				}
			}
		}
		srv, _ := en.cloud.Server(id)
		type row struct {
			planned time.Time
			line    string
		}
		var rows []row
		for _, o := range all {
			if o.Host != srv.Host {
				continue
			}
			rec := en.runs(o.ID)
			slot, _ := scheduler.ParseSlot(rec.GetSlot())
			w, _ := slot.Schedule().WindowAt(day.Add(12 * time.Hour))
			planned := slot.At(w)
			line := fmt.Sprintf("%s disk %3d observed %6v slot %-40s planned %s", o.ID[:8], o.DiskGB, time.Duration(rec.GetObservedDuration()).Round(time.Second), rec.GetSlot(), planned.Format("Mon 15:04"))
			for _, img := range en.created(o.ID) {
				if !img.CreatedAt.Before(day) && img.CreatedAt.Before(day.Add(24*time.Hour)) {
					line += fmt.Sprintf(" image %s..%s", img.CreatedAt.Format("15:04:05"), img.ActiveAt.Format("15:04:05"))
				}
			}
			rows = append(rows, row{planned, line})
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].planned.Before(rows[j].planned) })
		t.Logf("host %s on %s:", srv.Host, day.Format("Mon 02"))
		for _, r := range rows {
			t.Log(r.line)
		}
	}
	if float64(busiest) > 1.05*mean {
		t.Errorf("busiest hour %d, %.3f× the mean", busiest, float64(busiest)/mean)
	}
}
