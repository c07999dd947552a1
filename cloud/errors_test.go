package cloud

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestTransientErrorIsErrTransientAndUnwrapsItsCause(t *testing.T) {
	cause := errors.New("503 from nova")
	err := fmt.Errorf("create image: %w", &TransientError{Status: 503, RetryAfter: 2 * time.Second, Err: cause})

	if !errors.Is(err, ErrTransient) {
		t.Errorf("errors.Is(%v, ErrTransient) = false", err)
	}
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, cause) = false", err)
	}
	var terr *TransientError
	if !errors.As(err, &terr) || terr.Status != 503 || terr.RetryAfter != 2*time.Second {
		t.Fatalf("errors.As = %v, %+v", errors.As(err, &terr), terr)
	}
	if errors.Is(err, ErrServerBusy) {
		t.Errorf("a transient error must not match ErrServerBusy")
	}
	if got, want := terr.Error(), "cloud: transient error (status 503) (retry after 2s): 503 from nova"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestSentinelErrorsAreDistinct(t *testing.T) {
	all := []error{ErrServerBusy, ErrServerGone, ErrNotFound, ErrUnauthorized, ErrForbidden, ErrImageFailed, ErrTransient}
	for i, a := range all {
		for j, b := range all {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
}
