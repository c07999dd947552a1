package engine

import "strings"

// entry is all the engine keeps in memory for one schedule (SPEC §5: at most
// 500 bytes per schedule, index and planner included). The records
// themselves stay in etcd and are read when the schedule is reconciled.
type entry struct {
	id    string // server id; "" for a free slot of the table
	due   int64  // Unix nanoseconds the next reconcile is due; see pos and flagAgain
	pos   int32  // index in the due heap, -1 when not queued
	shard uint16
	flags uint8
}

const (
	// flagBusy: a worker is reconciling the entry; it is not in the heap.
	flagBusy uint8 = 1 << iota
	// flagAgain: the entry was asked for while busy; due holds the earliest
	// time asked, and finish queues it no later than that.
	flagAgain
	// flagDrop: the entry was removed while busy; finish frees it.
	flagDrop
	// flagMissed: the schedule has missed at least Config.MissedAlert
	// consecutive windows (the alert gauge counts these).
	flagMissed
)

// table holds the entries, their index by server id and the due-queue, a
// binary min-heap of entry positions ordered by due.
//
// Invariants: index[e.id] is e's position for every live entry; a live
// entry is in the heap (pos ≥ 0, heap[pos] is it) or busy or idle with
// nothing due (pos -1), never two of these; positions of freed entries are
// in free and are reused, so a position is a stable planner key while the
// entry lives. A table is guarded by the engine's mutex.
type table struct {
	entries []entry
	free    []int32
	index   map[string]int32
	heap    []int32
}

func newTable() table { return table{index: make(map[string]int32)} }

// len returns the number of live entries.
func (t *table) len() int { return len(t.index) }

// lookup returns the position of serverID's entry.
func (t *table) lookup(serverID string) (int32, bool) {
	i, ok := t.index[serverID]
	return i, ok
}

// add returns serverID's entry, creating it (idle, nothing due) if needed,
// and whether it was created.
func (t *table) add(serverID string, shard int) (int32, bool) {
	if i, ok := t.index[serverID]; ok {
		return i, false
	}
	// A copy: the id may be a slice of a longer etcd key that would
	// otherwise stay in memory with it.
	serverID = strings.Clone(serverID)
	e := entry{id: serverID, pos: -1, shard: uint16(shard)}
	var i int32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
		t.entries[i] = e
	} else {
		i = int32(len(t.entries))
		t.entries = append(t.entries, e)
	}
	t.index[serverID] = i
	return i, true
}

// remove frees entry i, or marks it to be freed by finish while it is busy.
// It reports whether the entry was freed now.
func (t *table) remove(i int32) bool {
	e := &t.entries[i]
	if e.flags&flagBusy != 0 {
		e.flags |= flagDrop
		return false
	}
	if e.pos >= 0 {
		t.heapRemove(e.pos)
	}
	delete(t.index, e.id)
	*e = entry{pos: -1}
	t.free = append(t.free, i)
	return true
}

// schedule asks for entry i to be reconciled at due (Unix nanoseconds), or
// earlier if it already was.
func (t *table) schedule(i int32, due int64) {
	e := &t.entries[i]
	switch {
	case e.flags&flagBusy != 0:
		if e.flags&flagAgain == 0 || due < e.due {
			e.due = due
		}
		e.flags |= flagAgain
	case e.pos >= 0:
		if due < e.due {
			e.due = due
			t.up(e.pos)
		}
	default:
		e.due = due
		e.pos = int32(len(t.heap))
		t.heap = append(t.heap, i)
		t.up(e.pos)
	}
}

// reset replaces entry i's due time (0: nothing due) whatever it was;
// busy entries are left to finish.
func (t *table) reset(i int32, due int64) {
	e := &t.entries[i]
	if e.flags&flagBusy != 0 {
		return
	}
	if e.pos >= 0 {
		t.heapRemove(e.pos)
	}
	if due != 0 {
		t.schedule(i, due)
	}
}

// next returns the earliest due time in the queue.
func (t *table) next() (int64, bool) {
	if len(t.heap) == 0 {
		return 0, false
	}
	return t.entries[t.heap[0]].due, true
}

// pop takes the earliest entry due at or before now out of the queue and
// marks it busy.
func (t *table) pop(now int64) (int32, bool) {
	if len(t.heap) == 0 || t.entries[t.heap[0]].due > now {
		return 0, false
	}
	i := t.heap[0]
	t.heapRemove(0)
	t.entries[i].flags |= flagBusy
	return i, true
}

// finish ends entry i's reconcile: it is queued at due (0: nothing due),
// or earlier if it was asked for meanwhile, or freed if it was removed. It
// reports whether the entry is still live.
func (t *table) finish(i int32, due int64) bool {
	e := &t.entries[i]
	again, asked := e.flags&flagAgain != 0, e.due
	e.flags &^= flagBusy | flagAgain
	if e.flags&flagDrop != 0 {
		t.remove(i)
		return false
	}
	if again && (due == 0 || asked < due) {
		due = asked
	}
	if due != 0 {
		t.schedule(i, due)
	}
	return true
}

func (t *table) less(a, b int32) bool {
	return t.entries[t.heap[a]].due < t.entries[t.heap[b]].due
}

func (t *table) swap(a, b int32) {
	t.heap[a], t.heap[b] = t.heap[b], t.heap[a]
	t.entries[t.heap[a]].pos = a
	t.entries[t.heap[b]].pos = b
}

func (t *table) up(j int32) {
	for j > 0 {
		p := (j - 1) / 2
		if !t.less(j, p) {
			return
		}
		t.swap(j, p)
		j = p
	}
}

func (t *table) down(j int32) {
	n := int32(len(t.heap))
	for {
		l := 2*j + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.less(r, l) {
			m = r
		}
		if !t.less(m, j) {
			return
		}
		t.swap(j, m)
		j = m
	}
}

// heapRemove takes the element at heap position j out of the heap.
func (t *table) heapRemove(j int32) {
	last := int32(len(t.heap) - 1)
	removed := t.heap[j]
	if j != last {
		t.swap(j, last)
	}
	t.heap = t.heap[:last]
	t.entries[removed].pos = -1
	if j != last {
		t.down(j)
		t.up(j)
	}
}
