package sharding

import (
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name         string
		quiet, limit time.Duration
		events       []int // milliseconds after t0
		want         int   // deadline, ms after t0; -1 for none
	}{
		{"no event means nothing to do", 0, 0, nil, -1},
		{"one event waits out the default quiet second", 0, 0, []int{0}, 1000},
		{"a burst waits for quiet after its last event", 0, 0, []int{0, 300, 600}, 1600},
		{"a node flapping every half second is cut off at the default max delay", 0, 0, []int{0, 500, 1000, 1500, 2000, 2500, 3000}, 3000},
		{"events out of order count from the earliest and latest", 0, 0, []int{600, 0, 300}, 1600},
		{"custom periods apply", 200 * time.Millisecond, 500 * time.Millisecond, []int{0, 150, 300, 450}, 500},
		{"a max delay shorter than quiet wins", 2 * time.Second, time.Second, []int{0}, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Debouncer{Quiet: tt.quiet, MaxDelay: tt.limit}
			for _, e := range tt.events {
				d.Observe(at(e))
			}
			got, ok := d.Deadline()
			if tt.want < 0 {
				if ok || d.Ready(at(1<<30)) {
					t.Fatalf("Deadline = %v, %v; want none", got, ok)
				}
				return
			}
			if !ok || !got.Equal(at(tt.want)) {
				t.Fatalf("Deadline = %v, %v; want %v", got.Sub(t0), ok, time.Duration(tt.want)*time.Millisecond)
			}
			if d.Ready(at(tt.want - 1)) {
				t.Errorf("Ready a millisecond before the deadline")
			}
			if !d.Ready(at(tt.want)) {
				t.Errorf("not Ready at the deadline")
			}
		})
	}
}

func TestDebouncerDoneConsumesOnlyEventsUpToNow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var d Debouncer
	d.Observe(t0)
	d.Done(t0.Add(time.Second))
	if _, ok := d.Deadline(); ok {
		t.Fatalf("events before Done are still pending")
	}

	d.Observe(t0.Add(2 * time.Second))
	d.Observe(t0.Add(4 * time.Second)) // seen before the leader recomputed as of 3 s
	d.Done(t0.Add(3 * time.Second))
	got, ok := d.Deadline()
	if want := t0.Add(5 * time.Second); !ok || !got.Equal(want) {
		t.Errorf("after Done with a later event pending, Deadline = %v, %v; want %v", got, ok, want)
	}
}

func TestDebouncerBoundsRecomputationsUnderConstantChurn(t *testing.T) {
	// Events every 200 ms for a minute, the leader acting as soon as Ready:
	// at most one recomputation per MaxDelay, and at least one per MaxDelay
	// plus the gap to the next event.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var d Debouncer
	runs := 0
	for ms := 0; ms <= 60_000; ms += 100 {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		if ms%200 == 0 {
			d.Observe(now)
		}
		if d.Ready(now) {
			runs++
			d.Done(now)
		}
	}
	most, least := int(time.Minute/DefaultMaxDelay), int(time.Minute/(DefaultMaxDelay+200*time.Millisecond))
	if runs > most || runs < least {
		t.Errorf("%d recomputations in a minute of churn, want %d..%d", runs, least, most)
	}
}
