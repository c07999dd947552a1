// Package check verifies SPEC §3's invariants over what the cloud really
// holds: every image a (simulated) cloud ever had, live and deleted, against
// the schedules that were enabled. Load tests and multi-process tests use it
// after killing, pausing and partitioning nodes.
//
// It reads only its inputs; fetching images (FetchSimImages) and schedules
// is the caller's business.
package check

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/scheduler"
)

// Image is one image as the cloud recorded it. The JSON names are those of
// the simulated cloud's GET /admin/images.
type Image struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	ServerID   string            `json:"server_id"`
	Status     string            `json:"status"`
	Properties map[string]string `json:"properties"`
	CreatedAt  time.Time         `json:"created_at"`
	ActiveAt   time.Time         `json:"active_at"`
	DeletedAt  time.Time         `json:"deleted_at"`
}

// BecameActive reports whether the image reached ACTIVE, even if retention
// deleted it since.
func (im Image) BecameActive() bool { return !im.ActiveAt.IsZero() }

// Scheduled reports whether the image carries both of retention's markers.
func (im Image) Scheduled() bool {
	return im.Properties[cloud.CreatedByKey] == cloud.CreatedByValue && im.Properties[cloud.InstanceUUIDKey] == im.ServerID && im.ServerID != ""
}

// Deleted reports whether the image was deleted.
func (im Image) Deleted() bool { return !im.DeletedAt.IsZero() }

// Schedule is one server's schedule as it stood during the checked period.
type Schedule struct {
	ServerID  string
	Schedule  scheduler.Schedule
	Retention int
	// Since is when it was enabled: earlier windows are not its own.
	Since time.Time
}

// Period is the span whose windows are checked: a window counts when it
// lies entirely within [From, To).
type Period struct {
	From, To time.Time
	// Observed is when the images were read. Retention of a server whose
	// newest image became ACTIVE less than Settle before may still be under
	// way, so its retention is not judged (Unsettled counts those).
	Observed time.Time
	Settle   time.Duration
}

// Report is the outcome. Every list holds at most MaxListed entries; the
// counters are exact.
type Report struct {
	Schedules int
	// Windows counts the windows that lay entirely inside the period.
	Windows int
	// Duplicates: windows with more than one scheduled image asked for.
	Duplicates    int
	DuplicateList []string
	// Missed: complete windows without an image that became ACTIVE.
	Missed     int
	MissedList []string
	// WrongDeletions: deleted images retention may never delete (no
	// markers, or another server's, or manual).
	WrongDeletions    int
	WrongDeletionList []string
	// RetentionErrors: servers whose live ACTIVE scheduled images at the end
	// are not the newest min(images, retention).
	RetentionErrors    int
	RetentionErrorList []string
	// Unsettled counts servers whose retention was not judged (Settle).
	Unsettled int
	// Offenders names the servers of the listed violations, for diagnosis.
	Offenders []string
	// Hourly holds the scheduled creations per hour of the period, from its
	// first full hour; Flatness is its maximum over its mean.
	Hourly   []int
	Flatness float64
	// Images counts scheduled images created in the period.
	Images int
}

// MaxListed bounds the examples a Report keeps of each violation.
const MaxListed = 20

func (r *Report) note(server string, list *[]string, n *int, format string, args ...any) {
	*n++
	if len(*list) < MaxListed {
		*list = append(*list, fmt.Sprintf(format, args...))
		if server != "" && !slices.Contains(r.Offenders, server) {
			r.Offenders = append(r.Offenders, server)
		}
	}
}

