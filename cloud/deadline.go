package cloud

import (
	"context"
	"errors"
	"time"
)

// ErrSendDeadline means a request was not sent because the send deadline
// of its context (WithSendDeadline) had passed. Nothing reached the cloud.
var ErrSendDeadline = errors.New("cloud: send deadline passed; request not sent")

type sendDeadlineKey struct{}

// WithSendDeadline returns ctx carrying a send deadline: adapters send no
// HTTP request of a call made with it from that instant on, and fail the
// call with ErrSendDeadline instead. Unlike a context deadline it does not
// cut off an answer already on its way, which a request sent in time may
// still wait for.
//
// A scheduler node uses it for the writes etcd cannot fence: it may send
// them only while its lease surely lives (see cluster.Node.WriteDeadline).
func WithSendDeadline(ctx context.Context, d time.Time) context.Context {
	return context.WithValue(ctx, sendDeadlineKey{}, d)
}

// SendDeadline returns the send deadline of ctx, if it has one.
func SendDeadline(ctx context.Context) (time.Time, bool) {
	d, ok := ctx.Value(sendDeadlineKey{}).(time.Time)
	return d, ok
}
