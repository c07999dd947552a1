package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// proc is a running imgsched process. Its output goes to a log file and is
// watched line by line: Run waits for what a process says, not for time to
// pass.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	subs []chan string
	seen []string // its first lines, for a waitFor that comes after them
	done chan struct{}
	err  error
}

// startProc runs binary with args, appending its output to logPath.
func startProc(name, binary, logPath string, args ...string) (*proc, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		log.Close()
		return nil, err
	}
	p := &proc{name: name, cmd: exec.Command(binary, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		log.Close()
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	w.Close()
	go func() {
		defer log.Close()
		sc := bufio.NewScanner(io.TeeReader(r, log))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			if len(p.seen) < 200 { // the start-up lines, which waitFor may ask for late
				p.seen = append(p.seen, sc.Text())
			}
			for _, s := range p.subs {
				select {
				case s <- sc.Text():
				default:
				}
			}
			p.mu.Unlock()
		}
		io.Copy(io.Discard, r)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitFor returns the submatches of the first line matching re, among the
// process's first lines or later ones. It fails when the process exits,
// ctx ends, or limit passes (a guard against a hang).
func (p *proc) waitFor(ctx context.Context, re *regexp.Regexp, limit time.Duration) ([]string, error) {
	ch := make(chan string, 1024)
	p.mu.Lock()
	for _, l := range p.seen {
		if m := re.FindStringSubmatch(l); m != nil {
			p.mu.Unlock()
			return m, nil
		}
	}
	p.subs = append(p.subs, ch)
	p.mu.Unlock()
	defer p.unsubscribe(ch)
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		select {
		case l := <-ch:
			if m := re.FindStringSubmatch(l); m != nil {
				return m, nil
			}
		case <-p.done:
			return nil, fmt.Errorf("%s exited (%v) before printing %s", p.name, p.err, re)
		case <-deadline.C:
			return nil, fmt.Errorf("%s did not print %s within %s", p.name, re, limit)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (p *proc) unsubscribe(ch chan string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, s := range p.subs {
		if s == ch {
			p.subs = append(p.subs[:i], p.subs[i+1:]...)
			return
		}
	}
}

// signal sends sig and, for SIGKILL and SIGTERM, waits up to limit for the
// exit.
func (p *proc) signal(sig syscall.Signal, limit time.Duration) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	if sig != syscall.SIGKILL && sig != syscall.SIGTERM {
		return nil
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
		return fmt.Errorf("%s did not exit within %s of %v", p.name, limit, sig)
	}
}

// stop ends the process gracefully (SIGCONT first, in case it is stopped,
// then SIGTERM, SIGKILL after limit) and returns its resource usage.
func (p *proc) stop(limit time.Duration) usage {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGCONT)
		if p.signal(syscall.SIGTERM, limit) != nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	return p.usage()
}

// usage is the exited process's CPU time and peak resident memory.
func (p *proc) usage() usage {
	u := usage{Name: p.name}
	if st := p.cmd.ProcessState; st != nil {
		u.CPUSeconds = (st.UserTime() + st.SystemTime()).Seconds()
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			u.MaxRSSBytes = ru.Maxrss * 1024 // Linux reports KiB
		}
	}
	return u
}

// usage is what one process cost over its whole life.
type usage struct {
	Name        string  `json:"name"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	MaxRSSBytes int64   `json:"max_rss_bytes"`
}