// Check verifies, for schedules over the period, with images holding every
// image the cloud ever had:
//  1. at most one scheduled image per (server, window) — invariant 1;
//  2. every complete window has an image that became ACTIVE, when healthy
//     is set (a cloud without injected faults) — invariants 1 and 4;
//  3. no deleted image lacks the markers or belongs to another server —
//     invariant 3;
//  4. at the end each server keeps exactly its newest min(n, retention)
//     ACTIVE scheduled images.
func Check(schedules []Schedule, images []Image, p Period, healthy bool) Report {
	r := Report{Schedules: len(schedules)}
	byServer := map[string][]Image{}
	for _, im := range images {
		if im.Deleted() && !im.Scheduled() {
			r.note(im.ServerID, &r.WrongDeletionList, &r.WrongDeletions, "image %s (%s) of server %q was deleted but is not a scheduled image", im.ID, im.Name, im.ServerID)
		}
		if im.Scheduled() {
			byServer[im.ServerID] = append(byServer[im.ServerID], im)
		}
	}
	start := p.From.Truncate(time.Hour)
	if start.Before(p.From) {
		start = start.Add(time.Hour)
	}
	hours := int(p.To.Sub(start) / time.Hour)
	if hours > 0 {
		r.Hourly = make([]int, hours)
	}
	for _, s := range schedules {
		imgs := byServer[s.ServerID]
		perWindow := map[string][]Image{}
		for _, im := range imgs {
			w, ok := s.Schedule.WindowAt(im.CreatedAt)
			if !ok {
				continue
			}
			perWindow[w.ID()] = append(perWindow[w.ID()], im)
			if !im.CreatedAt.Before(start) && im.CreatedAt.Before(p.To) {
				r.Images++
				if h := int(im.CreatedAt.Sub(start) / time.Hour); h < hours {
					r.Hourly[h]++
				}
			}
		}
		for id, in := range perWindow {
			if len(in) > 1 {
				ids := make([]string, len(in))
				for i, im := range in {
					ids[i] = im.ID
				}
				r.note(s.ServerID, &r.DuplicateList, &r.Duplicates, "server %s window %s has %d images: %s", s.ServerID, id, len(in), strings.Join(ids, ", "))
			}
		}
		from := p.From
		if s.Since.After(from) {
			from = s.Since
		}
		for w := s.Schedule.NextWindow(from); !w.End.After(p.To); w = w.Next() {
			if w.Start.Before(from) {
				continue
			}
			r.Windows++
			if !healthy {
				continue
			}
			if !slices.ContainsFunc(perWindow[w.ID()], Image.BecameActive) {
				r.note(s.ServerID, &r.MissedList, &r.Missed, "server %s window %s has no ACTIVE image", s.ServerID, w.ID())
			}
		}
		checkRetention(&r, s, imgs, p)
	}
	r.Flatness = flatness(r.Hourly)
	return r
}

// checkRetention: the live ACTIVE scheduled images are exactly the newest
// ones, as many as retention allows.
func checkRetention(r *Report, s Schedule, imgs []Image, p Period) {
	var active []Image
	for _, im := range imgs {
		if im.BecameActive() {
			active = append(active, im)
		}
	}
	sort.Slice(active, func(i, j int) bool { return active[i].CreatedAt.After(active[j].CreatedAt) })
	if len(active) > 0 && !p.Observed.IsZero() && active[0].ActiveAt.After(p.Observed.Add(-p.Settle)) {
		r.Unsettled++
		return
	}
	want := min(len(active), s.Retention)
	for i, im := range active {
		switch {
		case i < want && im.Deleted():
			r.note(s.ServerID, &r.RetentionErrorList, &r.RetentionErrors, "server %s: image %s is among the newest %d but was deleted", s.ServerID, im.ID, s.Retention)
		case i >= want && !im.Deleted():
			r.note(s.ServerID, &r.RetentionErrorList, &r.RetentionErrors, "server %s: image %s is past retention %d but still there", s.ServerID, im.ID, s.Retention)
		}
	}
}

func flatness(hourly []int) float64 {
	if len(hourly) == 0 {
		return 0
	}
	sum := 0
	for _, n := range hourly {
		sum += n
	}
	if sum == 0 {
		return 0
	}
	return float64(slices.Max(hourly)) / (float64(sum) / float64(len(hourly)))
}

// OK reports whether no invariant broke.
func (r Report) OK() bool {
	return r.Duplicates == 0 && r.Missed == 0 && r.WrongDeletions == 0 && r.RetentionErrors == 0
}

// String summarises the report for logs and test failures.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d schedules, %d windows, %d images, busiest hour %.3f× the mean; duplicates %d, missed %d, wrong deletions %d, retention errors %d",
		r.Schedules, r.Windows, r.Images, r.Flatness, r.Duplicates, r.Missed, r.WrongDeletions, r.RetentionErrors)
	for _, l := range [][]string{r.DuplicateList, r.MissedList, r.WrongDeletionList, r.RetentionErrorList} {
		for _, s := range l {
			b.WriteString("\n  ")
			b.WriteString(s)
		}
	}
	return b.String()
}
