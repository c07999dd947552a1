package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Image properties the service reads and writes.
const (
	// PropertyCreatedBy marks the images the service created; a tenant
	// removes it to keep an image out of retention.
	PropertyCreatedBy = "org.openstack__1__created_by"
	// CreatedByService is PropertyCreatedBy's value on our images.
	CreatedByService = "scheduled_images_service"
	// PropertyInstanceUUID is set by Nova to the server an image was taken of.
	PropertyInstanceUUID = "instance_uuid"
	// PropertyRunID carries the run identifier (RunID), so that a node
	// finds an image already asked for instead of asking twice.
	PropertyRunID = "imgsched_run_id"
	// PropertyAttempt carries the attempt number within the run.
	PropertyAttempt = "imgsched_attempt"
)

// Metadata returns the metadata an image created by attempt (1-based) of
// run runID carries.
func Metadata(runID string, attempt int) map[string]string {
	return map[string]string{
		PropertyCreatedBy: CreatedByService,
		PropertyRunID:     runID,
		PropertyAttempt:   fmt.Sprint(attempt),
	}
}

// Image is what retention needs to know of a listed image.
type Image struct {
	ID         string
	Status     string // Glance status, any letter case
	CreatedAt  time.Time
	Properties map[string]string
}

// Verdict is what retention decides for one image.
type Verdict uint8

const (
	// VerdictKeep: one of the server's newest scheduled images, within retention.
	VerdictKeep Verdict = iota + 1
	// VerdictDelete: a scheduled image of the server past the retention count.
	VerdictDelete
	// VerdictIgnoreNotOurs: no created_by marker, or another value (a manual
	// snapshot, or one whose marker the tenant removed).
	VerdictIgnoreNotOurs
	// VerdictIgnoreOtherServer: ours, but of another server.
	VerdictIgnoreOtherServer
	// VerdictIgnoreNotActive: ours and this server's, but not ACTIVE (saving,
	// queued, killed, error, deleted...).
	VerdictIgnoreNotActive
)

// String names the verdict for the retention preview.
func (v Verdict) String() string {
	switch v {
	case VerdictKeep:
		return "keep"
	case VerdictDelete:
		return "delete"
	case VerdictIgnoreNotOurs:
		return "ignore: not created by the service"
	case VerdictIgnoreOtherServer:
		return "ignore: image of another server"
	case VerdictIgnoreNotActive:
		return "ignore: not active"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// Decision is retention's verdict on one image, with a reason a person can
// read (the API's retention preview shows it).
type Decision struct {
	Image   Image
	Verdict Verdict
	Reason  string
}

// Retention decides, for the images listed for serverID, which to delete
// so that at most keep (≥ 1) scheduled images of the server remain.
//
// Only images carrying BOTH created_by = scheduled_images_service AND
// instance_uuid = serverID, with status ACTIVE (any case), count; they are
// ordered newest first by created_at, ties by id, and all past the first
// keep are deleted. Every other image is ignored, whatever its name.
//
// It returns a decision per image: first the counted ones in order, then
// the ignored ones in listing order.
func Retention(serverID string, keep int, images []Image) ([]Decision, error) {
	if keep < 1 {
		return nil, fmt.Errorf("%w: %d", ErrInvalidRetention, keep)
	}
	var ours, ignored []Decision
	for _, im := range images {
		switch {
		case im.Properties[PropertyCreatedBy] != CreatedByService:
			ignored = append(ignored, Decision{im, VerdictIgnoreNotOurs, fmt.Sprintf("%s is not %q", PropertyCreatedBy, CreatedByService)})
		case im.Properties[PropertyInstanceUUID] != serverID:
			ignored = append(ignored, Decision{im, VerdictIgnoreOtherServer, fmt.Sprintf("%s is %q, not %q", PropertyInstanceUUID, im.Properties[PropertyInstanceUUID], serverID)})
		case !strings.EqualFold(im.Status, "active"):
			ignored = append(ignored, Decision{im, VerdictIgnoreNotActive, fmt.Sprintf("status is %s", im.Status)})
		default:
			ours = append(ours, Decision{Image: im})
		}
	}
	slices.SortFunc(ours, func(a, b Decision) int {
		if c := b.Image.CreatedAt.Compare(a.Image.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.Image.ID, b.Image.ID)
	})
	for i := range ours {
		if i < keep {
			ours[i].Verdict, ours[i].Reason = VerdictKeep, fmt.Sprintf("newest %d of %d, retention %d", i+1, len(ours), keep)
		} else {
			ours[i].Verdict, ours[i].Reason = VerdictDelete, fmt.Sprintf("number %d of %d newest first, past retention %d", i+1, len(ours), keep)
		}
	}
	return append(ours, ignored...), nil
}

// Deletions returns the ids of the images decisions delete, oldest last.
func Deletions(decisions []Decision) []string {
	var ids []string
	for _, d := range decisions {
		if d.Verdict == VerdictDelete {
			ids = append(ids, d.Image.ID)
		}
	}
	return ids
}
