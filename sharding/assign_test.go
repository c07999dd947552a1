package sharding

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestAssignKeepsEveryMemberUnderTheBound(t *testing.T) {
	for _, shards := range []int{64, 256, 1024, 4096, 16384} {
		for n := 1; n <= 50; n++ {
			a := mustAssign(t, Config{Shards: shards}, nodes(n), Assignment{}, nil)
			if a.Shards() != shards || len(a.Members()) != n {
				t.Fatalf("%d shards on %d members: got %d shards, %d members", shards, n, a.Shards(), len(a.Members()))
			}
			checkBound(t, a, DefaultEpsilon)
		}
	}
}

func TestAssignKeepsTheBoundForRandomEpsilonsAndCapacities(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 200 {
		shards := 64 << rng.IntN(9) // 64..16384
		eps := []float64{0.01, 0.05, 0.1, 0.25, 1}[rng.IntN(5)]
		ms := nodes(1 + rng.IntN(50))
		for j := range ms {
			ms[j].Capacity = uint32(rng.IntN(5)) // 0 reads as 1
		}
		a := mustAssign(t, Config{Shards: shards, Epsilon: eps}, ms, Assignment{}, nil)
		checkBound(t, a, eps)
		if st := a.Stats(); st.MaxOverFair > 1+eps+float64(capTotal(ms))/float64(shards) {
			t.Errorf("case %d: max/fair %.3f beyond 1+ε plus one shard", i, st.MaxOverFair)
		}
	}
}

// capTotal is the total capacity of ms, 0 read as 1.
func capTotal(ms []Member) uint64 {
	var t uint64
	for _, m := range ms {
		t += m.weight()
	}
	return t
}

func TestAssignGivesMembersShardsInProportionToCapacity(t *testing.T) {
	ms := []Member{{ID: "small", Capacity: 1}, {ID: "medium", Capacity: 2}, {ID: "large", Capacity: 4}}
	a := mustAssign(t, Config{Shards: 7000}, ms, Assignment{}, nil)
	loads := a.Loads()
	for _, m := range ms {
		fair := 7000 * float64(m.Capacity) / 7
		if got := float64(loads[m.ID]); got < 0.75*fair || got > 1.25*fair {
			t.Errorf("%s (capacity %d) holds %v shards, want within 25%% of %v", m.ID, m.Capacity, got, fair)
		}
	}
}

func TestAssignIsDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	hourly := randomHourly(rng, 1024, HoursPerDay, 100)
	ms := nodes(12)
	prev := mustAssign(t, Config{Shards: 1024}, ms[:10], Assignment{}, nil)
	for _, cfg := range []Config{{Shards: 1024}, {Shards: 1024, DisableSticky: true}, {Shards: 1024, Epsilon: 0.05}} {
		want := mustAssign(t, cfg, ms, prev, hourly)
		for range 5 {
			shuffled := slices.Clone(ms)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if got := mustAssign(t, cfg, shuffled, prev, hourly); !got.Equal(want) {
				t.Fatalf("%+v: assignment differs for members in another order", cfg)
			}
		}
	}
}

func TestAssignWithoutStickyDependsOnlyOnMembers(t *testing.T) {
	cfg := Config{Shards: 2048, DisableSticky: true}
	fresh := mustAssign(t, cfg, nodes(8), Assignment{}, nil)
	viaHistory := mustAssign(t, cfg, nodes(8), mustAssign(t, cfg, nodes(5), Assignment{}, nil), nil)
	if len(Diff(fresh, viaHistory)) != 0 {
		t.Errorf("plain assignment of the same members differs by history")
	}
}

func TestAssignNumbersEpochsFromThePrevious(t *testing.T) {
	a := mustAssign(t, Config{Shards: 16}, nodes(2), Assignment{}, nil)
	b := mustAssign(t, Config{Shards: 16}, nodes(3), a.WithEpoch(41), nil)
	if a.Epoch() != 1 || b.Epoch() != 42 {
		t.Errorf("epochs %d, %d; want 1, 42", a.Epoch(), b.Epoch())
	}
}

