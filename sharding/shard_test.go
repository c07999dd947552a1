package sharding

import (
	"fmt"
	"testing"
)

func TestShard(t *testing.T) {
	// Golden values of FNV-1a 64 modulo count, computed independently: the
	// mapping is part of the storage format and must never change.
	tests := []struct {
		name     string
		serverID string
		count    int
		want     int
	}{
		{"the empty ID hashes to the offset basis modulo count", "", 4096, 805},
		{"a one-letter ID hashes as FNV-1a specifies", "a", 4096, 3212},
		{"a Nova UUID lands on its fixed shard", "3f8a5c1e-0b1d-4f1e-9d3c-2a7b8c9d0e1f", 4096, 3321},
		{"a larger shard count keeps the full hash", "server-1", 16384, 9140},
		{"a count that is not a power of two takes the remainder", "server-1", 7, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Shard(tt.serverID, tt.count); got != tt.want {
				t.Errorf("Shard(%q, %d) = %d, want %d", tt.serverID, tt.count, got, tt.want)
			}
		})
	}
}

func TestShardStaysInRangeAndSpreadsServers(t *testing.T) {
	const count, servers = 64, 64000
	hist := make([]int, count)
	for i := range servers {
		s := Shard(fmt.Sprintf("server-%d", i), count)
		if s < 0 || s >= count {
			t.Fatalf("Shard = %d, outside [0, %d)", s, count)
		}
		hist[s]++
	}
	// 1000 expected per shard, standard deviation about 31.
	for s, n := range hist {
		if n < 850 || n > 1150 {
			t.Errorf("shard %d got %d of %d servers, want about 1000", s, n, servers)
		}
	}
}

func TestShardPanicsOnANonPositiveCount(t *testing.T) {
	for _, count := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Shard(_, %d) did not panic", count)
				}
			}()
			Shard("x", count)
		}()
	}
}
