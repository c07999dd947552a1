package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

func TestPrintRunsMarksTheCurrentRunAndFillsGapsWithDashes(t *testing.T) {
	created := time.Date(2026, 11, 21, 13, 17, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		resp *imgschedv1.ListRunsResponse
		want []string
	}{
		{"a schedule without runs says so", &imgschedv1.ListRunsResponse{},
			[]string{"Slot:            not placed yet", "Missed windows:  0", "No runs yet: the engine has not planned this schedule."}},
		{"runs are rows, the current one first and marked", &imgschedv1.ListRunsResponse{
			Slot:          "daily :17 13,13,13,13,13,13,13",
			MissedWindows: 2,
			Current: &imgschedv1.Run{WindowId: "2026-11-22", State: imgschedv1.RunState_RETRY_WAIT,
				Attempts: []*imgschedv1.RunAttempt{{}}, Reason: "server busy"},
			History: []*imgschedv1.Run{{WindowId: "2026-11-21", State: imgschedv1.RunState_DONE, Attempts: []*imgschedv1.RunAttempt{{}, {}},
				ImageId: "img-1", ImageCreateTime: timestamppb.New(created), ImageActiveTime: timestamppb.New(created.Add(9 * time.Minute))}},
		}, []string{
			"Slot:            daily :17 13,13,13,13,13,13,13",
			"Missed windows:  2",
			"WINDOW                STATE       ATTEMPTS  IMAGE  CREATED               ACTIVE                REASON",
			"2026-11-22 (current)  RETRY_WAIT  1         -      -                     -                     server busy",
			"2026-11-21            DONE        2         img-1  2026-11-21T13:17:00Z  2026-11-21T13:26:00Z  -",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := printRuns(&out, "table", tc.resp); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w+"\n") {
					t.Fatalf("printed\n%s\nwant a line %q", out.String(), w)
				}
			}
		})
	}
}

func TestRunCommandsShowAndSteerASchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	p := startDev(t, bin, t.TempDir())
	server, unscheduled := p.servers[0], p.servers[3]
	if out, err := p.cli(t, bin, "schedule", "enable", server, "--retention", "2"); err != nil {
		t.Fatalf("schedule enable: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name  string
		cloud string
		args  []string
		fails bool
		want  []string
	}{
		{name: "runs of a server without a schedule is not found", args: []string{"runs", unscheduled}, fails: true,
			want: []string{"Image schedule does not exist for server " + unscheduled}},
		{name: "runs shows the slot and the missed windows", args: []string{"runs", server},
			want: []string{"Slot:", "Missed windows:  0"}},
		{name: "an admin sees the tenant's runs too", cloud: devAdminCloud, args: []string{"runs", server},
			want: []string{"Slot:"}},
		{name: "pausing shows the schedule paused", args: []string{"schedule", "pause", server},
			want: []string{server, "PAUSED", "Paused: no new images until the schedule is resumed."}},
		{name: "pausing again is no error", args: []string{"schedule", "pause", server},
			want: []string{"PAUSED"}},
		{name: "asking a paused schedule for an image is refused", args: []string{"schedule", "run-now", server}, fails: true,
			want: []string{"The schedule of server " + server + " is paused: resume it before asking for an image"}},
		{name: "resuming shows the schedule enabled", args: []string{"schedule", "resume", server},
			want: []string{server, "ENABLED"}},
		{name: "the preview uses the schedule's retention", args: []string{"schedule", "preview", server},
			want: []string{"Retention 2 for server " + server + ": keeps", "this preview deletes nothing"}},
		{name: "the preview takes an override", args: []string{"schedule", "preview", server, "--retention", "9"},
			want: []string{"Retention 9 for server " + server}},
		{name: "the preview rejects a retention below one naming the rule", args: []string{"schedule", "preview", server, "--retention", "-1"}, fails: true,
			want: []string{"The retention value -1 is not allowed. It must be greater than 0"}},
		{name: "pausing a server without a schedule is not found", args: []string{"schedule", "pause", unscheduled}, fails: true,
			want: []string{"Image schedule does not exist for server " + unscheduled}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cloud := tc.cloud
			if cloud == "" {
				cloud = devDemoCloud
			}
			out, err := p.cliAs(t, bin, cloud, tc.args...)
			if (err != nil) != tc.fails {
				t.Fatalf("%v: error %v, want failure %v\n%s", tc.args, err, tc.fails, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Fatalf("%v printed\n%s\nwant it to contain %q", tc.args, out, w)
				}
			}
		})
	}

	// The engine may take the window's image at any moment, so run-now either
	// asks for it or says why the window needs none; nothing else.
	out, err := p.cli(t, bin, "schedule", "run-now", server)
	if !(err == nil && strings.Contains(out, "The image of the current window is requested")) &&
		!strings.Contains(out, "already has its image") && !strings.Contains(out, "is being taken now") {
		t.Fatalf("schedule run-now: %v\n%s", err, out)
	}

	out, err = p.cli(t, bin, "runs", server, "-o", "json")
	var runs map[string]any
	if err != nil || json.Unmarshal([]byte(out), &runs) != nil {
		t.Fatalf("runs -o json: %v\n%s", err, out)
	}
	out, err = p.cli(t, bin, "schedule", "preview", server, "-o", "json")
	var preview struct {
		Retention int `json:"retention"`
	}
	if err != nil || json.Unmarshal([]byte(out), &preview) != nil || preview.Retention != 2 {
		t.Fatalf("schedule preview -o json: %v\n%s", err, out)
	}
	out, err = p.cli(t, bin, "schedule", "show", server, "-o", "json")
	var shown struct {
		State string `json:"state"`
	}
	if err != nil || json.Unmarshal([]byte(out), &shown) != nil || shown.State != "ENABLED" {
		t.Fatalf("schedule show after resume: %v\n%s", err, out)
	}
	p.stop(t)
}
