package scheduler

import (
	"fmt"
	"slices"
	"time"
)

// State is where a run stands. StateDone, StateFailed and StateSkipped are terminal.
//
//	StatePending ─tick at slot─▶ StateCreating ─created─▶ StateSaving ─active─▶ StateActive ─listed─▶ StateRetention ─deleted all─▶ StateDone
//	StateCreating ─failed─▶ StateRetryWait ─tick─▶ StateCreating      (StateSaving ─image failed─▶ StateRetryWait, leftover deleted)
//	StateCreating ─previous image saving─▶ StateWaiting ─tick─▶ StateCreating
//	attempts used up or window over ─▶ StateRetention ─▶ StateFailed
//	server gone (any non-terminal state) ─▶ StateSkipped
type State uint8

const (
	StatePending   State = iota + 1 // waiting for the slot
	StateCreating                   // an image is being asked for
	StateSaving                     // the image exists and is being saved
	StateActive                     // the image is ACTIVE; listing images for retention
	StateRetention                  // deleting images past the retention count
	StateDone                       // terminal: image ACTIVE, retention applied
	StateFailed                     // terminal: no image this window, retention applied
	StateRetryWait                  // an attempt failed; waiting for the next
	StateWaiting                    // the previous image was still saving; waiting for the next attempt
	StateSkipped                    // terminal: the server is gone
)

