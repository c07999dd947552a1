package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrCompacted means a watch asked for a revision etcd has compacted away:
// the watcher missed changes and must load its state again.
var ErrCompacted = errors.New("cluster: watch revision compacted")

// ScheduleChange says that a schedule was written or deleted. It carries no
// value: a level-triggered reader reads the current record when it acts.
type ScheduleChange struct {
	ServerID string
	Shard    int
	Deleted  bool
}

// ScheduleChanges is one batch of a schedule watch: the changes of one etcd
// revision range, the revision they bring the reader to, or an error that
// ends the watch.
type ScheduleChanges struct {
	Changes  []ScheduleChange
	Revision int64
	Err      error
}

// WatchSchedules watches every schedule of every shard from revision
// fromRev (inclusive) and sends the changes until ctx ends or the watch
// fails; a failure is sent as the last batch's Err (wrapping ErrCompacted
// when fromRev is compacted) and the channel is closed. The reader filters
// the shards it owns; one range watch costs etcd less than one per shard.
func (s *Store) WatchSchedules(ctx context.Context, fromRev int64) <-chan ScheduleChanges {
	out := make(chan ScheduleChanges, 16)
	prefix := s.keys.schedules()
	go func() {
		defer close(out)
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		defer cancel()
		wch := s.client.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(fromRev))
		send := func(b ScheduleChanges) bool {
			select {
			case out <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for resp := range wch {
			if err := resp.Err(); err != nil {
				if resp.CompactRevision != 0 || errors.Is(err, rpctypes.ErrCompacted) {
					err = fmt.Errorf("%w: from %d, compacted at %d: %w", ErrCompacted, fromRev, resp.CompactRevision, err)
				}
				send(ScheduleChanges{Err: fmt.Errorf("cluster: watch schedules: %w", err)})
				return
			}
			if resp.IsProgressNotify() && len(resp.Events) == 0 {
				continue
			}
			b := ScheduleChanges{Revision: resp.Header.Revision, Changes: make([]ScheduleChange, 0, len(resp.Events))}
			for _, ev := range resp.Events {
				shard, id, ok := splitScheduleKey(strings.TrimPrefix(string(ev.Kv.Key), prefix))
				if !ok {
					continue
				}
				b.Changes = append(b.Changes, ScheduleChange{ServerID: id, Shard: shard, Deleted: ev.Type == clientv3.EventTypeDelete})
			}
			if !send(b) {
				return
			}
		}
		if ctx.Err() == nil {
			send(ScheduleChanges{Err: errors.New("cluster: watch schedules: closed by etcd")})
		}
	}()
	return out
}

// splitScheduleKey splits "SSSS/SERVER" (a schedule key without the
// schedules prefix) into the shard and the server id.
func splitScheduleKey(rest string) (int, string, bool) {
	sh, id, ok := strings.Cut(rest, "/")
	if !ok || id == "" {
		return 0, "", false
	}
	n, err := strconv.Atoi(sh)
	if err != nil {
		return 0, "", false
	}
	return n, id, true
}
