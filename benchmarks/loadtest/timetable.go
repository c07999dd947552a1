package loadtest

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Signal names the fault a Kill applies to a node.
type Signal string

const (
	// SignalKill is SIGKILL: the node dies without a word; the others
	// notice through memberlist and its etcd session's expiry.
	SignalKill Signal = "KILL"
	// SignalTerm is SIGTERM: the node hands its shards over and exits.
	SignalTerm Signal = "TERM"
	// SignalStop is SIGSTOP: the node is frozen past its lease; Restart
	// sends SIGCONT, and it must rejoin without having written anything.
	SignalStop Signal = "STOP"
)

// SignalCont resumes a stopped node; it is not a fault of its own.
const SignalCont Signal = "CONT"

func (s Signal) syscall() syscall.Signal {
	switch s {
	case SignalCont:
		return syscall.SIGCONT
	case SignalTerm:
		return syscall.SIGTERM
	case SignalStop:
		return syscall.SIGSTOP
	}
	return syscall.SIGKILL
}

// Kill is one entry of the fault timetable.
type Kill struct {
	// At is the simulated offset from the start of the checked period.
	At time.Duration `json:"at"`
	// Node is the node to signal, 1-based.
	Node int `json:"node"`
	// Signal is KILL, TERM or STOP.
	Signal Signal `json:"signal"`
	// Restart is the simulated time after At when the node is started
	// again (SIGCONT for STOP); 0 leaves it down.
	Restart time.Duration `json:"restart,omitempty"`
}

// String is the timetable syntax ParseTimetable reads: at:node:signal[:restart].
func (k Kill) String() string {
	s := fmt.Sprintf("%s:%d:%s", k.At, k.Node, k.Signal)
	if k.Restart > 0 {
		s += ":" + k.Restart.String()
	}
	return s
}

func (k Kill) validate(nodes int, period time.Duration) error {
	switch {
	case k.Node < 1 || k.Node > nodes:
		return fmt.Errorf("loadtest: kill %s: node %d is not one of 1..%d", k, k.Node, nodes)
	case k.Signal != SignalKill && k.Signal != SignalTerm && k.Signal != SignalStop:
		return fmt.Errorf("loadtest: kill %s: signal %q: use KILL, TERM or STOP", k, k.Signal)
	case k.At < 0 || k.At >= period:
		return fmt.Errorf("loadtest: kill %s: %s is outside the %s period", k, k.At, period)
	case k.Restart < 0:
		return fmt.Errorf("loadtest: kill %s: negative restart delay", k)
	case k.Signal == SignalStop && k.Restart == 0:
		return fmt.Errorf("loadtest: kill %s: a stopped node needs a restart delay (when SIGCONT comes)", k)
	}
	return nil
}

// ParseTimetable reads comma-separated entries at:node:signal[:restart],
// with Go durations in simulated time, for example
// "8h:2:KILL:2h,14h:1:STOP:30m,20h:3:TERM". Signals are KILL, TERM or
// STOP in any case, with or without the SIG prefix. An empty string is an
// empty timetable.
func ParseTimetable(s string) ([]Kill, error) {
	var out []Kill
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		f := strings.Split(entry, ":")
		if len(f) < 3 || len(f) > 4 {
			return nil, fmt.Errorf("loadtest: timetable entry %q: want at:node:signal[:restart]", entry)
		}
		at, err := time.ParseDuration(f[0])
		if err != nil {
			return nil, fmt.Errorf("loadtest: timetable entry %q: at: %w", entry, err)
		}
		node, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("loadtest: timetable entry %q: node %q is not a number", entry, f[1])
		}
		k := Kill{At: at, Node: node, Signal: Signal(strings.TrimPrefix(strings.ToUpper(f[2]), "SIG"))}
		if len(f) == 4 {
			if k.Restart, err = time.ParseDuration(f[3]); err != nil {
				return nil, fmt.Errorf("loadtest: timetable entry %q: restart: %w", entry, err)
			}
		}
		if k.Signal != SignalKill && k.Signal != SignalTerm && k.Signal != SignalStop {
			return nil, fmt.Errorf("loadtest: timetable entry %q: signal %q: use KILL, TERM or STOP", entry, f[2])
		}
		out = append(out, k)
	}
	return out, nil
}

// FormatTimetable is the inverse of ParseTimetable.
func FormatTimetable(ks []Kill) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k.String()
	}
	return strings.Join(parts, ",")
}
