package cloud

import "context"

// Compute is what the scheduler engine needs from the cloud, acting for one
// tenant: images it creates are owned by that tenant's project.
//
// Every method blocks until the cloud answers, the implementation's retries
// are exhausted, or ctx ends; a cancelled ctx makes it return promptly with
// an error wrapping ctx.Err().
type Compute interface {
	// GetServer returns the server, or an error wrapping ErrServerGone when
	// Nova does not know it.
	GetServer(ctx context.Context, serverID string) (Server, error)
	// CreateImage asks Nova to image the server and returns the new image's
	// ID. The image always carries CreatedByKey=CreatedByValue in addition to
	// metadata. ErrServerBusy (409) and ErrServerGone (404) are typed.
	CreateImage(ctx context.Context, serverID, name string, metadata map[string]string) (imageID string, err error)
	// GetImage returns the image, whatever its status: an image in error or
	// killed is returned without an error, and Image.Err reports it as
	// ErrImageFailed. A missing image is ErrNotFound.
	GetImage(ctx context.Context, imageID string) (Image, error)
	// ListScheduledImages returns every image, in any status, that carries
	// both instance_uuid=serverID and the created_by marker, newest first.
	ListScheduledImages(ctx context.Context, serverID string) ([]Image, error)
	// DeleteImage deletes the image; ErrNotFound when it is already gone.
	DeleteImage(ctx context.Context, imageID string) error
}
