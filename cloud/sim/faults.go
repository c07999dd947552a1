package sim

import (
	"fmt"
)

// Faults are the seeded misbehaviours of the cloud. Every rate is a
// probability in [0, 1] drawn per request (or per image at creation) from the
// cloud's seeded source, so a run with the same seed and the same sequence of
// requests fails the same way. The zero value is a healthy cloud.
//
// Only Nova and Glance resource calls are affected; Keystone, version
// documents and the admin endpoint always answer, so clients can still
// authenticate and discover while the cloud misbehaves.
type Faults struct {
	// ConflictRate is the chance that a createImage on an idle server is
	// answered 409 conflictingRequest, as Nova does when another task races.
	ConflictRate float64 `json:"conflict_rate"`
	// ServerErrorRate is the chance that any compute or image call is
	// answered 503 (serviceUnavailable) without doing anything.
	ServerErrorRate float64 `json:"server_error_rate"`
	// ServerErrorRetryAfter is the Retry-After, in seconds, sent with those
	// 503s; 0 sends none, as a failing API node usually does.
	ServerErrorRetryAfter int `json:"server_error_retry_after"`
	// RateLimitRate is the chance that any compute or image call is answered
	// 429 overLimit without doing anything.
	RateLimitRate float64 `json:"rate_limit_rate"`
	// RateLimitRetryAfter is the Retry-After, in seconds, sent with 429s;
	// values below 1 send 1.
	RateLimitRetryAfter int `json:"rate_limit_retry_after"`
	// ImageErrorRate is the chance that a new snapshot ends in status error
	// instead of active.
	ImageErrorRate float64 `json:"image_error_rate"`
	// ImageKilledRate is the chance that a new snapshot ends in status killed
	// instead of active.
	ImageKilledRate float64 `json:"image_killed_rate"`
	// SlowSaveRate is the chance that a new snapshot saves SlowSaveFactor
	// times slower than its disk size would say.
	SlowSaveRate float64 `json:"slow_save_rate"`
	// SlowSaveFactor multiplies the save time of slow snapshots; values below
	// 1 mean 10.
	SlowSaveFactor float64 `json:"slow_save_factor"`
	// ServerVanishRate is the chance that a compute call naming a server
	// (show, createImage) finds it deleted by its owner just before: the
	// server is removed for good and the call answers 404.
	ServerVanishRate float64 `json:"server_vanish_rate"`
}

// Validate reports the first rate outside [0, 1] or negative count.
func (f Faults) Validate() error {
	rates := []struct {
		name string
		v    float64
	}{
		{"conflict_rate", f.ConflictRate},
		{"server_error_rate", f.ServerErrorRate},
		{"rate_limit_rate", f.RateLimitRate},
		{"image_error_rate", f.ImageErrorRate},
		{"image_killed_rate", f.ImageKilledRate},
		{"slow_save_rate", f.SlowSaveRate},
		{"server_vanish_rate", f.ServerVanishRate},
	}
	for _, r := range rates {
		if r.v < 0 || r.v > 1 || r.v != r.v {
			return fmt.Errorf("%w: %s %v is not in [0, 1]", ErrInvalid, r.name, r.v)
		}
	}
	if f.ImageErrorRate+f.ImageKilledRate > 1 {
		return fmt.Errorf("%w: image_error_rate + image_killed_rate exceeds 1", ErrInvalid)
	}
	if f.ServerErrorRetryAfter < 0 || f.RateLimitRetryAfter < 0 {
		return fmt.Errorf("%w: retry_after must not be negative", ErrInvalid)
	}
	return nil
}

func (f Faults) slowFactor() float64 {
	if f.SlowSaveFactor < 1 {
		return 10
	}
	return f.SlowSaveFactor
}

func (f Faults) rateLimitRetryAfter() int {
	return max(f.RateLimitRetryAfter, 1)
}

// SetFaults replaces the fault rates; it fails only on invalid rates.
func (c *Cloud) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	c.faults = f
	c.mu.Unlock()
	return nil
}

// Faults returns the fault rates in force.
func (c *Cloud) Faults() Faults {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.faults
}

// transportFault decides whether this compute or image call fails before it
// does anything: 0 means go ahead, otherwise the status and Retry-After.
func (c *Cloud) transportFault() (status, retryAfter int) {
	f := c.Faults()
	if c.rand.hit(f.RateLimitRate) {
		return 429, f.rateLimitRetryAfter()
	}
	if c.rand.hit(f.ServerErrorRate) {
		return 503, f.ServerErrorRetryAfter
	}
	return 0, 0
}
