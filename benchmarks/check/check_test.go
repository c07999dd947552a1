package check

import (
	"strings"
	"testing"
	"time"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/scheduler"
)

var day0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func scheduled(id, server string, created time.Time, active, deleted bool) Image {
	im := Image{ID: id, ServerID: server, Status: cloud.ImageActive, CreatedAt: created,
		Properties: map[string]string{cloud.CreatedByKey: cloud.CreatedByValue, cloud.InstanceUUIDKey: server}}
	if active {
		im.ActiveAt = created.Add(10 * time.Minute)
	} else {
		im.Status = cloud.ImageError
	}
	if deleted {
		im.DeletedAt = created.Add(48 * time.Hour)
	}
	return im
}

// threeGoodDays is a daily schedule with retention 2 over three days: the
// first image deleted by retention, the newest two kept.
func threeGoodDays() ([]Schedule, []Image) {
	s := []Schedule{{ServerID: "s1", Schedule: scheduler.DailySchedule(), Retention: 2}}
	imgs := []Image{
		scheduled("a", "s1", day0.Add(3*time.Hour), true, true),
		scheduled("b", "s1", day0.Add(27*time.Hour), true, false),
		scheduled("c", "s1", day0.Add(51*time.Hour), true, false),
		{ID: "manual", ServerID: "s1", Status: cloud.ImageActive, CreatedAt: day0, ActiveAt: day0},
	}
	return s, imgs
}

func TestCheck(t *testing.T) {
	period := Period{From: day0, To: day0.Add(72 * time.Hour)}
	for _, tc := range []struct {
		name   string
		mutate func([]Image) []Image
		want   string
	}{
		{"three good days pass", func(im []Image) []Image { return im }, ""},
		{"a second image in one window is a duplicate", func(im []Image) []Image {
			return append(im, scheduled("d", "s1", day0.Add(28*time.Hour), false, true))
		}, "duplicates 1"},
		{"a day whose only image failed is missed", func(im []Image) []Image {
			im[2] = scheduled("c", "s1", day0.Add(51*time.Hour), false, true)
			return im
		}, "missed 1"},
		{"a deleted manual snapshot is a wrong deletion", func(im []Image) []Image {
			im[3].DeletedAt = day0.Add(70 * time.Hour)
			return im
		}, "wrong deletions 1"},
		{"an image past retention still there is a retention error", func(im []Image) []Image {
			im[0].DeletedAt = time.Time{}
			return im
		}, "retention errors 1"},
		{"a newest image deleted is a retention error", func(im []Image) []Image {
			im[2].DeletedAt = day0.Add(70 * time.Hour)
			return im
		}, "retention errors 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, imgs := threeGoodDays()
			r := Check(s, tc.mutate(imgs), period, true)
			if tc.want == "" {
				if !r.OK() || r.Windows != 3 || r.Images != 3 {
					t.Fatalf("want a clean report of 3 windows and 3 images, got %s", r)
				}
				return
			}
			if r.OK() || !strings.Contains(r.String(), tc.want) {
				t.Fatalf("want %q, got %s", tc.want, r)
			}
		})
	}
}

func TestCheckCountsCreationsPerHourForFlatness(t *testing.T) {
	var s []Schedule
	var imgs []Image
	for i := 0; i < 48; i++ {
		id := string(rune('A' + i))
		s = append(s, Schedule{ServerID: id, Schedule: scheduler.DailySchedule(), Retention: 5})
		// Hour 0 gets three images, every other hour two.
		h := i % 24
		imgs = append(imgs, scheduled(id+"1", id, day0.Add(time.Duration(h)*time.Hour), true, false))
	}
	imgs = append(imgs, scheduled("extra", "A", day0.Add(30*time.Minute), true, false))
	r := Check(s, imgs, Period{From: day0, To: day0.Add(24 * time.Hour)}, false)
	if len(r.Hourly) != 24 || r.Hourly[0] != 3 || r.Hourly[1] != 2 {
		t.Fatalf("hourly %v", r.Hourly)
	}
	if want := 3 / (49.0 / 24); r.Flatness != want {
		t.Fatalf("flatness %v, want %v", r.Flatness, want)
	}
}
