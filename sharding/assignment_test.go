package sharding

import (
	"slices"
	"testing"
)

func TestAssignmentAccessorsAgree(t *testing.T) {
	a := mustAssign(t, Config{Shards: 1000}, nodes(7), Assignment{}, nil)
	seen := make([]int, a.Shards())
	total := 0
	for _, m := range a.Members() {
		shards := a.ShardsOf(m.ID)
		if !slices.IsSorted(shards) {
			t.Errorf("ShardsOf(%s) not ascending", m.ID)
		}
		if a.Loads()[m.ID] != len(shards) {
			t.Errorf("Loads()[%s] = %d, ShardsOf has %d", m.ID, a.Loads()[m.ID], len(shards))
		}
		for _, s := range shards {
			if a.Owner(s) != m.ID {
				t.Errorf("Owner(%d) = %s, but ShardsOf(%s) lists it", s, a.Owner(s), m.ID)
			}
			seen[s]++
		}
		total += len(shards)
	}
	if total != a.Shards() || slices.Contains(seen, 0) {
		t.Errorf("ShardsOf over all members covers %d of %d shards", total, a.Shards())
	}
	if a.ShardsOf("stranger") != nil {
		t.Errorf("ShardsOf a non-member is not nil")
	}
	st := a.Stats()
	if st.Min > st.Max || st.Max > loadBounds(a.members, 1000, DefaultEpsilon)[0] || st.MaxOverFair < 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestMembersAreSortedAndCopied(t *testing.T) {
	a := mustAssign(t, Config{Shards: 8}, []Member{{ID: "c"}, {ID: "a", Capacity: 3}, {ID: "b"}}, Assignment{}, nil)
	ms := a.Members()
	want := []Member{{ID: "a", Capacity: 3}, {ID: "b", Capacity: 1}, {ID: "c", Capacity: 1}}
	if !slices.Equal(ms, want) {
		t.Fatalf("Members = %v, want %v", ms, want)
	}
	ms[0].ID = "mutated"
	if a.Members()[0].ID != "a" {
		t.Errorf("changing the returned slice changed the assignment")
	}
}

func TestSameMembers(t *testing.T) {
	a := mustAssign(t, Config{Shards: 8}, []Member{{ID: "a"}, {ID: "b", Capacity: 2}}, Assignment{}, nil)
	tests := []struct {
		name string
		ms   []Member
		want bool
	}{
		{"the same members in another order are the same", []Member{{ID: "b", Capacity: 2}, {ID: "a", Capacity: 1}}, true},
		{"capacity 0 reads as 1", []Member{{ID: "a"}, {ID: "b", Capacity: 2}}, true},
		{"a changed capacity differs", []Member{{ID: "a"}, {ID: "b", Capacity: 3}}, false},
		{"a missing member differs", []Member{{ID: "a"}}, false},
		{"an extra member differs", []Member{{ID: "a"}, {ID: "b", Capacity: 2}, {ID: "c"}}, false},
		{"a repeated member differs", []Member{{ID: "a"}, {ID: "a"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.SameMembers(tt.ms); got != tt.want {
				t.Errorf("SameMembers = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDiffListsEveryChangedOwner(t *testing.T) {
	a := Assignment{members: []Member{{ID: "a", Capacity: 1}, {ID: "b", Capacity: 1}}, owners: []uint16{0, 0, 1}}
	b := Assignment{members: []Member{{ID: "b", Capacity: 1}, {ID: "c", Capacity: 1}}, owners: []uint16{0, 1, 0}}
	want := []Move{{Shard: 0, From: "a", To: "b"}, {Shard: 1, From: "a", To: "c"}}
	if got := Diff(a, b); !slices.Equal(got, want) {
		t.Errorf("Diff = %v, want %v", got, want)
	}
	if got := Diff(Assignment{}, b); len(got) != 3 || got[0].From != "" {
		t.Errorf("Diff from the zero assignment = %v, want every shard from \"\"", got)
	}
}
