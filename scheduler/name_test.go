package scheduler_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/imgsched/imgsched/scheduler"
)

func TestImageName(t *testing.T) {
	when := time.Unix(1795305600, 0)
	long := strings.Repeat("x", 300)
	tests := []struct {
		name   string
		kind   scheduler.Kind
		server string
		want   string
	}{
		{"a short daily name is kept whole", scheduler.Daily, "web-1", "daily-web-1-1795305600"},
		{"a short weekly name is kept whole", scheduler.Weekly, "web-1", "weekly-web-1-1795305600"},
		{"a 300-character name is cut to 238 characters for daily", scheduler.Daily, long, "daily-" + long[:238] + "-1795305600"},
		{"a 300-character name is cut to 237 characters for weekly", scheduler.Weekly, long, "weekly-" + long[:237] + "-1795305600"},
		{"a 238-character name fits a daily name exactly", scheduler.Daily, long[:238], "daily-" + long[:238] + "-1795305600"},
		{"multi-byte characters count as one each and are never split", scheduler.Daily, strings.Repeat("é", 300), "daily-" + strings.Repeat("é", 238) + "-1795305600"},
		{"a four-byte character at the cut is dropped whole", scheduler.Weekly, strings.Repeat("a", 236) + "😀😀", "weekly-" + strings.Repeat("a", 236) + "😀-1795305600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scheduler.ImageName(tt.kind, tt.server, when)
			if got != tt.want {
				t.Fatalf("ImageName = %q\nwant %q", got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > scheduler.MaxImageNameLength || !utf8.ValidString(got) {
				t.Fatalf("name has %d characters (valid UTF-8: %v)", n, utf8.ValidString(got))
			}
		})
	}
}

func TestImageNameAlwaysHasTenDigits(t *testing.T) {
	if got := scheduler.ImageName(scheduler.Daily, "a", time.Unix(12, 0)); got != "daily-a-0000000012" {
		t.Fatalf("ImageName = %q", got)
	}
	long := scheduler.ImageName(scheduler.Weekly, strings.Repeat("y", 1000), time.Unix(1795305600, 0))
	if utf8.RuneCountInString(long) != 255 {
		t.Fatalf("a long weekly name has %d characters, want 255", utf8.RuneCountInString(long))
	}
}