// String names the state for records and metrics.
func (s State) String() string {
	names := [...]string{"", "pending", "creating", "saving", "active", "retention", "done", "failed", "retry-wait", "waiting", "skipped"}
	if int(s) < len(names) && s != 0 {
		return names[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Terminal reports whether no event moves s any more.
func (s State) Terminal() bool { return s == StateDone || s == StateFailed || s == StateSkipped }

// Run is the record of one (server, window): the whole state an executor
// persists. Step and Reconcile are pure functions of it, so any node that
// reads it back resumes where the last one stopped.
type Run struct {
	ID         string
	ServerID   string
	ServerName string
	Window     Window
	Slot       time.Time // the slot's instant in Window
	Policy     RetryPolicy
	State      State
	Attempts   []Attempt
	NextAt     time.Time // StatePending, StateRetryWait, StateWaiting: when the next attempt is due
	ImageID    string    // the image of the current or successful attempt
	ImageName  string
	CreatedAt  time.Time // when the image was asked for (its created_at)
	ActiveAt   time.Time // when it was seen ACTIVE
	Leftover   string    // a failed attempt's image still to delete
	Listed     bool      // StateRetention: the images have been listed
	Deleting   []string  // StateRetention: images still to delete
	Outcome    Outcome
	Reason     string
}

// NewRun returns the pending run of serverID for window w, due at slot
// (Due keeps it out of the window's opening guard).
func NewRun(serverID, serverName string, w Window, slot time.Time, policy RetryPolicy) Run {
	return Run{
		ID:         RunID(serverID, w),
		ServerID:   serverID,
		ServerName: serverName,
		Window:     w,
		Slot:       slot,
		Policy:     policy,
		State:      StatePending,
		NextAt:     slot,
	}
}

// Due returns when the next attempt of a waiting run (StatePending,
// StateRetryWait, StateWaiting) may start: NextAt, or the window's opening
// plus the policy's guard if that is later. A tick at or past Cutoff ends
// the run without another attempt.
func (r Run) Due() time.Time {
	if open := r.Policy.Opens(r.Window); r.NextAt.Before(open) {
		return open
	}
	return r.NextAt
}

// Cutoff returns the instant from which the run starts no attempt and asks
// for no image: the window's end less the policy's guard.
func (r Run) Cutoff() time.Time { return r.Policy.Cutoff(r.Window) }

// EventKind says what an executor observed.
type EventKind uint8

const (
	// EventTick: time At has come (a timer fired, or a periodic reconcile).
	EventTick EventKind = iota + 1
	// EventServerGone: Nova answered 404 for the server.
	EventServerGone
	// EventPreviousSaving: the server's previous image is still saving (Reason).
	EventPreviousSaving
	// EventImageCreated: the create call returned ImageID at CreatedAt, or an
	// image carrying this run and attempt was found.
	EventImageCreated
	// EventCreateFailed: the create call failed (Reason).
	EventCreateFailed
	// EventImageActive: the image is ACTIVE at At.
	EventImageActive
	// EventImageFailed: the image went to ERROR or killed, or vanished (Reason).
	EventImageFailed
	// EventImagesListed: the server's images (Images) and the schedule's
	// current retention (Keep).
	EventImagesListed
	// EventImageDeleted: ImageID is deleted (or was already gone).
	EventImageDeleted
)

// Event is an observation fed to Step. Only the fields its Kind names are
// read.
type Event struct {
	Kind      EventKind
	At        time.Time
	ImageID   string
	CreatedAt time.Time
	Reason    string
	Images    []Image
	Keep      int
}

// ActionKind says what an executor must do.
type ActionKind uint8

const (
	// ActionWaitUntil: feed EventTick at At (or earlier; a tick before NextAt is a no-op).
	ActionWaitUntil ActionKind = iota + 1
	// ActionCreateImage: first look for an image carrying Metadata's run id and
	// attempt and report it with EventImageCreated; else check the server
	// (EventServerGone) and its previous image (EventPreviousSaving); else, if
	// the run's Cutoff has not come, ask Nova for an image named Name with
	// Metadata and report EventImageCreated or EventCreateFailed, and past
	// the Cutoff report EventCreateFailed without asking (an image asked
	// for so late could be stamped into the next window).
	ActionCreateImage
	// ActionPollImage: read ImageID's status; report EventImageActive, EventImageFailed,
	// or nothing while it saves (then EventTick later).
	ActionPollImage
	// ActionListImages: list the server's images and report EventImagesListed with
	// the schedule's current retention.
	ActionListImages
	// ActionDeleteImage: delete ImageID (a 404 is success); report EventImageDeleted.
	ActionDeleteImage
)

// Action is one thing Step or Reconcile asks the executor to do.
type Action struct {
	Kind     ActionKind
	At       time.Time
	ImageID  string
	Name     string
	Metadata map[string]string
	Attempt  int
	Reason   string
}

// Result is what a run records for the API's history.
type Result struct {
	RunID     string
	WindowID  string
	State     State
	Attempts  int
	ImageID   string
	CreatedAt time.Time
	ActiveAt  time.Time
	Outcome   Outcome
	Reason    string
}

// Result summarises r.
func (r Run) Result() Result {
	return Result{
		RunID: r.ID, WindowID: r.Window.ID(), State: r.State, Attempts: len(r.Attempts),
		ImageID: r.ImageID, CreatedAt: r.CreatedAt, ActiveAt: r.ActiveAt, Outcome: r.Outcome, Reason: r.Reason,
	}
}

// Reconcile returns the actions r's state calls for, whatever happened
// before: what a node that just took the run over (or restarted) does.
// Running them twice is safe: creation is found by run id and attempt,
// deletion tolerates 404.
func (r Run) Reconcile() []Action {
	var acts []Action
	if r.Leftover != "" && !r.State.Terminal() {
		acts = append(acts, Action{Kind: ActionDeleteImage, ImageID: r.Leftover, Reason: "leftover of a failed attempt"})
	}
	switch r.State {
	case StatePending, StateRetryWait, StateWaiting:
		acts = append(acts, Action{Kind: ActionWaitUntil, At: r.Due()})
	case StateCreating:
		n := len(r.Attempts)
		acts = append(acts, Action{Kind: ActionCreateImage, Name: r.ImageName, Metadata: Metadata(r.ID, n), Attempt: n})
	case StateSaving:
		acts = append(acts, Action{Kind: ActionPollImage, ImageID: r.ImageID})
	case StateActive:
		acts = append(acts, Action{Kind: ActionListImages})
	case StateRetention:
		if !r.Listed {
			acts = append(acts, Action{Kind: ActionListImages})
		}
		for _, id := range r.Deleting {
			acts = append(acts, Action{Kind: ActionDeleteImage, ImageID: id, Reason: "past retention"})
		}
	}
	return acts
}

// Step applies ev to r and returns the next run and the actions to take.
// An event that does not apply to r's state (a stale report after a
// takeover, say) returns r unchanged, no action, and ErrUnexpectedEvent.
func (r Run) Step(ev Event) (Run, []Action, error) {
	next, ok := r.step(ev)
	if !ok {
		return r, nil, fmt.Errorf("%w: %v in %v", ErrUnexpectedEvent, ev.Kind, r.State)
	}
	return next, next.actionsAfter(r), nil
}

// actionsAfter returns the actions for n, having come from prev: the state's
// own actions, except that a EventTick which changed nothing asks for nothing
// new beyond them.
func (n Run) actionsAfter(prev Run) []Action {
	return n.Reconcile()
}

func (r Run) step(ev Event) (Run, bool) {
	r.Attempts = slices.Clip(r.Attempts)
	r.Deleting = slices.Clip(r.Deleting)
	if r.State.Terminal() {
		return r, false
	}
	if ev.Kind == EventServerGone {
		r.State, r.Outcome, r.Reason = StateSkipped, OutcomeServerGone, "server not found"
		if n := len(r.Attempts); n > 0 && r.Attempts[n-1].Outcome == 0 {
			r.Attempts[n-1] = Attempt{At: r.Attempts[n-1].At, Outcome: OutcomeServerGone, Reason: r.Reason}
		}
		return r, true
	}
	if ev.Kind == EventImageDeleted && ev.ImageID != "" && ev.ImageID == r.Leftover {
		r.Leftover = ""
		return r.settle(), true
	}
	switch r.State {
	case StatePending, StateRetryWait, StateWaiting:
		if ev.Kind != EventTick {
			return r, false
		}
		if !ev.At.Before(r.Cutoff()) {
			why := "window ended"
			if ev.At.Before(r.Window.End) {
				why = fmt.Sprintf("window ends within its %v guard", r.Policy.Guard)
			}
			if len(r.Attempts) > 0 {
				why += ": " + r.Attempts[len(r.Attempts)-1].Reason
			} else {
				why += " before any attempt"
			}
			return r.exhausted(why), true
		}
		if ev.At.Before(r.Due()) {
			return r, true
		}
		r.State = StateCreating
		r.ImageID, r.CreatedAt = "", time.Time{}
		r.ImageName = ImageName(r.Window.Schedule.Kind, r.ServerName, ev.At)
		r.Attempts = append(r.Attempts, Attempt{At: ev.At})
		return r, true
	case StateCreating:
		switch ev.Kind {
		case EventTick:
			return r, true
		case EventImageCreated:
			r.State, r.ImageID, r.CreatedAt = StateSaving, ev.ImageID, ev.CreatedAt
			return r, true
		case EventCreateFailed:
			return r.finishAttempt(OutcomeFailed, ev.Reason), true
		case EventPreviousSaving:
			return r.finishAttempt(OutcomeWaited, "previous image still saving: "+ev.Reason), true
		}
	case StateSaving:
		switch ev.Kind {
		case EventTick:
			return r, true
		case EventImageActive:
			r.Attempts[len(r.Attempts)-1].Outcome = OutcomeSucceeded
			r.State, r.ActiveAt, r.Outcome, r.Reason = StateActive, ev.At, OutcomeSucceeded, ""
			return r, true
		case EventImageFailed:
			r.Leftover, r.ImageID = r.ImageID, ""
			return r.finishAttempt(OutcomeFailed, ev.Reason), true
		}
	case StateActive, StateRetention:
		switch ev.Kind {
		case EventTick:
			return r, true
		case EventImagesListed:
			if r.State == StateRetention && r.Listed {
				return r, false
			}
			decisions, err := Retention(r.ServerID, ev.Keep, ev.Images)
			if err != nil {
				return r, false
			}
			r.State, r.Listed, r.Deleting = StateRetention, true, Deletions(decisions)
			return r.settle(), true
		case EventImageDeleted:
			i := slices.Index(r.Deleting, ev.ImageID)
			if r.State != StateRetention || i < 0 {
				return r, false
			}
			r.Deleting = slices.Delete(r.Deleting, i, i+1)
			return r.settle(), true
		}
	}
	return r, false
}

// finishAttempt records the current attempt's outcome and schedules the
// next one, or ends the window.
func (r Run) finishAttempt(o Outcome, reason string) Run {
	n := len(r.Attempts)
	r.Attempts[n-1] = Attempt{At: r.Attempts[n-1].At, Outcome: o, Reason: reason}
	at, ok := r.Policy.Next(r.Window, r.Slot, r.Attempts)
	if !ok {
		return r.exhausted(fmt.Sprintf("%d attempt(s), none succeeded; last: %s", n, reason))
	}
	r.State, r.NextAt, r.Reason = StateRetryWait, at, reason
	if o == OutcomeWaited {
		r.State = StateWaiting
	}
	return r
}

// exhausted ends the window without an image; retention still runs.
func (r Run) exhausted(reason string) Run {
	r.State, r.Outcome, r.Reason, r.Listed, r.NextAt = StateRetention, OutcomeFailed, reason, false, time.Time{}
	return r
}

// settle moves a StateRetention run with nothing left to do to its terminal
// state.
func (r Run) settle() Run {
	if r.State == StateRetention && r.Listed && len(r.Deleting) == 0 && r.Leftover == "" {
		if r.Outcome == OutcomeSucceeded {
			r.State = StateDone
		} else {
			r.State = StateFailed
		}
	}
	return r
}

// String names the event kind for logs and errors.
func (k EventKind) String() string {
	names := [...]string{"", "tick", "server-gone", "previous-saving", "image-created", "create-failed", "image-active", "image-failed", "images-listed", "image-deleted"}
	if k != 0 && int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// String names the action kind for logs.
func (k ActionKind) String() string {
	names := [...]string{"", "wait-until", "create-image", "poll-image", "list-images", "delete-image"}
	if k != 0 && int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}
