package openstack

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"go.uber.org/zap"

	"github.com/imgsched/imgsched/cloud"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func TestRetryAfterParsesSecondsAndDates(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   time.Duration
	}{
		{"delay-seconds are honoured", "7", 7 * time.Second},
		{"a missing header means no request", "", 0},
		{"zero means no request", "0", 0},
		{"a negative delay is ignored", "-3", 0},
		{"an HTTP date is measured from now", epoch.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"a date in the past means no wait", epoch.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"garbage is ignored", "soon", 0},
		{"an absurd delay is capped at a day", "99999999999", 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.header, epoch); got != tt.want {
				t.Errorf("retryAfter(%q) = %s, want %s", tt.header, got, tt.want)
			}
		})
	}
}

func TestBackoffDoublesWithJitterUpToTheCap(t *testing.T) {
	r := &retrier{policy: RetryPolicy{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	for n := uint(1); n <= 40; n++ {
		exp := min(100*time.Millisecond<<min(n-1, 20), time.Second)
		for range 50 {
			d := r.delay(&cloud.TransientError{Status: 503}, n)
			if d < exp/2 || d > exp {
				t.Fatalf("delay for retry %d = %s, want within [%s, %s]", n, d, exp/2, exp)
			}
		}
	}
	if d := r.delay(&cloud.TransientError{Status: 429, RetryAfter: 3 * time.Second}, 1); d != 3*time.Second {
		t.Errorf("delay with Retry-After 3s = %s, want exactly 3s", d)
	}
}

func TestRepeatableOnlyWhenTheCloudCannotHaveActed(t *testing.T) {
	action := "http://nova/v2.1/servers/s1/action"
	dial := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Err: errors.New("connection reset")}
	tests := []struct {
		name        string
		method, url string
		terr        *cloud.TransientError
		want        bool
	}{
		{"a GET is repeated after a 500", http.MethodGet, "http://nova/v2.1/servers/s1", &cloud.TransientError{Status: 500}, true},
		{"a DELETE is repeated after a timeout", http.MethodDelete, "http://glance/v2/images/i1", &cloud.TransientError{Err: read}, true},
		{"authentication is repeated after a 500", http.MethodPost, "http://keystone/v3/auth/tokens", &cloud.TransientError{Status: 500}, true},
		{"createImage is repeated after a 503", http.MethodPost, action, &cloud.TransientError{Status: 503}, true},
		{"createImage is repeated after a 429", http.MethodPost, action, &cloud.TransientError{Status: 429}, true},
		{"createImage is repeated when the connection was refused", http.MethodPost, action, &cloud.TransientError{Err: dial}, true},
		{"createImage is not repeated after a 500", http.MethodPost, action, &cloud.TransientError{Status: 500}, false},
		{"createImage is not repeated after a 504", http.MethodPost, action, &cloud.TransientError{Status: 504}, false},
		{"createImage is not repeated after a broken connection", http.MethodPost, action, &cloud.TransientError{Err: read}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := repeatable(tt.method, tt.url, tt.terr); got != tt.want {
				t.Errorf("repeatable = %v, want %v", got, tt.want)
			}
		})
	}
}

func statusError(status int, retryAfter string) error {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return gophercloud.ErrUnexpectedResponseCode{Method: "GET", URL: "http://x/", Actual: status, ResponseHeader: h}
}

func TestRetryDecisions(t *testing.T) {
	var slept []time.Duration
	r := &retrier{
		policy: RetryPolicy{MaxRetries: 2, BaseBackoff: time.Second, MaxBackoff: 8 * time.Second, MaxRetryAfter: time.Minute},
		clock:  fixedClock(epoch),
		sleep: func(_ context.Context, d time.Duration) error {
			slept = append(slept, d)
			return nil
		},
		log: zap.NewNop(),
	}
	ctx := context.Background()

	t.Run("a 404 is returned as it is, without sleeping", func(t *testing.T) {
		slept = nil
		got := r.retry(ctx, "GET", "http://x/", nil, statusError(404, ""), 1)
		if code, ok := responseError(got); !ok || code.Actual != 404 || errors.Is(got, cloud.ErrTransient) {
			t.Errorf("retry = %v, want the 404 itself", got)
		}
		if len(slept) != 0 {
			t.Errorf("slept %v", slept)
		}
	})
	t.Run("a 503 with Retry-After is retried after exactly that delay", func(t *testing.T) {
		slept = nil
		if got := r.retry(ctx, "GET", "http://x/", nil, statusError(503, "4"), 1); got != nil {
			t.Fatalf("retry = %v, want nil (repeat)", got)
		}
		if len(slept) != 1 || slept[0] != 4*time.Second {
			t.Errorf("slept %v, want [4s]", slept)
		}
	})
	t.Run("the failure after the last retry is a TransientError", func(t *testing.T) {
		slept = nil
		got := r.retry(ctx, "GET", "http://x/", nil, statusError(429, "4"), 3)
		var terr *cloud.TransientError
		if !errors.As(got, &terr) || terr.Status != 429 || terr.RetryAfter != 4*time.Second {
			t.Fatalf("retry = %v, want TransientError 429 retry after 4s", got)
		}
		if len(slept) != 0 {
			t.Errorf("slept %v", slept)
		}
	})
	t.Run("a Retry-After beyond MaxRetryAfter ends the call at once", func(t *testing.T) {
		slept = nil
		got := r.retry(ctx, "GET", "http://x/", nil, statusError(503, "3600"), 1)
		var terr *cloud.TransientError
		if !errors.As(got, &terr) || terr.RetryAfter != time.Hour {
			t.Fatalf("retry = %v, want TransientError retry after 1h", got)
		}
		if len(slept) != 0 {
			t.Errorf("slept %v", slept)
		}
	})
	t.Run("a wait that would outlast the context is not started", func(t *testing.T) {
		slept = nil
		short, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		got := r.retry(short, "GET", "http://x/", nil, statusError(503, "7200"), 1)
		if !errors.Is(got, cloud.ErrTransient) || len(slept) != 0 {
			t.Errorf("retry = %v after sleeping %v; want a TransientError without sleeping", got, slept)
		}
	})
	t.Run("a cancelled context stops retrying", func(t *testing.T) {
		slept = nil
		done, cancel := context.WithCancel(ctx)
		cancel()
		got := r.retry(done, "GET", "http://x/", nil, statusError(503, ""), 1)
		if code, ok := responseError(got); !ok || code.Actual != 503 || errors.Is(got, cloud.ErrTransient) || len(slept) != 0 {
			t.Errorf("retry = %v after sleeping %v; want the failure itself at once", got, slept)
		}
	})
	t.Run("a sleep cut short by the context ends the call with the context's error", func(t *testing.T) {
		r := *r
		r.sleep = func(context.Context, time.Duration) error { return context.Canceled }
		got := r.retry(ctx, "GET", "http://x/", nil, statusError(503, ""), 1)
		if !errors.Is(got, context.Canceled) {
			t.Errorf("retry = %v, want context.Canceled", got)
		}
	})
	t.Run("a 500 of createImage is returned as transient without a retry", func(t *testing.T) {
		slept = nil
		got := r.retry(ctx, "POST", "http://x/servers/s1/action", nil, statusError(500, ""), 1)
		if !errors.Is(got, cloud.ErrTransient) || len(slept) != 0 {
			t.Errorf("retry = %v after sleeping %v", got, slept)
		}
	})
}
