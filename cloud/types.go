package cloud

import (
	"fmt"
	"strings"
	"time"
)

// Server statuses that matter to the service (Nova reports them upper-case).
const (
	ServerActive = "ACTIVE"
	ServerError  = "ERROR"
)

// Image statuses (Glance reports them lower-case; a Nova image proxy reports
// them upper-case, so compare with strings.EqualFold or Image methods).
const (
	ImageQueued  = "queued"
	ImageSaving  = "saving"
	ImageActive  = "active"
	ImageKilled  = "killed"
	ImageError   = "error"
	ImageDeleted = "deleted"
)

// Server is a Nova server as the service sees it.
type Server struct {
	ID   string
	Name string
	// ProjectID is the project (Nova tenant_id) that owns the server.
	ProjectID string
	// Status is Nova's status, for example ACTIVE, SHUTOFF or ERROR.
	Status string
	// TaskState is Nova's OS-EXT-STS:task_state, for example
	// image_snapshot while an image is being taken; empty when idle.
	TaskState string
	// HostID identifies the hypervisor: the host name when the caller may
	// see it, otherwise Nova's opaque per-project hostId.
	HostID string
	// DiskGB is the flavor's root disk size; 0 when the cloud does not say.
	DiskGB int
}

// Image is a Glance image as the service sees it.
type Image struct {
	ID   string
	Name string
	// ServerID is the instance_uuid property Nova sets on a server snapshot.
	ServerID string
	// Owner is the project that owns the image.
	Owner string
	// Status is Glance's status (queued, saving, active, killed, ...).
	Status string
	// Properties are the image's string-valued additional properties.
	Properties map[string]string
	// CreatedAt is when the image was requested; UpdatedAt its last change.
	CreatedAt, UpdatedAt time.Time
	// SizeBytes is the size of the image data; 0 until it is uploaded.
	SizeBytes int64
}

// Active reports whether the image is usable.
func (img Image) Active() bool { return strings.EqualFold(img.Status, ImageActive) }

// Pending reports whether the image is still being created.
func (img Image) Pending() bool {
	return strings.EqualFold(img.Status, ImageQueued) || strings.EqualFold(img.Status, ImageSaving)
}

// Failed reports whether the image ended in error or was killed.
func (img Image) Failed() bool {
	return strings.EqualFold(img.Status, ImageError) || strings.EqualFold(img.Status, ImageKilled)
}

// Err returns an error wrapping ErrImageFailed when the image ended in error
// or was killed, and nil otherwise. Compute.GetImage returns a failed image
// without an error; callers that poll an image use Err to surface the failure.
func (img Image) Err() error {
	if !img.Failed() {
		return nil
	}
	return fmt.Errorf("image %s is %s: %w", img.ID, img.Status, ErrImageFailed)
}

// Scheduled reports whether the image carries the service's created_by
// marker and names serverID as its instance: the only images retention may
// delete.
func (img Image) Scheduled(serverID string) bool {
	return img.ServerID == serverID && img.Properties[CreatedByKey] == CreatedByValue
}
