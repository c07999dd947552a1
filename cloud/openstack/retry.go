package openstack

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/cloud"
)

// retrier is gophercloud's RetryFunc for every provider client of a Client:
// gophercloud calls it after each failed attempt, and a nil answer repeats
// the request. Retrying per HTTP request (not per operation) means a listing
// resumes at the page that failed.
type retrier struct {
	policy RetryPolicy
	clock  Clock
	sleep  func(context.Context, time.Duration) error
	log    *zap.Logger
}

// retry decides about one failed attempt. It returns nil to repeat the
// request after sleeping, err itself when the failure is permanent (or ctx
// ended), and a *cloud.TransientError when the failure is transient but the
// retries are exhausted, the wait would outlast ctx or MaxRetryAfter, or
// repeating the request could do its work twice.
func (r *retrier) retry(ctx context.Context, method, url string, _ *gophercloud.RequestOpts, err error, failCount uint) error {
	if ctx.Err() != nil {
		return err
	}
	terr := transient(err, r.clock.Now())
	if terr == nil {
		return err
	}
	if !repeatable(method, url, terr) {
		return terr
	}
	if failCount > uint(r.policy.MaxRetries) {
		return terr
	}
	if terr.RetryAfter > r.policy.MaxRetryAfter {
		return terr
	}
	d := r.delay(terr, failCount)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return terr
	}
	r.log.Debug("retrying cloud request",
		zap.String("method", method), zap.String("url", url),
		zap.Int("status", terr.Status), zap.Uint("attempt", failCount),
		zap.Duration("delay", d), zap.Error(err))
	if serr := r.sleep(ctx, d); serr != nil {
		return fmt.Errorf("openstack: waiting to retry %s %s: %w (last failure: %v)", method, url, serr, terr)
	}
	return nil
}

// delay is the wait before retry number n (from 1): the Retry-After the
// cloud asked for, exactly; otherwise BaseBackoff·2^(n-1) capped at
// MaxBackoff, less a random jitter of up to half of it.
func (r *retrier) delay(terr *cloud.TransientError, n uint) time.Duration {
	if terr.RetryAfter > 0 {
		return terr.RetryAfter
	}
	d := r.policy.MaxBackoff
	if n-1 < 32 {
		if exp := r.policy.BaseBackoff << (n - 1); exp > 0 && exp < d {
			d = exp
		}
	}
	return d - rand.N(d/2+1)
}

// transient returns the failure as a TransientError when it is one: a 429,
// a 5xx other than 501, or no answer at all (timeout, refused or broken
// connection). Anything else is nil.
func transient(err error, now time.Time) *cloud.TransientError {
	if errors.Is(err, cloud.ErrSendDeadline) {
		return nil // never sent: nothing to retry or look up
	}
	var terr *cloud.TransientError
	if errors.As(err, &terr) {
		return terr
	}
	if code, ok := responseError(err); ok {
		switch {
		case code.Actual == http.StatusTooManyRequests,
			code.Actual >= 500 && code.Actual != http.StatusNotImplemented:
			return &cloud.TransientError{
				Status:     code.Actual,
				RetryAfter: retryAfter(code.ResponseHeader.Get("Retry-After"), now),
				Err:        err,
			}
		}
		return nil
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return &cloud.TransientError{Err: err}
	}
	return nil
}

// repeatable reports whether repeating the request is safe. Reads, deletes
// and authentication are; other POSTs (createImage, trusts) are repeated only
// when the cloud certainly did not act: 429, 503, or a refused connection.
func repeatable(method, url string, terr *cloud.TransientError) bool {
	if method != http.MethodPost || strings.HasSuffix(url, "/auth/tokens") {
		return true
	}
	switch terr.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case 0:
		var op *net.OpError
		return errors.As(terr.Err, &op) && op.Op == "dial"
	}
	return false
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// responseError finds gophercloud's unexpected-status error in err's chain;
// gophercloud returns it by value or by pointer depending on the path.
func responseError(err error) (gophercloud.ErrUnexpectedResponseCode, bool) {
	var v gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &v) {
		return v, true
	}
	var p *gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &p) && p != nil {
		return *p, true
	}
	return v, false
}
