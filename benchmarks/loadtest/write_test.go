package loadtest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgsched/imgsched/benchmarks/check"
)

// sampleReport is a small report with every section filled in.
func sampleReport() Report {
	from := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	hourly := make([]int, 24)
	for i := range hourly {
		hourly[i] = 400 + i%3
	}
	planned := make([]int64, 168)
	for i := range planned {
		planned[i] = 410
	}
	lat := []Bucket{{LE: 1, Count: 10}, {LE: 5, Count: 90}, {LE: math.Inf(1), Count: 100}}
	return Report{
		Command: "imgsched bench --preset smoke", Preset: "smoke",
		Setup:  Setup{Servers: 10000, Projects: 100, Schedules: 10000, Daily: 8000, Nodes: 2, Shards: 256, TimeScale: 1440, Days: 1, Timetable: "8h:2:KILL:2h", ImportBatch: 1000},
		Period: Period{From: from, To: from.Add(24 * time.Hour)},
		Import: Import{Schedules: 10000, Seconds: 2, PerSecond: 5000},
		Flatness: Flatness{Executed: 1.02, Hourly: hourly, HourlyFrom: from, PlannedPeriod: 1.01, PlannedWeek: 1.03, Bound: 1.012, MixBound: 1.012,
			Planned: planned},
		Lateness: summarise(lat, 250),
		Nodes: []NodeReport{
			{Name: "n1", Up: true, Starts: 1, Schedules: 5000, ShardsOwned: 128, Runs: map[string]float64{"succeeded": 4000}},
			{Name: "n2", Up: true, Starts: 2, Schedules: 5000, ShardsOwned: 128, Runs: map[string]float64{"succeeded": 3900}},
		},
		Faults: []Fault{{Node: "n2", Signal: SignalKill, At: from.Add(8 * time.Hour), RestartAt: from.Add(10 * time.Hour), OwnedAgain: 1.8, Rejoined: 0.4}},
		Check:  check.Report{Schedules: 10000, Windows: 8000, Images: 9600, Hourly: hourly, Flatness: 1.02},
		OK:     true,
	}
}

func TestWriteProducesTheReportAndWellFormedCharts(t *testing.T) {
	dir := t.TempDir()
	r := sampleReport()
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{hourlySVG, nodesSVG, latenessSVG, failoverSVG} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := wellFormed(b); err != nil {
			t.Errorf("%s is not well-formed XML: %v", name, err)
		}
		if !bytes.HasPrefix(b, []byte("<svg ")) {
			t.Errorf("%s does not start with <svg", name)
		}
	}
	var back Report
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("report.json does not read back: %v", err)
	}
	if back.Import.PerSecond != 5000 || !math.IsInf(back.Lateness.Buckets[2].LE, 1) || back.Faults[0].OwnedAgain != 1.8 {
		t.Fatalf("report.json read back as %+v", back)
	}
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func TestMarkdownStatesTheVerdictFiguresAndCharts(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Report)
		want []string
	}{
		{"a passing run says OK and shows the figures", func(*Report) {}, []string{
			"**OK**", "5000 schedules/s", "1.0300, lower bound 1.0120", "p50 3s, p90 5s", "SIGKILL of n2 | shards owned again in 1.80 s",
			"](hourly-creations.svg)", "](failover-timeline.svg)", "```sh\nimgsched bench --preset smoke\n```"}},
		{"a failing run says FAILED and lists the violations", func(r *Report) {
			r.OK = false
			r.Check.Missed, r.Check.MissedList = 1, []string{"server s1 window 2026-12-05 has no ACTIVE image"}
			r.WorkDir = "/tmp/work"
		}, []string{"**FAILED**", "| missed windows (inv. 1, 4) | 1 |", "- server s1 window 2026-12-05 has no ACTIVE image", "`/tmp/work`"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sampleReport()
			c.edit(&r)
			var b strings.Builder
			if err := writeMarkdown(&b, r); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("the Markdown lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestHourlyChartDrawsABarPerHourTheMeanAndThePlan(t *testing.T) {
	c := hourlyChart(sampleReport())
	if len(c.Values) != 24 || !c.Mean || len(c.Overlay) != 24 || c.Overlay[0] != 410 {
		t.Fatalf("chart %+v", c)
	}
	var b strings.Builder
	if err := c.write(&b); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "<rect x="); n != 24 {
		t.Errorf("%d bars, want 24", n)
	}
	if !strings.Contains(b.String(), "mean 401") {
		t.Errorf("no mean line label in\n%s", b.String())
	}
}

func TestLatenessChartTurnsCumulativeBucketsIntoCounts(t *testing.T) {
	c := latenessChart(sampleReport())
	want := []float64{10, 80, 10}
	if len(c.Values) != 3 || c.Values[0] != want[0] || c.Values[1] != want[1] || c.Values[2] != want[2] {
		t.Fatalf("values %v, want %v", c.Values, want)
	}
	if c.Labels[2] != ">5s" {
		t.Errorf("the +Inf bucket is labelled %q, want >5s", c.Labels[2])
	}
}

func TestFailoverTimelineMarksTheDownSpan(t *testing.T) {
	tl := failoverChart(sampleReport())
	if len(tl.Rows) != 2 || len(tl.Rows[1].Down) != 1 || !tl.Rows[1].Down[0].To.Equal(tl.From.Add(10*time.Hour)) {
		t.Fatalf("timeline %+v", tl)
	}
	var b strings.Builder
	if err := tl.write(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "shards owned again in 1.80 s") {
		t.Errorf("the timeline does not say how long the failover took:\n%s", b.String())
	}
}

func TestNiceStepIsOneTwoOrFiveTimesAPowerOfTen(t *testing.T) {
	for top, want := range map[float64]float64{0: 1, 7: 2, 420: 100, 1000: 200, 0.3: 0.1} {
		if got := niceStep(top, 5); math.Abs(got-want) > 1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", top, got, want)
		}
	}
}

func TestOffenderIDsTakeEveryKindOfViolation(t *testing.T) {
	c := check.Report{
		DuplicateList: []string{"server d1 window 2026-12-05 has 2 images: a, b"},
		MissedList:    []string{"server m1 window 2026-12-05 has no ACTIVE image", "server m2 window 2026-12-05 has no ACTIVE image", "server m3 window x"},
		Offenders:     []string{"m1", "m2", "m3", "d1"},
	}
	got := offenderIDs(c, 3)
	if strings.Join(got, ",") != "d1,m1,m2" {
		t.Fatalf("offenderIDs = %v, want d1,m1,m2", got)
	}
}

func TestUniqueImagesDropsRepeatedRecords(t *testing.T) {
	in := []check.Image{{ID: "a", Status: "saving"}, {ID: "b"}, {ID: "a", Status: "active"}}
	out, dropped := uniqueImages(in)
	if dropped != 1 || len(out) != 2 || out[0].Status != "active" {
		t.Fatalf("uniqueImages = %+v, %d", out, dropped)
	}
}
