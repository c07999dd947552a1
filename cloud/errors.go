package cloud

import (
	"errors"
	"fmt"
	"time"
)

// Errors a cloud call can end in. Implementations wrap them (with the cause)
// so callers check with errors.Is.
var (
	// ErrServerBusy: Nova refused the action because the server is in
	// another task (409 Conflict). Retry later.
	ErrServerBusy = errors.New("cloud: server is busy")
	// ErrServerGone: Nova does not know the server (404). Do not retry.
	ErrServerGone = errors.New("cloud: server not found")
	// ErrNotFound: Glance does not know the image (404).
	ErrNotFound = errors.New("cloud: image not found")
	// ErrUnauthorized: a token or credential is invalid or expired (401), or
	// a trust no longer grants access.
	ErrUnauthorized = errors.New("cloud: unauthorized")
	// ErrForbidden: the credential is valid but not allowed to do this (403).
	ErrForbidden = errors.New("cloud: forbidden")
	// ErrImageFailed: the image ended in status error or killed.
	ErrImageFailed = errors.New("cloud: image failed")
	// ErrTransient matches every *TransientError with errors.Is.
	ErrTransient = errors.New("cloud: transient error")
)

// TransientError is a failure that may succeed if repeated later: a 5xx or
// 429 answer, a timeout or a broken connection. Implementations return it
// once their own bounded retries are exhausted (or when repeating the request
// would not be safe).
type TransientError struct {
	// Status is the HTTP status, or 0 when no answer arrived.
	Status int
	// RetryAfter is how long the cloud asked the caller to wait (from the
	// Retry-After header); 0 when it did not say.
	RetryAfter time.Duration
	// Err is the underlying failure.
	Err error
}

func (e *TransientError) Error() string {
	msg := "cloud: transient error"
	if e.Status != 0 {
		msg += fmt.Sprintf(" (status %d)", e.Status)
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying failure.
func (e *TransientError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrTransient) true for every TransientError.
func (e *TransientError) Is(target error) bool { return target == ErrTransient }
