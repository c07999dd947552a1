package loadtest

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

const exposition = `# HELP imgsched_engine_runs_total Runs finished.
# TYPE imgsched_engine_runs_total counter
imgsched_engine_runs_total{outcome="succeeded"} 90
imgsched_engine_runs_total{outcome="failed"} 2
imgsched_engine_start_lateness_seconds_bucket{le="1"} 50
imgsched_engine_start_lateness_seconds_bucket{le="5"} 90
imgsched_engine_start_lateness_seconds_bucket{le="+Inf"} 100
imgsched_engine_start_lateness_seconds_sum 400
process_resident_memory_bytes 1.2e+08
go_goroutines 12
`

func TestParseMetricsKeepsThePrefixesAndLabels(t *testing.T) {
	ss, err := parseMetrics(strings.NewReader(exposition), "imgsched_engine_runs", "process_")
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 3 || ss[0].labels["outcome"] != "succeeded" || ss[0].value != 90 || ss[2].value != 1.2e8 {
		t.Fatalf("parsed %+v", ss)
	}
}

func TestParseSampleHandlesCommasAndQuotesInLabels(t *testing.T) {
	s, err := parseSample(`m{a="x,y",b="say \"hi\""} 3 1700000000`)
	if err != nil || s.name != "m" || s.labels["a"] != "x,y" || s.labels["b"] != `say "hi"` || s.value != 3 {
		t.Fatalf("parseSample = %+v, %v", s, err)
	}
}

func TestQuantileInterpolatesInsideTheBucket(t *testing.T) {
	bs := []Bucket{{LE: 1, Count: 50}, {LE: 5, Count: 90}, {LE: math.Inf(1), Count: 100}}
	cases := []struct {
		name string
		q    float64
		want float64
	}{
		{"the median is the first bucket's top", 0.5, 1},
		{"a quarter is half way up the first bucket", 0.25, 0.5},
		{"p70 is half way through the second bucket", 0.7, 3},
		{"p99 in the +Inf bucket answers its lower bound", 0.99, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := quantile(c.q, bs); math.Abs(got-c.want) > 1e-9 {
				t.Fatalf("quantile(%v) = %v, want %v", c.q, got, c.want)
			}
		})
	}
	if got := quantile(0.5, nil); got != 0 {
		t.Fatalf("an empty histogram's median is %v, want 0", got)
	}
}

func TestBucketsSurviveJSONWithAnInfiniteBound(t *testing.T) {
	in := []Bucket{{LE: 1, Count: 2}, {LE: math.Inf(1), Count: 3}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out []Bucket
	if err := json.Unmarshal(b, &out); err != nil || len(out) != 2 || !math.IsInf(out[1].LE, 1) || out[0] != in[0] {
		t.Fatalf("%s read back as %+v, %v", b, out, err)
	}
}