func TestAssignRejectsInvalidInput(t *testing.T) {
	prev := mustAssign(t, Config{Shards: 8}, nodes(2), Assignment{}, nil)
	row := func(n int, v float64) []float64 { r := make([]float64, n); r[0] = v; return r }
	tests := []struct {
		name    string
		cfg     Config
		members []Member
		prev    Assignment
		hourly  [][]float64
		want    error
	}{
		{"zero shards is a config error", Config{}, nodes(1), Assignment{}, nil, ErrConfig},
		{"too many shards is a config error", Config{Shards: MaxShards + 1}, nodes(1), Assignment{}, nil, ErrConfig},
		{"a negative epsilon is a config error", Config{Shards: 4, Epsilon: -0.1}, nodes(1), Assignment{}, nil, ErrConfig},
		{"a NaN epsilon is a config error", Config{Shards: 4, Epsilon: math.NaN()}, nodes(1), Assignment{}, nil, ErrConfig},
		{"too many virtual nodes is a config error", Config{Shards: 4, VirtualNodes: MaxVirtualNodes + 1}, nodes(1), Assignment{}, nil, ErrConfig},
		{"a negative delta is a config error", Config{Shards: 4, HourDelta: -1}, nodes(1), Assignment{}, nil, ErrConfig},
		{"no members is an error of its own", Config{Shards: 4}, nil, Assignment{}, nil, ErrNoMembers},
		{"an empty ID is a member error", Config{Shards: 4}, []Member{{ID: ""}}, Assignment{}, nil, ErrMember},
		{"a duplicate ID is a member error", Config{Shards: 4}, []Member{{ID: "a"}, {ID: "a"}}, Assignment{}, nil, ErrMember},
		{"a capacity above the maximum is a member error", Config{Shards: 4}, []Member{{ID: "a", Capacity: MaxCapacity + 1}}, Assignment{}, nil, ErrMember},
		{"a previous assignment of another size is a count mismatch", Config{Shards: 16}, nodes(2), prev, nil, ErrShardCount},
		{"hourly rows for another shard count are a count mismatch", Config{Shards: 8}, nodes(2), Assignment{}, [][]float64{row(24, 1)}, ErrShardCount},
		{"rows of 12 hours are invalid", Config{Shards: 1}, nodes(2), Assignment{}, [][]float64{row(12, 1)}, ErrHourly},
		{"rows of different lengths are invalid", Config{Shards: 2}, nodes(2), Assignment{}, [][]float64{row(24, 1), row(168, 1)}, ErrHourly},
		{"a negative load is invalid", Config{Shards: 1}, nodes(2), Assignment{}, [][]float64{row(24, -1)}, ErrHourly},
		{"a NaN load is invalid", Config{Shards: 1}, nodes(2), Assignment{}, [][]float64{row(24, math.NaN())}, ErrHourly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Assign(tt.cfg, tt.members, tt.prev, tt.hourly)
			if !errors.Is(err, tt.want) {
				t.Errorf("Assign error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAssignSurvivesAHundredRandomMembershipChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 19))
	cfg := Config{Shards: 1024, Epsilon: 0.1}
	live := nodes(6)
	a := mustAssign(t, cfg, live, Assignment{}, nil)
	next := 6
	for i := range 100 {
		if len(live) > 1 && rng.IntN(2) == 0 {
			live = without(live, live[rng.IntN(len(live))].ID)
		} else {
			live = append(live, Member{ID: fmt.Sprintf("node-%02d", next), Capacity: uint32(1 + rng.IntN(3))})
			next++
		}
		b := mustAssign(t, cfg, live, a, nil)
		checkBound(t, b, cfg.Epsilon)
		if !b.SameMembers(live) {
			t.Fatalf("step %d: assignment members differ from the live set", i)
		}
		a = b
	}
}
