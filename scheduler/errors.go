package scheduler

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrInvalidSchedule is returned for a kind or day outside the enums.
	ErrInvalidSchedule = errors.New("scheduler: invalid schedule")
	// ErrInvalidSlot is returned for a slot that does not fit its schedule
	// or breaks the day-to-day shift bound.
	ErrInvalidSlot = errors.New("scheduler: invalid slot")
	// ErrInvalidRetention is returned for a retention count below 1.
	ErrInvalidRetention = errors.New("scheduler: retention must be at least 1")
	// ErrUnexpectedEvent is returned when an event does not apply to the
	// state a run is in; the run is returned unchanged.
	ErrUnexpectedEvent = errors.New("scheduler: event does not apply to run state")
)
