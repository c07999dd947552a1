package loadtest

import (
	"math/rand/v2"
	"time"

	"github.com/imgsched/imgsched/benchmarks/check"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

// fleet is the schedules a run imports, in the API's form and in the
// checker's, with the demand they place on the week.
type fleet struct {
	requests  []*imgschedv1.SetScheduleRequest
	schedules []check.Schedule
	demand    scheduler.Demand
	daily     int
	weekly    [7]int
}

// buildFleet gives the first Daily share of the (shuffled) servers a daily
// schedule and the next Weekly share a weekly one, the PopularFraction of
// them on PopularDay and the rest on uniformly drawn days; retentions are
// drawn uniformly from [RetentionMin, RetentionMax].
func buildFleet(cfg Config, all []server) fleet {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6c6f6164))
	ss := append([]server(nil), all...)
	rng.Shuffle(len(ss), func(i, j int) { ss[i], ss[j] = ss[j], ss[i] })
	daily := int(float64(len(ss))*cfg.Mix.Daily + 0.5)
	weekly := min(len(ss)-daily, int(float64(len(ss))*cfg.Mix.Weekly+0.5))
	popular := int(float64(weekly)*cfg.Mix.PopularFraction + 0.5)
	var f fleet
	for i, s := range ss[:daily+weekly] {
		req := &imgschedv1.SetScheduleRequest{TenantId: s.TenantID, ServerId: s.ID,
			Retention: int64(cfg.RetentionMin + rng.IntN(cfg.RetentionMax-cfg.RetentionMin+1))}
		sc := scheduler.DailySchedule()
		switch {
		case i < daily:
			f.daily++
			f.demand.Daily++
		default:
			day := cfg.Mix.PopularDay
			if i-daily >= popular {
				day = time.Weekday(rng.IntN(7))
			}
			req.DayOfWeek = imgschedv1.DayOfWeek(int(day) + 1)
			sc = scheduler.WeeklySchedule(day)
			f.weekly[day]++
			f.demand.Weekly[day]++
		}
		f.requests = append(f.requests, req)
		f.schedules = append(f.schedules, check.Schedule{ServerID: s.ID, Schedule: sc, Retention: int(req.Retention)})
	}
	return f
}
