package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/imgsched/imgsched/sharding"
)

func TestLoadsRoundTripAndFeedTheHourlyRowsOfLiveMembersOnly(t *testing.T) {
	s, _ := newTestStore(t, WithShardCount(4))
	ctx := context.Background()
	var hours [24]int32
	hours[3] = 7
	if err := s.PutLoad(ctx, "a", NodeLoad{Schedules: 2, At: time.Unix(1, 0).UTC(), ShardHours: map[int][24]int32{1: hours}}); err != nil {
		t.Fatal(err)
	}
	hours[3], hours[5] = 0, 9
	if err := s.PutLoad(ctx, "gone", NodeLoad{ShardHours: map[int][24]int32{2: hours}}); err != nil {
		t.Fatal(err)
	}
	loads, err := s.Loads(ctx)
	if err != nil || len(loads) != 2 || loads["a"].Schedules != 2 || loads["a"].ShardHours[1][3] != 7 {
		t.Fatalf("loads %+v, %v", loads, err)
	}
	rows := shardHours(loads, []sharding.Member{{ID: "a"}}, 4)
	if len(rows) != 4 || rows[1][3] != 7 || rows[2][5] != 0 {
		t.Fatalf("rows %v: want shard 1's hours from a and nothing from the lost node", rows)
	}
	if rows := shardHours(map[string]NodeLoad{"a": {}}, []sharding.Member{{ID: "a"}}, 4); rows != nil {
		t.Fatalf("rows %v without any reported hours, want nil (no hourly pass)", rows)
	}
}
