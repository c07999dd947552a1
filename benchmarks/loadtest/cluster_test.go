package loadtest

import (
	"testing"
	"time"
)

func TestTheServingLineGivesEveryAddress(t *testing.T) {
	line := `{"level":"info","ts":"2026-11-22T08:00:00Z","msg":"serving","rest":"127.0.0.1:4001","grpc":"127.0.0.1:4002","engine":true,"node":"n1","pprof":"127.0.0.1:4003"}`
	m := nodeServing.FindStringSubmatch(line)
	if m == nil || m[1] != "127.0.0.1:4001" || m[2] != "127.0.0.1:4002" {
		t.Fatalf("nodeServing on %s: %q", line, m)
	}
	if p := nodePprof.FindStringSubmatch(m[0]); p == nil || p[1] != "127.0.0.1:4003" {
		t.Fatalf("pprof address from the matched line %q: %q", m[0], p)
	}
}

func TestLoadReportsComeEveryTwelveSimulatedMinutesWithinBounds(t *testing.T) {
	for _, tt := range []struct {
		scale float64
		want  time.Duration
	}{{1440, 500 * time.Millisecond}, {30, 15 * time.Second}, {100, 7200 * time.Millisecond}, {10000, 500 * time.Millisecond}} {
		if got := (Config{TimeScale: tt.scale}).loadInterval(); got != tt.want {
			t.Errorf("at %v×: %v, want %v", tt.scale, got, tt.want)
		}
	}
}
