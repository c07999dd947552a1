package scheduler_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

// snapshotMinutes draws how long a server's snapshot takes the way the
// simulated cloud makes them: 30 s plus 4 GB a minute, over its mix of root
// disks (mostly small, a tail of big ones), so 3 to 81 minutes.
func snapshotMinutes(rng *rand.Rand) time.Duration {
	disks := []struct{ gb, weight int }{{10, 15}, {20, 30}, {40, 25}, {80, 15}, {160, 10}, {320, 5}}
	x := rng.IntN(100)
	for _, d := range disks {
		if x < d.weight {
			return time.Duration(30+d.gb*15) * time.Second
		}
		x -= d.weight
	}
	panic("weights do not sum to 100")
}

// booking is one planned image: the host it runs on and the minutes of the
// week it holds the host.
type booking struct {
	key         scheduler.Key
	host        scheduler.Host
	start, size int // minutes from Sunday 00:00 UTC
}

// bookings lists every image the plan takes in one week, computed from
// the slots alone.
func bookings(p *scheduler.Planner, hosts map[scheduler.Key]scheduler.Host, sizes map[scheduler.Key]time.Duration) []booking {
	sunday := at("2026-11-22T00:00:00Z")
	var out []booking
	for k, h := range hosts {
		s, ok := p.Slot(k)
		if !ok {
			continue
		}
		size := int((sizes[k] + time.Minute - 1) / time.Minute)
		for w := s.Schedule().NextWindow(sunday); w.Start.Before(sunday.AddDate(0, 0, 7)); w = w.Next() {
			m := int(s.At(w).Sub(sunday)/time.Minute) % (7 * 24 * 60)
			out = append(out, booking{key: k, host: h, start: (m + 7*24*60) % (7 * 24 * 60), size: size})
		}
	}
	return out
}

// overlaps counts the pairs of same-host images whose booked minutes
// overlap in the cyclic week, and names the first few.
func overlaps(bs []booking) (int, []string) {
	const week = 7 * 24 * 60
	byHost := map[scheduler.Host][]booking{}
	for _, b := range bs {
		byHost[b.host] = append(byHost[b.host], b)
	}
	n := 0
	var examples []string
	for _, list := range byHost {
		for i := range list {
			for j := i + 1; j < len(list); j++ {
				a, b := list[i], list[j]
				if a.key == b.key {
					continue
				}
				if (b.start-a.start+week)%week < a.size || (a.start-b.start+week)%week < b.size {
					n++
					if len(examples) < 5 {
						examples = append(examples, fmt.Sprintf("host %d: key %d at %d+%d and key %d at %d+%d", a.host, a.key, a.start, a.size, b.key, b.start, b.size))
					}
				}
			}
		}
	}
	return n, examples
}

// drawn is a fleet drawFleet drew: n schedules from a mix, 40 to a host,
// each with a snapshot duration from snapshotMinutes.
type drawn struct {
	hosts  map[scheduler.Key]scheduler.Host
	sizes  map[scheduler.Key]time.Duration
	scheds map[scheduler.Key]scheduler.Schedule
}

func drawFleet(n int, m mix, seed uint64) drawn {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	f := drawn{map[scheduler.Key]scheduler.Host{}, map[scheduler.Key]time.Duration{}, map[scheduler.Key]scheduler.Schedule{}}
	for i := range n {
		k := scheduler.Key(i)
		f.hosts[k], f.sizes[k], f.scheds[k] = scheduler.Host(1+rng.IntN(n/40)), snapshotMinutes(rng), m(rng)
	}
	return f
}

// place places every schedule of f, with its host or (blind) without.
func (f drawn) place(t *testing.T, p *scheduler.Planner, blind bool) {
	t.Helper()
	for i := range len(f.hosts) {
		k := scheduler.Key(i)
		h := f.hosts[k]
		if blind {
			h = 0
		}
		if _, err := p.Place(k, f.scheds[k], f.sizes[k], h); err != nil {
			t.Fatal(err)
		}
	}
}

// hostFleet places a fleet of n schedules (drawFleet); known says whether
// they learn their host at placement (the others learn it afterwards,
// through Place and Repair, as the engine does once images were taken).
func hostFleet(t *testing.T, n int, m mix, seed uint64, known bool, now time.Time) (*scheduler.Planner, map[scheduler.Key]scheduler.Host, map[scheduler.Key]time.Duration) {
	t.Helper()
	f := drawFleet(n, m, seed)
	p := scheduler.NewPlanner()
	f.place(t, p, !known)
	if !known {
		for i := range n {
			k := scheduler.Key(i)
			if _, err := p.Place(k, f.scheds[k], f.sizes[k], f.hosts[k]); err != nil {
				t.Fatal(err)
			}
			p.Repair(k, now)
		}
	}
	return p, f.hosts, f.sizes
}

func TestSameHostImagesDoNotOverlapAndTheWeekStaysFlat(t *testing.T) {
	now := at("2026-11-22T00:00:00Z")
	// Placed knowing their hosts, schedules are kept clear of each other
	// outright; placed blind and told their hosts afterwards (a node that
	// could not ask the cloud in time), Place keeps their slots and Repair
	// and Rebalance move them off each other as far as flatness and the
	// rules on moves allow: most, not all, on a fleet this dense.
	tests := []struct {
		name   string
		mix    mix
		known  bool
		target float64
		left   float64 // the largest share of overlapping pairs left
	}{
		{"daily schedules placed knowing their hosts", dailyOnly, true, 1.01, 0},
		{"the reference mix placed knowing its hosts", referenceMix, true, 1.04, 0},
		{"daily schedules whose hosts are learned after placement", dailyOnly, false, 1.01, 0.35},
		{"the reference mix with hosts learned after placement", referenceMix, false, 1.04, 0.35},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seeds := uint64(3)
			if !tt.known {
				seeds = 1
			}
			for seed := range seeds {
				// About 25 hosts of 40 servers, snapshots of 3 to 81 minutes.
				p, hosts, sizes := hostFleet(t, 1000, tt.mix, seed, tt.known, now)
				before, _ := overlaps(bookings(p, hosts, sizes))
				moves := converge(t, p, now)
				got, bound := p.Histogram().Flatness(), p.Demand().Bound()
				n, examples := overlaps(bookings(p, hosts, sizes))
				t.Logf("seed %d: %d overlapping pairs before rebalancing, %d after %d moves; flatness %.4f (bound %.4f)", seed, before, n, moves, got, bound)
				if float64(n) > tt.left*float64(before) {
					t.Errorf("seed %d: %d pairs of same-host images overlap (of %d), e.g. %v", seed, n, before, examples)
				}
				if got > tt.target {
					t.Errorf("seed %d: flatness %.4f > %.2f (bound %.4f)", seed, got, tt.target, bound)
				}
				tangled := 0
				for k := range hosts {
					if p.Tangled(k) {
						tangled++
					}
				}
				if (tangled == 0) != (n == 0) {
					t.Errorf("seed %d: %d schedules report overlaps, %d pairs overlap", seed, tangled, n)
				}
			}
		})
	}
}
