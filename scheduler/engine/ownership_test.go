package engine_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler/engine"
	"github.com/imgsched/imgsched/sharding"
)

// switchable is an ownership a test changes, recording releases.
type switchable struct {
	mu       sync.Mutex
	shards   []int
	changed  chan struct{}
	released chan int
	asked    chan struct{} // closed and replaced whenever Owned is called
}

func newSwitchable(shards []int) *switchable {
	return &switchable{shards: shards, changed: make(chan struct{}), released: make(chan int, 16), asked: make(chan struct{})}
}

func (s *switchable) Owned() ([]int, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.asked)
	s.asked = make(chan struct{})
	return slices.Clone(s.shards), s.changed
}

func (s *switchable) set(shards []int) {
	s.mu.Lock()
	s.shards = shards
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// setAndWait is set, returning once the engine has asked for the new set
// (it drops what left right after).
func (s *switchable) setAndWait(t *testing.T, shards []int) {
	t.Helper()
	s.mu.Lock()
	asked := s.asked
	s.mu.Unlock()
	s.set(shards)
	select {
	case <-asked:
	case <-time.After(30 * time.Second):
		t.Fatal("the engine never asked for the owned shards again")
	}
}

func (s *switchable) Release(shard int) { s.released <- shard }

func TestAShardLeftIsNeitherWorkedOnNorKeptAndComesBackWhenOwnedAgain(t *testing.T) {
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	own := newSwitchable(all)
	en := newEnv(t, nil)
	en.stopEngine()
	en.opts = []engine.Option{engine.WithOwnership(own)}
	en.startEngine()
	srv := en.addServer("moved-1", "compute-1")
	en.seedSlot(srv.ID, 3, daily, slot10h)
	shard := sharding.Shard(srv.ID, en.store.Shards())

	own.set(slices.DeleteFunc(slices.Clone(all), func(s int) bool { return s == shard }))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case got := <-own.released:
		if got != shard {
			t.Fatalf("released shard %d, want %d", got, shard)
		}
	case <-ctx.Done():
		t.Fatal("the shard left was never released")
	}
	if n := en.engine().Len(); n != 0 {
		t.Fatalf("engine still holds %d schedules of a shard it left", n)
	}
	en.runUntil(at(0, 12, 0))
	if n := len(en.created(srv.ID)); n != 0 {
		t.Fatalf("%d images taken for a shard the node does not own", n)
	}

	// Taken back while today's window is still open: its run, left
	// pending, is resumed late rather than skipped.
	n := en.reconciled(srv.ID)
	own.set(all)
	en.waitReconciled(srv.ID, n)
	en.runUntil(at(1, 12, 0))
	imgs := en.created(srv.ID)
	if len(imgs) != 2 || !imgs[0].CreatedAt.Equal(at(0, 12, 0)) || !imgs[1].CreatedAt.Equal(at(1, 10, 0)) {
		t.Fatalf("images %v, want today's when the shard came back at 12:00 and tomorrow's at its slot", imgs)
	}
}
