package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the Prometheus text exposition format, keeping the
// samples whose names start with one of prefixes.
func parseMetrics(r io.Reader, prefixes ...string) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || !hasAnyPrefix(line, prefixes) {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return len(prefixes) == 0
}

// parseSample reads `name{k="v",...} value [timestamp]`.
func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	rest := line
	if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
		s.name = line[:i]
		end := strings.LastIndexByte(line, '}')
		if end < i {
			return s, fmt.Errorf("metrics: unterminated labels in %q", line)
		}
		for _, kv := range splitLabels(line[i+1 : end]) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return s, fmt.Errorf("metrics: label %q in %q", kv, line)
			}
			uq, err := strconv.Unquote(v)
			if err != nil {
				return s, fmt.Errorf("metrics: label value %s in %q", v, line)
			}
			s.labels[strings.TrimSpace(k)] = uq
		}
		rest = line[end+1:]
	} else if i >= 0 {
		s.name, rest = line[:i], line[i:]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return s, fmt.Errorf("metrics: no value in %q", line)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, fmt.Errorf("metrics: value in %q: %w", line, err)
	}
	s.value = v
	return s, nil
}

// splitLabels splits k="v",k="v" at the commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	quoted, escaped, from := false, false, 0
	for i, c := range s {
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, s[from:i])
			from = i + 1
		}
	}
	if strings.TrimSpace(s[from:]) != "" {
		out = append(out, s[from:])
	}
	return out
}

// nodeMetrics are the figures the report takes from one node's /metrics.
type nodeMetrics struct {
	Schedules   float64            `json:"schedules"`
	Runs        map[string]float64 `json:"runs"` // by outcome
	CPUSeconds  float64            `json:"cpu_seconds"`
	RSSBytes    float64            `json:"rss_bytes"`
	Lateness    []Bucket           `json:"lateness_buckets"`
	LatenessSum float64            `json:"lateness_sum_seconds"`
}

// Bucket is one cumulative histogram bucket: Count observations were at
// most LE (+Inf for the last).
type Bucket struct {
	LE    float64 `json:"le"`
	Count float64 `json:"count"`
}

// MarshalJSON writes LE as a number, or "+Inf", which JSON numbers lack.
func (b Bucket) MarshalJSON() ([]byte, error) {
	le := strconv.FormatFloat(b.LE, 'g', -1, 64)
	if math.IsInf(b.LE, 1) {
		le = `"+Inf"`
	}
	return []byte(fmt.Sprintf(`{"le":%s,"count":%s}`, le, strconv.FormatFloat(b.Count, 'g', -1, 64))), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (b *Bucket) UnmarshalJSON(data []byte) error {
	var raw struct {
		LE    json.RawMessage `json:"le"`
		Count float64         `json:"count"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	b.Count = raw.Count
	if string(raw.LE) == `"+Inf"` {
		b.LE = math.Inf(1)
		return nil
	}
	return json.Unmarshal(raw.LE, &b.LE)
}

const latenessMetric = "imgsched_engine_start_lateness_seconds"

func scrape(ctx context.Context, c *http.Client, restURL string) (nodeMetrics, error) {
	m := nodeMetrics{Runs: map[string]float64{}}
	req, err := http.NewRequestWithContext(ctx, "GET", restURL+"/metrics", nil)
	if err != nil {
		return m, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	ss, err := parseMetrics(resp.Body, "imgsched_engine_", "process_")
	if err != nil {
		return m, err
	}
	for _, s := range ss {
		switch s.name {
		case "imgsched_engine_schedules":
			m.Schedules = s.value
		case "imgsched_engine_runs_total":
			m.Runs[s.labels["outcome"]] += s.value
		case "process_cpu_seconds_total":
			m.CPUSeconds = s.value
		case "process_resident_memory_bytes":
			m.RSSBytes = s.value
		case latenessMetric + "_sum":
			m.LatenessSum = s.value
		case latenessMetric + "_bucket":
			le, err := strconv.ParseFloat(s.labels["le"], 64)
			if err != nil {
				return m, fmt.Errorf("metrics: bucket le %q", s.labels["le"])
			}
			m.Lateness = append(m.Lateness, Bucket{LE: le, Count: s.value})
		}
	}
	sort.Slice(m.Lateness, func(i, j int) bool { return m.Lateness[i].LE < m.Lateness[j].LE })
	return m, nil
}

// addBuckets sums cumulative histograms with the same bounds.
func addBuckets(a, b []Bucket) []Bucket {
	if len(a) == 0 {
		return append([]Bucket(nil), b...)
	}
	out := append([]Bucket(nil), a...)
	for i := range out {
		if i < len(b) && b[i].LE == out[i].LE {
			out[i].Count += b[i].Count
		}
	}
	return out
}

// quantile estimates the q-quantile of a cumulative histogram by linear
// interpolation inside the bucket that holds it, as PromQL's
// histogram_quantile does; the +Inf bucket answers its lower bound, and an
// empty histogram 0.
func quantile(q float64, bs []Bucket) float64 {
	if len(bs) == 0 || bs[len(bs)-1].Count == 0 {
		return 0
	}
	rank := q * bs[len(bs)-1].Count
	lo, below := 0.0, 0.0
	for _, b := range bs {
		if b.Count >= rank {
			if math.IsInf(b.LE, 1) {
				return lo
			}
			if b.Count == below {
				return b.LE
			}
			return lo + (b.LE-lo)*(rank-below)/(b.Count-below)
		}
		lo, below = b.LE, b.Count
	}
	return lo
}
