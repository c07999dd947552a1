package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
	"github.com/imgsched/imgsched/scheduler/schedulertest"
)

var epoch = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func TestScaledClockRunsSimulatedTimeFromStartAtScale(t *testing.T) {
	base := schedulertest.NewClock(epoch)
	simStart := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := scheduler.NewScaledClock(simStart, 600, scheduler.WithEpoch(epoch), scheduler.WithBase(base))
	if got := c.Now(); !got.Equal(simStart) {
		t.Fatalf("at the epoch Now() = %v, want %v", got, simStart)
	}
	base.Advance(time.Minute)
	if got, want := c.Now(), simStart.Add(10*time.Hour); !got.Equal(want) {
		t.Fatalf("a base minute later Now() = %v, want %v", got, want)
	}
}

func TestScaledClockWithoutEpochEqualsRealTimeAtStart(t *testing.T) {
	base := schedulertest.NewClock(epoch.Add(2 * time.Second))
	c := scheduler.NewScaledClock(epoch, 1000, scheduler.WithBase(base))
	if got, want := c.Now(), epoch.Add(2000*time.Second); !got.Equal(want) {
		t.Fatalf("Now() = %v, want %v", got, want)
	}
}

func TestTwoScaledClocksWithTheSameStartAgree(t *testing.T) {
	base := schedulertest.NewClock(epoch.Add(time.Hour))
	a := scheduler.NewScaledClock(epoch, 60, scheduler.WithBase(base))
	b := scheduler.NewScaledClock(epoch, 60, scheduler.WithBase(base))
	if !a.Now().Equal(b.Now()) {
		t.Fatalf("clocks disagree: %v vs %v", a.Now(), b.Now())
	}
}

func TestScaledTimerFiresAfterTheScaledRealDuration(t *testing.T) {
	base := schedulertest.NewClock(epoch)
	c := scheduler.NewScaledClock(epoch, 3600, scheduler.WithBase(base))
	tm := c.NewTimer(time.Hour) // one base second
	base.Advance(999 * time.Millisecond)
	select {
	case <-tm.C():
		t.Fatal("fired before a base second")
	default:
	}
	base.Advance(time.Millisecond)
	select {
	case got := <-tm.C():
		if want := epoch.Add(time.Hour); !got.Equal(want) {
			t.Fatalf("fired with %v, want simulated %v", got, want)
		}
	default:
		t.Fatal("did not fire after a base second")
	}
	if tm.Reset(2*time.Hour) || base.Pending() != 1 {
		t.Fatalf("Reset after firing: pending %d", base.Pending())
	}
	if !tm.Stop() || base.Pending() != 0 {
		t.Fatal("Stop did not disarm the timer")
	}
}

func TestFakeClockFiresTimersInDeadlineOrder(t *testing.T) {
	c := schedulertest.NewClock(epoch)
	var order []string
	var seen []time.Time
	c.AfterFunc(2*time.Hour, func() { order = append(order, "b"); seen = append(seen, c.Now()) })
	c.AfterFunc(time.Hour, func() { order = append(order, "a"); seen = append(seen, c.Now()) })
	stopped := c.AfterFunc(90*time.Minute, func() { order = append(order, "stopped") })
	if !stopped.Stop() {
		t.Fatal("Stop of an armed timer returned false")
	}
	c.Advance(3 * time.Hour)
	if len(order) != 2 || order[0] != "a" || order[1] != "b" {
		t.Fatalf("order %v, want [a b]", order)
	}
	if !seen[0].Equal(epoch.Add(time.Hour)) || !seen[1].Equal(epoch.Add(2*time.Hour)) {
		t.Fatalf("callbacks saw %v, want their deadlines", seen)
	}
	if !c.Now().Equal(epoch.Add(3 * time.Hour)) {
		t.Fatalf("Now() = %v after Advance", c.Now())
	}
}

func TestFakeClockWaitTimersReturnsOnceTheCodeUnderTestArmsThem(t *testing.T) {
	c := schedulertest.NewClock(epoch)
	armed := make(chan scheduler.Timer)
	go func() { armed <- c.NewTimer(time.Minute) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	tm := <-armed
	c.Advance(time.Minute)
	if got := <-tm.C(); !got.Equal(epoch.Add(time.Minute)) {
		t.Fatalf("timer sent %v", got)
	}
}

func TestFakeClockWaitTimersStopsWithItsContext(t *testing.T) {
	c := schedulertest.NewClock(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.WaitTimers(ctx, 1); err == nil {
		t.Fatal("WaitTimers returned nil with no timer and a cancelled context")
	}
}
