package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/imgsched/imgsched/cloud"
)

// session is a cloud.Compute over one authenticated pair of Nova and Glance
// clients: the service's own (operator mode) or a trust's.
type session struct {
	compute  *gophercloud.ServiceClient
	image    *gophercloud.ServiceClient
	pageSize int
}

var _ cloud.Compute = (*session)(nil)

// GetServer implements cloud.Compute.
func (s *session) GetServer(ctx context.Context, serverID string) (cloud.Server, error) {
	if err := checkID("server", serverID); err != nil {
		return cloud.Server{}, err
	}
	var v serverView
	_, err := s.compute.Get(ctx, s.compute.ServiceURL("servers", serverID), &v, &gophercloud.RequestOpts{OkCodes: []int{200}})
	if err != nil {
		return cloud.Server{}, fmt.Errorf("openstack: get server %s: %w", serverID, mapError(err, serverErrors))
	}
	return v.server(), nil
}

// CreateImage implements cloud.Compute. When metadata carries
// cloud.RunIDKey and the request fails in a way that leaves unknown whether
// Nova acted (a timeout, a 500), the image of that run is looked up before
// the failure is returned, so an image Nova did create is not lost.
func (s *session) CreateImage(ctx context.Context, serverID, name string, metadata map[string]string) (string, error) {
	if err := checkID("server", serverID); err != nil {
		return "", err
	}
	md := make(map[string]string, len(metadata)+1)
	for k, v := range metadata {
		md[k] = v
	}
	md[cloud.CreatedByKey] = cloud.CreatedByValue
	body, err := servers.CreateImageOpts{Name: name, Metadata: md}.ToServerCreateImageMap()
	if err != nil {
		return "", fmt.Errorf("openstack: create image of server %s: %w", serverID, err)
	}
	resp, err := s.compute.Post(ctx, s.compute.ServiceURL("servers", serverID, "action"), body, nil,
		&gophercloud.RequestOpts{OkCodes: []int{202}, KeepResponseBody: true})
	if err != nil {
		if runID := md[cloud.RunIDKey]; runID != "" && errors.Is(err, cloud.ErrTransient) && ctx.Err() == nil {
			if found, lerr := s.listImages(ctx, serverID, map[string]string{cloud.RunIDKey: runID}); lerr == nil && len(found) > 0 {
				return found[0].ID, nil
			}
		}
		return "", fmt.Errorf("openstack: create image of server %s: %w", serverID, mapError(err, serverErrors))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("openstack: create image of server %s: read answer: %w", serverID, err)
	}
	// Microversion 2.45 and later answer {"image_id": ...}; older ones only
	// a Location header ending in the image ID.
	var answer struct {
		ImageID string `json:"image_id"`
	}
	if len(raw) > 0 && json.Unmarshal(raw, &answer) == nil && answer.ImageID != "" {
		return answer.ImageID, nil
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil {
			if id := path.Base(u.Path); id != "." && id != "/" {
				return id, nil
			}
		}
	}
	return "", fmt.Errorf("openstack: create image of server %s: answer has neither image_id nor Location", serverID)
}

// GetImage implements cloud.Compute: an image in error or killed is
// returned without an error; Image.Err reports it.
func (s *session) GetImage(ctx context.Context, imageID string) (cloud.Image, error) {
	if err := checkID("image", imageID); err != nil {
		return cloud.Image{}, err
	}
	img, err := images.Get(ctx, s.image, imageID).Extract()
	if err != nil {
		return cloud.Image{}, fmt.Errorf("openstack: get image %s: %w", imageID, mapError(err, imageErrors))
	}
	return toImage(img), nil
}

// ListScheduledImages implements cloud.Compute. Glance filters on both
// properties; the result is filtered again here, so a cloud that ignored a
// filter can never hand retention an image outside the rule.
func (s *session) ListScheduledImages(ctx context.Context, serverID string) ([]cloud.Image, error) {
	if err := checkID("server", serverID); err != nil {
		return nil, err
	}
	imgs, err := s.listImages(ctx, serverID, nil)
	if err != nil {
		return nil, fmt.Errorf("openstack: list images of server %s: %w", serverID, err)
	}
	return imgs, nil
}

// DeleteImage implements cloud.Compute.
func (s *session) DeleteImage(ctx context.Context, imageID string) error {
	if err := checkID("image", imageID); err != nil {
		return err
	}
	if err := images.Delete(ctx, s.image, imageID).ExtractErr(); err != nil {
		return fmt.Errorf("openstack: delete image %s: %w", imageID, mapError(err, imageErrors))
	}
	return nil
}

// checkID rejects IDs that would change the request's path.
func checkID(kind, id string) error {
	if id == "" || strings.ContainsAny(id, "/?#% \t\r\n") || id == "." || id == ".." {
		return fmt.Errorf("openstack: invalid %s id %q", kind, id)
	}
	return nil
}
