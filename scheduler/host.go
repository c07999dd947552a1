package scheduler

// Host bookings. Snapshots of servers on one hypervisor host share its
// disks and network, and the executor lets only one (or a few) run at a
// time per host, so two same-host images planned to overlap make the later
// one late. The planner therefore books, for each image, the minutes
// [start, start + weight) of the week on its host, and places and moves
// slots so that a host's bookings do not overlap.
//
// Nothing is stored per host but its members: a host's bookings are
// rebuilt from its members' slots when a placement or move needs them
// (a host holds tens of servers, so that is a few hundred intervals).

// Host identifies a schedule's hypervisor host inside a Planner: a compact
// id the caller derives from the cloud's host id. A hash is fine: two hosts
// that share an id only constrain each other more than they need. 0 means
// unknown, which places the schedule without any host constraint.
type Host uint32

// weekMinutes is the length of the (cyclic) week the bookings live in.
const weekMinutes = hoursPerWeek * minutesPerHour

// join adds key to host's members; host 0 has none.
func (p *Planner) join(key Key, host Host) {
	if host != 0 {
		p.hosts[host] = append(p.hosts[host], key)
	}
}

// leave removes key from host's members.
func (p *Planner) leave(key Key, host Host) {
	if host == 0 {
		return
	}
	ms := p.hosts[host]
	for j, k := range ms {
		if k == key {
			ms[j] = ms[len(ms)-1]
			ms = ms[:len(ms)-1]
			break
		}
	}
	if len(ms) == 0 {
		delete(p.hosts, host)
		return
	}
	p.hosts[host] = ms
}

// hasMates reports whether another schedule shares key's host.
func (p *Planner) hasMates(host Host) bool { return host != 0 && len(p.hosts[host]) > 1 }

// overlap reports whether the cyclic intervals [a, a+n) and [b, b+m) of
// the week's minutes overlap.
func overlap(a, n, b, m int) bool {
	return (b-a+weekMinutes)%weekMinutes < n || (a-b+weekMinutes)%weekMinutes < m
}

// freeFor reports whether an image of item i starting at minute start of the
// week would overlap none of its host-mates' bookings. O(mates × 7).
func (p *Planner) freeFor(i int, start int) bool {
	it := &p.items[i]
	if !p.hasMates(it.host) {
		return true
	}
	n := int(it.weight)
	var buf [7]int
	for _, k := range p.hosts[it.host] {
		if k == it.key {
			continue
		}
		o := &p.items[p.index[k]]
		for _, c := range o.slot.cells(&buf) {
			if overlap(start, n, c*minutesPerHour+int(o.slot.minute), int(o.weight)) {
				return false
			}
		}
	}
	return true
}

// clashes returns which positions of item i overlap a host-mate's booking,
// as a bit set (bit k for position k), and marks the mates it overlaps as
// tangled when mark is set.
func (p *Planner) clashes(i int, mark bool) uint8 {
	set, _ := p.overlaps(i, mark)
	return set
}

// overlaps is clashes, also counting the overlapping pairs of images.
func (p *Planner) overlaps(i int, mark bool) (uint8, int) {
	it := &p.items[i]
	if !p.hasMates(it.host) {
		return 0, 0
	}
	var mine, theirs [7]int
	cells := it.slot.cells(&mine)
	var set uint8
	pairs := 0
	for _, k := range p.hosts[it.host] {
		if k == it.key {
			continue
		}
		o := &p.items[p.index[k]]
		hit := false
		for _, c := range o.slot.cells(&theirs) {
			b := c*minutesPerHour + int(o.slot.minute)
			for pos, mc := range cells {
				if overlap(mc*minutesPerHour+int(it.slot.minute), int(it.weight), b, int(o.weight)) {
					set |= 1 << pos
					hit = true
					pairs++
				}
			}
		}
		if hit && mark {
			p.tangled[k] = 0
		}
	}
	return set, pairs
}

// occupancy is one host's booked minutes of the week, and as free-run
// lengths: after[s] is how many minutes from s on are free (at most a
// week). It is scratch space of the Planner, rebuilt for each host-aware
// placement.
type occupancy struct {
	busy  [weekMinutes]bool
	after [weekMinutes]int16
	// before[s] is how many minutes just before s are free (at most a
	// week), so that waste costs O(1): it is called for every candidate
	// minute of a host-aware placement.
	before [weekMinutes]int16
}

// occupy fills p's scratch occupancy with the bookings of host's members
// other than except, and returns it.
func (p *Planner) occupy(host Host, except Key) *occupancy {
	if p.scratch == nil {
		p.scratch = new(occupancy)
	}
	o := p.scratch
	clear(o.busy[:])
	var buf [7]int
	for _, k := range p.hosts[host] {
		if k == except {
			continue
		}
		it := &p.items[p.index[k]]
		for _, c := range it.slot.cells(&buf) {
			s := c*minutesPerHour + int(it.slot.minute)
			for d := range min(int(it.weight), weekMinutes) {
				o.busy[(s+d)%weekMinutes] = true
			}
		}
	}
	o.measure()
	return o
}

// measure computes the free-run lengths from the busy minutes. Two passes
// round the cyclic week settle the runs that wrap.
func (o *occupancy) measure() {
	run := 0
	for pass := range 2 {
		for s := weekMinutes - 1; s >= 0; s-- {
			if o.busy[s] {
				run = 0
			} else {
				run = min(run+1, weekMinutes)
			}
			if pass == 1 {
				o.after[s] = int16(run)
			}
		}
	}
	run = 0
	for pass := range 2 {
		for s := range weekMinutes {
			if pass == 1 {
				o.before[s] = int16(run)
			}
			if o.busy[s] {
				run = 0
			} else {
				run = min(run+1, weekMinutes)
			}
		}
	}
}

// fits reports whether n minutes from minute start of the week are free.
func (o *occupancy) fits(start, n int) bool { return int(o.after[start%weekMinutes]) >= n }

// waste is how much free time an image of n minutes starting at start
// leaves unusable around it on the host, capped at an hour on each side:
// smaller packs a host's images back to back.
func (o *occupancy) waste(start, n int) int64 {
	s := start % weekMinutes
	return int64(min(int(o.before[s]), minutesPerHour) + min(int(o.after[s])-n, minutesPerHour))
}
