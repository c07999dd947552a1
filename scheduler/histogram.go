package scheduler

import (
	"math"
	"time"
)

// Hours of the week are numbered from Sunday 00:00 UTC (0) to Saturday
// 23:00 UTC (167); the load pattern of a fleet repeats every week.
const (
	hoursPerWeek   = 7 * 24
	minutesPerHour = 60
)

// Histogram is the planned load of a set of schedules per hour of the week.
// A leader sums the histograms of its nodes with Add to see the cloud's.
type Histogram struct {
	// Creations counts the image creations that start in each hour: the
	// metric the flatness target (SPEC §5) is measured on.
	Creations [hoursPerWeek]int64
	// InFlight is the expected number of snapshot-minutes in progress in
	// each hour, from each schedule's expected snapshot duration: the
	// secondary objective.
	InFlight [hoursPerWeek]int64
}

// Add adds o into h.
func (h *Histogram) Add(o Histogram) {
	for i := range h.Creations {
		h.Creations[i] += o.Creations[i]
		h.InFlight[i] += o.InFlight[i]
	}
}

// Total returns the number of creations per week.
func (h Histogram) Total() int64 {
	var t int64
	for _, c := range h.Creations {
		t += c
	}
	return t
}

// Mean returns the mean number of creations per hour.
func (h Histogram) Mean() float64 { return float64(h.Total()) / hoursPerWeek }

// Max returns the number of creations in the busiest hour.
func (h Histogram) Max() int64 {
	var m int64
	for _, c := range h.Creations {
		m = max(m, c)
	}
	return m
}

// Flatness returns the busiest hour's creations over the mean hour's, the
// figure SPEC §5 bounds (1.04 on the reference mix, 1.01 for daily-only
// fleets), or 0 for an empty histogram.
func (h Histogram) Flatness() float64 {
	if h.Total() == 0 {
		return 0
	}
	return float64(h.Max()) / h.Mean()
}

// Demand counts schedules by the windows they must be placed in. It is all
// the lower bound on flatness depends on; a leader sums its nodes' demands
// with Add.
type Demand struct {
	Daily  int64
	Weekly [7]int64 // indexed by time.Weekday
}

// Add adds o into d.
func (d *Demand) Add(o Demand) {
	d.Daily += o.Daily
	for i := range d.Weekly {
		d.Weekly[i] += o.Weekly[i]
	}
}

// Bound returns the smallest flatness any placement of d can reach, or 0
// for an empty demand: the maximum, over every block of consecutive hours
// of the (cyclic) week, of ⌈creations whose window lies inside the
// block ÷ hours in the block⌉, divided by the mean hour.
//
// Windows are intervals of hours, so by Hall's theorem on intervals this
// is exactly the fractional (LP) optimum of "minimise the busiest hour"
// given the windows; rounding up per block adds integrality. It ignores
// the planner's own extra rule (consecutive daily images roughly 24 h
// apart), so the planner can only match it, never beat it.
func (d Demand) Bound() float64 {
	type span struct{ start, length int }
	var (
		spans  [14]span
		counts [14]int64
		total  int64
	)
	for w := range 7 {
		spans[w], counts[w] = span{w * 24, 24}, d.Daily
		spans[7+w], counts[7+w] = span{weeklyCell(time.Weekday(w), 0), 48}, d.Weekly[w]
		total += d.Daily + d.Weekly[w]
	}
	if total == 0 {
		return 0
	}
	best := int64(math.Ceil(float64(total) / hoursPerWeek))
	for s := range hoursPerWeek {
		for l := 1; l < hoursPerWeek; l++ {
			var in int64
			for i, sp := range spans {
				if (sp.start-s+hoursPerWeek)%hoursPerWeek+sp.length <= l {
					in += counts[i]
				}
			}
			best = max(best, (in+int64(l)-1)/int64(l))
		}
	}
	return float64(best) * hoursPerWeek / float64(total)
}
