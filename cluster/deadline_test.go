package cluster

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTheWriteDeadlineIsRenewedAndNeverOutlivesTheLease(t *testing.T) {
	c := newTestCluster(t, 16)
	a := c.start("a")
	b := c.start("b")
	st := c.waitSettled("a", "b")
	mine, theirs := st.assignment.ShardsOf("a")[0], st.assignment.ShardsOf("b")[0]
	c.waitOwned(a, st.assignment.ShardsOf("a"))

	first, err := a.WriteDeadline(mine)
	if err != nil {
		t.Fatalf("deadline of an owned shard: %v", err)
	}
	ttl := time.Duration(a.cfg.SessionTTL) * time.Second
	if now := time.Now(); !first.After(now) || first.After(now.Add(ttl)) {
		t.Fatalf("deadline %v is not within the %v TTL from now %v", first, ttl, now)
	}
	// a held every shard before b joined; once b owns its own, a's claims
	// on them are gone, and so is a's deadline for writing them.
	c.waitOwned(b, st.assignment.ShardsOf("b"))
	if _, err := a.WriteDeadline(theirs); !errors.Is(err, ErrFenced) {
		t.Fatalf("deadline of b's shard, which b owns: %v, want ErrFenced", err)
	}
	// Keep-alives move it on.
	renewed := time.NewTimer(waitTimeout)
	defer renewed.Stop()
	for {
		d, err := a.WriteDeadline(mine)
		if err != nil {
			t.Fatal(err)
		}
		if d.After(first) {
			break
		}
		select {
		case <-renewed.C:
			t.Fatal("the deadline was never renewed")
		case <-time.After(50 * time.Millisecond):
		}
	}

	// b stops keeping its lease alive, as a paused process would: etcd
	// must still hold the lease just before the last deadline b knew.
	sess, _ := b.sessions.current()
	b.sessions.orphan()
	last := b.sessions.writeDeadline(sess)
	time.Sleep(time.Until(last.Add(-20 * time.Millisecond))) // an instant, not a guess: the bound itself
	resp, err := c.observer.TimeToLive(context.Background(), sess.Lease())
	if err != nil {
		t.Fatal(err)
	}
	if resp.TTL < 0 {
		t.Fatalf("b's lease was gone from etcd before its write deadline %v", last)
	}
	if _, err := b.WriteDeadline(theirs); !errors.Is(err, ErrFenced) {
		t.Fatalf("deadline after the session was orphaned: %v, want ErrFenced", err)
	}
}
