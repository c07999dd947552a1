package sharding

import (
	"fmt"
	"testing"
)

// joinMoves returns the shards moved when a member joins n others, and the
// ideal: shards / (n+1).
func joinMoves(tb testing.TB, cfg Config, n int) (moved int, ideal float64) {
	tb.Helper()
	ms := nodes(n)
	a := mustAssign(tb, cfg, ms, Assignment{}, nil)
	b := mustAssign(tb, cfg, append(ms, Member{ID: "joiner"}), a, nil)
	for _, mv := range Diff(a, b) {
		if mv.From == "" || mv.To == "" {
			tb.Fatalf("move %+v has no owner on one side", mv)
		}
	}
	return len(Diff(a, b)), float64(cfg.Shards) / float64(n+1)
}

// leaveMoves returns the shards moved when one of n members leaves, and
// the ideal: the leaver's shards.
func leaveMoves(tb testing.TB, cfg Config, n int) (moved, ideal int) {
	tb.Helper()
	ms := nodes(n)
	a := mustAssign(tb, cfg, ms, Assignment{}, nil)
	leaver := ms[n/2].ID
	b := mustAssign(tb, cfg, without(ms, leaver), a, nil)
	return len(Diff(a, b)), len(a.ShardsOf(leaver))
}

func TestALeaveMovesExactlyTheLeaversShards(t *testing.T) {
	for _, eps := range []float64{0.02, 0.1, 0.25} {
		for _, n := range []int{2, 3, 5, 10, 20, 50} {
			for _, shards := range []int{64, 1024, 16384} {
				cfg := Config{Shards: shards, Epsilon: eps}
				if moved, ideal := leaveMoves(t, cfg, n); moved != ideal {
					t.Errorf("ε=%v, %d shards, %d members: a leave moved %d, the leaver had %d", eps, shards, n, moved, ideal)
				}
			}
		}
	}
}

func TestAJoinMovesAboutTheJoinersShare(t *testing.T) {
	tests := []struct {
		eps float64
		max float64 // moved / ideal
	}{
		// The joiner takes at most its fair count; the rest is what members
		// over the lowered bound must shed, which grows as ε shrinks.
		{0.25, 1.15},
		{0.1, 1.2},
		{0.02, 1.4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("epsilon %v moves at most %v of the ideal", tt.eps, tt.max), func(t *testing.T) {
			for _, n := range []int{2, 3, 5, 10, 20, 50} {
				for _, shards := range []int{1024, 4096, 16384} {
					moved, ideal := joinMoves(t, Config{Shards: shards, Epsilon: tt.eps}, n)
					if r := float64(moved) / ideal; r > tt.max || r < 0.5 {
						t.Errorf("%d shards, %d+1 members: moved %d, ideal %.0f, ratio %.3f", shards, n, moved, ideal, r)
					}
				}
			}
		})
	}
}

func TestStickyMovesNoMoreThanPlainOnAverage(t *testing.T) {
	for _, eps := range []float64{0.02, 0.1, 0.25} {
		var sticky, plain int
		for _, n := range []int{3, 10, 30, 50} {
			for _, shards := range []int{1024, 4096} {
				j1, _ := joinMoves(t, Config{Shards: shards, Epsilon: eps}, n)
				j2, _ := joinMoves(t, Config{Shards: shards, Epsilon: eps, DisableSticky: true}, n)
				l1, _ := leaveMoves(t, Config{Shards: shards, Epsilon: eps}, n)
				l2, _ := leaveMoves(t, Config{Shards: shards, Epsilon: eps, DisableSticky: true}, n)
				sticky += j1 + l1
				plain += j2 + l2
			}
		}
		if sticky > plain {
			t.Errorf("ε=%v: sticky moved %d shards in all, plain %d", eps, sticky, plain)
		}
		t.Logf("ε=%v: sticky moved %d shards in all, plain %d", eps, sticky, plain)
	}
}

func TestAPlainAssignmentMovesMoreThanIdealWhenEpsilonIsSmall(t *testing.T) {
	// The reason the sticky pass exists: with ε = 0.02, cascades make the
	// plain pass move well over the leaver's shards.
	var moved, ideal int
	for _, n := range []int{10, 20, 50} {
		m, i := leaveMoves(t, Config{Shards: 4096, Epsilon: 0.02, DisableSticky: true}, n)
		moved, ideal = moved+m, ideal+i
	}
	if float64(moved) < 1.1*float64(ideal) {
		t.Errorf("plain leave moved %d for an ideal of %d; expected cascades above 1.1×", moved, ideal)
	}
}

func TestAnUnchangedMembershipMovesNothing(t *testing.T) {
	cfg := Config{Shards: 4096}
	a := mustAssign(t, cfg, nodes(7), Assignment{}, nil)
	if moves := Diff(a, mustAssign(t, cfg, nodes(7), a, nil)); len(moves) != 0 {
		t.Errorf("reassigning the same members moved %d shards", len(moves))
	}
}

func TestARaisedCapacityTakesShardsWithoutOthersTrading(t *testing.T) {
	cfg := Config{Shards: 4096}
	ms := nodes(4)
	a := mustAssign(t, cfg, ms, Assignment{}, nil)
	ms[0].Capacity = 2
	b := mustAssign(t, cfg, ms, a, nil)
	for _, mv := range Diff(a, b) {
		if mv.To != ms[0].ID {
			t.Fatalf("move %+v: only the grown member should gain shards", mv)
		}
	}
	if got, fair := len(b.ShardsOf(ms[0].ID)), 4096*2/5; got < fair*8/10 {
		t.Errorf("grown member holds %d shards, want about %d", got, fair)
	}
}
