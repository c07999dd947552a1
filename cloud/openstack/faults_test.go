package openstack

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imgsched/imgsched/cloud"
	"github.com/imgsched/imgsched/cloud/sim"
)

// withRetries sets a retry policy with a known shape.
func withRetries(n int) func(*Config) {
	return func(cfg *Config) {
		cfg.Retry = RetryPolicy{MaxRetries: n, BaseBackoff: time.Second, MaxBackoff: 4 * time.Second, MaxRetryAfter: time.Minute}
	}
}

func setFaults(t *testing.T, tc *testCloud, f sim.Faults) {
	t.Helper()
	if err := tc.sim.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

func TestConflictIsServerBusy(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, sl := tc.newClient(t, withRetries(3))

	t.Run("an injected 409 is ErrServerBusy, not retried", func(t *testing.T) {
		setFaults(t, tc, sim.Faults{ConflictRate: 1})
		defer setFaults(t, tc, sim.Faults{})
		_, err := c.AsOperator().CreateImage(t.Context(), ten.server.ID, "daily-x", nil)
		if !errors.Is(err, cloud.ErrServerBusy) || errors.Is(err, cloud.ErrTransient) {
			t.Errorf("CreateImage = %v, want ErrServerBusy", err)
		}
		if len(sl.recorded()) != 0 {
			t.Errorf("a 409 was retried")
		}
	})
	t.Run("a server busy in another task is ErrServerBusy", func(t *testing.T) {
		if err := tc.sim.SetServerBusy(ten.server.ID, "resize_migrating"); err != nil {
			t.Fatal(err)
		}
		defer tc.sim.ClearServer(ten.server.ID)
		_, err := c.AsOperator().CreateImage(t.Context(), ten.server.ID, "daily-x", nil)
		if !errors.Is(err, cloud.ErrServerBusy) {
			t.Errorf("CreateImage = %v, want ErrServerBusy", err)
		}
	})
	t.Run("a server still saving the previous image is ErrServerBusy", func(t *testing.T) {
		if _, err := c.AsOperator().CreateImage(t.Context(), ten.server.ID, "daily-1", nil); err != nil {
			t.Fatal(err)
		}
		_, err := c.AsOperator().CreateImage(t.Context(), ten.server.ID, "daily-2", nil)
		if !errors.Is(err, cloud.ErrServerBusy) {
			t.Errorf("second CreateImage = %v, want ErrServerBusy", err)
		}
	})
}

func TestAServerDeletedByItsOwnerIsServerGone(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, _ := tc.newClient(t)
	setFaults(t, tc, sim.Faults{ServerVanishRate: 1})

	if _, err := c.GetServer(t.Context(), ten.server.ID); !errors.Is(err, cloud.ErrServerGone) {
		t.Errorf("GetServer = %v, want ErrServerGone", err)
	}
	if srv, ok := tc.sim.Server(ten.server.ID); ok && srv.Status != "DELETED" {
		t.Errorf("the server is still there: %+v", srv)
	}
}

func TestTransientFaultsAreRetriedHonouringRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		faults     sim.Faults
		status     int
		retryAfter time.Duration
	}{
		{"a 503 with Retry-After 3", sim.Faults{ServerErrorRate: 1, ServerErrorRetryAfter: 3}, 503, 3 * time.Second},
		{"a 429 with Retry-After 2", sim.Faults{RateLimitRate: 1, RateLimitRetryAfter: 2}, 429, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name+" ends in a TransientError once the retries are spent", func(t *testing.T) {
			tc := newTestCloud(t)
			ten := tc.addTenant("acme")
			c, sl := tc.newClient(t, withRetries(3))
			setFaults(t, tc, tt.faults)
			before := tc.front.count("GET", "/compute/v2.1/servers/")

			_, err := c.GetServer(t.Context(), ten.server.ID)
			var terr *cloud.TransientError
			if !errors.As(err, &terr) || !errors.Is(err, cloud.ErrTransient) {
				t.Fatalf("GetServer = %v, want a TransientError", err)
			}
			if terr.Status != tt.status || terr.RetryAfter != tt.retryAfter {
				t.Errorf("TransientError = status %d retry after %s, want %d and %s", terr.Status, terr.RetryAfter, tt.status, tt.retryAfter)
			}
			want := []time.Duration{tt.retryAfter, tt.retryAfter, tt.retryAfter}
			if got := sl.recorded(); !equalDurations(got, want) {
				t.Errorf("slept %v, want %v", got, want)
			}
			if n := tc.front.count("GET", "/compute/v2.1/servers/") - before; n != 4 {
				t.Errorf("%d attempts, want 4 (1 + 3 retries)", n)
			}
		})
		t.Run(tt.name+" is retried until the cloud recovers", func(t *testing.T) {
			tc := newTestCloud(t)
			ten := tc.addTenant("acme")
			c, sl := tc.newClient(t, withRetries(3))
			setFaults(t, tc, tt.faults)
			sl.onSleep = func(n int) {
				if n == 2 {
					_ = tc.sim.SetFaults(sim.Faults{})
				}
			}
			imageID, err := c.AsOperator().CreateImage(t.Context(), ten.server.ID, "daily-x", nil)
			if err != nil {
				t.Fatalf("CreateImage = %v, want success on the third attempt", err)
			}
			if got := sl.recorded(); !equalDurations(got, []time.Duration{tt.retryAfter, tt.retryAfter}) {
				t.Errorf("slept %v", got)
			}
			if imgs := tc.sim.ServerImages(ten.server.ID); len(imgs) != 1 || imgs[0].ID != imageID {
				t.Errorf("the cloud has %d images of the server, want exactly the one returned", len(imgs))
			}
		})
	}
}

