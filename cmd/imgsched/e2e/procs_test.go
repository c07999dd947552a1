package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imgsched-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "imgsched")
	if out, err := exec.Command("go", "build", "-o", binary, "..").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build imgsched: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running imgsched process whose output the test reads line by
// line: tests wait for what a process says, not for time to pass.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  []string // everything it printed, for failure reports
	subs []chan string
	done chan struct{}
	err  error
}

// start runs imgsched with args; stdout and stderr are read as lines.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return startWith(t, name, []string{binary}, args...)
}

// startWith runs argv (a binary, or a wrapper such as ip netns exec) with
// args appended.
func startWith(t *testing.T, name string, argv []string, args ...string) *proc {
	t.Helper()
	all := append(append([]string(nil), argv...), args...)
	p := &proc{name: name, cmd: exec.Command(all[0], all[1:]...), done: make(chan struct{})}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			for _, s := range p.subs {
				select {
				case s <- sc.Text():
				default:
				}
			}
			p.mu.Unlock()
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("output of %s:\n%s", p.name, p.tail(60))
		}
	})
	return p
}

func (p *proc) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log[max(0, len(p.log)-n):], "\n")
}

// waitFor returns the submatches of the first line, printed so far or
// later, that matches re. It fails the test if the process exits first or
// if limit passes (a guard against a hang, not a way to synchronise).
func (p *proc) waitFor(t *testing.T, re *regexp.Regexp, limit time.Duration) []string {
	t.Helper()
	ch := make(chan string, 1024)
	p.mu.Lock()
	for _, l := range p.log {
		if m := re.FindStringSubmatch(l); m != nil {
			p.mu.Unlock()
			return m
		}
	}
	p.subs = append(p.subs, ch)
	p.mu.Unlock()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		select {
		case l := <-ch:
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-p.done:
			t.Fatalf("%s exited (%v) before printing %s", p.name, p.err, re)
		case <-deadline.C:
			t.Fatalf("%s did not print %s within %s", p.name, re, limit)
		}
	}
}

// signal sends sig and, for SIGKILL and SIGTERM, waits for the exit.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		select {
		case <-p.done:
		case <-time.After(time.Minute):
			t.Fatalf("%s did not exit after %v", p.name, sig)
		}
	}
}

// simClock is the accelerated clock every process of a test shares: the
// test builds the same one from the same flags, and waits on its timers.
type simClock struct {
	start, epoch time.Time
	scale        float64
	clock        *scheduler.ScaledClock
}

func newSimClock(start time.Time, scale float64) simClock {
	epoch := time.Now().Truncate(time.Second)
	return simClock{start: start, epoch: epoch, scale: scale,
		clock: scheduler.NewScaledClock(start, scale, scheduler.WithEpoch(epoch))}
}

// flags are the clock flags each process is started with.
func (c simClock) flags() []string {
	return []string{"--time-scale", fmt.Sprint(c.scale), "--time-start", c.start.Format(time.RFC3339), "--time-epoch", c.epoch.Format(time.RFC3339)}
}

// until blocks until simulated time reaches at, or ctx ends.
func (c simClock) until(ctx context.Context, at time.Time) error {
	d := at.Sub(c.clock.Now())
	if d <= 0 {
		return nil
	}
	timer := c.clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