func TestA503WithoutRetryAfterBacksOffExponentially(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, sl := tc.newClient(t, withRetries(4))
	setFaults(t, tc, sim.Faults{ServerErrorRate: 1})

	_, err := c.AsOperator().ListScheduledImages(t.Context(), ten.server.ID)
	if !errors.Is(err, cloud.ErrTransient) {
		t.Fatalf("ListScheduledImages = %v, want a TransientError", err)
	}
	caps := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	got := sl.recorded()
	if len(got) != len(caps) {
		t.Fatalf("slept %v, want %d sleeps", got, len(caps))
	}
	for i, d := range got {
		if d < caps[i]/2 || d > caps[i] {
			t.Errorf("sleep %d = %s, want within [%s, %s]", i+1, d, caps[i]/2, caps[i])
		}
	}
}

func TestFailedImagesAreReturnedAndReportImageFailed(t *testing.T) {
	for _, status := range []string{"error", "killed"} {
		t.Run("an image ending "+status, func(t *testing.T) {
			tc := newTestCloud(t)
			ten := tc.addTenant("acme")
			c, _ := tc.newClient(t)
			f := sim.Faults{ImageErrorRate: 1}
			if status == "killed" {
				f = sim.Faults{ImageKilledRate: 1}
			}
			setFaults(t, tc, f)
			id, err := c.AsOperator().CreateImage(t.Context(), ten.server.ID, "daily-x", nil)
			if err != nil {
				t.Fatal(err)
			}
			tc.finishSaving()
			img, err := c.AsOperator().GetImage(t.Context(), id)
			if err != nil {
				t.Fatalf("GetImage of a failed image = %v, want the image", err)
			}
			if img.Status != status || !errors.Is(img.Err(), cloud.ErrImageFailed) {
				t.Errorf("image = %+v, Err() = %v; want status %s and ErrImageFailed", img, img.Err(), status)
			}
		})
	}
}

func TestCancellingTheContextStopsRetrying(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, sl := tc.newClient(t, withRetries(10))
	setFaults(t, tc, sim.Faults{ServerErrorRate: 1})
	ctx, cancel := context.WithCancel(t.Context())
	sl.onSleep = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	_, err := c.GetServer(ctx, ten.server.ID)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("GetServer = %v, want context.Canceled", err)
	}
	if n := len(sl.recorded()); n != 2 {
		t.Errorf("slept %d times, want 2", n)
	}
}

func TestATimedOutAttemptIsRetried(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, sl := tc.newClient(t, withRetries(1), func(cfg *Config) { cfg.RequestTimeout = 200 * time.Millisecond })
	hung := make(chan struct{}, 1)
	tc.front.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/compute/v2.1/servers/") {
			return false
		}
		select {
		case hung <- struct{}{}: // the first attempt hangs until the client gives up
			<-r.Context().Done()
			return true
		default:
			return false
		}
	})
	srv, err := c.GetServer(t.Context(), ten.server.ID)
	if err != nil || srv.ID != ten.server.ID {
		t.Fatalf("GetServer = %+v, %v; want success on the second attempt", srv, err)
	}
	if n := len(sl.recorded()); n != 1 {
		t.Errorf("slept %d times, want 1", n)
	}

	t.Run("and is a TransientError without an answer when every attempt times out", func(t *testing.T) {
		tc.front.intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasPrefix(r.URL.Path, "/compute/v2.1/servers/") {
				return false
			}
			<-r.Context().Done()
			return true
		})
		_, err := c.GetServer(t.Context(), ten.server.ID)
		var terr *cloud.TransientError
		if !errors.As(err, &terr) || terr.Status != 0 {
			t.Errorf("GetServer = %v, want a TransientError with status 0", err)
		}
	})
}

func TestCreateImageIsNotRepeatedWhenNovaMayHaveActed(t *testing.T) {
	tc := newTestCloud(t)
	ten := tc.addTenant("acme")
	c, sl := tc.newClient(t, withRetries(3))
	// Nova does the work but the answer is lost behind a 502.
	tc.front.intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/action") {
			return false
		}
		rec := httptest.NewRecorder()
		tc.front.next.ServeHTTP(rec, r)
		if rec.Code != http.StatusAccepted { // e.g. a 401 for an expired token
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return true
		}
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return true
	})

	t.Run("without a run id the failure is transient and not retried", func(t *testing.T) {
		_, err := c.AsOperator().CreateImage(t.Context(), ten.server.ID, "daily-1", nil)
		if !errors.Is(err, cloud.ErrTransient) {
			t.Errorf("CreateImage = %v, want a TransientError", err)
		}
		if n := tc.front.count("POST", "/compute/v2.1/servers/"+ten.server.ID+"/action"); n != 1 {
			t.Errorf("%d createImage requests, want 1", n)
		}
		if len(sl.recorded()) != 0 {
			t.Errorf("slept %v", sl.recorded())
		}
	})
	tc.finishSaving()
	t.Run("with a run id the image Nova made is found and returned", func(t *testing.T) {
		id, err := c.AsOperator().CreateImage(t.Context(), ten.server.ID, "daily-2", map[string]string{cloud.RunIDKey: "run-2"})
		if err != nil {
			t.Fatalf("CreateImage = %v, want the image found by its run id", err)
		}
		img, ok := tc.sim.LookupImage(id)
		if !ok || img.Properties[cloud.RunIDKey] != "run-2" {
			t.Errorf("returned %s, which is not the image of run-2 (%+v)", id, img)
		}
	})
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
